"""Who may assume a role, as AWS decides it: the role must exist and its trust policy must allow
`sts:AssumeRole` to the one assuming it, an AWS service (`sagemaker.amazonaws.com` for a job's role,
`lambda.amazonaws.com` for a function's, `ec2.amazonaws.com` for an instance profile's) or a caller (the
account's root, a user, a role's session).

Local AWS's compute plane assumes roles on the services' behalf with its own key pair; it says which
service it acts for in `SERVICE_HEADER`, which STS's AssumeRole honours from that key pair alone.
"""

from collections.abc import Mapping

from local_aws.access.policy_evaluation import Caller, Policy, evaluate, wildcard_match

SERVICE_HEADER = "x-local-aws-service-principal"
SERVICE_ENVIRON_KEY = "HTTP_X_LOCAL_AWS_SERVICE_PRINCIPAL"


class RoleNotAssumable(Exception):
    pass


def trusts_service(document: Mapping, service: str, context: Mapping[str, str] | None = None) -> bool:
    """Whether the trust policy lets `service` assume the role: an Allow naming it for sts:AssumeRole whose
    conditions hold on `context` (`aws:SourceAccount`, `aws:SourceArn`), and no Deny that applies."""
    allowed = False
    for statement in _statements(document):
        if not _assume_role_action(statement) or service not in _services(statement):
            continue
        holds = evaluate([Policy("trust", {"Statement": [_without_principal(statement)]})], "sts:AssumeRole", "*",
                         context or {}).decision != "implicitDeny"
        if holds and statement.get("Effect") == "Deny":
            return False
        allowed = allowed or (holds and statement.get("Effect") == "Allow")
    return allowed


def trusts_caller(document: Mapping, role_arn: str, caller: Caller, context: Mapping[str, str]) -> bool:
    """Whether the trust policy lets `caller` (an account root, user or session) assume the role."""
    return evaluate([Policy("trust", document)], "sts:AssumeRole", role_arn, context, caller).allowed


def _statements(document: Mapping) -> list[Mapping]:
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _assume_role_action(statement: Mapping) -> bool:
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return any(wildcard_match(action, "sts:AssumeRole", ignore_case=True) for action in actions)


def _services(statement: Mapping) -> list[str]:
    principal = statement.get("Principal")
    services = principal.get("Service", []) if isinstance(principal, Mapping) else []
    return [services] if isinstance(services, str) else list(services)


def _without_principal(statement: Mapping) -> dict:
    # The service was matched above; what remains to evaluate is the action and the conditions.
    return {key: value for key, value in statement.items() if key not in ("Principal", "NotPrincipal")} | {
        "Effect": "Allow", "Resource": "*"}
