"""One invocation of a function version, however it was asked for (Invoke, an Event, a function URL): a
unit of concurrency held while it runs, an environment from the pool (warm, or started for it), its
metrics recorded."""

from local_aws.awslambda.concurrency import Concurrency, Throttled
from local_aws.awslambda.environment import Result
from local_aws.awslambda.function_metrics import FunctionMetrics
from local_aws.awslambda.functions import LambdaFunction, Snapshot
from local_aws.awslambda.pool import EnvironmentPool


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
        result = pool.invoke(function.name, f"{snapshot.version}:{snapshot.revision_id}", make_environment, payload)
        return result
    finally:
        concurrency.release(function.name)
        metrics.ended(function.name, resource, result.duration_ms if result else 0.0,
                      result is None or result.function_error is not None)

