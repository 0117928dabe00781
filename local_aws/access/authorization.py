"""Whether a caller may perform an action on a resource, decided as AWS's policy evaluation logic decides it,
for the requests that local AWS serves itself (SageMaker, its runtime, Lambda).

The caller's identity policies are read from local AWS's IAM (moto's state) at every request, so a policy
changed a moment ago counts: an assumed role's inline and attached policies, or an IAM user's and its
groups'. Then, in AWS's order:
1. an explicit `Deny` in any policy that applies (identity, permissions boundary, session, resource) refuses;
2. the identity policies must allow, or, within the caller's own account, a resource policy that names
   the caller itself (its role, its session, the user, or `*`; one naming only the account delegates to the
   account's identity policies); across accounts both must;
3. a permissions boundary and a session policy, where there is one, must allow too.
The owner's key (local AWS's development credentials) stands for the account's administrator and is not
evaluated, so everything that signs with it behaves as before.
"""

import datetime
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from moto.iam.models import iam_backends

from local_aws.access.policy_evaluation import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Caller,
    Evaluation,
    Policy,
    PolicyEvaluationError,
    evaluate,
)
from local_aws.access.principals import Principal
from local_aws.exceptions import AccessDeniedException

logger = logging.getLogger("local_aws.access")

_PARTITION = "aws"


@dataclass(frozen=True)
class Identity:
    caller: Caller
    kind: str  # aws:PrincipalType: AssumedRole or User
    user_id: str
    policies: tuple[Policy, ...]
    boundary: Policy | None = None
    session_policy: Policy | None = None


@dataclass(frozen=True)
class Decision:
    decision: str
    reason: str  # AWS's words after "because", for a refusal
    evaluations: tuple[Evaluation, ...]  # each policy type's own evaluation, identity first

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED


def identity_of(principal: Principal) -> Identity:
    """The caller's policies as local AWS's IAM holds them now."""
    iam = iam_backends[principal.account_id][_PARTITION]
    if principal.role_arn is not None:
        role = role_by_arn(principal.account_id, principal.role_arn)
        if role is None:
            raise PolicyEvaluationError(f"the role {principal.role_arn} of these credentials does not exist")
        name = principal.role_arn.rsplit("/", 1)[-1]
        caller = Caller(f"arn:aws:sts::{principal.account_id}:assumed-role/{name}/{principal.session_name}",
                        principal.role_arn, principal.account_id)
        session = None
        if principal.session_policy:
            session = Policy(f"{caller.arn}/session-policy",
                             policy_document(principal.session_policy, "session policy"))
        return Identity(caller, "AssumedRole", f"{role.id}:{principal.session_name}",
                        _parsed(held_policies(iam, role, "role")), _boundary(iam, role), session)
    if principal.user_name is not None:
        user = iam.users.get(principal.user_name)
        if user is None:
            raise PolicyEvaluationError(f"the user {principal.user_name} of this key does not exist")
        return Identity(Caller(user.arn, user.arn, principal.account_id), "User", user.id,
                        _parsed(held_policies(iam, user, "user")), _boundary(iam, user))
    raise PolicyEvaluationError(f"local_aws cannot tell whose key {principal.access_key_id} is")


def role_by_arn(account_id: str, role_arn: str):
    """The IAM role of `account_id` whose ARN is `role_arn` (moto's), or None."""
    return next((role for role in list(iam_backends[account_id][_PARTITION].roles.values()) if role.arn == role_arn),
                None)


def held_policies(iam, holder, kind: str) -> list[tuple[str, str]]:
    """The identity policies IAM evaluates for `holder`, a user, group or role of moto's IAM (`kind` says which),
    each as its source (`<kind>/<name>/<policy name>` for an inline policy, the ARN of an attached one) and its
    text as IAM keeps it; a user's groups' policies follow its own."""
    held = _held_by(holder, f"{kind}/{holder.name}")
    if kind == "user":
        for group in iam.get_groups_for_user(holder.name):
            held += _held_by(group, f"group/{group.name}")
    return held


def _held_by(holder, label: str) -> list[tuple[str, str]]:
    return ([(f"{label}/{name}", text) for name, text in holder.policies.items()]
            + [(arn, _default_version(policy)) for arn, policy in holder.managed_policies.items()])


def permissions_boundary(iam, holder) -> tuple[str, str] | None:
    """The ARN and text of `holder`'s permissions boundary; None if it has none."""
    arn = getattr(holder, "permissions_boundary_arn", None)
    return (arn, _default_version(iam.get_policy(arn))) if arn else None


def _boundary(iam, holder) -> Policy | None:
    found = permissions_boundary(iam, holder)
    return None if found is None else _parsed([found])[0]


def _parsed(held: list[tuple[str, str]]) -> tuple[Policy, ...]:
    return tuple(Policy(source, policy_document(text, source)) for source, text in held)


def _default_version(policy) -> str:
    return next(version.document for version in policy.versions if version.is_default)


def policy_document(text, source: str) -> Mapping:
    if isinstance(text, Mapping):
        return text
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        raise PolicyEvaluationError(f"policy {source} is not a JSON document")
    if not isinstance(document, Mapping):
        raise PolicyEvaluationError(f"policy {source} is not a JSON object")
    return document


def request_context(identity: Identity, region: str, source_ip: str | None, extra: Mapping[str, str]) -> dict:
    """The global condition keys local AWS can truthfully fill in, and the service's own (`extra`)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    keys = {"aws:PrincipalArn": identity.caller.principal_arn, "aws:PrincipalAccount": identity.caller.account_id,
            "aws:PrincipalType": identity.kind, "aws:userid": identity.user_id, "aws:RequestedRegion": region,
            "aws:SecureTransport": "false", "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now.timestamp())), "aws:ViaAWSService": "false"}
    if identity.kind == "User":
        keys["aws:username"] = identity.caller.arn.rsplit("/", 1)[-1]
    if source_ip:
        keys["aws:SourceIp"] = source_ip
    return {**keys, **extra}


def decide(identity: Identity, action: str, resource: str, context: Mapping[str, str],
           resource_policy: Sequence[Policy] = (), resource_account: str | None = None) -> Decision:
    same_account = resource_account in (None, identity.caller.account_id)
    by_identity = evaluate(identity.policies, action, resource, context)
    by_resource = evaluate(resource_policy, action, resource, context, identity.caller)
    bounds = [(policy_type, evaluate([policy], action, resource, context))
              for policy_type, policy in (("permissions boundary", identity.boundary),
                                          ("session policy", identity.session_policy)) if policy is not None]
    evaluations = (by_identity, by_resource, *(evaluation for _, evaluation in bounds))
    for policy_type, evaluation in (("identity-based policy", by_identity), ("resource-based policy", by_resource),
                                    *bounds):
        if evaluation.decision == EXPLICIT_DENY:
            article = "an" if policy_type[0] in "aeiou" else "a"
            return Decision(EXPLICIT_DENY, f"with an explicit deny in {article} {policy_type}", evaluations)
    if same_account:
        # A resource policy naming only the account delegates to it: its identity policies must still allow.
        direct = Caller(identity.caller.arn, identity.caller.principal_arn, account_id="")
        granted = by_identity.allowed or evaluate(resource_policy, action, resource, context, direct).allowed
    else:
        granted = by_identity.allowed and by_resource.allowed
    if not granted:
        missing = "identity-based policy" if same_account or not by_identity.allowed else "resource-based policy"
        return Decision(IMPLICIT_DENY, f"because no {missing} allows the {action} action", evaluations)
    for policy_type, evaluation in bounds:
        if not evaluation.allowed:
            return Decision(IMPLICIT_DENY, f"because no {policy_type} allows the {action} action", evaluations)
    return Decision(ALLOWED, "", evaluations)


def authorize(principal: Principal, action: str, resource: str, region: str, source_ip: str | None = None,
              resource_policy: Sequence[Policy] = (), resource_account: str | None = None,
              condition_keys: Mapping[str, str] | None = None) -> None:
    """Nothing if `principal` may perform `action` on `resource`; AccessDeniedException, worded as AWS words
    it, otherwise. The owner is the administrator and is not evaluated."""
    if principal.is_owner:
        return
    try:
        identity = identity_of(principal)
        context = request_context(identity, region, source_ip, condition_keys or {})
        decision = decide(identity, action, resource, context, resource_policy, resource_account)
    except PolicyEvaluationError as error:
        logger.warning("refused %s on %s: %s", action, resource, error)
        raise AccessDeniedException(f"{action} on resource: {resource} is refused: {error}.")
    if decision.allowed:
        return
    message = (f"User: {identity.caller.arn} is not authorized to perform: {action} on resource: {resource} "
               f"{decision.reason}")
    logger.info("refused: %s", message)
    raise AccessDeniedException(message)
