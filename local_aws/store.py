"""Resources of one kind in one account and region: name-keyed, behind one lock, with AWS's errors.

Each resource type subclasses `Store` and says which error AWS answers for a name it does not hold
(`missing_error`) and for a name already taken (`taken_error`); `ctx.state(SomeStore)` gives the one store of the caller's account and
region. A resource carries its own tags (`tags`, a dict), so deleting it deletes them, and a
service's tagging actions find any of its resources by ARN with `find_by_arn`.

A store's lock guards its dict only: a resource that changes while clients read it (a running job,
an endpoint being updated) has its own lock or is changed under the store's lock by its owner.
"""

import threading
from collections.abc import Callable
from typing import ClassVar, Generic, Protocol, TypeVar

from local_aws.exceptions import AWSError, ValidationException

MAX_TAGS = 50


class Resource(Protocol):
    name: str
    arn: str
    tags: dict[str, str]


R = TypeVar("R", bound=Resource)
T = TypeVar("T")


class Store(Generic[R]):
    """The resources of one type in one account and region, keyed by `key(resource)`.

    `missing_error` and `taken_error` are AWS's error class and message for a name not held and for a
    name already taken; the message may use `{name}` and `{arn}`.
    """

    missing_error: ClassVar[tuple[type[AWSError], str]]
    taken_error: ClassVar[tuple[type[AWSError], str]]

    def __init__(self, account_id: str, region: str):
        self.account_id = account_id
        self.region = region
        self.lock = threading.RLock()
        self._resources: dict[str, R] = {}

    def arn(self, name: str) -> str:
        """The ARN the resource called `name` has (or would have) here: each service has its format."""
        raise NotImplementedError

    def missing(self, name: str) -> AWSError:
        error, message = self.missing_error
        return error(message.format(name=name, arn=self.arn(name)))

    def taken(self, existing: R) -> AWSError:
        error, message = self.taken_error
        return error(message.format(name=existing.name, arn=existing.arn))

    def key(self, resource: R) -> str:
        return resource.name

    def add(self, resource: R, tags: list[dict] | None = None) -> R:
        """Hold `resource` with its initial `tags` (the create request's `Tags`); nothing is held on error."""
        resource.tags = merged_tags(resource.arn, {}, tags or [])
        with self.lock:
            existing = self._resources.get(self.key(resource))
            if existing is not None:
                raise self.taken(existing)
            self._resources[self.key(resource)] = resource
        return resource

    def get(self, name: str) -> R:
        with self.lock:
            resource = self._resources.get(name)
        if resource is None:
            raise self.missing(name)
        return resource

    def change(self, name: str, how: Callable[[R], T]) -> tuple[R, T]:
        """The resource called `name`, and what `how(resource)` returns, called under the store's lock: for a
        change that no other may interleave with (a status transition checked and made at once)."""
        with self.lock:
            resource = self.get(name)
            return resource, how(resource)

    def find(self, name: str) -> R | None:
        with self.lock:
            return self._resources.get(name)

    def remove(self, resource: R) -> None:
        """Forget `resource` (and its tags); a newer resource of the same name stays."""
        with self.lock:
            if self._resources.get(self.key(resource)) is resource:
                del self._resources[self.key(resource)]

    def all(self) -> list[R]:
        with self.lock:
            return list(self._resources.values())

    def find_by_arn(self, arn: str) -> R | None:
        with self.lock:
            return next((resource for resource in self._resources.values() if resource.arn == arn), None)


def merged_tags(arn: str, current: dict[str, str], tags: list[dict]) -> dict[str, str]:
    """`current` with `tags` (a request's `[{"Key": ..., "Value": ...}]`) added or replaced, within AWS's limit."""
    merged = {**current, **{tag["Key"]: tag["Value"] for tag in tags}}
    if len(merged) > MAX_TAGS:
        raise ValidationException(f"A resource can have at most {MAX_TAGS} tags; {arn} would have {len(merged)}.")
    return merged
