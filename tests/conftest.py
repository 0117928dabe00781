"""Shared fixtures: one local AWS edge for the whole session, and clients against it."""

import json
import os

import boto3
import pytest

from local_aws import LocalAWS

# Every SageMaker answer that local AWS gives any test (in this process or a `python -m local_aws` one) is
# checked against AWS's output shape; a mismatch fails the test that made the call (local_aws/output_shapes).
os.environ["LOCAL_AWS_CHECK_RESPONSES"] = "1"


# The tests' SageMaker execution role (tests/local_aws/local_aws_testing.py's ROLE).
SAGEMAKER_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory):
    """A running edge: `.url`, `.env` (AWS_ENDPOINT_URL, region, dummy credentials), `.client_kwargs`.
    Its account holds what SageMaker's jobs and models need, as an account would: the tests' role
    (`SageMakerRole`) and the local profile's pipeline role (scripts/local_account.py)."""
    from scripts import local_account

    with LocalAWS(port=0, state_dir=tmp_path_factory.mktemp("local-aws-state")) as aws:
        boto3.client("iam", **aws.client_kwargs).create_role(RoleName="SageMakerRole",
                                                             AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST))
        session = boto3.session.Session(aws_access_key_id=aws.credentials.access_key_id,
                                        aws_secret_access_key=aws.credentials.secret_access_key,
                                        region_name="us-east-1")
        local_account.prepare(session, aws.url)
        yield aws


@pytest.fixture
def aws_env(local_aws, monkeypatch):
    """Points boto3 (and every hook built on it) at the edge for one test."""
    for name, value in local_aws.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return local_aws.env


@pytest.fixture
def aws_client(local_aws):
    """`aws_client("s3")`: a boto3 client against the edge."""

    def make(service: str):
        return boto3.client(service, **local_aws.client_kwargs)

    return make
