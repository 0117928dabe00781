"""What every Lambda API module shares: a request read and validated against botocore's model, the
function (and the version) it names, a JSON answer, Lambda's Marker/MaxItems paging."""

import json

from moto.core.parse import PROTOCOL_PARSERS
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from local_aws import protocol
from local_aws.awslambda.functions import FunctionStore, LambdaFunction, Snapshot
from local_aws.exceptions import ValidationException

API = "/2015-03-31/functions"
DEFAULT_MAX_ITEMS = 50


def request_params(request: Request, operation: str, uri_params: dict[str, str]) -> dict:
    """The request's members as botocore's model reads them, validated; ValidationException otherwise."""
    model = protocol.service_model("lambda").operation_model(operation)
    try:
        params = PROTOCOL_PARSERS["rest-json"](model).parse({
            "method": request.method, "headers": request.headers, "body": request.get_data(),
            "values": MultiDict(request.args), "url_path": request.path, "url_params": uri_params})
    except Exception as error:  # the parser raises whatever int() or json.loads() raise
        raise ValidationException(f"A parameter's value is not of its type: {str(error)[:protocol.MAX_QUOTED_VALUE]}")
    return protocol.validated(model.input_shape, params)


def json_response(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def target(ctx, name_or_arn: str, qualifier: str | None = None) -> tuple[LambdaFunction, Snapshot]:
    """The function a request names (its name, ARN or partial ARN) and the version its qualifier (in the
    ARN or the Qualifier member) names: `$LATEST`, a number or an alias."""
    function = function_named(ctx, name_or_arn)
    return function, function.resolve(named_qualifier(name_or_arn, qualifier))


def named_qualifier(name_or_arn: str, qualifier: str | None) -> str | None:
    """The qualifier a request names, in its Qualifier member or in a qualified ARN; None for none."""
    return qualifier or name_or_arn.rsplit(":function:", 1)[-1].partition(":")[2] or None


def function_named(ctx, name_or_arn: str) -> LambdaFunction:
    return ctx.state(FunctionStore).get(name_or_arn.rsplit(":function:", 1)[-1].partition(":")[0])


def paged(key: str, items: list[dict], params: dict) -> dict:
    """Lambda's Marker/MaxItems paging (the marker is the next item's index)."""
    start = int(params["Marker"]) if params.get("Marker", "").isdigit() else 0
    end = start + params.get("MaxItems", DEFAULT_MAX_ITEMS)
    return {key: items[start:end], **({"NextMarker": str(end)} if end < len(items) else {})}
