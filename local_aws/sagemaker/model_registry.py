"""The model registry as state: model package groups and their versioned model packages, plus
unversioned packages. Registration is bookkeeping on AWS too; nothing runs here."""

import datetime
from dataclasses import dataclass, field

from local_aws.clock import now
from local_aws.exceptions import ValidationException
from local_aws.sagemaker.resources import SageMakerStore, summary_of


@dataclass
class ModelPackageGroup:
    name: str
    arn: str
    description: str
    creation_time: datetime.datetime = field(default_factory=now)
    versions: list["ModelPackage"] = field(default_factory=list)
    last_version: int = 0  # versions are never reused, even after a deletion
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict:
        return {
            "ModelPackageGroupName": self.name,
            "ModelPackageGroupArn": self.arn,
            "ModelPackageGroupDescription": self.description,
            "CreationTime": self.creation_time,
            "CreatedBy": {},
            "ModelPackageGroupStatus": "Completed",
        }

    def summary(self) -> dict:
        described = self.describe()
        described.pop("CreatedBy")
        return described


@dataclass
class ModelPackage:
    name: str
    arn: str
    request: dict
    group_name: str | None = None
    version: int | None = None
    approval_status: str = "PendingManualApproval"
    approval_description: str | None = None
    customer_metadata: dict[str, str] = field(default_factory=dict)
    creation_time: datetime.datetime = field(default_factory=now)
    last_modified_time: datetime.datetime = field(default_factory=now)
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict:
        described = {
            "ModelPackageName": self.name,
            "ModelPackageArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "CertifyForMarketplace": self.request.get("CertifyForMarketplace", False),
            "ModelApprovalStatus": self.approval_status,
        }
        for member in ("ModelPackageDescription", "InferenceSpecification", "MetadataProperties", "ModelMetrics",
                       "Domain", "Task", "SamplePayloadUrl", "DriftCheckBaselines", "SourceUri"):
            if member in self.request:
                described[member] = self.request[member]
        if self.group_name is not None:
            described["ModelPackageGroupName"] = self.group_name
            described["ModelPackageVersion"] = self.version
        if self.approval_description is not None:
            described["ApprovalDescription"] = self.approval_description
        if self.customer_metadata:
            described["CustomerMetadataProperties"] = self.customer_metadata
        return described

    def update(self, params: dict) -> None:
        """Apply an UpdateModelPackage request."""
        if "ModelApprovalStatus" in params:
            self.approval_status = params["ModelApprovalStatus"]
        if "ApprovalDescription" in params:
            self.approval_description = params["ApprovalDescription"]
        self.customer_metadata.update(params.get("CustomerMetadataProperties", {}))
        for key in params.get("CustomerMetadataPropertiesToRemove", []):
            self.customer_metadata.pop(key, None)
        self.last_modified_time = now()

    def summary(self) -> dict:
        return summary_of(self.describe(), (
            "ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn",
            "ModelPackageDescription", "CreationTime", "ModelPackageStatus", "ModelApprovalStatus"))


class ModelPackageGroupStore(SageMakerStore[ModelPackageGroup]):
    arn_resource_type = "model-package-group"

    def get(self, name_or_arn: str) -> ModelPackageGroup:
        return super().get(name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn)

    missing_error = ValidationException, "Model Package Group {name} does not exist."
    taken_error = ValidationException, "Model Package Group already exists: {arn}"


class ModelPackageStore(SageMakerStore[ModelPackage]):
    """Versioned and unversioned packages alike, keyed by ARN (a versioned package's name is its group's)."""

    arn_resource_type = "model-package"

    def key(self, package: ModelPackage) -> str:
        return package.arn

    def get(self, name_or_arn: str) -> ModelPackage:
        found = self.find(name_or_arn) or next(
            (p for p in self.all() if p.group_name is None and p.name == name_or_arn), None
        )
        if found is None:
            raise self.missing(name_or_arn)
        return found

    missing_error = ValidationException, "ModelPackage {name} does not exist."
    taken_error = ValidationException, "Model Package already exists: {arn}"
