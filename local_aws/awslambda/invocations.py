"""One invocation of a function version, however it was asked for (Invoke, an Event, a function URL): a
unit of concurrency held while it runs, an environment from the pool (warm, or started for it:
`new_environment`, its logs shipped to CloudWatch Logs), its metrics recorded."""

import datetime
import uuid

from local_aws.access.assume_role_api import assume_role_for
from local_aws.access.role_trust import RoleNotAssumable
from local_aws.awslambda.concurrency import Concurrency, Throttled
from local_aws.awslambda.environment import ExecutionEnvironment, FunctionSetup, Result
from local_aws.awslambda.function_metrics import FunctionMetrics
from local_aws.awslambda.functions import InvalidParameterValueException, LambdaFunction, Snapshot
from local_aws.awslambda.layers_api import layer_content
from local_aws.awslambda.log_shipping import LogShipper
from local_aws.awslambda.pool import EnvironmentPool
from local_aws.awslambda.provisioned import ProvisionedConfigs
from local_aws.awslambda.runtime_packages import runtime_directory
from local_aws.containers.log_streams import LogStream, ensure_log_group


def run_invocation(ctx, function: LambdaFunction, snapshot: Snapshot, payload: bytes, resource: str | None,
                   make_environment, wait: bool = False) -> Result:
    """Run `payload` on `snapshot`; Throttled when no unit of concurrency is free (with `wait`, wait for one).
    `resource` is the alias or version the caller named (metrics' Resource); `make_environment()` starts a
    new environment when no warm one is free."""
    pool, concurrency, metrics = ctx.state(EnvironmentPool), ctx.state(Concurrency), ctx.state(FunctionMetrics)
    pool.close_with(ctx.platform.supervisor)
    metrics.publish_with(ctx)
    try:
        concurrency.acquire(function.name, wait=wait)
    except Throttled:
        metrics.throttled(function.name, resource)
        raise
    metrics.started(function.name, resource)
    result = None
    try:
        result = pool.invoke(function.name, f"{snapshot.version}:{snapshot.revision_id}", make_environment, payload,
                             lambda provisioned: metrics.serving(function.name, resource, provisioned))
        return result
    finally:
        concurrency.release(function.name)
        metrics.ended(function.name, resource, result.duration_ms if result else 0.0,
                      result is None or result.function_error is not None, result is not None and result.provisioned,
                      ctx.state(ProvisionedConfigs).allocated(function.name, resource))


def new_environment(ctx, function: LambdaFunction, snapshot: Snapshot) -> ExecutionEnvironment:
    settings = snapshot.settings
    try:
        credentials = assume_role_for(ctx.platform, ctx.account_id, ctx.region, settings["Role"],
                                      "lambda.amazonaws.com", function.name[:64].ljust(2, "_"))
    except RoleNotAssumable:
        raise InvalidParameterValueException("The role defined for the function cannot be assumed by Lambda.")
    setup = FunctionSetup(
        name=function.name, arn=function.arn if snapshot.version == "$LATEST" else f"{function.arn}:{snapshot.version}",
        handler=settings["Handler"], code_dir=snapshot.code.directory, version=snapshot.version,
        runtime_dir=runtime_directory(ctx.files() / "lambda"),
        region=ctx.region, memory_mb=settings["MemorySize"], timeout_seconds=float(settings["Timeout"]),
        ephemeral_mb=settings["EphemeralStorage"]["Size"], environment=dict(snapshot.environment),
        endpoint_url=ctx.platform.url, opt_dir=layer_content(ctx, settings.get("Layers", [])),
        credentials=credentials)
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
