"""What every SageMaker resource type's store shares: the ARN format, the List* summaries."""

from collections.abc import Iterable
from typing import ClassVar

from local_aws.store import R, Store


def sagemaker_arn(region: str, account_id: str, resource_type: str, name: str) -> str:
    # SageMaker lower-cases resource names in ARNs.
    return f"arn:aws:sagemaker:{region}:{account_id}:{resource_type}/{name.lower()}"


class SageMakerStore(Store[R]):
    arn_resource_type: ClassVar[str]  # the ARN's resource-type part, e.g. "training-job"

    def arn(self, name: str) -> str:
        return sagemaker_arn(self.region, self.account_id, self.arn_resource_type, name)

    def summaries(self) -> list[dict]:
        """Every resource's List* summary, taken under the store's lock."""
        with self.lock:
            return [resource.summary() for resource in self.all()]


def summary_of(described: dict, members: Iterable[str]) -> dict:
    """The `members` of a Describe* answer that its List* summary repeats, those it has."""
    return {member: described[member] for member in members if member in described}
