"""STS AssumeRole as AWS refuses it (moto hands out credentials for any ARN, even a role that does not exist):
the role must exist and its trust policy must let the one assuming it do so, a service local AWS acts for
(`role_trust.SERVICE_HEADER`) or the caller; else `403 AccessDenied` in AWS's words. `assume_role_for` is how
local AWS's compute plane gets a job's, function's or instance's credentials on the service's behalf.
"""

from botocore.exceptions import ClientError
from werkzeug.wrappers import Response

from local_aws.access.authorization import identity_of, policy_document, role_by_arn
from local_aws.access.policy_evaluation import Caller
from local_aws.access.role_trust import RoleNotAssumable, trusts_caller, trusts_service
from local_aws.exceptions import aws_error
from local_aws.routing import around_moto

AccessDenied = aws_error("AccessDenied", 403)


@around_moto("sts", "AssumeRole")
def assume_role(params: dict, ctx, moto) -> Response:
    role_arn = params.get("RoleArn", "")
    if ctx.on_behalf_of is not None:
        who, trusted = ctx.on_behalf_of, _trust(role_arn, lambda document: trusts_service(
            document, ctx.on_behalf_of, {"aws:SourceAccount": ctx.account_id}))
    else:
        caller = _caller(ctx)
        context = {"sts:ExternalId": params["ExternalId"]} if "ExternalId" in params else {}
        who, trusted = caller.arn, _trust(role_arn, lambda document: trusts_caller(document, role_arn, caller, context))
    if not trusted:
        raise AccessDenied(f"User: {who} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    return moto().response()


def assume_role_for(platform, account_id: str, region: str, role_arn: str, service: str,
                    session_name: str) -> dict[str, str]:
    """Temporary credentials of `role_arn` as `service` assumes it, as environment variables; RoleNotAssumable
    (saying why in AWS's words) when the role does not exist or does not trust the service."""
    client = platform.client("sts", account_id, region, on_behalf_of=service)
    try:
        found = client.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    except ClientError as error:
        raise RoleNotAssumable(error.response["Error"]["Message"]) from error
    return {"AWS_ACCESS_KEY_ID": found["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": found["SecretAccessKey"],
            "AWS_SESSION_TOKEN": found["SessionToken"]}


def assumable_by(role_arn: str, service: str, account_id: str) -> bool:
    """Whether `service` could assume `role_arn` now (for the checks services make when a resource is created)."""
    return _trust(role_arn, lambda document: trusts_service(document, service, {"aws:SourceAccount": account_id}))


def _trust(role_arn: str, trusts) -> bool:
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("role/"):
        return False
    role = role_by_arn(parts[4], role_arn)
    if role is None:
        return False
    return trusts(policy_document(role.assume_role_policy_document, f"{role_arn}'s trust policy"))


def _caller(ctx) -> Caller:
    principal = ctx.principal
    if principal is None or principal.is_owner:
        return Caller(f"arn:aws:iam::{ctx.account_id}:root", f"arn:aws:iam::{ctx.account_id}:root", ctx.account_id)
    return identity_of(principal).caller
