"""The AWS JSON 1.1 protocol for the services local_aws implements: parse, validate, serialise.

Requests are checked against botocore's own service model, so local_aws refuses exactly what
AWS's request validation refuses: botocore's `ParamValidator` covers required members, unknown
members, types and minimums; `_constraint_violations` adds what only the server checks (maximum
lengths and values, patterns, enums) in AWS's wording.
"""

import datetime
import functools
import json
import re

import botocore.session
from botocore.model import OperationNotFoundError
from botocore.parsers import ResponseParserError, RpcV2CBORParser
from botocore.utils import parse_to_aware_datetime
from botocore.validate import ParamValidator

from local_aws.exceptions import AWSError, UnknownOperationException, ValidationException

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_QUOTED_VALUE = 256  # characters of a value a validation message repeats
MAX_MESSAGE = 2048  # characters of a validation message
# Java regex classes of the models' patterns, in Python's spelling.
_JAVA_CLASSES = {"[\\p{Print}]": "[\\x20-\\x7E]", "\\p{Print}": "[\\x20-\\x7E]",
                 "\\p{ASCII}": "[\\x00-\\x7F]", "\\z": "\\Z"}


@functools.cache
def service_model(service_name: str):
    return botocore.session.get_session().get_service_model(service_name)


def parse_request(service_name: str, action: str, body: bytes) -> dict:
    """The validated parameters of a JSON 1.1 request, timestamps as aware datetimes."""
    try:
        operation = service_model(service_name).operation_model(action)
    except OperationNotFoundError:
        raise UnknownOperationException(f"Unknown operation {action} for service {service_name}.")
    return validated(operation.input_shape, json_object(body))


def json_object(body: bytes) -> dict:
    """A JSON protocol request's body as a dict; SerializationException when it is not a JSON object."""
    try:
        params = json.loads(body or b"{}")
    except RecursionError:
        raise SerializationException("The request body nests deeper than local_aws parses.")
    except ValueError as error:
        raise SerializationException(f"The request body is not valid JSON: {str(error)[:MAX_QUOTED_VALUE]}")
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object.")
    return params


def cbor_object(body: bytes) -> dict:
    """An RPC v2 CBOR request's body as a dict (botocore's CBOR decoder, timestamps as datetimes);
    SerializationException when it is not one CBOR map."""
    if not body:
        return {}
    decoder = RpcV2CBORParser()
    stream = decoder.get_peekable_stream_from_bytes(body)
    try:
        params = decoder.parse_data_item(stream)
        rest = stream.read(1)
    except RecursionError:
        raise SerializationException("The request body nests deeper than local_aws parses.")
    except (ResponseParserError, ValueError, TypeError, IndexError, KeyError, OverflowError) as error:
        raise SerializationException(f"The request body is not valid CBOR: {str(error)[:MAX_QUOTED_VALUE]}")
    if rest or not isinstance(params, dict):
        raise SerializationException("The request body must be one CBOR map.")
    return params


def parse_rest_headers(service_name: str, action: str, uri_params: dict[str, str], headers,
                       error: type[AWSError] = ValidationException) -> dict:
    """The validated members of a REST request that live in its URI and headers (its body is the
    route's business), as botocore's model places them."""
    shape = service_model(service_name).operation_model(action).input_shape
    params = {}
    for name, member in shape.members.items():
        location, wire_name = member.serialization.get("location"), member.serialization.get("name", name)
        if location == "uri" and wire_name in uri_params:
            params[name] = uri_params[wire_name]
        elif location == "header" and headers.get(wire_name) is not None:
            params[name] = headers.get(wire_name)
    required_elsewhere = [name for name in shape.required_members if name not in params
                          and shape.members[name].serialization.get("location") not in ("uri", "header")]
    try:
        return validated(shape, params, ignore_missing=required_elsewhere)
    except ValidationException as problem:
        raise error(problem.message)


def validated(shape, params: dict, ignore_missing: list[str] = ()) -> dict:
    """`params` checked against `shape`, timestamps as aware datetimes; ValidationException otherwise,
    a missing required member worded as AWS words it."""
    if shape is None:
        return {}
    elsewhere = {_join("", name) for name in ignore_missing}
    missing = [path for path in _missing(shape, params, "") if path not in elsewhere]
    if missing:
        raise MissingRequiredMembers(missing)
    try:
        report = ParamValidator().validate({**{name: b"" for name in ignore_missing}, **params}, shape)
    except (RuntimeError, ValueError, OverflowError) as error:  # a timestamp botocore cannot place
        raise ValidationException(f"A value cannot be read as its type: {str(error)[:MAX_QUOTED_VALUE]}")
    problems: list[str] = []
    if report.has_errors():
        try:  # AWS's wording where the values' types allow it, botocore's otherwise
            _checked(shape, params, "", problems)
        except (TypeError, AttributeError, ValueError, KeyError):
            problems = []
        raise ValidationException(_report(problems) if problems else report.generate_report()[:MAX_MESSAGE])
    params = _checked(shape, params, "", problems)
    if problems:
        raise ValidationException(_report(problems))
    return params


def _report(problems: list[str]) -> str:
    count = len(problems)
    return (f"{count} validation error{'' if count == 1 else 's'} detected: " + "; ".join(problems))[:MAX_MESSAGE]


class SerializationException(ValidationException):
    code = "SerializationException"


class MissingRequiredMembers(ValidationException):
    def __init__(self, paths: list[str]):
        self.paths = paths
        super().__init__(_report([f"Value null at '{path}' failed to satisfy constraint: Member must not be null"
                                  for path in paths]))


def _missing(shape, value, path) -> list[str]:
    """The paths of required members absent from `value`, in AWS's lowerCamelCase."""
    if shape.type_name == "structure" and isinstance(value, dict):
        found = [_join(path, name) for name in shape.required_members if value.get(name) is None]
        for name, member in value.items():
            if name in shape.members:
                found += _missing(shape.members[name], member, _join(path, name))
        return found
    if shape.type_name == "list" and isinstance(value, list):
        return [found for item in value for found in _missing(shape.member, item, path)]
    if shape.type_name == "map" and isinstance(value, dict):
        return [found for item in value.values() for found in _missing(shape.value, item, path)]
    return []


def _checked(shape, value, path, problems):
    """`value` with timestamps converted, appending to `problems` every constraint it breaks."""
    kind = shape.type_name
    if kind == "structure":
        return {
            name: _checked(shape.members[name], member, _join(path, name), problems)
            for name, member in value.items()
        }
    if kind == "list":
        _check_size(shape, value, len(value), path, problems)
        return [_checked(shape.member, item, path, problems) for item in value]
    if kind == "map":
        _check_size(shape, value, len(value), path, problems)
        return {
            _checked(shape.key, key, path, problems): _checked(shape.value, item, path, problems)
            for key, item in value.items()
        }
    if kind == "timestamp":
        try:
            return parse_to_aware_datetime(value)
        except (ValueError, OverflowError, OSError, RuntimeError):
            problems.append(f"{_value(shape, value)} at '{path}' failed to satisfy constraint: "
                            "Member must be a valid timestamp")
            return value
    if kind == "string":
        _check_size(shape, value, len(value), path, problems)
        if shape.enum and value not in shape.enum:
            problems.append(
                f"{_value(shape, value)} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
            )
        pattern = shape.metadata.get("pattern")
        if pattern and not _matches(pattern, value):
            problems.append(
                f"{_value(shape, value)} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {pattern}"
            )
    if kind in ("integer", "long", "float", "double"):
        if "max" in shape.metadata and value > shape.metadata["max"]:
            problems.append(
                f"{_value(shape, value)} at '{path}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {shape.metadata['max']}"
            )
        if "min" in shape.metadata and value < shape.metadata["min"]:
            problems.append(
                f"{_value(shape, value)} at '{path}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {shape.metadata['min']}"
            )
    return value


def _check_size(shape, value, size, path, problems):
    what = "length" if shape.type_name == "string" else "size"
    limit = shape.metadata.get("max")
    if limit is not None and size > limit:
        problems.append(
            f"{_value(shape, value)} at '{path}' failed to satisfy constraint: "
            f"Member must have {what} less than or equal to {limit}"
        )
    least = shape.metadata.get("min")
    if least is not None and size < least:
        problems.append(
            f"{_value(shape, value)} at '{path}' failed to satisfy constraint: "
            f"Member must have {what} greater than or equal to {least}"
        )


def _value(shape, value) -> str:
    """How a validation message quotes a value: not at all when the model marks it sensitive, and cut
    short when long, so that an error never echoes a large request back."""
    if shape.metadata.get("sensitive"):
        return "Value"
    text = str(value)
    return f"Value '{text[:MAX_QUOTED_VALUE]}...'" if len(text) > MAX_QUOTED_VALUE else f"Value '{text}'"


@functools.cache
def _compiled(pattern: str):
    # The models' patterns are Java regexes; the few Python cannot compile are not enforced.
    for java, python in _JAVA_CLASSES.items():
        pattern = pattern.replace(java, python)
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def _matches(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


def _join(path: str, member: str) -> str:
    # AWS names members in lowerCamelCase in its validation messages.
    name = member[:1].lower() + member[1:]
    return f"{path}.{name}" if path else name


def _to_wire(value):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def serialise(result: dict) -> bytes:
    return json.dumps(result, default=_to_wire).encode()


def error_body(error: AWSError) -> bytes:
    return json.dumps({"__type": error.code, "message": error.message}).encode()
