"""Tags through boto3: every SageMaker resource carries its own, and the store that holds it answers
AWS's errors (state only; the resources' own behaviour has its own tests)."""

import threading

import pytest
from botocore.exceptions import ClientError
from local_aws_testing import INFERENCE_IMAGE, ROLE, unique_name

from local_aws.exceptions import ResourceInUse
from local_aws.sagemaker.training_jobs import TrainingJob, TrainingJobStore


@pytest.fixture(scope="module")
def model_data(local_aws, bucket):
    import boto3

    boto3.client("s3", **local_aws.client_kwargs).put_object(Bucket=bucket, Key="tags/model.tar.gz", Body=b"tar")
    return f"s3://{bucket}/tags/model.tar.gz"


def make_model(sm, model_data, name, **extra):
    return sm.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                           PrimaryContainer={"Image": INFERENCE_IMAGE, "ModelDataUrl": model_data}, **extra)["ModelArn"]


def error_of(call, *args, **params) -> dict:
    with pytest.raises(ClientError) as raised:
        call(*args, **params)
    return raised.value.response["Error"]


def test_add_list_delete_tags_on_two_kinds_of_resource(sm, model_data):
    model_arn = make_model(sm, model_data, unique_name("tagged"), Tags=[{"Key": "team", "Value": "ml"}])
    group_arn = sm.create_model_package_group(ModelPackageGroupName=unique_name("tagged"))["ModelPackageGroupArn"]
    sm.add_tags(ResourceArn=model_arn, Tags=[{"Key": "stage", "Value": "dev"}, {"Key": "team", "Value": "vision"}])
    sm.add_tags(ResourceArn=group_arn, Tags=[{"Key": "owner", "Value": "me"}])
    assert sm.list_tags(ResourceArn=model_arn)["Tags"] == [
        {"Key": "stage", "Value": "dev"}, {"Key": "team", "Value": "vision"}]
    assert sm.list_tags(ResourceArn=group_arn)["Tags"] == [{"Key": "owner", "Value": "me"}]
    sm.delete_tags(ResourceArn=model_arn, TagKeys=["stage"])
    assert sm.list_tags(ResourceArn=model_arn)["Tags"] == [{"Key": "team", "Value": "vision"}]


def test_tags_go_with_their_resource(sm, model_data):
    name = unique_name("tagged")
    arn = make_model(sm, model_data, name, Tags=[{"Key": "team", "Value": "ml"}])
    sm.delete_model(ModelName=name)
    assert error_of(sm.list_tags, ResourceArn=arn) == {
        "Code": "ValidationException", "Message": f"Resource {arn} does not exist or is not taggable."}
    assert make_model(sm, model_data, name) == arn
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []


def test_too_many_tags_make_nothing(sm, model_data):
    name = unique_name("tagged")
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert "less than or equal to 50" in error_of(make_model, sm, model_data, name, Tags=tags)["Message"]
    assert error_of(sm.describe_model, ModelName=name)["Code"] == "ValidationException"
    arn = make_model(sm, model_data, name, Tags=tags[:50])
    assert "at most 50 tags" in error_of(sm.add_tags, ResourceArn=arn, Tags=[tags[50]])["Message"]
    assert len(sm.list_tags(ResourceArn=arn, MaxResults=100)["Tags"]) == 50


def test_of_two_creations_of_one_name_at_once_exactly_one_holds():
    store = TrainingJobStore("123456789012", "us-east-1")
    outcomes = []
    start = threading.Barrier(8)

    def create(number):
        job = TrainingJob("same", store.arn("same"), {"number": number})
        start.wait()
        try:
            outcomes.append(store.add(job))
        except ResourceInUse as error:
            outcomes.append(error)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held = [outcome for outcome in outcomes if isinstance(outcome, TrainingJob)]
    assert len(held) == 1 and store.get("same") is held[0]
    assert all(f"already exists ({held[0].arn})" in str(error) for error in outcomes if error not in held)
