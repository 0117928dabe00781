"""The WSGI application behind the one URL: routes each request to local_aws's own services or
to moto, which runs in-process and keeps every other service's state. S3 bodies are checked against
their integrity headers first (`s3_integrity`): moto would store them whatever they say.

A request belongs to the service named in its SigV4 credential scope
(`Credential=AKID/date/region/SERVICE/aws4_request`). Within a service local_aws implements,
a registered route (matched on method and path) wins; otherwise `X-Amz-Target` names a JSON 1.1
action. A SageMaker request that matches neither is refused: moto's SageMaker would only record
it and report success without doing the work.
"""

import functools
import importlib
import io
import logging
import os
import time
import urllib.parse
from collections.abc import Callable

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import get_account_id_from
from moto.moto_server import werkzeug_app
from moto.moto_server.werkzeug_app import BackendRequest, DomainDispatcherApplication, create_backend_app
from werkzeug.wrappers import Request, Response

from local_aws import output_shapes, protocol, routing, s3_integrity, validation
from local_aws.access import principals, refusals, role_trust, sigv4
from local_aws.access.refusals import Refusal
from local_aws.exceptions import AccessDeniedException, AWSError, UnknownOperationException, aws_error
from local_aws.platform import Platform, RequestContext
from local_aws.settings import switch_setting

logger = logging.getLogger("local_aws.edge")

# signing name -> X-Amz-Target prefix (None: a REST service whose every operation is a route)
IMPLEMENTED_SERVICES = {"sagemaker": "SageMaker", "lambda": None}

DEFAULT_REGION = "us-east-1"
NotImplementedYet = aws_error("NotImplemented", 501)
_LARGEST_ACTION_FORM = 64 * 1024


def load_service_modules() -> None:
    for module in routing.SERVICE_MODULES:
        importlib.import_module(module)


class Edge:
    def __init__(self, platform: Platform):
        self.platform = platform
        # moto's server answers every origin (flask-cors on each service's app); here only the gate's
        # list of origins, and S3 buckets' own CORS rules within it, may. Read as each app is made.
        werkzeug_app.DISABLE_GLOBAL_CORS = True
        self.moto = _Dispatcher(_backend_app)
        self.check_responses = switch_setting("LOCAL_AWS_CHECK_RESPONSES")  # output_shapes
        load_service_modules()

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        access_key, region, service = _scope(environ)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if service is None and target.split(".", 1)[0] in IMPLEMENTED_SERVICES.values():
            service = next(s for s, prefix in IMPLEMENTED_SERVICES.items() if target.startswith(prefix))
        what = target or f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        if service not in IMPLEMENTED_SERVICES:
            try:
                refused = _refusal_before_moto(environ, service)
            except Exception:
                logger.exception("checking %s %s", service, what)
                refused = _internal_failure(environ, service)
            if refused is not None:
                logger.info("%s %s -> %s %s (%.1f ms)", service or "-", what, refused.status, refused.code,
                            (time.perf_counter() - started) * 1e3)
                return refusals.respond(start_response, refused)
            if service in routing.services_around_moto():
                return self._around_moto(environ, start_response, service, what, started, access_key, region)
            return self._to_moto(environ, start_response, service, what, started)
        ctx = _request_context(self.platform, environ, access_key, region)
        response = self._serve(Request(environ), service, target, ctx)
        logger.info(
            "%s %s -> %s (%.1f ms)", service, what, response.status_code, (time.perf_counter() - started) * 1e3
        )
        return response(environ, start_response)

    def body_limit(self, environ) -> tuple[int, Callable[[], Refusal]] | None:
        """The route's own limit on the request body, and how AWS answers a body over it."""
        _, _, service = _scope(environ)
        found = routing.body_limit(service, environ["REQUEST_METHOD"], environ["PATH_INFO"])
        if found is None:
            return None
        limit, too_large = found
        return limit, functools.partial(_payload_too_large, limit, too_large)

    def _serve(self, request: Request, service: str, target: str, ctx: RequestContext) -> Response:
        try:
            found = routing.find_route(service, request.method, request.path)
            if found is not None:
                handler, args = found
                return handler(request, ctx, **args)
            if IMPLEMENTED_SERVICES[service] is None:
                operation = validation.rest_operation(request.environ, service)
                raise NotImplementedYet(f"local_aws does not implement {service} "
                                        f"{operation or request.method + ' ' + request.path} yet.")
            prefix = IMPLEMENTED_SERVICES[service] + "."
            if not target.startswith(prefix):
                raise UnknownOperationException(
                    f"local_aws does not implement {request.method} {request.path} for {service}."
                )
            return self._serve_action(request, service, target[len(prefix):], ctx)
        except AWSError as error:
            return _error_response(error)
        except Exception:
            logger.exception("internal error serving %s %s", service, target or request.path)
            return _error_response(AWSError("local_aws failed to serve the request; see its log."))

    def _serve_action(self, request: Request, service: str, action: str, ctx: RequestContext) -> Response:
        handler = routing.find_action(service, action)
        if handler is None:
            raise UnknownOperationException(
                f"local_aws does not implement {service} action {action}. "
                f"Implemented: {', '.join(routing.implemented_actions(service))}."
            )
        params = protocol.parse_request(service, action, request.get_data())
        authorize = routing.find_action_authorizer(service)
        if authorize is None:
            raise AccessDeniedException(f"local_aws cannot evaluate IAM for {service}:{action}.")
        authorize(ctx, action, params)
        body = protocol.serialise(handler(params, ctx))
        if self.check_responses and (problems := output_shapes.violations(service, action, body)):
            message = f"local_aws's answer to {service} {action} breaks AWS's output shape: " + "; ".join(problems)
            logger.error("%s", message)
            raise AWSError(message)
        return Response(body, status=200, content_type=protocol.JSON_CONTENT_TYPE)

    def _around_moto(self, environ, start_response, service, what, started, access_key, region):
        """An action local AWS wraps (`routing.around_moto`), or else moto's answer: a JSON service's action
        named by its `X-Amz-Target` with its validated parameters, a query one's by its form's `Action`."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            action = target.rpartition(".")[2]
            handler = routing.find_around_moto(service, action)
            params = None  # parsed below, where its errors are answered
        else:
            params = {name: values[-1] for name, values in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
            handler = routing.find_around_moto(service, params.get("Action"))
        if handler is None:
            return self._to_moto(environ, start_response, service, what, started)
        ctx = _request_context(self.platform, environ, access_key, region)

        def moto() -> routing.MotoAnswer:
            answered = {}

            def captured(status, headers, exc_info=None):
                answered.update(status=int(status[:3]), headers=list(headers))
                return lambda data: None

            chunks = self._to_moto(dict(environ, **{"wsgi.input": io.BytesIO(body)}), captured, service, what,
                                   started)
            return routing.MotoAnswer(answered["status"], answered["headers"], b"".join(chunks))

        try:
            if params is None:
                params = protocol.parse_request(service, action, body)
            response = handler(params, ctx, moto)
        except AWSError as error:
            refused = refusals.answer(error.status, error.code, error.message, refusals.family(environ, service))
            logger.info("%s %s -> %s %s (%.1f ms)", service, what, refused.status, refused.code,
                        (time.perf_counter() - started) * 1e3)
            return refusals.respond(start_response, refused)
        return response(environ, start_response)

    def _to_moto(self, environ, start_response, service, what, started):
        """moto's answer, except that a failure of moto (an exception, or its HTML error page) is
        answered as AWS answers an internal error, in the service's shape, and logged with its id."""
        failed = []
        label = service or "-"

        def logged_start_response(status, headers, exc_info=None):
            if int(status[:3]) >= 500 and "html" in dict(headers).get("Content-Type", "").lower():
                failed.append(status)
                return lambda data: None
            logger.info("%s %s -> %s (%.1f ms)", label, what, status.split()[0], (time.perf_counter() - started) * 1e3)
            return start_response(status, headers, exc_info)

        try:
            body = self.moto(environ, logged_start_response)
        except NotImplementedError:
            action = (validation.action_name(environ) or what)[:128]
            refused = refusals.answer(501, "NotImplemented", f"local_aws does not implement {label} {action}.",
                                      refusals.family(environ, service))
            logger.warning("%s %s -> 501 NotImplemented (moto does not implement it)", label, action)
            return refusals.respond(start_response, refused)
        except Exception:
            logger.exception("moto failed serving %s %s", label, what)
            body, failed = [], ["raised"]
        if not failed:
            return body
        if hasattr(body, "close"):
            body.close()
        failure = _internal_failure(environ, service)
        logger.error("%s %s -> 500 InternalFailure, request id %s (moto: %s)", label, what, failure.request_id,
                     failed[0])
        return refusals.respond(start_response, failure)


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, except that a body it reads to find the service of an unsigned-header request
    (a presigned URL's) is always put back byte for byte: moto's loses one that is not UTF-8."""

    def _get_body(self, environ) -> str | None:
        if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            return None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if not 0 < length <= _LARGEST_ACTION_FORM:
            return None  # an upload's bytes, not an Action form
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return None


class _S3Request(BackendRequest):
    """S3 reads a form only from a browser's POST upload; any other body is an object's bytes whatever its
    Content-Type. (werkzeug parses a form body by its type alone, leaving moto an empty `data`.)"""

    @property
    def want_form_data_parsed(self) -> bool:
        return self.method == "POST" and self.mimetype == "multipart/form-data"


def _backend_app(service: str):
    app = create_backend_app(service)
    if service == "s3":
        app.request_class = _S3Request
    return app


def _payload_too_large(limit: int, too_large: tuple[str, str] | None) -> Refusal:
    if too_large is not None:
        return refusals.answer(413, *too_large, refusals.JSON)
    # AWS's front end answers it without an error code: boto3 reports the status as the code.
    return refusals.answer(413, "413", f"HTTP content length exceeded {limit} bytes.", refusals.JSON)


def _internal_failure(environ, service: str | None) -> Refusal:
    return refusals.answer(500, "InternalFailure", "local_aws failed to serve the request; its log names this "
                           "request id.", refusals.family(environ, service))


def _refusal_before_moto(environ, service: str | None) -> Refusal | None:
    """What S3's integrity checks or the service's model refuse, before moto could store or act on it."""
    if service is None:
        return None
    if service == "s3" and int(environ.get("CONTENT_LENGTH") or 0) > 0:
        refused = s3_integrity.refusal(environ)
        if refused is not None:
            return refused
    return validation.refusal(environ, service)


def _scope(environ) -> tuple[str | None, str, str | None]:
    """The access key, region and signing name (the service) that the request's signature claims."""
    found = sigv4.claimed(environ)
    if found is None:
        return None, DEFAULT_REGION, None
    return found.access_key_id, found.region, found.service.lower()


def _request_context(platform: Platform, environ, access_key: str | None, region: str) -> RequestContext:
    principal = environ.get(principals.PRINCIPAL_KEY)
    # Only local AWS's own key pair may say which AWS service it acts for.
    on_behalf_of = environ.get(role_trust.SERVICE_ENVIRON_KEY) if principal is not None and principal.is_owner else None
    return RequestContext(platform, _account_id(environ, access_key), region, principal, environ.get("REMOTE_ADDR"),
                          on_behalf_of)


def _account_id(environ, access_key: str | None) -> str:
    """The caller's account, decided as moto decides it, so both halves agree on whose state it is."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if "HTTP_X_MOTO_ACCOUNT_ID" in environ:
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    return get_account_id_from(access_key) if access_key else DEFAULT_ACCOUNT_ID


def _error_response(error: AWSError) -> Response:
    return Response(
        protocol.error_body(error),
        status=error.status,
        content_type=protocol.JSON_CONTENT_TYPE,
        headers={"x-amzn-ErrorType": error.code},
    )
