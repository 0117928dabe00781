"""Whose key signed a request: the local key pair (the owner), an IAM user's access key, or temporary
credentials that local AWS's STS issued. The secrets of the last two live in moto's IAM and STS state,
where `CreateAccessKey` and `AssumeRole` put them."""

import datetime
from dataclasses import dataclass

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import PARTITION_NAMES

from local_aws.access.credentials import KeyPair

PRINCIPAL_KEY = "local_aws.principal"  # where the gate leaves whose key signed an accepted request, for the edge


@dataclass(frozen=True)
class Principal:
    access_key_id: str
    secret_access_key: str
    account_id: str
    # Temporary credentials only: the token the request must carry and when they stop working.
    session_token: str | None = None
    expiration: datetime.datetime | None = None
    # The owner may act for any account (moto's `x-moto-account-id`), as local AWS's own clients do.
    is_owner: bool = False
    # Whose key it is, for IAM's evaluation: an IAM user's name, or the role and session of assumed-role
    # credentials with the session policy that AssumeRole was given (None: none).
    user_name: str | None = None
    role_arn: str | None = None
    session_name: str | None = None
    session_policy: str | None = None

    def __repr__(self) -> str:
        return f"Principal(access_key_id={self.access_key_id!r}, account_id={self.account_id!r})"


def find(access_key_id: str, owner: KeyPair) -> Principal | None:
    """The principal holding `access_key_id`, or None if no active key of that id exists."""
    if access_key_id == owner.access_key_id:
        return Principal(owner.access_key_id, owner.secret_access_key, DEFAULT_ACCOUNT_ID, is_owner=True)
    # Copies: other requests may create accounts and keys meanwhile.
    for account_id, account in list(iam_backends.items()):
        for partition in PARTITION_NAMES:
            key = account[partition].access_keys.get(access_key_id)
            if key is None or key.status != "Active":
                continue
            if key.role_arn is None:
                return Principal(access_key_id, key.secret_access_key, account_id, user_name=key.user_name)
            return _assumed_role(access_key_id, account_id, partition)
    return None


def _assumed_role(access_key_id: str, account_id: str, partition: str) -> Principal | None:
    for role in list(sts_backends[account_id][partition].assumed_roles):
        if role.access_key_id == access_key_id:
            return Principal(access_key_id, role.secret_access_key, account_id,
                             session_token=role.session_token,
                             expiration=role.expiration.replace(tzinfo=datetime.timezone.utc),
                             role_arn=role.role_arn, session_name=role.session_name, session_policy=role.policy)
    return None
