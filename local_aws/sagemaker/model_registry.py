"""The model registry as state: model package groups and their versioned model packages, plus
unversioned packages. Registration is bookkeeping on AWS too; nothing runs here."""

import datetime
import threading
from dataclasses import dataclass, field

from local_aws.clock import now
from local_aws.errors import ValidationException


@dataclass
class ModelPackageGroup:
    name: str
    arn: str
    description: str
    creation_time: datetime.datetime = field(default_factory=now)
    versions: list["ModelPackage"] = field(default_factory=list)
    last_version: int = 0  # versions are never reused, even after a deletion

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
        described = self.describe()
        return {
            key: described[key]
            for key in ("ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn",
                        "ModelPackageDescription", "CreationTime", "ModelPackageStatus", "ModelApprovalStatus")
            if key in described
        }


class RegistryState:
    def __init__(self, account_id: str, region: str):
        self.lock = threading.Lock()
        self.groups: dict[str, ModelPackageGroup] = {}
        self.packages: dict[str, ModelPackage] = {}  # by ARN, versioned and unversioned alike

    def group(self, name_or_arn: str) -> ModelPackageGroup:
        name = name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        group = self.groups.get(name)
        if group is None:
            raise ValidationException(f"Model Package Group {name} does not exist.")
        return group

    def package(self, name_or_arn: str) -> ModelPackage:
        found = self.packages.get(name_or_arn) or next(
            (p for p in self.packages.values() if p.group_name is None and p.name == name_or_arn), None
        )
        if found is None:
            raise ValidationException(f"ModelPackage {name_or_arn} does not exist.")
        return found
