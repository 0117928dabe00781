"""What the service implementations share: the edge's URL, the state dir (files kept per account and
region), the supervisor of child processes, per-account-and-region state objects, and boto3 clients
against the edge itself.

The compute plane reaches S3 and CloudWatch Logs through those clients, i.e. through the same
moto backends any other client sees, rather than through moto's internals.
"""

import functools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import boto3
from botocore.config import Config

from local_aws.access import authorization
from local_aws.access.credentials import KeyPair
from local_aws.access.policy_evaluation import Policy
from local_aws.access.principals import Principal
from local_aws.access.role_trust import SERVICE_HEADER
from local_aws.supervisor import Supervisor

State = TypeVar("State")

_CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=32)


class Platform:
    def __init__(self, url: str, state_dir: Path, supervisor: Supervisor, owner: KeyPair):
        self.url = url
        self.owner = owner
        self.state_dir = state_dir
        self.supervisor = supervisor
        self._lock = threading.Lock()
        self._states: dict[tuple[type, str, str], object] = {}
        self._clients: dict[tuple[str, str, str], object] = {}

    def state(self, state_class: type[State], account_id: str, region: str) -> State:
        """The one `state_class(account_id, region)` of this edge for that account and region."""
        key = (state_class, account_id, region)
        with self._lock:
            if key not in self._states:
                self._states[key] = state_class(account_id, region)
            return self._states[key]

    def files(self, account_id: str, region: str) -> Path:
        """Where the compute plane keeps files for that account and region: the same resource name in
        another account or region never shares a byte with it."""
        return self.state_dir / account_id / region

    def client(self, service: str, account_id: str, region: str, on_behalf_of: str | None = None):
        """A client of the edge signed with the key pair, acting in `account_id`; `on_behalf_of`: the AWS service
        principal the request is made for (STS's AssumeRole checks the role's trust policy names it)."""
        key = (service, account_id, region, on_behalf_of)
        with self._lock:
            if key not in self._clients:
                client = boto3.session.Session().client(
                    service,
                    endpoint_url=self.url,
                    region_name=region,
                    aws_access_key_id=self.owner.access_key_id,
                    aws_secret_access_key=self.owner.secret_access_key,
                    config=_CLIENT_CONFIG,
                )
                client.meta.events.register("before-sign", functools.partial(_act_as, account_id))
                if on_behalf_of is not None:
                    client.meta.events.register("before-sign", functools.partial(_on_behalf_of, on_behalf_of))
                self._clients[key] = client
            return self._clients[key]


def _account_of(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] or None if len(parts) == 6 else None


def _act_as(account_id: str, request, **_) -> None:
    # moto's way of naming the account a request acts for; the edge honours it only from the owner.
    request.headers["x-moto-account-id"] = account_id


def _on_behalf_of(service_principal: str, request, **_) -> None:
    request.headers[SERVICE_HEADER] = service_principal


@dataclass(frozen=True)
class RequestContext:
    """Who is calling (account and region from the request's signature, the principal whose key signed it,
    the address it came from) and the shared platform."""

    platform: Platform
    account_id: str
    region: str
    principal: Principal | None = None
    source_ip: str | None = None
    on_behalf_of: str | None = None  # the AWS service the key pair acts for (SERVICE_HEADER), if it says one

    def authorize(self, action: str, resource: str, resource_policy: Sequence[Policy] = (),
                  condition_keys: Mapping[str, str] | None = None) -> None:
        """AccessDeniedException unless the caller may perform `action` (`service:Action`) on `resource` (an
        ARN, or `*` for an action on no resource), as IAM decides (`authorization`)."""
        if self.principal is None:
            raise authorization.AccessDeniedException("local_aws cannot tell who signed this request.")
        authorization.authorize(self.principal, action, resource, self.region, self.source_ip, resource_policy,
                                _account_of(resource), condition_keys)

    def state(self, state_class: type[State]) -> State:
        return self.platform.state(state_class, self.account_id, self.region)

    def client(self, service: str, on_behalf_of: str | None = None):
        return self.platform.client(service, self.account_id, self.region, on_behalf_of)

    def files(self) -> Path:
        return self.platform.files(self.account_id, self.region)
