"""What every SageMaker resource type's store shares: the ARN format, the List* summaries."""

from typing import ClassVar

from local_aws.store import R, Store


class SageMakerStore(Store[R]):
    arn_resource_type: ClassVar[str]  # the ARN's resource-type part, e.g. "training-job"

    def arn(self, name: str) -> str:
        # SageMaker lower-cases resource names in ARNs.
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{self.arn_resource_type}/{name.lower()}"

    def summaries(self) -> list[dict]:
        """Every resource's List* summary, taken under the store's lock."""
        with self.lock:
            return [resource.summary() for resource in self.all()]
