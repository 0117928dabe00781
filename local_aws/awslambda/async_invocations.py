"""Asynchronous (`Event`) invocations as Lambda runs them, and their settings (Put/Update/Get/Delete/
ListFunctionEventInvokeConfigs).

An event is queued (`202`) and run in the background; when the function fails it is retried, by default
twice, one minute before the second attempt and two before the third (AWS's schedule, compressed by
`LOCAL_AWS_TIME_SCALE`), until `MaximumRetryAttempts` (0 to 2) is spent or the event is older than
`MaximumEventAgeInSeconds` (60 to 21,600; default six hours); a throttled event waits for a free unit of
concurrency, as Lambda's queue holds it. What then becomes of a failed event is logged; destinations
(`DestinationConfig`) and dead-letter queues are refused by name, never accepted and ignored.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from local_aws.awslambda.api_requests import function_named, json_response, named_qualifier, paged, request_params
from local_aws.awslambda.environment import Result
from local_aws.awslambda.functions import LambdaFunction, ResourceNotFoundException
from local_aws.exceptions import NotSupportedLocally
from local_aws.hosting.time_scale import real_seconds
from local_aws.routing import route

logger = logging.getLogger(__name__)

DEFAULT_RETRIES = 2
DEFAULT_MAX_AGE_SECONDS = 21_600
RETRY_DELAYS_SECONDS = (60, 120)  # before the second and the third attempt
CONFIG = "/2019-09-25/functions/<name>/event-invoke-config"


@dataclass
class EventInvokeConfig:
    function_arn: str  # qualified as AWS answers it: by the version, the alias or `$LATEST`
    retries: int | None = None
    max_age: int | None = None
    last_modified: float = 0.0

    def shape(self) -> dict:
        shape = {"FunctionArn": self.function_arn, "LastModified": self.last_modified}
        if self.retries is not None:
            shape["MaximumRetryAttempts"] = self.retries
        if self.max_age is not None:
            shape["MaximumEventAgeInSeconds"] = self.max_age
        return shape


class EventInvokeConfigs:
    """One account and region's configs, by function name and qualifier (`$LATEST` for the unqualified)."""

    def __init__(self, account_id: str, region: str):
        self.lock = threading.Lock()
        self.configs: dict[tuple[str, str], EventInvokeConfig] = {}

    def for_invocation(self, function_name: str, qualifier: str | None) -> tuple[int, int]:
        """The retries and maximum event age that apply to an event for `qualifier`."""
        with self.lock:
            config = self.configs.get((function_name, qualifier or "$LATEST"))
        if config is None:
            return DEFAULT_RETRIES, DEFAULT_MAX_AGE_SECONDS
        return (DEFAULT_RETRIES if config.retries is None else config.retries,
                DEFAULT_MAX_AGE_SECONDS if config.max_age is None else config.max_age)

    def forget(self, function_name: str, qualifier: str | None = None) -> None:
        with self.lock:
            for key in [key for key in self.configs if key[0] == function_name and qualifier in (None, key[1])]:
                del self.configs[key]


def run_event(ctx, function: LambdaFunction, qualifier: str | None, run: Callable[[], Result]) -> None:
    """Run one event with Lambda's retries; in the background of the Invoke that queued it."""
    retries, max_age = ctx.state(EventInvokeConfigs).for_invocation(function.name, qualifier)
    queued = time.monotonic()
    stopping = ctx.platform.supervisor.stopping
    for attempt in range(retries + 1):
        result = run()
        if result.function_error is None:
            return
        if attempt == retries:
            logger.warning("event for %s failed on its last attempt (%d of %d): dropped", function.arn, attempt + 1,
                           retries + 1)
            return
        delay = real_seconds(RETRY_DELAYS_SECONDS[attempt])
        if time.monotonic() + delay - queued > real_seconds(max_age):
            logger.warning("event for %s failed and is older than its maximum age (%d s): dropped", function.arn,
                           max_age)
            return
        logger.info("event for %s failed (attempt %d of %d): retried in %.1f s", function.arn, attempt + 1,
                    retries + 1, delay)
        if stopping.wait(delay):
            return


def _target(ctx, params: dict) -> tuple[LambdaFunction, str]:
    function = function_named(ctx, params["FunctionName"])
    qualifier = named_qualifier(params["FunctionName"], params.get("Qualifier")) or "$LATEST"
    function.resolve(qualifier)  # ResourceNotFoundException for a version or alias that does not exist
    return function, qualifier


def _configured(ctx, params: dict, merge: bool) -> Response:
    if params.get("DestinationConfig"):
        raise NotSupportedLocally("DestinationConfig", "A failed or finished event is logged, not sent on.")
    function, qualifier = _target(ctx, params)
    configs = ctx.state(EventInvokeConfigs)
    with configs.lock:
        config = _existing(configs, function, qualifier) if merge else EventInvokeConfig(f"{function.arn}:{qualifier}")
        if "MaximumRetryAttempts" in params:
            config.retries = params["MaximumRetryAttempts"]
        if "MaximumEventAgeInSeconds" in params:
            config.max_age = params["MaximumEventAgeInSeconds"]
        config.last_modified = time.time()
        configs.configs[(function.name, qualifier)] = config
        return json_response(config.shape())


def _existing(configs: EventInvokeConfigs, function: LambdaFunction, qualifier: str) -> EventInvokeConfig:
    """The config of `qualifier` (under `configs.lock`), or Lambda's ResourceNotFoundException."""
    config = configs.configs.get((function.name, qualifier))
    if config is None:
        raise ResourceNotFoundException(f"The function {function.arn}:{qualifier} doesn't have an EventInvokeConfig")
    return config


@route("lambda", CONFIG, methods=["PUT"])
def put_function_event_invoke_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "PutFunctionEventInvokeConfig", {"FunctionName": name})
    return _configured(ctx, params, merge=False)


@route("lambda", CONFIG, methods=["POST"])
def update_function_event_invoke_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "UpdateFunctionEventInvokeConfig", {"FunctionName": name})
    return _configured(ctx, params, merge=True)


@route("lambda", CONFIG, methods=["GET"])
def get_function_event_invoke_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "GetFunctionEventInvokeConfig", {"FunctionName": name})
    function, qualifier = _target(ctx, params)
    configs = ctx.state(EventInvokeConfigs)
    with configs.lock:
        return json_response(_existing(configs, function, qualifier).shape())


@route("lambda", CONFIG, methods=["DELETE"])
def delete_function_event_invoke_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "DeleteFunctionEventInvokeConfig", {"FunctionName": name})
    function, qualifier = _target(ctx, params)
    configs = ctx.state(EventInvokeConfigs)
    with configs.lock:
        _existing(configs, function, qualifier)
        del configs.configs[(function.name, qualifier)]
    return Response(status=204)


@route("lambda", CONFIG + "/list", methods=["GET"])
def list_function_event_invoke_configs(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "ListFunctionEventInvokeConfigs", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    configs = ctx.state(EventInvokeConfigs)
    with configs.lock:
        found = [config.shape() for (fn, _), config in sorted(configs.configs.items()) if fn == function.name]
    return json_response(paged("FunctionEventInvokeConfigs", found, params))
