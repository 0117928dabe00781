"""The one way the pipeline makes a role it owns: created, or brought back to its trust policy and its one inline
policy, so a re-run (or a hand-made change) ends in the same least-privilege role."""

import json
from typing import Any


def ensure_role(iam, name: str, trust: dict[str, Any], policy_name: str, policy: dict[str, Any],
                description: str) -> str:
    """Create `name` with `trust` or set its trust to it, and put its inline `policy_name`; the role's ARN."""
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                              Description=description)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    return arn
