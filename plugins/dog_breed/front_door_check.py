"""The front door's check after its deployment: the user's event shapes sent to alias `live` (`{"image":
<base64>}` always; `{"url": ...}` when the image has a URL on a host the function may fetch from), and what a
right answer is: HTTP 200 with predictions that agree with the endpoint's own answer for the same image."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlparse

from dog_breed.smoke import SmokeTestError, check_answer


def image_event(image: bytes) -> dict[str, str]:
    return {"image": base64.b64encode(image).decode("ascii")}


def url_event(url: str, allowed_hosts: list[str]) -> tuple[dict[str, str] | None, str | None]:
    """The `{"url": ...}` event for `url`, or None and why not: the function fetches only https URLs on its
    allowed hosts, and refuses loopback and private addresses (so a local endpoint's URL is never one)."""
    parsed = urlparse(url)
    if parsed.scheme != "https" or parsed.hostname not in allowed_hosts:
        return None, (f"the image's URL is on {parsed.scheme}://{parsed.hostname}, not an https host the function "
                      f"may fetch from ({', '.join(allowed_hosts) or 'none'})")
    return {"url": url}, None


def predictions(invocation: dict[str, Any], source: str) -> list[dict[str, Any]]:
    """The predictions of a front door's answer (Lambda Invoke's response); SmokeTestError naming what is wrong."""
    payload = json.loads(invocation["Payload"].read())
    if "FunctionError" in invocation:
        raise SmokeTestError(f"{source}: the function failed ({invocation['FunctionError']}): {payload!r:.300}")
    if payload.get("statusCode") != 200:
        raise SmokeTestError(f"{source}: the front door answered {payload.get('statusCode')}: "
                             f"{payload.get('body')!r:.300}")
    body = json.loads(payload["body"])
    check_answer(body.get("predictions"), source)
    return body["predictions"]


def check_agrees(front_door: list[dict[str, Any]], endpoint: list[dict[str, Any]], source: str) -> str:
    """The front door forwards the image's bytes: its top labels are the endpoint's, in order; the top label."""
    through_lambda = [p["label"] for p in front_door]
    direct = [p["label"] for p in endpoint[:len(front_door)]]
    if through_lambda != direct:
        raise SmokeTestError(f"{source}: the front door answered {through_lambda}, the endpoint {direct}")
    return through_lambda[0]
