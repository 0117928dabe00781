"""IAM's policy simulator, SimulatePrincipalPolicy and SimulateCustomPolicy (moto answers both with an HTML 500):
`policy_simulation`'s answer, the evaluation that authorises local AWS's own requests, in IAM's query-protocol XML.

SimulatePrincipalPolicy reads the user's, group's or role's policies from local AWS's IAM as they are now (inline
and attached, a user's groups' too) and its permissions boundary, which PermissionsBoundaryPolicyInputList
replaces; PolicyInputList adds policies. Statements are named as IAM answers them: `SourcePolicyType` `IAM Policy`
for every identity-based policy whoever holds it, `SourcePolicyId` a managed policy's name,
`<user|group|role>_<holder>_<policy name>` for an inline one, `PolicyInputList.<n>` for an input;
`ResourcePolicy` (type `resource`) for the resource policy. Each action on each resource (`*` when none is named)
is one EvaluationResult, paged by MaxItems and Marker. The caller must be allowed `iam:SimulatePrincipalPolicy` on
the source ARN, or `iam:SimulateCustomPolicy`. What local AWS would only guess at is refused by name
(`InvalidInput`): a condition operator it cannot evaluate, ResourceHandlingOption's EC2 scenarios, policy
exclusions, service control policies.
"""

import base64
import contextlib
import datetime
import ipaddress
import re
import uuid
from xml.sax.saxutils import escape

from moto.iam.exceptions import MalformedPolicyDocument
from moto.iam.models import iam_backends
from moto.iam.policy_validation import IAMPolicyDocumentValidator
from werkzeug.wrappers import Response

from local_aws.access.assume_role_api import AccessDenied
from local_aws.access.authorization import held_policies, permissions_boundary
from local_aws.access.policy_evaluation import Caller, ContextValue, PolicyEvaluationError
from local_aws.access.policy_simulation import Outcome, Position, Simulation, Source, simulate, source, statements
from local_aws.exceptions import AccessDeniedException, aws_error
from local_aws.routing import around_moto

NoSuchEntity = aws_error("NoSuchEntity", 404)
InvalidInput = aws_error("InvalidInput", 400)

IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
IDENTITY_POLICY, RESOURCE_POLICY = "IAM Policy", "resource"
DEFAULT_MAX_ITEMS = 100
_ENTITY_ARN = re.compile(r"arn:aws:iam::(\d{12}):(user|group|role)/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)")
_ROLE_ARN = re.compile(r"arn:aws:iam::\d*:role/.*")
_ACCOUNT = re.compile(r"(\d{12})|arn:aws:iam::(\d{12}):root")
_EPOCH = re.compile(r"-?\d+(\.\d+)?")
# Members of simulations that local AWS does not run, and what they are.
_NOT_SIMULATED = {"ResourceHandlingOption": "ResourceHandlingOption's EC2 scenarios",
                  "PolicyExclusionList": "policy exclusions (PolicyExclusionList)",
                  "OrderedOrganizationPolicyInputList": "service control policies (OrderedOrganizationPolicyInputList)"}
# A context value's check by its ContextKeyType (a list type's by its element's).
_VALUE_CHECKS = {
    "string": str,
    "numeric": float,
    "boolean": lambda value: {"true": True, "false": False}[value.lower()],
    "ip": lambda value: ipaddress.ip_network(value, strict=False),
    "binary": lambda value: base64.b64decode(value, validate=True),
    "date": lambda value: float(value) if _EPOCH.fullmatch(value) else datetime.datetime.fromisoformat(
        value.replace("Z", "+00:00")),
}


@around_moto("iam", "SimulatePrincipalPolicy")
def simulate_principal_policy(params: dict, ctx, moto) -> Response:
    _refuse_what_is_not_simulated(params)
    source_arn = params["PolicySourceArn"]
    _, kind, name = _entity_arn(source_arn, "PolicySourceArn")
    _authorize(ctx, "iam:SimulatePrincipalPolicy", source_arn)
    iam = iam_backends[ctx.account_id]["aws"]
    entities = {"user": iam.users, "group": iam.groups, "role": iam.roles}[kind]
    holder = next((entity for entity in list(entities.values()) if entity.arn == source_arn), None)
    if holder is None:
        raise NoSuchEntity(f"The {kind} with name {name} cannot be found.")
    with _refused_as_invalid_input():
        held = [source(_policy_id(origin), IDENTITY_POLICY, text) for origin, text in held_policies(iam, holder, kind)]
        stored = permissions_boundary(iam, holder)
        boundary = None if stored is None else source(_policy_id(stored[0]), IDENTITY_POLICY, stored[1])
        simulation = _simulation(params, ctx, held, boundary, params.get("CallerArn", source_arn))
        return _answer("SimulatePrincipalPolicy", params, simulation)


@around_moto("iam", "SimulateCustomPolicy")
def simulate_custom_policy(params: dict, ctx, moto) -> Response:
    _refuse_what_is_not_simulated(params)
    _authorize(ctx, "iam:SimulateCustomPolicy", "*")
    if "ResourcePolicy" in params and "CallerArn" not in params:
        raise InvalidInput("CallerArn is required with a ResourcePolicy: the policy's Principal is matched against it.")
    with _refused_as_invalid_input():
        simulation = _simulation(params, ctx, [], None, params.get("CallerArn"))
        return _answer("SimulateCustomPolicy", params, simulation)


def _refuse_what_is_not_simulated(params: dict) -> None:
    for member, what in _NOT_SIMULATED.items():
        if any(name == member or name.startswith(member + ".") for name in params):
            raise InvalidInput(f"local_aws does not simulate {what}.")


def _authorize(ctx, action: str, resource: str) -> None:
    try:
        ctx.authorize(action, resource)
    except AccessDeniedException as refused:  # IAM's own code for it is the query protocol's AccessDenied
        raise AccessDenied(refused.message) from None


@contextlib.contextmanager
def _refused_as_invalid_input():
    try:
        yield
    except PolicyEvaluationError as error:
        raise InvalidInput(f"The simulation is refused: {error}.") from None


def _policy_id(origin: str) -> str:
    """IAM's id of a held policy: an attached policy's name; `<kind>_<holder>_<name>` for an inline one."""
    return origin.rsplit("/", 1)[-1] if origin.startswith("arn:") else origin.replace("/", "_")


def _simulation(params: dict, ctx, held: list[Source], stored_boundary: Source | None,
                caller_arn: str | None) -> Simulation:
    inputs = [_identity_input(f"PolicyInputList.{number}", text)
              for number, text in enumerate(_members(params, "PolicyInputList"), 1)]
    boundaries = _members(params, "PermissionsBoundaryPolicyInputList")
    if len(boundaries) > 1:
        raise InvalidInput(f"A simulation takes one permissions boundary; PermissionsBoundaryPolicyInputList has "
                           f"{len(boundaries)}.")
    boundary = _identity_input("PermissionsBoundaryPolicyInputList.1", boundaries[0]) if boundaries else stored_boundary
    return Simulation(tuple(held + inputs), _caller(caller_arn, ctx), _context(params), boundary,
                      _resource_policy(params.get("ResourcePolicy")), _resource_owner(params.get("ResourceOwner")))


def _identity_input(policy_id: str, text: str) -> Source:
    found = source(policy_id, IDENTITY_POLICY, text)
    try:
        IAMPolicyDocumentValidator(text).validate()  # the checks IAM's Put*Policy made on the held ones
    except MalformedPolicyDocument as problem:
        raise InvalidInput(f"The policy {policy_id} is malformed: {problem.message}") from None
    return found


def _resource_policy(text: str | None) -> Source | None:
    if text is None:
        return None
    found = source("ResourcePolicy", RESOURCE_POLICY, text)
    for statement in statements(found.policy):
        if not {"Principal", "NotPrincipal"} & statement.keys() or not {"Action", "NotAction"} & statement.keys():
            raise InvalidInput("The ResourcePolicy is malformed: each statement names a Principal (or NotPrincipal) "
                               "and an Action (or NotAction).")
    return found


def _entity_arn(arn: str, member: str) -> tuple[str, str, str]:
    """The account, kind and name of a user's, group's or role's ARN; InvalidInput for anything else."""
    match = _ENTITY_ARN.fullmatch(arn)
    if match is None:
        raise InvalidInput(f"{member} {arn!r} is not the ARN of an IAM user, group or role.")
    return match.groups()


def _caller(arn: str | None, ctx) -> Caller:
    if arn is None:
        root = f"arn:aws:iam::{ctx.account_id}:root"
        return Caller(root, root, ctx.account_id)
    account, _, _ = _entity_arn(arn, "CallerArn")
    return Caller(arn, arn, account)


def _resource_owner(owner: str | None) -> str | None:
    if owner is None:
        return None
    match = _ACCOUNT.fullmatch(owner)
    if match is None:
        raise InvalidInput(f"ResourceOwner {owner!r} is neither an account id nor an account's ARN "
                           "(arn:aws:iam::<account id>:root).")
    return match.group(1) or match.group(2)


def _context(params: dict) -> dict[str, ContextValue]:
    """ContextEntries as the evaluation reads them: one value for a single-valued type, a list for a list type."""
    context: dict[str, ContextValue] = {}
    for entry in _member_prefixes(params, "ContextEntries"):
        name, kind = params.get(f"{entry}.ContextKeyName"), params.get(f"{entry}.ContextKeyType")
        values = _members(params, f"{entry}.ContextKeyValues")
        if not name:
            raise InvalidInput(f"{entry} has no ContextKeyName.")
        if name.lower() in (known.lower() for known in context):
            raise InvalidInput(f"The context key {name} is given twice.")
        for value in values:
            try:
                _VALUE_CHECKS[(kind or "string").removesuffix("List")](value)
            except (ValueError, KeyError):
                raise InvalidInput(f"The value {value!r} of the context key {name} is not a {kind}.") from None
        if kind is not None and not kind.endswith("List"):
            if len(values) != 1:
                raise InvalidInput(f"The context key {name} of type {kind} takes one value, not {len(values)}.")
            context[name] = values[0]
        else:
            context[name] = values[0] if kind is None and len(values) == 1 else values
    return context


def _members(params: dict, name: str) -> list[str]:
    """The query protocol's list `name.member.<n>`, in order."""
    prefix = f"{name}.member."
    found = {int(key[len(prefix):]): value for key, value in params.items()
             if key.startswith(prefix) and key[len(prefix):].isdigit()}
    return [found[number] for number in sorted(found)]


def _member_prefixes(params: dict, name: str) -> list[str]:
    """`name.member.<n>` for each structure of the query protocol's list `name`, in order."""
    prefix = f"{name}.member."
    numbers = {key[len(prefix):].split(".", 1)[0] for key in params if key.startswith(prefix)}
    return [f"{prefix}{number}" for number in sorted((n for n in numbers if n.isdigit()), key=int)]


def _answer(operation: str, params: dict, simulation: Simulation) -> Response:
    actions = _members(params, "ActionNames")
    wildcards = [action for action in actions if "*" in action or "?" in action]
    if wildcards:
        raise InvalidInput(f"Action names are simulated without wildcards: {', '.join(wildcards)}.")
    resources = _members(params, "ResourceArns") or ["*"]
    if simulation.resource_policy is not None:
        roles = [resource for resource in resources if _ROLE_ARN.fullmatch(resource)]
        if roles:
            raise InvalidInput(f"IAM does not simulate resource-based policies for IAM roles: {', '.join(roles)}.")
    pairs = [(action, resource) for action in actions for resource in resources]
    start = _start(params.get("Marker"), len(pairs))
    end = start + int(params.get("MaxItems", DEFAULT_MAX_ITEMS))
    results = [_result(simulate(simulation, action, resource)) for action, resource in pairs[start:end]]
    return _response(operation, results, str(end) if end < len(pairs) else None)


def _start(marker: str | None, count: int) -> int:
    if marker is None:
        return 0
    if not marker.isdigit() or not 0 < int(marker) < count:
        raise InvalidInput(f"The Marker {marker!r} is not one that this simulation answered.")
    return int(marker)


def _result(outcome: Outcome) -> str:
    decided = [_element("MatchedStatements", *map(_statement, outcome.matched)),
               _element("MissingContextValues", *(_text("member", key) for key in outcome.missing))]
    if outcome.allowed_by_boundary is not None:
        decided.append(_element("PermissionsBoundaryDecisionDetail",
                                _text("AllowedByPermissionsBoundary", str(outcome.allowed_by_boundary).lower())))
    if outcome.details is not None:
        decided.append(_element("EvalDecisionDetails", *(_element("entry", _text("key", kind), _text("value", decision))
                                                         for kind, decision in outcome.details.items())))
    members = [_text("EvalActionName", outcome.action), _text("EvalResourceName", outcome.resource),
               _text("EvalDecision", outcome.decision), *decided]
    if outcome.resource != "*":
        members.append(_element("ResourceSpecificResults", _element(
            "member", _text("EvalResourceName", outcome.resource), _text("EvalResourceDecision", outcome.decision),
            *decided)))
    return _element("member", *members)


def _statement(matched) -> str:
    return _element("member", _text("SourcePolicyId", matched.policy_id), _text("SourcePolicyType", matched.kind),
                    _position("StartPosition", matched.start), _position("EndPosition", matched.end))


def _position(tag: str, position: Position) -> str:
    return _element(tag, _text("Line", str(position.line)), _text("Column", str(position.column)))


def _response(operation: str, results: list[str], marker: str | None) -> Response:
    request_id = str(uuid.uuid4())
    paging = [_text("IsTruncated", "true" if marker else "false"), *([_text("Marker", marker)] if marker else [])]
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<{operation}Response xmlns="{IAM_XMLNS}">'
            + _element(f"{operation}Result", _element("EvaluationResults", *results), *paging)
            + _element("ResponseMetadata", _text("RequestId", request_id)) + f"</{operation}Response>")
    return Response(body, status=200, content_type="text/xml", headers={"x-amzn-RequestId": request_id})


def _element(tag: str, *children: str) -> str:
    return f"<{tag}>{''.join(children)}</{tag}>"


def _text(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>"
