"""Reserved concurrency (Put/Get/DeleteFunctionConcurrency) and provisioned concurrency
(Put/Get/Delete/ListProvisionedConcurrencyConfigs)."""

import threading

from werkzeug.wrappers import Request, Response

from local_aws.awslambda.api_requests import function_named, json_response, paged, request_params
from local_aws.awslambda.concurrency import Concurrency
from local_aws.awslambda.functions import InvalidParameterValueException, LambdaFunction, Snapshot
from local_aws.awslambda.invocations import new_environment
from local_aws.awslambda.pool import EnvironmentPool
from local_aws.awslambda.provisioned import ProvisionedConfig, ProvisionedConfigs, provision
from local_aws.exceptions import aws_error
from local_aws.routing import route

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
    params = request_params(request, ctx, "PutProvisionedConcurrencyConfig", {"FunctionName": name})
    function, snapshot, qualifier = _provisioned_target(ctx, params)
    configs, requested = ctx.state(ProvisionedConfigs), params["ProvisionedConcurrentExecutions"]
    reserved = ctx.state(Concurrency).reservation(function.name)
    if reserved is not None and configs.total(function.name, excluding=qualifier) + requested > reserved:
        raise InvalidParameterValueException(
            f"Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution [{reserved}] "
            f"for function {function.name}.")
    drop_provisioned(ctx, function.name, qualifier)
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
        params = request_params(request, ctx, "ListProvisionedConcurrencyConfigs", {"FunctionName": name})
        function = function_named(ctx, params["FunctionName"])
        with configs.lock:
            found = [{"FunctionArn": c.function_arn, **c.shape()} for (fn, _), c in sorted(configs.configs.items())
                     if fn == function.name]
        return json_response(paged("ProvisionedConcurrencyConfigs", found, params))
    params = request_params(request, ctx, "GetProvisionedConcurrencyConfig", {"FunctionName": name})
    function, _, qualifier = _provisioned_target(ctx, params)
    with configs.lock:
        config = configs.configs.get((function.name, qualifier))
    if config is None:
        raise aws_error("ProvisionedConcurrencyConfigNotFoundException", 404)(
            f"No Provisioned Concurrency Config found for this function: {function.arn}:{qualifier}")
    return json_response(config.shape())


@route("lambda", PROVISIONED, methods=["DELETE"])
def delete_provisioned_concurrency_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "DeleteProvisionedConcurrencyConfig", {"FunctionName": name})
    function, _, qualifier = _provisioned_target(ctx, params)
    drop_provisioned(ctx, function.name, qualifier)
    return Response(status=204)


def drop_provisioned(ctx, function_name: str, qualifier: str | None = None) -> None:
    """Close the environments of the function's config for `qualifier` (None: of all its configs)."""
    for config in ctx.state(ProvisionedConfigs).take(function_name, qualifier):
        ctx.state(EnvironmentPool).retire(function_name, list(config.environments))


@route("lambda", "/2017-10-31/functions/<name>/concurrency", methods=["PUT"])
def put_function_concurrency(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "PutFunctionConcurrency", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    try:
        ctx.state(Concurrency).reserve(function.name, params["ReservedConcurrentExecutions"])
    except ValueError as error:
        raise InvalidParameterValueException(str(error))
    return json_response({"ReservedConcurrentExecutions": params["ReservedConcurrentExecutions"]})


@route("lambda", "/2019-09-30/functions/<name>/concurrency", methods=["GET"])
def get_function_concurrency(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "GetFunctionConcurrency", {"FunctionName": name})
    reserved = ctx.state(Concurrency).reservation(function_named(ctx, params["FunctionName"]).name)
    return json_response({} if reserved is None else {"ReservedConcurrentExecutions": reserved})


@route("lambda", "/2017-10-31/functions/<name>/concurrency", methods=["DELETE"])
def delete_function_concurrency(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "DeleteFunctionConcurrency", {"FunctionName": name})
    ctx.state(Concurrency).unreserve(function_named(ctx, params["FunctionName"]).name)
    return Response(status=204)
