"""What every Lambda API module shares: a request read and validated against botocore's model, the
function (and the version) it names, a JSON answer, Lambda's Marker/MaxItems paging."""

import json

from moto.core.parse import PROTOCOL_PARSERS
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from local_aws import protocol
from local_aws.awslambda.functions import FunctionStore, LambdaFunction, Snapshot
from local_aws.awslambda.layers import LayerStore
from local_aws.awslambda.resource_policies import resource_policy
from local_aws.exceptions import ValidationException

API = "/2015-03-31/functions"
DEFAULT_MAX_ITEMS = 50


# Lambda's IAM action names, where they differ from the operation's.
_IAM_ACTIONS = {"Invoke": "InvokeFunction"}
# Operations that hand Lambda a role to act as, in this member.
_PASSED_ROLE = {"CreateFunction": "Role", "UpdateFunctionConfiguration": "Role"}


def request_params(request: Request, ctx, operation: str, uri_params: dict[str, str]) -> dict:
    """The request's members as botocore's model reads them, validated (ValidationException otherwise), once
    IAM allows the caller the operation on the function it names (AccessDeniedException otherwise)."""
    model = protocol.service_model("lambda").operation_model(operation)
    try:
        params = PROTOCOL_PARSERS["rest-json"](model).parse({
            "method": request.method, "headers": request.headers, "body": request.get_data(),
            "values": MultiDict(request.args), "url_path": request.path, "url_params": uri_params})
    except Exception as error:  # the parser raises whatever int() or json.loads() raise
        raise ValidationException(f"A parameter's value is not of its type: {str(error)[:protocol.MAX_QUOTED_VALUE]}")
    params = protocol.validated(model.input_shape, params)
    authorize(ctx, operation, params)
    return params


def authorize(ctx, operation: str, params: dict) -> None:
    """`lambda:<action>` on the function (version, alias) the request names, or on `*` for one that names
    none, with the function's own resource policy for that qualifier; `iam:PassRole` on a role it passes."""
    resource, policy = "*", ()
    if "LayerName" in params:
        layer = params["LayerName"]
        resource = layer if layer.startswith("arn:") else ctx.state(LayerStore).arn(layer)
        resource += f":{params['VersionNumber']}" if "VersionNumber" in params else ""
    elif "Arn" in params:  # GetLayerVersionByArn
        resource = params["Arn"]
    elif "FunctionName" in params:
        name = params["FunctionName"].rsplit(":function:", 1)[-1].partition(":")[0]
        qualifier = named_qualifier(params["FunctionName"], params.get("Qualifier"))
        functions = ctx.state(FunctionStore)
        resource = functions.arn(name) + (f":{qualifier}" if qualifier else "")
        function = functions.find(name)
        if function is not None:
            policy = resource_policy(function, qualifier)
    ctx.authorize(f"lambda:{_IAM_ACTIONS.get(operation, operation)}", resource, policy)
    for layer in params.get("Layers", []):  # a function's layers are read with the caller's rights
        ctx.authorize("lambda:GetLayerVersion", layer)
    role = params.get(_PASSED_ROLE.get(operation, ""))
    if role:
        ctx.authorize("iam:PassRole", role, condition_keys={"iam:PassedToService": "lambda.amazonaws.com"})


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
