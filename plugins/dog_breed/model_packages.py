"""The model registry: one SageMaker model package version per deployed training job, with its lineage.

A version carries the test metrics, the training and tuning jobs and the dataset manifest hash as
customer metadata. Registering the same training job again finds its version instead of adding one.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from dog_breed.aws_errors import is_missing

CONTENT_TYPES = ["image/jpeg", "image/png", "application/x-image", "application/json"]


def ensure_group(sagemaker: Any, group: str, description: str) -> None:
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as error:
        if not is_missing(error):
            raise
        sagemaker.create_model_package_group(ModelPackageGroupName=group,
                                             ModelPackageGroupDescription=description)


def find_version(sagemaker: Any, group: str, training_job: str) -> dict[str, Any] | None:
    """The version registered for `training_job`, if any."""
    paginator = sagemaker.get_paginator("list_model_packages")
    for page in paginator.paginate(ModelPackageGroupName=group):
        for summary in page["ModelPackageSummaryList"]:
            package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
            if package.get("CustomerMetadataProperties", {}).get("training_job") == training_job:
                return package
    return None


def version_request(*, group: str, container: dict[str, Any], instance_type: str,
                    metadata: dict[str, str], approved: bool) -> dict[str, Any]:
    return {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": f"training job {metadata['training_job']}",
        "InferenceSpecification": {
            "Containers": [container],
            "SupportedContentTypes": CONTENT_TYPES,
            "SupportedResponseMIMETypes": ["application/json"],
            "SupportedRealtimeInferenceInstanceTypes": [instance_type],
        },
        "ModelApprovalStatus": "Approved" if approved else "Rejected",
        "CustomerMetadataProperties": metadata,
    }


def register(sagemaker: Any, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The package version for the request's training job, and whether this call created it."""
    training_job = request["CustomerMetadataProperties"]["training_job"]
    existing = find_version(sagemaker, request["ModelPackageGroupName"], training_job)
    if existing is not None:
        return existing, False
    arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
    return sagemaker.describe_model_package(ModelPackageName=arn), True
