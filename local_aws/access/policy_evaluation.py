"""IAM policy documents evaluated as AWS documents it: which statements apply to one action on one resource
in one request context, and the decision they make (`allowed`, `explicitDeny`, `implicitDeny`).

Pure functions over parsed JSON; who holds which policy, and how identity and resource policies combine,
is `authorization`'s. A statement applies when its `Action` (or `NotAction`), `Resource` (or `NotResource`),
`Principal` (in resource policies) and every `Condition` match. Actions match case-insensitively, resources
case-sensitively, both with `*` and `?` wildcards; `${aws:username}`-style policy variables in resources
and condition values are filled from the request context. A condition key the request lacks makes its
condition false, except for the negated operators, `...IfExists`, `ForAllValues:` and `Null`, as AWS's
documentation says. A condition operator local AWS does not know is an error naming it, never ignored:
moto's matcher treats unknown operators as met and a failed condition on an Allow as a Deny.
"""

import base64
import datetime
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitDeny", "implicitDeny"

ContextValue = str | list[str]


class PolicyEvaluationError(Exception):
    """A policy that local AWS cannot evaluate faithfully (an unknown condition operator, a malformed element)."""


@dataclass(frozen=True)
class Policy:
    """One policy document and where it comes from (its ARN, or `role/<role>/<inline policy name>`)."""

    source: str
    document: Mapping


@dataclass(frozen=True)
class Caller:
    """Who makes the request, as a resource policy's `Principal` sees it."""

    arn: str  # the session's or user's own ARN
    principal_arn: str  # the role's ARN for a session; the user's ARN for a user
    account_id: str


@dataclass(frozen=True)
class Match:
    policy: Policy
    index: int  # the statement's position in the document's Statement list
    effect: str


@dataclass(frozen=True)
class Evaluation:
    decision: str
    matched: tuple[Match, ...]  # the statements that decided it: the denials, else the allowances

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED


def evaluate(policies: Iterable[Policy], action: str, resource: str, context: Mapping[str, ContextValue],
             caller: Caller | None = None) -> Evaluation:
    """The decision of `policies` alone on `action` on `resource`. `caller`: match `Principal` elements
    (resource policies); None for identity policies, which have none."""
    keys = {key.lower(): value for key, value in context.items()}
    allows, denies = [], []
    for policy in policies:
        for index, statement in enumerate(_statements(policy)):
            if _applies(statement, action, resource, keys, caller):
                effect = statement.get("Effect")
                (denies if effect == "Deny" else allows).append(Match(policy, index, effect))
    if denies:
        return Evaluation(EXPLICIT_DENY, tuple(denies))
    if allows:
        return Evaluation(ALLOWED, tuple(allows))
    return Evaluation(IMPLICIT_DENY, ())


def _statements(policy: Policy) -> list[Mapping]:
    statements = policy.document.get("Statement", [])
    statements = [statements] if isinstance(statements, Mapping) else statements
    for statement in statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") not in ("Allow", "Deny"):
            raise PolicyEvaluationError(f"policy {policy.source} has a statement without Effect Allow or Deny")
    return statements


def _applies(statement: Mapping, action: str, resource: str, keys: Mapping[str, ContextValue],
             caller: Caller | None) -> bool:
    if not _element_matches(statement, "Action", action, keys, ignore_case=True):
        return False
    if not _element_matches(statement, "Resource", resource, keys, ignore_case=False):
        return False
    if caller is not None and not _principal_matches(statement, caller):
        return False
    return all(_condition_holds(operator, block, keys) for operator, block in statement.get("Condition", {}).items())


def _element_matches(statement: Mapping, element: str, value: str, keys, ignore_case: bool) -> bool:
    """`Action`/`NotAction` or `Resource`/`NotResource`; a statement without either element of the pair
    (a resource policy written without `Resource`) covers every value."""
    negated = "Not" + element
    if element not in statement and negated not in statement:
        return True
    patterns = statement.get(element, statement.get(negated))
    patterns = [patterns] if isinstance(patterns, str) else patterns
    matched = any(wildcard_match(_substituted(pattern, keys), value, ignore_case) for pattern in patterns)
    return matched if element in statement else not matched


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` any one character, nothing else special."""
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(expression, value, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_LITERALS = {"*": "*", "?": "?", "$": "$"}


def _substituted(pattern: str, keys: Mapping[str, ContextValue]) -> str:
    """Policy variables filled from the request; one the request lacks leaves the pattern matching nothing."""
    missing = []

    def fill(match: re.Match) -> str:
        name, _, default = match.group(1).partition(",")
        if name in _LITERALS:
            return _LITERALS[name]
        value = keys.get(name.strip().lower())
        if isinstance(value, str):
            return value
        if default:  # ${key, 'default'}
            return default.strip().strip("'")
        missing.append(name)
        return ""

    filled = _VARIABLE.sub(fill, pattern)
    return "\x00never\x00" if missing else filled


def _principal_matches(statement: Mapping, caller: Caller) -> bool:
    if "NotPrincipal" in statement:
        return not _names_caller(statement["NotPrincipal"], caller)
    return _names_caller(statement.get("Principal"), caller)


def _names_caller(principal, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    names = principal.get("AWS", [])  # Service and Federated principals are never a local caller
    names = [names] if isinstance(names, str) else names
    account_root = f":iam::{caller.account_id}:root"
    return any(name == "*" or name in (caller.arn, caller.principal_arn, caller.account_id)
               or name.endswith(account_root) for name in names)


# Condition operators: a test of one context value against one policy value.
def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> datetime.datetime:
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return datetime.datetime.fromtimestamp(float(text), datetime.timezone.utc)
    parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def _bool(text: str) -> bool:
    return text.lower() == "true"


_TESTS = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringEqualsIgnoreCase": lambda actual, expected: actual.lower() == expected.lower(),
    "StringLike": lambda actual, expected: wildcard_match(expected, actual),
    "NumericEquals": lambda actual, expected: _number(actual) == _number(expected),
    "NumericLessThan": lambda actual, expected: _number(actual) < _number(expected),
    "NumericLessThanEquals": lambda actual, expected: _number(actual) <= _number(expected),
    "NumericGreaterThan": lambda actual, expected: _number(actual) > _number(expected),
    "NumericGreaterThanEquals": lambda actual, expected: _number(actual) >= _number(expected),
    "DateEquals": lambda actual, expected: _date(actual) == _date(expected),
    "DateLessThan": lambda actual, expected: _date(actual) < _date(expected),
    "DateLessThanEquals": lambda actual, expected: _date(actual) <= _date(expected),
    "DateGreaterThan": lambda actual, expected: _date(actual) > _date(expected),
    "DateGreaterThanEquals": lambda actual, expected: _date(actual) >= _date(expected),
    "Bool": lambda actual, expected: _bool(actual) == _bool(expected),
    "BinaryEquals": lambda actual, expected: base64.b64decode(actual) == base64.b64decode(expected),
    "IpAddress": lambda actual, expected: ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False),
    "ArnEquals": lambda actual, expected: _arn_like(actual, expected),
    "ArnLike": lambda actual, expected: _arn_like(actual, expected),
}
# Each negation is true exactly when its positive operator is false, including for an absent key.
_NEGATIONS = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
              "StringNotLike": "StringLike", "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
              "NotIpAddress": "IpAddress", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def _arn_like(actual: str, expected: str) -> bool:
    """ARNs compare segment by segment (six of them, the last may hold colons), each with wildcards."""
    actual_parts, expected_parts = actual.split(":", 5), expected.split(":", 5)
    return len(actual_parts) == len(expected_parts) == 6 and all(
        wildcard_match(e, a) for a, e in zip(actual_parts, expected_parts))


def _condition_holds(operator: str, block: Mapping, keys: Mapping[str, ContextValue]) -> bool:
    if not isinstance(block, Mapping):
        raise PolicyEvaluationError(f"condition {operator} is not an object of keys and values")
    return all(_key_holds(operator, key, expected, keys) for key, expected in block.items())


def _key_holds(operator: str, key: str, expected, keys: Mapping[str, ContextValue]) -> bool:
    expected = [expected] if isinstance(expected, (str, bool, int, float)) else list(expected)
    expected = [str(value).lower() if isinstance(value, bool) else str(value) for value in expected]
    actual = keys.get(key.lower())
    if operator == "Null":
        return (actual is None) == _bool(expected[0])
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    negated = base in _NEGATIONS
    test = _TESTS.get(_NEGATIONS.get(base, base))
    if test is None or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise PolicyEvaluationError(f"local_aws cannot evaluate the condition operator {operator!r}")
    if actual is None:
        return if_exists or negated or qualifier == "ForAllValues"
    values = [actual] if isinstance(actual, str) else actual
    filled = [_substituted(value, keys) for value in expected]

    def holds(value: str) -> bool:
        try:
            matched = any(test(value, candidate) for candidate in filled)
        except (ValueError, TypeError):  # a value that is not a number, date, address or base64
            matched = False
        return not matched if negated else matched

    return all(holds(value) for value in values) if qualifier == "ForAllValues" else any(map(holds, values))
