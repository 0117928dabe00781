"""Models and the model registry through boto3 (state only: hosting has its own tests)."""

import pytest
from botocore.exceptions import ClientError

from local_aws_testing import INFERENCE_IMAGE, ROLE, unique_name


@pytest.fixture(scope="module")
def model_data(local_aws, bucket):
    import boto3

    boto3.client("s3", **local_aws.client_kwargs).put_object(Bucket=bucket, Key="models/model.tar.gz", Body=b"tar")
    return f"s3://{bucket}/models/model.tar.gz"


def error_of(call, **params) -> dict:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]


def test_create_describe_list_delete_a_model(sm, model_data):
    name = unique_name("model")
    container = {"Image": INFERENCE_IMAGE, "ModelDataUrl": model_data, "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}
    arn = sm.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE,
                          EnableNetworkIsolation=True)["ModelArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:model/{name}"
    described = sm.describe_model(ModelName=name)
    assert described["PrimaryContainer"] == container
    assert described["EnableNetworkIsolation"] is True
    assert name in [m["ModelName"] for m in sm.list_models(NameContains=name)["Models"]]
    sm.delete_model(ModelName=name)
    assert error_of(sm.describe_model, ModelName=name) == {
        "Code": "ValidationException", "Message": f'Could not find model "{arn}".'}


def test_model_errors_are_aws_shaped(sm, model_data, bucket):
    name = unique_name("model")
    container = {"Image": INFERENCE_IMAGE, "ModelDataUrl": model_data}
    sm.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE)
    assert error_of(sm.create_model, ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE)[
        "Message"].startswith("Cannot create already existing model")
    missing = f"s3://{bucket}/models/missing.tar.gz"
    assert error_of(sm.create_model, ModelName=unique_name("model"), ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": INFERENCE_IMAGE, "ModelDataUrl": missing})[
        "Message"] == f"Could not find model data at {missing}."
    refused = error_of(sm.create_model, ModelName=unique_name("model"), ExecutionRoleArn=ROLE,
                       PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1",
                                         "ModelDataUrl": model_data})
    assert refused["Code"] == "ValidationException" and "pytorch-inference" in refused["Message"]


def test_model_package_versions_and_approval(sm, model_data):
    group = unique_name("dog-breeds")
    group_arn = sm.create_model_package_group(ModelPackageGroupName=group,
                                              ModelPackageGroupDescription="dog breed classifiers")["ModelPackageGroupArn"]
    assert sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"] == group_arn
    assert error_of(sm.create_model_package_group, ModelPackageGroupName=group)["Message"] == (
        f"Model Package Group already exists: {group_arn}")
    spec = {"Containers": [{"Image": INFERENCE_IMAGE, "ModelDataUrl": model_data}],
            "SupportedContentTypes": ["image/jpeg"], "SupportedResponseMIMETypes": ["application/json"]}
    arns = [sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec,
                                    ModelApprovalStatus="PendingManualApproval")["ModelPackageArn"]
            for _ in range(2)]
    assert [arn.rsplit("/", 2)[1:] for arn in arns] == [[group, "1"], [group, "2"]]

    sm.update_model_package(ModelPackageArn=arns[1], ModelApprovalStatus="Approved", ApprovalDescription="best so far")
    described = sm.describe_model_package(ModelPackageName=arns[1])
    assert (described["ModelPackageGroupName"], described["ModelPackageVersion"]) == (group, 2)
    assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Approved", "best so far")
    assert described["InferenceSpecification"] == spec
    approved = sm.list_model_packages(ModelPackageGroupName=group, ModelApprovalStatus="Approved")
    assert [p["ModelPackageArn"] for p in approved["ModelPackageSummaryList"]] == [arns[1]]
    latest = sm.list_model_packages(ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending",
                                    MaxResults=1)
    assert latest["ModelPackageSummaryList"][0]["ModelPackageVersion"] == 2 and "NextToken" in latest


def test_registry_errors(sm, model_data):
    assert error_of(sm.create_model_package, ModelPackageGroupName=unique_name("no-group"),
                    InferenceSpecification={"Containers": [{"Image": INFERENCE_IMAGE, "ModelDataUrl": model_data}],
                                            "SupportedContentTypes": ["image/jpeg"],
                                            "SupportedResponseMIMETypes": ["application/json"]})[
        "Code"] == "ValidationException"
    missing = error_of(sm.describe_model_package,
                       ModelPackageName="arn:aws:sagemaker:us-east-1:123456789012:model-package/nothing/1")
    assert missing["Code"] == "ValidationException"
    assert error_of(sm.update_model_package, ModelPackageArn="arn:aws:sagemaker:us-east-1:123456789012:model-package/x/1",
                    ModelApprovalStatus="Maybe")["Message"].startswith("1 validation error detected: Value 'Maybe'")
