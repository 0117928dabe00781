"""A seeded stream of random, mostly wrong events: none may answer 500 or anything but our error shape,
and none may reach DNS or the endpoint (the resolver fails the test, the stubber has nothing queued)."""

import base64
import json
import random

import pytest
from botocore.stub import Stubber
from front_door_events import FakeContext, http_api_event, rest_event

EVENTS = 1000
ATOMS = [
    None, True, False, 0, -1, 5, 3.5, "", "x", "/9j/4AAQ", "é", "\ud800", [], {},
    "https://images.example.com:0/", "https://images.example.com:65536/", "https://[images.example.com]/",
    "https://images.example.com%00/", "https://%69mages.example.com/", "file:///etc/passwd",
]  # fmt: skip


def random_value(rng, depth=0):
    roll = rng.random()
    if depth < 2 and roll < 0.2:
        return {rng.choice(["image", "url", "top_k", "x"]): random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    if depth < 2 and roll < 0.3:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice(ATOMS)


def random_event(rng):
    headers = {"content-type": rng.choice(["application/json", "image/jpeg", "text/plain", "APPLICATION/JSON; charset=utf-8", ""])}
    kind = rng.choice(["direct", "http", "rest", "raw"])
    if kind == "direct":
        return random_value(rng)
    if kind == "raw":
        body = rng.choice(["", "@@", base64.b64encode(rng.randbytes(20)).decode(), "é"])
        return http_api_event(body=body, headers=headers, is_base64_encoded=rng.random() < 0.5, query={"top_k": rng.choice(["1", "x", ""])})
    make = http_api_event if kind == "http" else rest_event
    body = json.dumps(random_value(rng)) if rng.random() < 0.8 else "é\x00"
    method = rng.choice(["POST", "GET", "PUT", "OPTIONS"])
    return make(method=method, path=rng.choice(["/predict", "/health", "/", "/predict/", "//predict"]), body=body, headers=headers)


def test_random_events_get_clear_answers(load_handler, monkeypatch):
    handler = load_handler(ALLOWED_IMAGE_HOSTS="images.example.com")
    import front_door.safe_fetch as safe_fetch

    def no_dns(host, port):
        pytest.fail(f"resolved {host}")

    monkeypatch.setattr(safe_fetch, "resolve_addresses", no_dns)
    rng = random.Random(20261125)
    with Stubber(handler.runtime):
        for _ in range(EVENTS):
            event = random_event(rng)
            response = handler.lambda_handler(event, FakeContext())
            body = json.loads(response["body"])
            assert response["statusCode"] in (200, 400, 404, 413, 415, 422), (event, body)
            assert response["statusCode"] == 200 or set(body["error"]) == {"code", "message"}, (event, body)
