"""Where service modules declare what they implement; the edge consults nothing else.

A JSON-protocol action is a function `handler(params: dict, ctx: RequestContext) -> dict`:

    @action("sagemaker", "DescribeModel")
    def describe_model(params, ctx): ...

A non-JSON route (e.g. the SageMaker runtime's invocations) is a function
`handler(request: werkzeug.Request, ctx: RequestContext, **rule_args) -> werkzeug.Response`:

    @route("sagemaker", "/endpoints/<name>/invocations", methods=["POST"], max_body_bytes=6 * 1024 * 1024)
    def invoke_endpoint(request, ctx, name): ...

A route's `max_body_bytes` is enforced by the HTTP server, before or while the body arrives.

An action of a service whose state moto keeps but whose execution is local AWS's own (EC2's instances)
wraps moto's answer: `handler(params: dict, ctx, moto: Callable[[], MotoAnswer]) -> werkzeug.Response`
gets the request's form parameters and calls `moto()` for moto's answer, if at all:

    @around_moto("ec2", "RunInstances")
    def run_instances(params, ctx, moto): ...

`service` is the SigV4 signing name. Modules register at import; `SERVICE_MODULES` lists them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

SERVICE_MODULES = (
    "local_aws.sagemaker.permissions",
    "local_aws.sagemaker.training_api",
    "local_aws.sagemaker.tuning_api",
    "local_aws.sagemaker.models_api",
    "local_aws.sagemaker.model_registry_api",
    "local_aws.sagemaker.tags_api",
    "local_aws.hosting.endpoints_api",
    "local_aws.hosting.runtime",
    "local_aws.awslambda.functions_api",
    "local_aws.awslambda.versions_api",
    "local_aws.awslambda.concurrency_api",
    "local_aws.awslambda.function_urls_api",
    "local_aws.awslambda.permissions_api",
    "local_aws.awslambda.layers_api",
    "local_aws.awslambda.async_invocations",
    "local_aws.ec2.instances_api",
    "local_aws.ssm.run_command_api",
    "local_aws.hosting.autoscaling_api",
    "local_aws.access.assume_role_api",
    "local_aws.access.policy_simulation_api",
)

ActionHandler = Callable[..., dict]
RouteHandler = Callable[..., object]

_actions: dict[tuple[str, str], ActionHandler] = {}
_route_maps: dict[str, Map] = {}
_route_handlers: dict[str, RouteHandler] = {}
_route_body_limits: dict[str, int] = {}
_route_too_large: dict[str, tuple[str, str]] = {}
_action_authorizers: dict[str, Callable[..., None]] = {}
_around_moto: dict[tuple[str, str], RouteHandler] = {}


@dataclass(frozen=True)
class MotoAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def response(self) -> Response:
        return Response(self.body, status=self.status, headers=self.headers)


def around_moto(service: str, name: str) -> Callable[[RouteHandler], RouteHandler]:
    def register(handler: RouteHandler) -> RouteHandler:
        if (service, name) in _around_moto:
            raise RuntimeError(f"{service} action {name} is wrapped twice")
        _around_moto[(service, name)] = handler
        return handler

    return register


def find_around_moto(service: str | None, name: str | None) -> RouteHandler | None:
    return _around_moto.get((service, name))


def services_around_moto() -> frozenset[str]:
    return frozenset(service for service, _ in _around_moto)


def action(service: str, name: str) -> Callable[[ActionHandler], ActionHandler]:
    def register(handler: ActionHandler) -> ActionHandler:
        key = (service, name)
        if key in _actions:
            raise RuntimeError(f"{service} action {name} is registered twice")
        _actions[key] = handler
        return handler

    return register


def route(service: str, rule: str, methods: list[str], max_body_bytes: int | None = None,
          too_large: tuple[str, str] | None = None) -> Callable[[RouteHandler], RouteHandler]:
    """`too_large`: the service's own error code and message for a body over `max_body_bytes` (default: the
    front end's bare 413)."""

    def register(handler: RouteHandler) -> RouteHandler:
        endpoint = f"{handler.__module__}.{handler.__qualname__}"
        _route_maps.setdefault(service, Map()).add(Rule(rule, methods=methods, endpoint=endpoint))
        _route_handlers[endpoint] = handler
        if max_body_bytes is not None:
            _route_body_limits[endpoint] = max_body_bytes
        if too_large is not None:
            _route_too_large[endpoint] = too_large
        return handler

    return register


def action_authorizer(service: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Declares the function `authorize(ctx, action, params)` that IAM-checks every action of a JSON service
    before its handler runs; a service without one has its every action refused."""

    def register(authorize: Callable[..., None]) -> Callable[..., None]:
        _action_authorizers[service] = authorize
        return authorize

    return register


def find_action_authorizer(service: str) -> Callable[..., None] | None:
    return _action_authorizers.get(service)


def find_action(service: str, name: str) -> ActionHandler | None:
    return _actions.get((service, name))


def implemented_actions(service: str) -> list[str]:
    return sorted(name for svc, name in _actions if svc == service)


def find_route(service: str, method: str, path: str) -> tuple[RouteHandler, dict] | None:
    """The handler and rule arguments for a request, or None when no registered route matches."""
    matched = _match(service, method, path)
    return None if matched is None else (_route_handlers[matched[0]], matched[1])


def body_limit(service: str, method: str, path: str) -> tuple[int, tuple[str, str] | None] | None:
    """The most bytes the route answering `method path` takes in a request body, and its own error for a
    body over it (None: the front end's); None if it sets no limit."""
    matched = _match(service, method, path)
    if matched is None or matched[0] not in _route_body_limits:
        return None
    return _route_body_limits[matched[0]], _route_too_large.get(matched[0])


def smallest_body_limit() -> int:
    """The lowest `max_body_bytes` of any route (0 if none sets one): a smaller body is within every limit."""
    return min(_route_body_limits.values(), default=0)


def _match(service: str, method: str, path: str) -> tuple[str, dict] | None:
    route_map = _route_maps.get(service)
    if route_map is None:
        return None
    adapter = route_map.bind("localhost")
    try:
        return adapter.match(path, method=method)
    except Exception:  # werkzeug's NotFound / MethodNotAllowed: not ours to answer
        return None


def is_route(method: str, path: str) -> bool:
    """Whether any service's registered route answers `method path` (a browser's preflight names no service)."""
    return any(find_route(service, method, path) is not None for service in _route_maps)
