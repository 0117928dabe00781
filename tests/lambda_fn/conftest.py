"""Fixtures for the Lambda front door: a freshly imported handler per test, a Stubber on its runtime
client, and real JPEG/PNG bytes from Pillow (event builders live in front_door_events.py).

`lambda` is a Python keyword, so the handler is imported by file path; its folder goes on sys.path only
for the test, the way the Lambda runtime puts the deployment package on it.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys

import boto3
import pytest
from botocore.stub import Stubber
from front_door_events import (
    CONFIG_VARIABLES,
    ENDPOINT_NAME,
    LAMBDA_DIR,
    MODEL_ANSWER,
    FakeContext,
    expect_invocation,
    image_bytes,
)


@pytest.fixture
def load_handler(monkeypatch):
    """`load_handler(**env)`: imports lambda/handler.py afresh (a cold start) with this configuration."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "dog-breed-front-door")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "DogBreedTests")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # A call that escapes the Stubber goes to a closed loopback port, never to AWS.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    for name in ("AWS_PROFILE", *CONFIG_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(LAMBDA_DIR))

    def load(**env: str):
        # A cold start is a new process: boto3's default session, with the credentials it resolved, is new too.
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT_NAME)
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        name = "front_door_handler_under_test"
        spec = importlib.util.spec_from_file_location(name, LAMBDA_DIR / "handler.py")
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, module)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def handler(load_handler):
    return load_handler()


@pytest.fixture
def stubber(handler):
    """A Stubber on the handler's own runtime client; every queued call must have been made."""
    with Stubber(handler.runtime) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def invoke(handler):
    """`invoke(event)`: calls lambda_handler like the Lambda runtime and returns (status, headers, body)."""

    def call(event, module=None):
        response = (module or handler).lambda_handler(event, FakeContext())
        headers = response.get("headers") or {
            name: ", ".join(values) for name, values in response.get("multiValueHeaders", {}).items()
        }
        return response["statusCode"], headers, json.loads(response["body"])

    return call


@pytest.fixture
def expect_prediction(stubber):
    """`expect_prediction(image, content_type)`: queue one successful endpoint call for exactly these bytes."""

    def queue(image: bytes, content_type: str = "image/jpeg", answer=MODEL_ANSWER) -> None:
        expect_invocation(stubber, image, content_type, answer)

    return queue


@pytest.fixture(scope="session")
def jpeg() -> bytes:
    return image_bytes("JPEG")


@pytest.fixture(scope="session")
def png() -> bytes:
    return image_bytes("PNG")


@pytest.fixture
def log_records(handler, monkeypatch):
    """`log_records()`: the JSON log lines written so far. Powertools keeps the first stream it was given
    per service, so the test swaps that handler's stream rather than capturing stdout."""
    stream = io.StringIO()
    monkeypatch.setattr(handler.logger.registered_handler, "stream", stream)
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
