"""Lambda front door of the dog-breed endpoint: `lambda_handler(event, context)`.

Accepts a direct invocation (`{"url": ...}` or `{"image": "<base64>"}`, the seed's test event), API
Gateway HTTP API (payload 2.0) and Function URL events, and API Gateway REST (payload 1.0) events:
`POST /predict` with that JSON or a raw JPEG/PNG body, and `GET /health`. It sends the image bytes, never
a URL, to the SageMaker endpoint and answers `{"predictions": [...], "endpoint": ...}` or
`{"error": {"code", "message"}}` with the status codes in docs/lambda.md.
"""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    CORSConfig,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from front_door.endpoint import RUNTIME_CLIENT_CONFIG, invoke_model
from front_door.errors import (
    ConfigurationError,
    EndpointUnavailable,
    FrontDoorError,
    InternalError,
    RouteNotFound,
)
from front_door.image_types import sniff_image_type
from front_door.payload import parse_http_request
from front_door.safe_fetch import fetch_image
from front_door.settings import Settings, load_settings
from front_door.url_policy import FetchPolicy

logger = Logger()
metrics = Metrics()
runtime = boto3.client("sagemaker-runtime", config=RUNTIME_CLIENT_CONFIG)
router = Router()


@dataclass(frozen=True)
class FrontDoor:
    settings: Settings
    # Payload 2.0: HTTP API, Function URLs, and direct invocations (turned into POST /predict).
    http_api: ApiGatewayResolver
    # Payload 1.0: REST API.
    rest_api: ApiGatewayResolver


@functools.cache
def front_door() -> FrontDoor:
    """Validated on the first request (not at import) so a bad variable becomes a clear 500, not a
    failed cold start; a failure is not cached, so the next request re-reads the environment."""
    settings = load_settings(os.environ)
    cors = (
        CORSConfig(allow_origin=settings.allowed_origins[0], extra_origins=list(settings.allowed_origins[1:]))
        if settings.allowed_origins
        else None
    )
    return FrontDoor(settings, _resolver(APIGatewayHttpResolver, cors), _resolver(APIGatewayRestResolver, cors))


def _resolver(resolver_class: type[ApiGatewayResolver], cors: CORSConfig | None) -> ApiGatewayResolver:
    resolver = resolver_class(cors=cors)
    resolver.include_router(router)
    return resolver


@router.get("/health")
def health() -> dict:
    return {"status": "ok", "endpoint": front_door().settings.endpoint_name}


@router.post("/predict")
def predict() -> dict:
    settings = front_door().settings
    event = router.current_event
    request = parse_http_request(
        body=event.body,
        is_base64_encoded=event.is_base64_encoded,
        content_type=event.headers.get("content-type"),
        query_top_k=event.get_query_string_value("top_k"),
        default_top_k=settings.top_k,
        max_image_bytes=settings.max_image_bytes,
    )
    if request.url is None:
        image = request.image
    else:
        image = fetch_image(request.url, FetchPolicy.from_settings(settings))
        metrics.add_metric(name="UrlFetches", unit=MetricUnit.Count, value=1)
    content_type = sniff_image_type(image)
    started = time.perf_counter()
    predictions = invoke_model(runtime, settings.endpoint_name, image, content_type)
    metrics.add_metric(name="EndpointLatency", unit=MetricUnit.Milliseconds, value=_since(started))
    metrics.add_metric(name="Predictions", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ImageBytes", unit=MetricUnit.Bytes, value=len(image))
    # The endpoint always answers its default top MODEL_TOP_K; asking for fewer is the caller's choice.
    return {"predictions": predictions[: request.top_k], "endpoint": settings.endpoint_name}


@router.exception_handler(FrontDoorError)
def front_door_error(error: FrontDoorError) -> Response:
    headers = {"Retry-After": str(error.retry_after_seconds)} if isinstance(error, EndpointUnavailable) else {}
    metrics.add_metric(name="ClientErrors" if error.status < 500 else "ServerErrors", unit=MetricUnit.Count, value=1)
    logger.info("request refused", status=error.status, code=error.code, reason=error.message)
    return Response(
        status_code=error.status, content_type=content_types.APPLICATION_JSON, body=error.body(), headers=headers
    )


@router.exception_handler(NotFoundError)
def route_not_found(_: NotFoundError) -> Response:
    event = router.current_event
    return front_door_error(
        RouteNotFound(
            "RouteNotFound", f"no route for {event.http_method} {event.path}: use POST /predict or GET /health"
        )
    )


@router.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response:
    logger.exception("unexpected error")
    return front_door_error(InternalError(logger.get_correlation_id()))


def configuration_failure(error: ConfigurationError) -> dict:
    """The one response built without a resolver: the resolvers need the settings that just failed."""
    metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
    logger.error("configuration error", reason=error.message)
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(error.body()),
        "isBase64Encoded": False,
    }


def as_http_event(document: object, request_id: str) -> dict:
    """A direct invocation becomes POST /predict with the event as its JSON body, so every event shape
    shares one route and one error mapping."""
    return {
        "version": "2.0",
        "routeKey": "POST /predict",
        "rawPath": "/predict",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/predict"}, "requestId": request_id, "stage": "$default"},
        "body": json.dumps(document),
        "isBase64Encoded": False,
    }


def dispatch(event: object, context: LambdaContext) -> dict:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    try:
        door = front_door()
    except ConfigurationError as error:
        return configuration_failure(error)
    if isinstance(event, dict) and "requestContext" in event and "httpMethod" in event:
        return door.rest_api.resolve(event, context)
    if isinstance(event, dict) and "requestContext" in event and event.get("version") == "2.0":
        return door.http_api.resolve(event, context)
    logger.set_correlation_id(context.aws_request_id)
    return door.http_api.resolve(as_http_event(event, context.aws_request_id), context)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: object, context: LambdaContext) -> dict:
    return dispatch(event, context)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
