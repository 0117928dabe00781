"""Local AWS's own answers checked against botocore's model of the operation's output, as a client reads them:
every required member present, no member the shape does not have, no JSON `null`, each value of its shape's
type, each enum value one of the enum's. AWS omits a member until it exists (`ModelArtifacts` before the
job has uploaded its artifact), where an empty stand-in breaks clients that check the shape (the SageMaker
SDK's `TrainingJob.get()` refuses `"ModelArtifacts": {}`).

The edge checks each answer when `LOCAL_AWS_CHECK_RESPONSES` is on (the test suite turns it on, so that the
next mismatch fails the test that made the call) and answers a violation as an internal failure naming it.
"""

import json

from local_aws import protocol

_NUMBERS = (int, float)


def violations(service_name: str, action: str, body: bytes) -> list[str]:
    """What in the JSON answer `body` of `action` breaks its output shape, as `path: problem` lines."""
    shape = protocol.service_model(service_name).operation_model(action).output_shape
    answer = json.loads(body or b"{}")
    if shape is None:
        return [] if answer == {} else [f"{action} has no output, but the answer has members {sorted(answer)}"]
    problems: list[str] = []
    _check(shape, answer, action, problems)
    return problems


def _check(shape, value, path: str, problems: list[str]) -> None:
    if value is None:
        problems.append(f"{path}: null, where AWS omits a member that has no value")
        return
    kind = shape.type_name
    expected = {"structure": dict, "map": dict, "list": list, "string": str, "blob": str, "boolean": bool,
                "integer": int, "long": int, "float": _NUMBERS, "double": _NUMBERS, "timestamp": _NUMBERS}[kind]
    if not isinstance(value, expected) or (isinstance(value, bool) and kind != "boolean"):
        problems.append(f"{path}: a {type(value).__name__} where the shape {shape.name} is a {kind}")
        return
    if kind == "structure":
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}.{name}: missing, and {shape.name} requires it")
        for name, member in value.items():
            if name not in shape.members:
                problems.append(f"{path}.{name}: not a member of {shape.name}")
            else:
                _check(shape.members[name], member, f"{path}.{name}", problems)
    elif kind == "list":
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", problems)
    elif kind == "map":
        for key, item in value.items():
            _check(shape.key, key, f"{path} key {key!r}", problems)
            _check(shape.value, item, f"{path}[{key!r}]", problems)
    elif kind == "string" and shape.enum and value not in shape.enum:
        problems.append(f"{path}: {value!r} is not one of {shape.name}'s values {shape.enum}")
