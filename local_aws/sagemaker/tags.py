"""Tags of every SageMaker resource local_aws holds, keyed by ARN."""

import threading

from local_aws.errors import ValidationException

MAX_TAGS = 50


class TagState:
    def __init__(self, account_id: str, region: str):
        self._lock = threading.Lock()
        self._tags: dict[str, dict[str, str]] = {}

    def register(self, arn: str, tags: list[dict] | None) -> None:
        """Called by each resource's creation: makes the ARN taggable, with its initial tags."""
        with self._lock:
            self._tags[arn] = {}
        if tags:
            self.add(arn, tags)

    def forget(self, arn: str) -> None:
        with self._lock:
            self._tags.pop(arn, None)

    def add(self, arn: str, tags: list[dict]) -> None:
        with self._lock:
            current = self._existing(arn)
            merged = {**current, **{tag["Key"]: tag["Value"] for tag in tags}}
            if len(merged) > MAX_TAGS:
                raise ValidationException(f"A resource can have at most {MAX_TAGS} tags; {arn} would have {len(merged)}.")
            self._tags[arn] = merged

    def delete(self, arn: str, keys: list[str]) -> None:
        with self._lock:
            current = self._existing(arn)
            self._tags[arn] = {k: v for k, v in current.items() if k not in keys}

    def list(self, arn: str) -> list[dict]:
        with self._lock:
            return [{"Key": k, "Value": v} for k, v in self._existing(arn).items()]

    def _existing(self, arn: str) -> dict[str, str]:
        if arn not in self._tags:
            raise ValidationException(f"Resource {arn} does not exist or is not taggable.")
        return self._tags[arn]
