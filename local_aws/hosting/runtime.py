"""sagemaker-runtime ``InvokeEndpoint``: ``POST /endpoints/<name>/invocations``.

The wire shapes are AWS's rest-json ones: the body passes through untouched, the model's
content type, the invoked variant and custom attributes come back as headers, and a container
error becomes ``ModelError`` (HTTP 424) carrying the container's status and message.
"""

import json
import logging
import time
import uuid

from werkzeug import Request, Response

from local_aws import protocol
from local_aws.exceptions import aws_error
from local_aws.hosting.deployment import UnknownVariant
from local_aws.hosting.replica_logs import endpoint_log_group
from local_aws.hosting.router import (
    CUSTOM_ATTRIBUTES_HEADER,
    ContainerFailure,
    ContainerTimeout,
    Invocation,
    NoHealthyReplica,
    ReplicaLost,
    forward,
)
from local_aws.hosting.state import EndpointStore
from local_aws.routing import route
from local_aws.sagemaker.permissions import authorize_invocation

# InvokeEndpoint's documented limit on the request payload.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
CONTAINER_NAME = "primary"
INVOKED_VARIANT_HEADER = "x-Amzn-Invoked-Production-Variant"
REST_JSON = "application/json"
REQUEST_ID_HEADER = "x-amzn-RequestId"
# InvokeEndpoint's members that local AWS acts on; any other one present is refused by name.
HONOURED_OPTIONS = frozenset({"EndpointName", "ContentType", "Accept", "CustomAttributes", "TargetVariant",
                              "InferenceId"})

logger = logging.getLogger(__name__)


# The runtime's own codes, unlike the control plane's ValidationException.
RuntimeValidationError = aws_error("ValidationError", module=__name__)
ServiceUnavailable = aws_error("ServiceUnavailable", 503, module=__name__)


def _model_error(ctx, endpoint_name: str, status: int, message: str) -> Response:
    kind = "client" if 400 <= status < 500 else "server"
    group = endpoint_log_group(endpoint_name)
    body = {
        "message": (
            f'Received {kind} error ({status}) from {CONTAINER_NAME} with message "{message}". See '
            f"https://{ctx.region}.console.aws.amazon.com/cloudwatch/home?region={ctx.region}"
            f"#logEventViewer:group={group} in account {ctx.account_id} for more information."
        ),
        "OriginalStatusCode": status,
        "OriginalMessage": message,
        "LogStreamArn": f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{group}",
    }
    return Response(json.dumps(body), status=424, content_type=REST_JSON,
                    headers={"x-amzn-ErrorType": "ModelError", REQUEST_ID_HEADER: str(uuid.uuid4())})


def _options(request: Request, name: str) -> dict:
    """The request's InvokeEndpoint members, validated against botocore's model; those local AWS cannot
    honour are refused by name rather than ignored."""
    params = protocol.parse_rest_headers("sagemaker-runtime", "InvokeEndpoint", {"EndpointName": name},
                                         request.headers, error=RuntimeValidationError)
    refused = sorted(set(params) - HONOURED_OPTIONS)
    if refused:
        raise RuntimeValidationError(
            f"local_aws does not support the InvokeEndpoint option(s) {', '.join(refused)}; it honours "
            f"{', '.join(sorted(HONOURED_OPTIONS - {'EndpointName'}))}.")
    return params


@route("sagemaker", "/endpoints/<name>/invocations", methods=["POST"], max_body_bytes=MAX_PAYLOAD_BYTES)
def invoke_endpoint(request: Request, ctx, name: str) -> Response:
    received = time.perf_counter()
    authorize_invocation(ctx, name)
    options = _options(request, name)
    if "InferenceId" in options:
        logger.info("InvokeEndpoint %s: inference id %s", name, options["InferenceId"])
    endpoint = ctx.state(EndpointStore).find(name)
    if endpoint is None or endpoint.deployment is None:
        raise RuntimeValidationError(f"Endpoint {name} of account {ctx.account_id} not found.")
    invocation = Invocation(
        body=request.get_data(),
        content_type=request.headers.get("Content-Type"),
        accept=request.headers.get("Accept"),
        custom_attributes=options.get("CustomAttributes"),
        target_variant=options.get("TargetVariant"),
    )
    try:
        answer = forward(lambda: endpoint.deployment, invocation)
    except UnknownVariant as error:
        raise RuntimeValidationError(f"Endpoint {name} does not have target variant {error}.")
    except NoHealthyReplica:
        raise ServiceUnavailable(f"Endpoint {name} has no healthy instance to serve the request; try again.")
    except ReplicaLost as lost:
        endpoint.metrics.record(lost.variant_name, status=500)
        raise ServiceUnavailable(
            f"The instance {lost.instance_id} of endpoint {name} stopped before answering the request (its log "
            f"stream in {endpoint_log_group(name)} says why); try again.")
    except ContainerTimeout as timeout:
        endpoint.metrics.record(timeout.variant_name, status=500)
        return _model_error(
            ctx, name, 0,
            f"Your invocation timed out while waiting for a response from container {CONTAINER_NAME}. "
            "Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.",
        )
    except ContainerFailure as failure:
        endpoint.metrics.record(failure.variant_name, status=500)
        return _model_error(ctx, name, 500, f"the container closed the connection: {failure}")
    endpoint.metrics.record(
        answer.variant_name,
        status=answer.status,
        model_latency=answer.model_latency,
        overhead_latency=time.perf_counter() - received - answer.model_latency,
    )
    if answer.status >= 400:
        return _model_error(ctx, name, answer.status, answer.body.decode("utf-8", errors="replace"))
    headers = {INVOKED_VARIANT_HEADER: answer.variant_name, REQUEST_ID_HEADER: str(uuid.uuid4())}
    if answer.custom_attributes is not None:
        headers[CUSTOM_ATTRIBUTES_HEADER] = answer.custom_attributes
    return Response(answer.body, status=200, content_type=answer.content_type, headers=headers)
