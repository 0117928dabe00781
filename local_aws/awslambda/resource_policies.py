"""A function's resource-based policies (AddPermission's statements), one per ARN they are added on: the
unqualified function, a published version or an alias. IAM evaluates the one of the ARN a request names,
as Lambda does: a permission on an alias does not cover its version's ARN, nor the function's.
"""

import re
import uuid
from dataclasses import dataclass, field

from local_aws.access.policy_evaluation import Policy

_ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass
class FunctionPolicy:
    statements: dict[str, dict] = field(default_factory=dict)  # by statement id, in the order added
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def document(self) -> dict:
        return {"Version": "2012-10-17", "Id": "default", "Statement": list(self.statements.values())}


def statement(resource_arn: str, params: dict) -> dict:
    """The statement AddPermission adds, built from its members as Lambda builds it."""
    conditions: dict[str, dict[str, str]] = {}
    if "SourceAccount" in params:
        conditions.setdefault("StringEquals", {})["AWS:SourceAccount"] = params["SourceAccount"]
    if "PrincipalOrgID" in params:
        conditions.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
    if "EventSourceToken" in params:
        conditions.setdefault("StringEquals", {})["lambda:EventSourceToken"] = params["EventSourceToken"]
    if "FunctionUrlAuthType" in params:
        conditions.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = params["FunctionUrlAuthType"]
    if params.get("InvokedViaFunctionUrl"):
        conditions.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = "true"
    if "SourceArn" in params:
        conditions["ArnLike"] = {"AWS:SourceArn": params["SourceArn"]}
    found = {"Sid": params["StatementId"], "Effect": "Allow", "Principal": principal_element(params["Principal"]),
             "Action": params["Action"], "Resource": resource_arn}
    if conditions:
        found["Condition"] = conditions
    return found


def principal_element(principal: str) -> str | dict:
    if principal == "*":
        return "*"
    if _ACCOUNT_ID.fullmatch(principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if principal.startswith("arn:"):
        return {"AWS": principal}
    return {"Service": principal}


def resource_policy(function, qualifier: str | None) -> list[Policy]:
    """The resource policy IAM evaluates for a request on the function's ARN qualified by `qualifier`."""
    with function.lock:
        policy = function.policies.get(qualifier)
        if policy is None or not policy.statements:
            return []
        return [Policy(function.arn + (f":{qualifier}" if qualifier else ""), policy.document())]
