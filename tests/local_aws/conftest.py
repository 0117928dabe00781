"""Fixtures for the local_aws tests: clients, a bucket with data and the probe source, request builders."""

import functools
import uuid

import boto3
import pytest

import sample_dataset

from local_aws_testing import PROBE_SCRIPT, probe_training_request, source_tarball, tarball


@pytest.fixture
def sm(aws_client):
    return aws_client("sagemaker")


@pytest.fixture
def s3(aws_client):
    return aws_client("s3")


@pytest.fixture
def logs(aws_client):
    return aws_client("logs")


@pytest.fixture(scope="session")
def bucket(local_aws):
    name = f"local-aws-tests-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3", **local_aws.client_kwargs)
    client.create_bucket(Bucket=name)
    for split in ("train", "valid"):
        for index in range(2):
            client.put_object(Bucket=name, Key=f"data/{split}/001.Zero/{index}.txt", Body=b"x")
    client.put_object(Bucket=name, Key="probe/sourcedir.tar.gz", Body=tarball({"train.py": PROBE_SCRIPT}))
    return name


@pytest.fixture
def probe_request(bucket):
    """`probe_request(name, hyperparameters, instance_count=1, **overrides)` for the session's bucket."""
    return functools.partial(probe_training_request, bucket)


@pytest.fixture(scope="session")
def model_code_in_s3(local_aws, bucket, tmp_path_factory):
    """The tiny sample dataset and model_code/ in S3."""
    s3 = boto3.client("s3", **local_aws.client_kwargs)
    dataset = sample_dataset.build(tmp_path_factory.mktemp("digits"),
                                   sample_dataset.DatasetSpec(image_size=8, per_class_limit=4))
    for path in sorted(dataset.rglob("*.jpg")):
        s3.upload_file(str(path), bucket, f"dogImages/{path.relative_to(dataset).as_posix()}")
    s3.put_object(Bucket=bucket, Key="model-code/sourcedir.tar.gz", Body=source_tarball())
    return f"s3://{bucket}/dogImages/", f"s3://{bucket}/model-code/sourcedir.tar.gz"
