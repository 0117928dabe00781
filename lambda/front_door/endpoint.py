"""Calls the SageMaker endpoint and turns every way it can fail into a FrontDoorError.

AWS's own error messages are never passed on: they can carry the account id and ARNs (a missing
endpoint's message names the account). The caller gets our wording; the log keeps AWS's.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, ConnectTimeoutError, ReadTimeoutError

from front_door.errors import EndpointTimeout, EndpointUnavailable, UpstreamFailed

# Two attempts of at most 2 s connect + 8 s read, plus backoff, leave room for a URL fetch
# (IMAGE_FETCH_TIMEOUT_SECONDS) under API Gateway's 29 s integration limit.
RUNTIME_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=8,
    retries={"mode": "standard", "total_max_attempts": 2},
)

_UNAVAILABLE_CODES = frozenset({"ThrottlingException", "ServiceUnavailable", "ModelNotReadyException"})
_UNAVAILABLE_STATUSES = frozenset({429, 503})
_RETRY_AFTER_THROTTLED = 1
_RETRY_AFTER_UNAVAILABLE = 5
# A missing endpoint is usually one still being created, which takes minutes.
_RETRY_AFTER_MISSING = 60

logger = Logger(child=True)


def invoke_model(client: Any, endpoint_name: str, image: bytes, content_type: str) -> list[dict]:
    try:
        response = client.invoke_endpoint(
            EndpointName=endpoint_name, ContentType=content_type, Accept="application/json", Body=image
        )
        payload = response["Body"].read()
    except ClientError as error:
        raise _client_error(error, endpoint_name) from None
    except ReadTimeoutError:
        raise EndpointTimeout(
            "EndpointTimeout", f"endpoint {endpoint_name!r} did not answer in time; try again or use a smaller image"
        ) from None
    except (ConnectTimeoutError, ConnectionError):
        raise EndpointUnavailable(
            "EndpointUnavailable", "the SageMaker runtime could not be reached; try again shortly",
            _RETRY_AFTER_UNAVAILABLE,
        ) from None
    return parse_predictions(payload)


def parse_predictions(payload: bytes) -> list[dict]:
    """Accepts only the model-code contract: a JSON list of {"label": str, "probability": 0..1}."""
    invalid = UpstreamFailed(
        "InvalidModelResponse",
        'the model did not answer with a list of {"label", "probability"}: is the endpoint serving this model?',
    )
    try:
        predictions = json.loads(payload)
    except ValueError:
        raise invalid from None
    if not isinstance(predictions, list) or not predictions:
        raise invalid
    for item in predictions:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("label"), str)
            and isinstance(item.get("probability"), (int, float))
            and not isinstance(item.get("probability"), bool)
            and 0.0 <= item["probability"] <= 1.0
        ):
            raise invalid
    return [{"label": item["label"], "probability": item["probability"]} for item in predictions]


def _client_error(error: ClientError, endpoint_name: str) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    logger.warning("invoke_endpoint failed: %s (HTTP %s): %s", code, status, message)
    if code == "ModelError":
        return UpstreamFailed(
            "ModelError", f"the model behind {endpoint_name!r} returned an error for this image; see the endpoint's logs"
        )
    if code == "ThrottlingException" or status == 429:
        return EndpointUnavailable(
            "EndpointThrottled", f"endpoint {endpoint_name!r} is throttled; retry later", _RETRY_AFTER_THROTTLED
        )
    if code in _UNAVAILABLE_CODES or status in _UNAVAILABLE_STATUSES:
        return EndpointUnavailable(
            "EndpointUnavailable", f"endpoint {endpoint_name!r} is unavailable; retry later", _RETRY_AFTER_UNAVAILABLE
        )
    if code in ("ValidationError", "ValidationException") and "not found" in message.lower():
        return EndpointUnavailable(
            "EndpointNotFound",
            f"endpoint {endpoint_name!r} does not exist (yet); retry once it is InService",
            _RETRY_AFTER_MISSING,
        )
    return UpstreamFailed("EndpointError", f"endpoint {endpoint_name!r} refused the request ({code or 'no code'})")
