"""PublishVersion, ListVersionsByFunction and Create/Get/Update/Delete/ListAliases."""

import uuid

from werkzeug.wrappers import Request, Response

from local_aws.awslambda.api_requests import API, function_named, json_response, paged, request_params
from local_aws.awslambda.async_invocations import EventInvokeConfigs
from local_aws.awslambda.functions import (
    Alias,
    LambdaFunction,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from local_aws.exceptions import NotSupportedLocally
from local_aws.routing import route


@route("lambda", API + "/<name>/versions", methods=["POST"])
def publish_version(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "PublishVersion", {"FunctionName": name})
    if "PublishTo" in params:
        raise NotSupportedLocally("PublishTo", "Versions are published from $LATEST.")
    function = function_named(ctx, params["FunctionName"])
    snapshot = function.publish(params.get("CodeSha256"), params.get("Description"), params.get("RevisionId"))
    return json_response(function.configuration(snapshot), status=201)


@route("lambda", API + "/<name>/versions", methods=["GET"])
def list_versions_by_function(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "ListVersionsByFunction", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        published = sorted(function.versions.values(), key=lambda snapshot: int(snapshot.version))
    versions = [function.configuration()] + [function.configuration(snapshot) for snapshot in published]
    return json_response(paged("Versions", versions, params))


def _alias_target(function: LambdaFunction, params: dict) -> str:
    if params.get("RoutingConfig", {}).get("AdditionalVersionWeights"):
        raise NotSupportedLocally("RoutingConfig.AdditionalVersionWeights", "An alias points at one version.")
    version = params["FunctionVersion"]
    if version != "$LATEST" and version not in function.versions:
        raise ResourceNotFoundException(f"Function not found: {function.arn}:{version}")
    return version


@route("lambda", API + "/<name>/aliases", methods=["POST"])
def create_alias(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "CreateAlias", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        if params["Name"] in function.aliases:
            raise ResourceConflictException(f"Alias already exists: {function.arn}:{params['Name']}")
        alias = Alias(params["Name"], _alias_target(function, params), params.get("Description", ""))
        function.aliases[alias.name] = alias
        return json_response(function.alias_shape(alias), status=201)


@route("lambda", API + "/<name>/aliases/<alias>", methods=["GET"])
def get_alias(request: Request, ctx, name: str, alias: str) -> Response:
    params = request_params(request, ctx, "GetAlias", {"FunctionName": name, "Name": alias})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        return json_response(function.alias_shape(_alias(function, params["Name"])))


@route("lambda", API + "/<name>/aliases/<alias>", methods=["PUT"])
def update_alias(request: Request, ctx, name: str, alias: str) -> Response:
    params = request_params(request, ctx, "UpdateAlias", {"FunctionName": name, "Name": alias})
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
    params = request_params(request, ctx, "DeleteAlias", {"FunctionName": name, "Name": alias})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        function.aliases.pop(params["Name"], None)  # AWS answers 204 for an alias that is not there
        function.policies.pop(params["Name"], None)  # its resource policy goes with it
    ctx.state(EventInvokeConfigs).forget(function.name, params["Name"])  # and its event-invoke config
    return Response(status=204)


@route("lambda", API + "/<name>/aliases", methods=["GET"])
def list_aliases(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "ListAliases", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        aliases = [function.alias_shape(alias) for alias in sorted(function.aliases.values(), key=lambda a: a.name)
                   if params.get("FunctionVersion") in (None, alias.function_version)]
    return json_response(paged("Aliases", aliases, params))


def _alias(function: LambdaFunction, name: str) -> Alias:
    if name not in function.aliases:
        raise ResourceNotFoundException(f"Alias not found: {function.arn}:{name}")
    return function.aliases[name]
