"""Lambda's API for functions: CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction, Invoke (versions, aliases, concurrency and
URLs have modules of their own). Requests are validated against botocore's model; options local AWS
cannot honour are refused by name. Lambda's other operations are refused as not implemented yet: moto's Lambda cannot
run a function, so it is not consulted for any of them.
"""

import base64
import io
import json
import threading
import zipfile

from werkzeug.wrappers import Request, Response

from local_aws.access.assume_role_api import assumable_by
from local_aws.awslambda.api_requests import (
    API,
    function_named,
    json_response,
    named_qualifier,
    paged,
    request_params,
    target,
)
from local_aws.awslambda.async_invocations import EventInvokeConfigs, run_event
from local_aws.awslambda.code_packages import MAX_ZIP_BYTES, RequestTooLargeException, read_code
from local_aws.awslambda.concurrency import Concurrency, Throttled
from local_aws.awslambda.concurrency_api import drop_provisioned
from local_aws.awslambda.functions import (
    ACTIVE,
    DEFAULTS,
    FunctionStore,
    InvalidParameterValueException,
    LambdaFunction,
    ResourceConflictException,
    ResourceNotFoundException,
)
from local_aws.awslambda.invocations import new_environment, run_invocation
from local_aws.awslambda.layers_api import configured_layers
from local_aws.awslambda.pool import EnvironmentPool
from local_aws.exceptions import NotSupportedLocally, aws_error
from local_aws.routing import route

# UpdateFunctionConfiguration members that change the function's settings as given.
_SETTINGS = ("Role", "Handler", "Description", "Timeout", "MemorySize", "Runtime", "EphemeralStorage")
RUNTIMES = ("python3.11", "python3.12")
MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_EVENT_PAYLOAD_BYTES = 1024 * 1024
LOG_TAIL_BYTES = 4096  # what LogType=Tail returns of the invocation's log
InvalidRequestContentException = aws_error("InvalidRequestContentException")

# CreateFunction members whose work local AWS does not do; accepting them would pretend it happened.
_REFUSED_MEMBERS = {
    "VpcConfig": "Functions run on this machine's loopback network; there is no VPC.",
    "FileSystemConfigs": "EFS is not available.",
    "CodeSigningConfigArn": "Code signing is not checked.",
    "DeadLetterConfig": "A failed event is retried and then logged, not sent to a dead-letter queue.",
    "ImageConfig": "Only Zip packages run.",
    "KMSKeyArn": "Environment variables are not encrypted.",
    "CapacityProviderConfig": "Functions run on this machine.",
    "DurableConfig": "Durable functions are not available.",
    "TenancyConfig": "Tenant isolation is not available.",
}












@route("lambda", API, methods=["POST"], max_body_bytes=MAX_ZIP_BYTES * 4 // 3 + 1024 * 1024)
def create_function(request: Request, ctx) -> Response:
    params = request_params(request, ctx, "CreateFunction", {})
    _refuse_unsupported(params)
    _check_role(ctx, params["Role"])
    store = ctx.state(FunctionStore)
    name = params["FunctionName"]
    settings = {**DEFAULTS, **{k: v for k, v in params.items() if k in DEFAULTS or k in ("Runtime", "Role", "Handler")}}
    code = read_code(ctx, params["Code"], "CreateFunction")
    if params.get("Layers"):
        settings["Layers"] = configured_layers(ctx, params["Layers"], code.zip_bytes)
    function = LambdaFunction(name, store.arn(name), settings, dict(params.get("Environment", {}).get("Variables", {})),
                              code)
    store.add(function, [{"Key": k, "Value": v} for k, v in params.get("Tags", {}).items()])
    created = function.configuration()  # Pending: the code is unpacked in the background, as AWS provisions
    threading.Thread(target=_unpack, args=(ctx, function), name=f"lambda-create-{name}", daemon=True).start()
    return json_response(created, status=201)


def throttled_response(reason: str) -> Response:
    """AWS's 429 for a throttled invocation: TooManyRequestsException with its Reason."""
    return Response(json.dumps({"Type": "User", "message": "Rate Exceeded.", "Reason": reason}), status=429,
                    content_type="application/json", headers={"x-amzn-ErrorType": "TooManyRequestsException"})


def _refuse_unsupported(params: dict) -> None:
    for member, why in _REFUSED_MEMBERS.items():
        if params.get(member):
            raise NotSupportedLocally(member, why)
    if params.get("PackageType", "Zip") != "Zip":
        raise NotSupportedLocally("PackageType Image", "Give a Zip package.")
    if params.get("Runtime") not in RUNTIMES:
        raise NotSupportedLocally(f"the runtime {params.get('Runtime')}", f"Functions run on {' or '.join(RUNTIMES)}.")
    if params.get("Architectures", ["x86_64"]) != ["x86_64"]:
        raise NotSupportedLocally(f"the architectures {params['Architectures']}", "Functions run on x86_64.")
    if params.get("TracingConfig", {}).get("Mode", "PassThrough") != "PassThrough":
        raise NotSupportedLocally("TracingConfig Mode Active", "X-Ray traces are not recorded.")
    if params.get("SnapStart", {}).get("ApplyOn", "None") != "None":
        raise NotSupportedLocally("SnapStart", "Every environment initialises on its own.")
    if params.get("Publish"):
        raise NotSupportedLocally("Publish", "Publish the first version with PublishVersion once the function is "
                                  "Active.")
    if "Handler" not in params:
        raise InvalidParameterValueException("The Handler is required for a Zip package.")


def _check_role(ctx, role_arn: str) -> None:
    """As AWS checks: the role exists and trusts lambda.amazonaws.com."""
    if not assumable_by(role_arn, "lambda.amazonaws.com", ctx.account_id):
        raise InvalidParameterValueException("The role defined for the function cannot be assumed by Lambda.")


def _unpack(ctx, function: LambdaFunction) -> None:
    code = function.pending_code or function.code
    directory = ctx.files() / "lambda" / function.name / "code" / code.sha256.replace("/", "_")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(code.zip_bytes)) as archive:
            archive.extractall(directory)
    except (OSError, zipfile.BadZipFile) as error:
        function.fail("InvalidZipFileException", f"local AWS could not unpack the code: {error}")
        return
    function.activate(directory)


@route("lambda", API + "/<name>/code", methods=["PUT"], max_body_bytes=MAX_ZIP_BYTES * 4 // 3 + 1024 * 1024)
def update_function_code(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "UpdateFunctionCode", {"FunctionName": name})
    if params.get("Publish"):
        raise NotSupportedLocally("Publish", "Publish the first version with PublishVersion once the function is "
                                  "Active.")
    if params.get("Architectures", ["x86_64"]) != ["x86_64"]:
        raise NotSupportedLocally(f"the architectures {params['Architectures']}", "Functions run on x86_64.")
    function = function_named(ctx, params["FunctionName"])
    code = read_code(ctx, {k: params[k] for k in ("ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri")
                           if k in params}, "UpdateFunctionCode")
    if params.get("DryRun"):
        return json_response({**function.configuration(), "CodeSha256": code.sha256, "CodeSize": len(code.zip_bytes)})
    function.begin_update(params.get("RevisionId"), code=code)
    updated = function.configuration()
    threading.Thread(target=_unpack, args=(ctx, function), name=f"lambda-code-{name}", daemon=True).start()
    return json_response(updated)


@route("lambda", API + "/<name>/configuration", methods=["PUT"])
def update_function_configuration(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "UpdateFunctionConfiguration", {"FunctionName": name})
    _refuse_unsupported({"Runtime": RUNTIMES[0], "Handler": "-", **params})
    if "Role" in params:
        _check_role(ctx, params["Role"])
    function = function_named(ctx, params["FunctionName"])
    environment = params["Environment"].get("Variables", {}) if "Environment" in params else None
    settings = {k: params[k] for k in _SETTINGS if k in params}
    if "Layers" in params:
        settings["Layers"] = configured_layers(ctx, params["Layers"], function.code.zip_bytes)
    function.begin_update(params.get("RevisionId"), settings, environment)
    updated = function.configuration()
    # Nothing to unpack: the next invocation gets an environment with the new configuration.
    threading.Thread(target=function.finish_update, name=f"lambda-configuration-{name}", daemon=True).start()
    return json_response(updated)


@route("lambda", API + "/<name>", methods=["GET"])
def get_function(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "GetFunction", {"FunctionName": name})
    function, snapshot = target(ctx, params["FunctionName"], params.get("Qualifier"))
    answer = {"Configuration": function.configuration(snapshot)}
    if function.tags:
        answer["Tags"] = dict(function.tags)
    reserved = ctx.state(Concurrency).reservation(function.name)
    if reserved is not None:
        answer["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
    return json_response(answer)


@route("lambda", API + "/<name>/configuration", methods=["GET"])
def get_function_configuration(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "GetFunctionConfiguration", {"FunctionName": name})
    function, snapshot = target(ctx, params["FunctionName"], params.get("Qualifier"))
    return json_response(function.configuration(snapshot))


@route("lambda", API, methods=["GET"])
@route("lambda", API + "/", methods=["GET"])
def list_functions(request: Request, ctx) -> Response:
    params = request_params(request, ctx, "ListFunctions", {})
    if params.get("FunctionVersion", "ALL") != "ALL" or "MasterRegion" in params:
        raise NotSupportedLocally("MasterRegion", "Lambda@Edge replicas are not kept.")
    functions = sorted(ctx.state(FunctionStore).all(), key=lambda function: function.name)
    return json_response(paged("Functions", [function.configuration() for function in functions], params))


@route("lambda", API + "/<name>", methods=["DELETE"])
def delete_function(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "DeleteFunction", {"FunctionName": name})
    store = ctx.state(FunctionStore)
    function, snapshot = target(ctx, params["FunctionName"], params.get("Qualifier"))
    if snapshot.version != "$LATEST" or params.get("Qualifier") not in (None, "$LATEST"):
        version = params.get("Qualifier") or snapshot.version
        _delete_version(function, version)
        ctx.state(EventInvokeConfigs).forget(function.name, version)
        return Response(status=204)
    store.remove(function)
    drop_provisioned(ctx, function.name)
    ctx.state(EnvironmentPool).forget(function.name)
    ctx.state(Concurrency).unreserve(function.name)
    ctx.state(EventInvokeConfigs).forget(function.name)
    return Response(status=204)


def _delete_version(function: LambdaFunction, qualifier: str) -> None:
    """DeleteFunction of a version: refused while an alias points at it, as AWS refuses it."""
    if not qualifier.isdigit():
        raise InvalidParameterValueException(f"Deletion of aliases or $LATEST is not supported: {qualifier}")
    with function.lock:
        if qualifier not in function.versions:
            raise ResourceNotFoundException(f"Function not found: {function.arn}:{qualifier}")
        aliases = sorted(alias.name for alias in function.aliases.values() if alias.function_version == qualifier)
        if aliases:
            raise ResourceConflictException(
                f"Unable to delete version because the following aliases reference it: {aliases}")
        del function.versions[qualifier]
        function.policies.pop(qualifier, None)






































@route("lambda", API + "/<name>/invocations", methods=["POST"], max_body_bytes=MAX_SYNC_PAYLOAD_BYTES,
       too_large=("RequestTooLargeException", f"Request must be smaller than {MAX_SYNC_PAYLOAD_BYTES} bytes for the "
                  "InvokeFunction operation"))
def invoke(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "Invoke", {"FunctionName": name})
    function, snapshot = target(ctx, params["FunctionName"], params.get("Qualifier"))
    for member in ("ClientContext", "TenantId"):
        if member in params:
            raise NotSupportedLocally(f"Invoke's {member}", "It comes with a later step.")
    if snapshot.version == "$LATEST" and function.state != ACTIVE:
        raise ResourceConflictException("The operation cannot be performed at this time. The function is currently "
                                        f"in the following state: {function.state}")
    payload = params.get("Payload") or b"{}"
    try:
        json.loads(payload)
    except ValueError:
        raise InvalidRequestContentException("Could not parse request body into json: the payload is not JSON.")
    invocation_type = params.get("InvocationType", "RequestResponse")
    if invocation_type == "DryRun":
        return Response(status=204)
    resource = named_qualifier(params["FunctionName"], params.get("Qualifier"))
    resource = None if resource == "$LATEST" else resource

    def run(wait: bool):
        return run_invocation(ctx, function, snapshot, payload, resource, lambda: new_environment(ctx, function, snapshot),
                              wait=wait)

    if invocation_type == "Event":
        if len(payload) > MAX_EVENT_PAYLOAD_BYTES:
            raise RequestTooLargeException(f"Request must be smaller than {MAX_EVENT_PAYLOAD_BYTES} bytes for the "
                                           "Invoke operation")
        # Queued as Lambda queues it: a throttled event waits for a free unit instead of failing.
        threading.Thread(target=run_event, args=(ctx, function, resource, lambda: run(True)),
                         name=f"lambda-event-{function.name}", daemon=True).start()
        return Response(status=202)
    try:
        result = run(wait=False)
    except Throttled as throttled:
        return throttled_response(throttled.reason)
    headers = {"X-Amz-Executed-Version": snapshot.version}
    if result.request_id:
        headers["x-amzn-RequestId"] = result.request_id
    if result.function_error:
        headers["X-Amz-Function-Error"] = result.function_error
    if params.get("LogType") == "Tail":
        headers["X-Amz-Log-Result"] = base64.b64encode(result.log.encode()[-LOG_TAIL_BYTES:]).decode()
    return Response(result.payload, status=200, content_type="application/json", headers=headers)





