"""Requests for the services moto keeps, checked against botocore's model of their operation before moto
sees them, and refused in the service's own error shape (`refusal(environ, signing_name)`).

moto answers many client mistakes with an HTML 500 (which botocore retries) and acts on requests that
miss a required member (IAM `CreateUser` without a `UserName` made a user named None). Checked here, for
the JSON protocol (`X-Amz-Target`), RPC v2 CBOR (`/service/<service>/operation/<operation>`, what boto3
speaks to CloudWatch), the query and EC2 protocols (`Action`), and the REST protocols (S3's; the operation
matched on method, path and query as moto's router matches it): the operation exists, the request
parses, every required member is present, and types, ranges, lengths, enums and patterns hold. An
upload's bytes (a REST operation's blob payload) are not read here.
"""

import functools
import io
from dataclasses import dataclass
from urllib.parse import parse_qsl

from botocore.exceptions import DataNotFoundError, UnknownServiceError
from botocore.model import OperationNotFoundError
from moto.core.parse import PROTOCOL_PARSERS, EC2QueryParser, QueryParser
from moto.core.request import EnvironHeaders, Request
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from local_aws import protocol
from local_aws.access import refusals
from local_aws.access.refusals import Refusal
from local_aws.exceptions import ValidationException

# Signing names that are not the name of botocore's model (or are shared by more than one model).
_MODELS_BY_SIGNING_NAME = {
    "monitoring": ("cloudwatch",),
    "elasticloadbalancing": ("elbv2", "elb"),
    "email": ("ses",),
    "states": ("stepfunctions",),
}


@dataclass(frozen=True)
class _Problem:
    code: str
    message: str


def refusal(environ, signing_name: str) -> Refusal | None:
    """The service's answer to a request its model refuses; None when the model accepts it or when the
    request is not one this module checks."""
    wire = refusals.family(environ, signing_name)
    if wire == refusals.JSON and environ.get("HTTP_X_AMZ_TARGET"):
        problem = _json_problem(environ, signing_name)
    elif wire == refusals.CBOR:
        problem = _cbor_problem(environ, signing_name)
    elif wire in (refusals.QUERY, refusals.EC2):
        problem = _query_problem(environ, signing_name, wire)
    elif wire in (refusals.JSON, refusals.S3):
        problem = _rest_problem(environ, signing_name, wire)
    else:
        return None
    if problem is None:
        return None
    return refusals.answer(400, problem.code, problem.message, wire)


def _json_problem(environ, signing_name: str) -> _Problem | None:
    prefix, _, action = environ["HTTP_X_AMZ_TARGET"].partition(".")
    model = next((model for model in _models(signing_name) if model.metadata.get("targetPrefix") == prefix), None)
    if model is None:
        return None  # a service or an API version botocore does not know: moto's to answer
    return _operation_problem(model, action, lambda: protocol.json_object(_body(environ)))


def _operation_problem(model, action: str, read_params) -> _Problem | None:
    """An RPC request's problem: its operation unknown to `model`, or `read_params()` not what it takes."""
    try:
        operation = model.operation_model(action)
    except OperationNotFoundError:
        return _Problem("UnknownOperationException", f"Unknown operation {action[:128]} for {model.service_name}.")
    try:
        protocol.validated(operation.input_shape, read_params())
    except ValidationException as problem:
        return _Problem(problem.code, problem.message)
    return None


def _cbor_problem(environ, signing_name: str) -> _Problem | None:
    model = next((model for model in _models(signing_name)
                  if "smithy-rpc-v2-cbor" in model.metadata.get("protocols", ())), None)
    if model is None:
        return None  # a service botocore does not speak CBOR to: moto's to answer
    path = environ.get("PATH_INFO", "").split("/")
    if len(path) != 5 or path[1] != "service" or path[3] != "operation":
        return _Problem("UnknownOperationException", "An RPC v2 CBOR request goes to "
                        f"/service/<service>/operation/<operation>, not {environ.get('PATH_INFO', '')[:128]}.")
    return _operation_problem(model, path[4], lambda: protocol.cbor_object(_body(environ)))


def _query_problem(environ, signing_name: str, wire: str) -> _Problem | None:
    try:
        text = _body(environ).decode("utf-8")
    except UnicodeDecodeError:
        return _Problem("MalformedQueryString", "The request body is not valid UTF-8.")
    values = _query_values(environ, text)
    action = values.get("Action")
    if not action:
        return _Problem("MissingAction", "Missing Action")
    version = values.get("Version")
    model = next((model for model in _models(signing_name)
                  if model.protocol in ("query", "ec2") or "query" in model.metadata.get("protocols", ())
                  if version in (None, model.api_version)), None)
    if model is None:
        return None
    try:
        operation = model.operation_model(action)
    except OperationNotFoundError:
        return _Problem("InvalidAction", f"The action {action[:128]} is not valid for this web service.")
    parser = EC2QueryParser if wire == refusals.EC2 else QueryParser
    try:
        params = parser(operation).parse({"values": values, "headers": {}, "method": "POST", "body": text,
                                          "url_path": "/", "url_params": {}})
    except (ValueError, TypeError, ArithmeticError) as error:
        code = "InvalidParameterValue" if wire == refusals.EC2 else "ValidationError"
        return _Problem(code, f"A parameter's value is not of its type: {str(error)[:protocol.MAX_QUOTED_VALUE]}")
    try:
        protocol.validated(operation.input_shape, params)
    except protocol.MissingRequiredMembers as missing:
        if wire == refusals.EC2:
            return _Problem("MissingParameter", f"The request must contain the parameter {_ec2_name(missing.paths[0])}")
        return _Problem("ValidationError", missing.message)
    except ValidationException as problem:
        return _Problem("InvalidParameterValue" if wire == refusals.EC2 else "ValidationError", problem.message)
    return None


def _rest_match(environ, signing_name: str):
    """The REST model of the service, the operation a request is and its URI parameters; None when no
    operation of the model answers it (moto's to answer as it does)."""
    model = next((model for model in _models(signing_name) if model.protocol in ("rest-xml", "rest-json")), None)
    if model is None:
        return None
    # Matched on the line and headers alone: werkzeug would read a form-typed body to build `values`.
    headers_only = {**environ, "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"}
    try:
        operation, uri_params = get_service_router(model.service_name).match(Request(headers_only))
    except HTTPException:
        return None
    return model, operation, uri_params


def rest_operation(environ, signing_name: str) -> str | None:
    """The name botocore's model gives the REST operation a request is; None when none answers it."""
    matched = _rest_match(environ, signing_name)
    return None if matched is None else matched[1].name


def _rest_problem(environ, signing_name: str, wire: str) -> _Problem | None:
    matched = _rest_match(environ, signing_name)
    if matched is None:
        return None
    model, operation, uri_params = matched
    shape = operation.input_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    reads_body = payload is None or shape.members[payload].type_name == "structure"
    code = "InvalidArgument" if wire == refusals.S3 else "ValidationException"
    try:
        params = PROTOCOL_PARSERS[model.protocol](operation).parse({
            "method": environ["REQUEST_METHOD"], "headers": EnvironHeaders(environ),
            "values": MultiDict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)),
            "body": _body(environ) if reads_body else b"", "url_path": environ.get("PATH_INFO", "/"),
            "url_params": uri_params})
    except Exception as error:  # the parsers raise whatever int(), float() or the XML parser raise
        return _Problem(code, f"A parameter's value is not of its type: {str(error)[:protocol.MAX_QUOTED_VALUE]}")
    try:
        protocol.validated(shape, params, ignore_missing=[] if reads_body else [payload])
    except ValidationException as problem:
        return _Problem(code, problem.message)
    return None


def action_name(environ) -> str | None:
    """The Action a query-protocol request names, if it is one."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return environ["HTTP_X_AMZ_TARGET"]
    is_form = environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
    form = _body(environ)[:65536].decode("utf-8", errors="replace") if is_form else ""
    return _query_values(environ, form).get("Action")


def _query_values(environ, form: str) -> MultiDict:
    """A query-protocol request's parameters: its query string's, then its form body's."""
    return MultiDict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
                     + parse_qsl(form, keep_blank_values=True))


def _ec2_name(path: str) -> str:
    return path[:1].upper() + path[1:]


def _body(environ) -> bytes:
    """The request's body, the stream left at its start for moto."""
    stream = environ["wsgi.input"]
    stream.seek(0)
    body = stream.read()
    stream.seek(0)
    return body


@functools.cache
def _models(signing_name: str) -> tuple:
    """botocore's models of the services signed as `signing_name`, in moto's reading (its query parser
    needs moto's shapes)."""
    models = []
    for name in _MODELS_BY_SIGNING_NAME.get(signing_name, (signing_name,)):
        try:
            models.append(get_service_model(name))
        except (UnknownServiceError, DataNotFoundError):
            pass
    return tuple(models)
