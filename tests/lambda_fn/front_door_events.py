"""Building blocks for the front-door tests: event shapes, a fake Lambda context, images, stubbed answers."""

from __future__ import annotations

import base64
import io
import json
import uuid
from dataclasses import astuple, dataclass
from pathlib import Path

from botocore.response import StreamingBody
from botocore.stub import Stubber
from PIL import Image

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"
ENDPOINT_NAME = "dog-breed-endpoint"
CONFIG_VARIABLES = (
    "ENDPOINT_NAME",
    "TOP_K",
    "MAX_IMAGE_BYTES",
    "ALLOWED_IMAGE_HOSTS",
    "ALLOWED_ORIGINS",
    "ALLOW_HTTP_IMAGE_URLS",
    "ALLOW_LOOPBACK_FOR_TESTS",
    "IMAGE_FETCH_TIMEOUT_SECONDS",
)
MODEL_ANSWER = [
    {"label": "Affenpinscher", "probability": 0.6},
    {"label": "Beagle", "probability": 0.2},
    {"label": "Collie", "probability": 0.1},
    {"label": "Dalmatian", "probability": 0.06},
    {"label": "Eskimo", "probability": 0.04},
]


class FakeContext:
    function_name = "dog-breed-front-door"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:dog-breed-front-door"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())


def expect_invocation(stub: Stubber, image: bytes, content_type: str, answer=MODEL_ANSWER) -> None:
    payload = json.dumps(answer).encode()
    stub.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(payload), len(payload)), "ContentType": "application/json"},
        {"EndpointName": ENDPOINT_NAME, "ContentType": content_type, "Accept": "application/json", "Body": image},
    )


def image_bytes(kind: str, size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 120, 40)).save(buffer, kind)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class Call:
    """What a client sends, whichever API Gateway or Lambda shape carries it to the function."""

    method: str = "POST"
    path: str = "/predict"
    body: str | None = None
    headers: dict | None = None
    is_base64_encoded: bool = False
    query: dict | None = None


def http_api_event(**call) -> dict:
    """API Gateway HTTP API, payload format 2.0; `call` as `Call` takes it."""
    method, path, body, headers, is_base64_encoded, query = astuple(Call(**call))
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "queryStringParameters": query,
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "api-id.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "http-api-request-id",
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    }


def function_url_event(**kwargs) -> dict:
    """Lambda Function URL: payload 2.0 with a lambda-url domain and no stage."""
    event = http_api_event(**kwargs)
    event["requestContext"]["domainName"] = "abcdef.lambda-url.us-east-1.on.aws"
    event["requestContext"]["apiId"] = "abcdef"
    event["requestContext"]["requestId"] = "function-url-request-id"
    return event


def rest_event(**call) -> dict:
    """API Gateway REST API, payload format 1.0 (proxy integration on stage prod); `call` as `Call` takes it."""
    method, path, body, headers, is_base64_encoded, query = astuple(Call(**call))
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": "rest-request-id",
        },
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    }
