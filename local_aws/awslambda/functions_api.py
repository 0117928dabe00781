"""Lambda's API for functions: CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction, Invoke, Put/Get/DeleteFunctionConcurrency,
PublishVersion, ListVersionsByFunction, Create/Get/Update/Delete/ListAliases, provisioned concurrency. Requests are validated against botocore's model; options local AWS cannot honour
are refused by name. Lambda's other operations are refused as not implemented yet: moto's Lambda cannot
run a function, so it is not consulted for any of them.
"""

import base64
import datetime
import io
import json
import threading
import uuid
import zipfile

from botocore.exceptions import ClientError
from moto.core.parse import PROTOCOL_PARSERS
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from local_aws import protocol
from local_aws.awslambda.concurrency import Concurrency, Throttled
from local_aws.awslambda.environment import ExecutionEnvironment, FunctionSetup
from local_aws.awslambda.functions import (
    ACTIVE,
    DEFAULTS,
    Alias,
    Code,
    FunctionStore,
    InvalidParameterValueException,
    LambdaFunction,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    Snapshot,
)
from local_aws.awslambda.invocations import run_invocation
from local_aws.awslambda.log_shipping import LogShipper

# UpdateFunctionConfiguration members that change the function's settings as given.
_SETTINGS = ("Role", "Handler", "Description", "Timeout", "MemorySize", "Runtime", "EphemeralStorage")
from local_aws.awslambda.pool import EnvironmentPool
from local_aws.awslambda.provisioned import ProvisionedConfig, ProvisionedConfigs, provision
from local_aws.awslambda.runtime_packages import runtime_directory
from local_aws.containers.log_streams import LogStream, ensure_log_group
from local_aws.exceptions import NotSupportedLocally, ValidationException, aws_error
from local_aws.routing import route

API = "/2015-03-31/functions"
RUNTIMES = ("python3.11", "python3.12")
MAX_ZIP_BYTES = 50 * 1024 * 1024  # a direct upload's limit
MAX_UNZIPPED_BYTES = 262_144_000
MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_EVENT_PAYLOAD_BYTES = 1024 * 1024
LOG_TAIL_BYTES = 4096  # what LogType=Tail returns of the invocation's log
DEFAULT_MAX_ITEMS = 50
InvalidRequestContentException = aws_error("InvalidRequestContentException")
RequestTooLargeException = aws_error("RequestTooLargeException", 413)

# CreateFunction members whose work local AWS does not do; accepting them would pretend it happened.
_REFUSED_MEMBERS = {
    "VpcConfig": "Functions run on this machine's loopback network; there is no VPC.",
    "FileSystemConfigs": "EFS is not available.",
    "CodeSigningConfigArn": "Code signing is not checked.",
    "DeadLetterConfig": "Asynchronous invocations are not retried or sent to a dead-letter queue.",
    "Layers": "Layers are not available yet (PublishLayerVersion comes with a later step).",
    "ImageConfig": "Only Zip packages run.",
    "KMSKeyArn": "Environment variables are not encrypted.",
    "CapacityProviderConfig": "Functions run on this machine.",
    "DurableConfig": "Durable functions are not available.",
    "TenancyConfig": "Tenant isolation is not available.",
}


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


def _target(ctx, name_or_arn: str, qualifier: str | None = None) -> tuple[LambdaFunction, Snapshot]:
    """The function a request names (its name, ARN or partial ARN) and the version its qualifier (in the
    ARN or the Qualifier member) names: `$LATEST`, a number or an alias."""
    function = function_named(ctx, name_or_arn)
    return function, function.resolve(named_qualifier(name_or_arn, qualifier))


def named_qualifier(name_or_arn: str, qualifier: str | None) -> str | None:
    """The qualifier a request names, in its Qualifier member or in a qualified ARN; None for none."""
    return qualifier or name_or_arn.rsplit(":function:", 1)[-1].partition(":")[2] or None


def function_named(ctx, name_or_arn: str) -> LambdaFunction:
    return ctx.state(FunctionStore).get(name_or_arn.rsplit(":function:", 1)[-1].partition(":")[0])


@route("lambda", API, methods=["POST"], max_body_bytes=MAX_ZIP_BYTES * 4 // 3 + 1024 * 1024)
def create_function(request: Request, ctx) -> Response:
    params = request_params(request, "CreateFunction", {})
    _refuse_unsupported(params)
    _check_role(ctx, params["Role"])
    store = ctx.state(FunctionStore)
    name = params["FunctionName"]
    settings = {**DEFAULTS, **{k: v for k, v in params.items() if k in DEFAULTS or k in ("Runtime", "Role", "Handler")}}
    function = LambdaFunction(name, store.arn(name), settings, dict(params.get("Environment", {}).get("Variables", {})),
                              _code(ctx, params["Code"]))
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
        raise NotSupportedLocally("Publish", "Versions come with a later step; the function is $LATEST only.")
    if "Handler" not in params:
        raise InvalidParameterValueException("The Handler is required for a Zip package.")


def _check_role(ctx, role_arn: str) -> None:
    """As AWS checks: the role exists and trusts lambda.amazonaws.com."""
    refused = InvalidParameterValueException("The role defined for the function cannot be assumed by Lambda.")
    try:
        role = ctx.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
    except ClientError:
        raise refused
    if role["Arn"] != role_arn or not _trusts_lambda(role.get("AssumeRolePolicyDocument", {})):
        raise refused


def _trusts_lambda(document) -> bool:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        services = statement.get("Principal", {}).get("Service", []) if isinstance(statement.get("Principal"), dict) else []
        actions = [actions] if isinstance(actions, str) else actions
        services = [services] if isinstance(services, str) else services
        if (statement.get("Effect") == "Allow" and {"sts:AssumeRole", "sts:*", "*"} & set(actions)
                and "lambda.amazonaws.com" in services):
            return True
    return False


def _code(ctx, code: dict) -> Code:
    if "ImageUri" in code:
        raise NotSupportedLocally("Code.ImageUri", "Give a Zip package.")
    if "ZipFile" in code:
        zip_bytes = code["ZipFile"]
    elif "S3Bucket" in code and "S3Key" in code:
        location = {"Bucket": code["S3Bucket"], "Key": code["S3Key"]}
        if "S3ObjectVersion" in code:
            location["VersionId"] = code["S3ObjectVersion"]
        try:
            zip_bytes = ctx.client("s3").get_object(**location)["Body"].read()
        except ClientError as error:
            raise InvalidParameterValueException(
                f"Error occurred while GetObject. S3 Error Code: {error.response['Error']['Code']}. "
                f"S3 Error Message: {error.response['Error'].get('Message', '')}")
    else:
        raise InvalidParameterValueException("Please provide a source for function code (ZipFile or S3Bucket and S3Key).")
    if len(zip_bytes) > MAX_ZIP_BYTES:
        raise RequestTooLargeException("Request must be smaller than 52428800 bytes for the CreateFunction operation")
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise InvalidParameterValueException("Could not unzip uploaded file. Please check your file, then try to "
                                             "upload again.")
    if unzipped > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    return Code(zip_bytes)


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
    params = request_params(request, "UpdateFunctionCode", {"FunctionName": name})
    if params.get("Publish"):
        raise NotSupportedLocally("Publish", "Versions come with a later step; the function is $LATEST only.")
    if params.get("Architectures", ["x86_64"]) != ["x86_64"]:
        raise NotSupportedLocally(f"the architectures {params['Architectures']}", "Functions run on x86_64.")
    function = function_named(ctx, params["FunctionName"])
    code = _code(ctx, {k: params[k] for k in ("ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri")
                       if k in params})
    if params.get("DryRun"):
        return json_response({**function.configuration(), "CodeSha256": code.sha256, "CodeSize": len(code.zip_bytes)})
    function.begin_update(params.get("RevisionId"), code=code)
    updated = function.configuration()
    threading.Thread(target=_unpack, args=(ctx, function), name=f"lambda-code-{name}", daemon=True).start()
    return json_response(updated)


@route("lambda", API + "/<name>/configuration", methods=["PUT"])
def update_function_configuration(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "UpdateFunctionConfiguration", {"FunctionName": name})
    _refuse_unsupported({"Runtime": RUNTIMES[0], "Handler": "-", **params})
    if "Role" in params:
        _check_role(ctx, params["Role"])
    function = function_named(ctx, params["FunctionName"])
    environment = params["Environment"].get("Variables", {}) if "Environment" in params else None
    function.begin_update(params.get("RevisionId"), {k: params[k] for k in _SETTINGS if k in params}, environment)
    updated = function.configuration()
    # Nothing to unpack: the next invocation gets an environment with the new configuration.
    threading.Thread(target=function.finish_update, name=f"lambda-configuration-{name}", daemon=True).start()
    return json_response(updated)


@route("lambda", API + "/<name>", methods=["GET"])
def get_function(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "GetFunction", {"FunctionName": name})
    function, snapshot = _target(ctx, params["FunctionName"], params.get("Qualifier"))
    answer = {"Configuration": function.configuration(snapshot)}
    if function.tags:
        answer["Tags"] = dict(function.tags)
    reserved = ctx.state(Concurrency).reservation(function.name)
    if reserved is not None:
        answer["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
    return json_response(answer)


@route("lambda", API + "/<name>/configuration", methods=["GET"])
def get_function_configuration(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "GetFunctionConfiguration", {"FunctionName": name})
    function, snapshot = _target(ctx, params["FunctionName"], params.get("Qualifier"))
    return json_response(function.configuration(snapshot))


@route("lambda", API, methods=["GET"])
@route("lambda", API + "/", methods=["GET"])
def list_functions(request: Request, ctx) -> Response:
    params = request_params(request, "ListFunctions", {})
    if params.get("FunctionVersion", "ALL") != "ALL" or "MasterRegion" in params:
        raise NotSupportedLocally("MasterRegion", "Lambda@Edge replicas are not kept.")
    functions = sorted(ctx.state(FunctionStore).all(), key=lambda function: function.name)
    return json_response(_paged("Functions", [function.configuration() for function in functions], params))


@route("lambda", API + "/<name>", methods=["DELETE"])
def delete_function(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "DeleteFunction", {"FunctionName": name})
    store = ctx.state(FunctionStore)
    function, snapshot = _target(ctx, params["FunctionName"], params.get("Qualifier"))
    if snapshot.version != "$LATEST" or params.get("Qualifier") not in (None, "$LATEST"):
        _delete_version(function, params.get("Qualifier") or snapshot.version)
        return Response(status=204)
    store.remove(function)
    for qualifier in [q for (fn, q) in list(ctx.state(ProvisionedConfigs).configs) if fn == function.name]:
        _drop_provisioned(ctx, function.name, qualifier)
    ctx.state(EnvironmentPool).forget(function.name)
    ctx.state(Concurrency).unreserve(function.name)
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


@route("lambda", API + "/<name>/versions", methods=["POST"])
def publish_version(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "PublishVersion", {"FunctionName": name})
    if "PublishTo" in params:
        raise NotSupportedLocally("PublishTo", "Versions are published from $LATEST.")
    function = function_named(ctx, params["FunctionName"])
    snapshot = function.publish(params.get("CodeSha256"), params.get("Description"), params.get("RevisionId"))
    return json_response(function.configuration(snapshot), status=201)


@route("lambda", API + "/<name>/versions", methods=["GET"])
def list_versions_by_function(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "ListVersionsByFunction", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        published = sorted(function.versions.values(), key=lambda snapshot: int(snapshot.version))
    versions = [function.configuration()] + [function.configuration(snapshot) for snapshot in published]
    return json_response(_paged("Versions", versions, params))


def _paged(key: str, items: list[dict], params: dict) -> dict:
    """Lambda's Marker/MaxItems paging (the marker is the next item's index)."""
    start = int(params["Marker"]) if params.get("Marker", "").isdigit() else 0
    end = start + params.get("MaxItems", DEFAULT_MAX_ITEMS)
    return {key: items[start:end], **({"NextMarker": str(end)} if end < len(items) else {})}


def _alias_target(function: LambdaFunction, params: dict) -> str:
    if params.get("RoutingConfig", {}).get("AdditionalVersionWeights"):
        raise NotSupportedLocally("RoutingConfig.AdditionalVersionWeights", "An alias points at one version.")
    version = params["FunctionVersion"]
    if version != "$LATEST" and version not in function.versions:
        raise ResourceNotFoundException(f"Function not found: {function.arn}:{version}")
    return version


@route("lambda", API + "/<name>/aliases", methods=["POST"])
def create_alias(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "CreateAlias", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        if params["Name"] in function.aliases:
            raise ResourceConflictException(f"Alias already exists: {function.arn}:{params['Name']}")
        alias = Alias(params["Name"], _alias_target(function, params), params.get("Description", ""))
        function.aliases[alias.name] = alias
        return json_response(function.alias_shape(alias), status=201)


@route("lambda", API + "/<name>/aliases/<alias>", methods=["GET"])
def get_alias(request: Request, ctx, name: str, alias: str) -> Response:
    params = request_params(request, "GetAlias", {"FunctionName": name, "Name": alias})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        return json_response(function.alias_shape(_alias(function, params["Name"])))


@route("lambda", API + "/<name>/aliases/<alias>", methods=["PUT"])
def update_alias(request: Request, ctx, name: str, alias: str) -> Response:
    params = request_params(request, "UpdateAlias", {"FunctionName": name, "Name": alias})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        found = _alias(function, params["Name"])
        if params.get("RevisionId") not in (None, found.revision_id):
            raise PreconditionFailedException("The Revision Id provided does not match the latest Revision Id. "
                                              "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
        if "FunctionVersion" in params:
            found.function_version = _alias_target(function, params)
        if "Description" in params:
            found.description = params["Description"]
        found.revision_id = str(uuid.uuid4())
        return json_response(function.alias_shape(found))


@route("lambda", API + "/<name>/aliases/<alias>", methods=["DELETE"])
def delete_alias(request: Request, ctx, name: str, alias: str) -> Response:
    params = request_params(request, "DeleteAlias", {"FunctionName": name, "Name": alias})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        function.aliases.pop(params["Name"], None)  # AWS answers 204 for an alias that is not there
    return Response(status=204)


@route("lambda", API + "/<name>/aliases", methods=["GET"])
def list_aliases(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "ListAliases", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        aliases = [function.alias_shape(alias) for alias in sorted(function.aliases.values(), key=lambda a: a.name)
                   if params.get("FunctionVersion") in (None, alias.function_version)]
    return json_response(_paged("Aliases", aliases, params))


def _alias(function: LambdaFunction, name: str) -> Alias:
    if name not in function.aliases:
        raise ResourceNotFoundException(f"Alias not found: {function.arn}:{name}")
    return function.aliases[name]


PROVISIONED = "/2019-09-30/functions/<name>/provisioned-concurrency"


def _provisioned_target(ctx, params: dict) -> tuple[LambdaFunction, Snapshot, str]:
    function = function_named(ctx, params["FunctionName"])
    qualifier = params["Qualifier"]
    if qualifier == "$LATEST":
        raise InvalidParameterValueException(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
    return function, function.resolve(qualifier), qualifier


@route("lambda", PROVISIONED, methods=["PUT"])
def put_provisioned_concurrency_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "PutProvisionedConcurrencyConfig", {"FunctionName": name})
    function, snapshot, qualifier = _provisioned_target(ctx, params)
    configs, requested = ctx.state(ProvisionedConfigs), params["ProvisionedConcurrentExecutions"]
    reserved = ctx.state(Concurrency).reservation(function.name)
    others = configs.total(function.name) - (configs.configs.get((function.name, qualifier)) or
                                             ProvisionedConfig("", 0)).requested
    if reserved is not None and others + requested > reserved:
        raise InvalidParameterValueException(
            f"Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution [{reserved}] "
            f"for function {function.name}.")
    _drop_provisioned(ctx, function.name, qualifier)
    config = ProvisionedConfig(f"{function.arn}:{qualifier}", requested)
    with configs.lock:
        configs.configs[(function.name, qualifier)] = config
    pool = ctx.state(EnvironmentPool)
    pool.close_with(ctx.platform.supervisor)
    key = f"{snapshot.version}:{snapshot.revision_id}"
    accepted = config.shape()  # IN_PROGRESS, nothing allocated yet
    threading.Thread(target=provision, args=(config, lambda: pool.prewarm(
        function.name, key, lambda: new_environment(ctx, function, snapshot))), daemon=True,
        name=f"lambda-provision-{function.name}").start()
    return json_response(accepted, status=202)


@route("lambda", PROVISIONED, methods=["GET"])
def get_or_list_provisioned_concurrency(request: Request, ctx, name: str) -> Response:
    configs = ctx.state(ProvisionedConfigs)
    if request.args.get("List") == "ALL":
        params = request_params(request, "ListProvisionedConcurrencyConfigs", {"FunctionName": name})
        function = function_named(ctx, params["FunctionName"])
        with configs.lock:
            found = [{"FunctionArn": c.function_arn, **c.shape()} for (fn, _), c in sorted(configs.configs.items())
                     if fn == function.name]
        return json_response(_paged("ProvisionedConcurrencyConfigs", found, params))
    params = request_params(request, "GetProvisionedConcurrencyConfig", {"FunctionName": name})
    function, _, qualifier = _provisioned_target(ctx, params)
    with configs.lock:
        config = configs.configs.get((function.name, qualifier))
    if config is None:
        raise aws_error("ProvisionedConcurrencyConfigNotFoundException", 404)(
            f"No Provisioned Concurrency Config found for this function: {function.arn}:{qualifier}")
    return json_response(config.shape())


@route("lambda", PROVISIONED, methods=["DELETE"])
def delete_provisioned_concurrency_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "DeleteProvisionedConcurrencyConfig", {"FunctionName": name})
    function, _, qualifier = _provisioned_target(ctx, params)
    _drop_provisioned(ctx, function.name, qualifier)
    return Response(status=204)


def _drop_provisioned(ctx, function_name: str, qualifier: str) -> None:
    configs = ctx.state(ProvisionedConfigs)
    with configs.lock:
        config = configs.configs.pop((function_name, qualifier), None)
    if config is not None:
        ctx.state(EnvironmentPool).retire(function_name, list(config.environments))


@route("lambda", "/2017-10-31/functions/<name>/concurrency", methods=["PUT"])
def put_function_concurrency(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "PutFunctionConcurrency", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    try:
        ctx.state(Concurrency).reserve(function.name, params["ReservedConcurrentExecutions"])
    except ValueError as error:
        raise InvalidParameterValueException(str(error))
    return json_response({"ReservedConcurrentExecutions": params["ReservedConcurrentExecutions"]})


@route("lambda", "/2019-09-30/functions/<name>/concurrency", methods=["GET"])
def get_function_concurrency(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "GetFunctionConcurrency", {"FunctionName": name})
    reserved = ctx.state(Concurrency).reservation(function_named(ctx, params["FunctionName"]).name)
    return json_response({} if reserved is None else {"ReservedConcurrentExecutions": reserved})


@route("lambda", "/2017-10-31/functions/<name>/concurrency", methods=["DELETE"])
def delete_function_concurrency(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "DeleteFunctionConcurrency", {"FunctionName": name})
    ctx.state(Concurrency).unreserve(function_named(ctx, params["FunctionName"]).name)
    return Response(status=204)


@route("lambda", API + "/<name>/invocations", methods=["POST"], max_body_bytes=MAX_SYNC_PAYLOAD_BYTES,
       too_large=("RequestTooLargeException", f"Request must be smaller than {MAX_SYNC_PAYLOAD_BYTES} bytes for the "
                  "InvokeFunction operation"))
def invoke(request: Request, ctx, name: str) -> Response:
    params = request_params(request, "Invoke", {"FunctionName": name})
    function, snapshot = _target(ctx, params["FunctionName"], params.get("Qualifier"))
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
        threading.Thread(target=run, args=(True,), name=f"lambda-event-{function.name}", daemon=True).start()
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


def new_environment(ctx, function: LambdaFunction, snapshot: Snapshot) -> ExecutionEnvironment:
    settings = snapshot.settings
    credentials = ctx.client("sts").assume_role(RoleArn=settings["Role"],
                                                RoleSessionName=function.name[:64])["Credentials"]
    setup = FunctionSetup(
        name=function.name, arn=function.arn if snapshot.version == "$LATEST" else f"{function.arn}:{snapshot.version}",
        handler=settings["Handler"], code_dir=snapshot.code.directory, version=snapshot.version,
        runtime_dir=runtime_directory(ctx.files() / "lambda"),
        region=ctx.region, memory_mb=settings["MemorySize"], timeout_seconds=float(settings["Timeout"]),
        ephemeral_mb=settings["EphemeralStorage"]["Size"], environment=dict(snapshot.environment),
        endpoint_url=ctx.platform.url,
        credentials={"AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
                     "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                     "AWS_SESSION_TOKEN": credentials["SessionToken"]})
    instance = uuid.uuid4().hex
    environment = ctx.files() / "lambda" / function.name / "environments" / instance[:12]
    return ExecutionEnvironment(setup, environment / "state", environment / "runtime.log",
                                logs=_log_shipper(ctx, function.name, snapshot.version, instance))


def _log_shipper(ctx, function_name: str, version: str, instance: str) -> LogShipper:
    """To the function's CloudWatch Logs group, a stream per environment named as Lambda names them."""
    logs = ctx.client("logs")
    group = f"/aws/lambda/{function_name}"
    ensure_log_group(logs, group)
    stream = LogStream(logs, group, f"{datetime.datetime.now(datetime.timezone.utc):%Y/%m/%d}/[{version}]{instance}")
    return LogShipper(stream, function_name)

