"""IAM's policy simulator as pure functions over policy texts: each action on each resource is decided by
`authorization.decide`, the evaluation that authorises local AWS's own requests, and reported as the simulator
reports it: the statements that decided it and where they stand in their policy's text, the condition keys those
statements needed that the simulated request's context lacks, whether a permissions boundary allows it, and each
policy type's decision where the answer carries one.

The context is what the simulation is given (`ContextEntries`) and nothing more: the simulated request has no
time, address or session, so a condition on `aws:CurrentTime` is a missing context value until one is given.

A statement's position is where AWS's JSON parser stands around it, as AWS's own examples show: it starts just
after the `[` or the previous statement before it (just after its `{` when `Statement` is one object) and ends
just after its `}`; lines and columns count from 1.
"""

import bisect
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from local_aws.access.authorization import Identity, decide, policy_document
from local_aws.access.policy_evaluation import (
    ALLOWED,
    EXPLICIT_DENY,
    Caller,
    ContextValue,
    Evaluation,
    Policy,
    PolicyEvaluationError,
    evaluate,
)

# The policy types of a decision's details, in AWS's documented words.
IDENTITY_BASED, RESOURCE_BASED, BOUNDARY = "identity-based policy", "resource-based policy", "permissions boundary"
_SCOPE_ELEMENTS = ("Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal")
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ACCOUNT_ID = re.compile(r"\d{12}")
_decoder = json.JSONDecoder()


class Position(NamedTuple):
    line: int
    column: int


@dataclass(frozen=True)
class Source:
    """One policy document of a simulation: `policy.source` is the id the answer names it by, `kind` its type."""

    policy: Policy
    kind: str
    spans: tuple[tuple[Position, Position], ...]  # each statement's start and end in the document's text


@dataclass(frozen=True)
class MatchedStatement:
    policy_id: str
    kind: str
    start: Position
    end: Position


@dataclass(frozen=True)
class Outcome:
    """The simulation of one action on one resource."""

    action: str
    resource: str
    decision: str
    matched: tuple[MatchedStatement, ...]
    missing: tuple[str, ...]  # condition keys the applying statements name that the context lacks
    details: Mapping[str, str] | None  # each policy type's decision; None where the answer has none
    allowed_by_boundary: bool | None  # None: no permissions boundary takes part


@dataclass(frozen=True)
class Simulation:
    identity_policies: tuple[Source, ...]
    caller: Caller  # who the resource policy's Principal sees, and whose account is the requester's
    context: Mapping[str, ContextValue]
    boundary: Source | None = None
    resource_policy: Source | None = None
    resource_owner: str | None = None  # the account of a resource whose ARN names none; default the caller's


def source(policy_id: str, kind: str, text) -> Source:
    """A policy document from its text; PolicyEvaluationError when it is not a JSON object or names a condition
    operator local AWS cannot evaluate."""
    text = text if isinstance(text, str) else json.dumps(text)
    policy = Policy(policy_id, policy_document(text, policy_id))
    for statement in statements(policy):
        conditions = statement.get("Condition", {})
        if not isinstance(conditions, Mapping):
            raise PolicyEvaluationError(f"policy {policy_id} has a Condition that is not an object")
        for operator, block in conditions.items():
            # Each operator on its own, with nothing else to match: evaluation names one it does not know.
            try:
                evaluate([Policy(policy_id, {"Statement": [{"Effect": "Allow", "Condition": {operator: block}}]})],
                         "", "", {})
            except PolicyEvaluationError as error:
                raise PolicyEvaluationError(f"policy {policy_id}: {error}") from None
    return Source(policy, kind, _statement_spans(text))


def statements(policy: Policy) -> list[Mapping]:
    found = policy.document.get("Statement", [])
    found = [found] if isinstance(found, Mapping) else found
    return [statement for statement in found if isinstance(statement, Mapping)]


def simulate(simulation: Simulation, action: str, resource: str) -> Outcome:
    identity = Identity(simulation.caller, kind="", user_id="",  # decide reads neither
                        policies=tuple(found.policy for found in simulation.identity_policies),
                        boundary=simulation.boundary.policy if simulation.boundary else None)
    owner = simulation.resource_owner or simulation.caller.account_id
    account = _account_of(resource) or owner
    resource_policy = [simulation.resource_policy.policy] if simulation.resource_policy else []
    decision = decide(identity, action, resource, simulation.context, resource_policy, account)
    by_identity, by_resource, *bounds = decision.evaluations
    details = None
    if simulation.resource_policy is not None or account != simulation.caller.account_id:
        details = {IDENTITY_BASED: by_identity.decision, RESOURCE_BASED: by_resource.decision}
        if bounds:
            details[BOUNDARY] = bounds[0].decision
    elif resource != "*":
        details = {}  # AWS answers an empty map for a named resource in the caller's own account
    return Outcome(action, resource, decision.decision,
                   _matched(simulation, decision.decision, (by_identity, by_resource)),
                   _missing(simulation, action, resource), details, bounds[0].allowed if bounds else None)


def _account_of(resource: str) -> str | None:
    parts = resource.split(":", 5)
    return parts[4] if len(parts) == 6 and _ACCOUNT_ID.fullmatch(parts[4]) else None


def _matched(simulation: Simulation, decision: str, evaluations: Sequence[Evaluation]) -> tuple[MatchedStatement, ...]:
    """The statements that made the decision: the denials of an explicit deny, the allowances of an allow, none
    of an implicit deny; a permissions boundary's are not among them, as AWS documents."""
    if decision not in (ALLOWED, EXPLICIT_DENY):
        return ()
    sources = [*simulation.identity_policies, *([simulation.resource_policy] if simulation.resource_policy else [])]
    found = []
    for evaluation in evaluations:
        if evaluation.decision != decision:
            continue
        for match in evaluation.matched:
            policy_source = next(candidate for candidate in sources if candidate.policy is match.policy)
            start, end = policy_source.spans[match.index]
            found.append(MatchedStatement(match.policy.source, policy_source.kind, start, end))
    return tuple(found)


def _missing(simulation: Simulation, action: str, resource: str) -> tuple[str, ...]:
    given = {key.lower() for key in simulation.context}
    checked: list[tuple[Source, Caller | None]] = [(found, None) for found in simulation.identity_policies]
    if simulation.boundary is not None:
        checked.append((simulation.boundary, None))
    if simulation.resource_policy is not None:
        checked.append((simulation.resource_policy, simulation.caller))
    missing: dict[str, str] = {}
    for policy_source, caller in checked:
        for statement in statements(policy_source.policy):
            for key in _needed(statement, action, resource, simulation.context, given, caller):
                if key.lower() not in given:
                    missing.setdefault(key.lower(), key)
    return tuple(missing.values())


def _needed(statement: Mapping, action: str, resource: str, context: Mapping[str, ContextValue], given: set[str],
            caller: Caller | None) -> list[str]:
    """The context keys a statement that applies to `action` on `resource` (its conditions aside) reads: its
    condition keys and the policy variables in its resources and condition values. A resource naming a variable
    the context lacks cannot be matched, so such a statement applies on its action alone."""
    resources = _strings(statement.get("Resource", statement.get("NotResource", [])))
    resource_variables = [name for pattern in resources for name in _variables(pattern)]
    unmatchable = any(name.lower() not in given for name in resource_variables)
    scope = {element: value for element, value in statement.items() if element in _SCOPE_ELEMENTS
             and not (unmatchable and element in ("Resource", "NotResource"))}
    probe = Policy("probe", {"Statement": [{**scope, "Effect": "Allow"}]})
    if not evaluate([probe], action, resource, context, caller).allowed:
        return []
    conditions = statement.get("Condition", {})
    keys = [key for block in conditions.values() for key in block]
    values = [name for block in conditions.values() for expected in block.values() for value in _strings(expected)
              for name in _variables(value)]
    return keys + values + resource_variables


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _variables(pattern: str) -> list[str]:
    """The context keys of a pattern's policy variables, except `${*}`-style literals and those with a default."""
    names = []
    for match in _VARIABLE.finditer(pattern):
        name, comma, _ = match.group(1).partition(",")
        if not comma and name.strip() not in ("*", "?", "$"):
            names.append(name.strip())
    return names


def _statement_spans(text: str) -> tuple[tuple[Position, Position], ...]:
    """Each statement's start and end in a policy's text (already known to be a JSON object)."""
    line_starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]

    def position(offset: int) -> Position:
        line = bisect.bisect_right(line_starts, offset)
        return Position(line, offset - line_starts[line - 1] + 1)

    spans: list[tuple[int, int]] = []
    index = _skip(text, _skip(text, 0) + 1)
    while text[index] != "}":
        key, index = _decoder.raw_decode(text, index)
        index = _skip(text, _skip(text, index) + 1)  # past the colon
        _, end = _decoder.raw_decode(text, index)
        if key == "Statement":  # the last one counts, as for json.loads
            spans = _element_spans(text, index, end)
        index = _skip(text, end)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return tuple((position(start), position(end)) for start, end in spans)


def _element_spans(text: str, index: int, end: int) -> list[tuple[int, int]]:
    if text[index] == "{":
        return [(index + 1, end)]
    if text[index] != "[":
        return []
    spans, start, index = [], index + 1, _skip(text, index + 1)
    while text[index] != "]":
        _, element_end = _decoder.raw_decode(text, index)
        spans.append((start, element_end))
        start, index = element_end, _skip(text, element_end)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return spans


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\n\r":
        index += 1
    return index
