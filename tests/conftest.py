"""Shared fixtures: one local AWS edge for the whole session, and clients against it."""

import boto3
import pytest

from local_aws import LocalAWS


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory):
    """A running edge: `.url`, `.env` (AWS_ENDPOINT_URL, region, dummy credentials), `.client_kwargs`."""
    with LocalAWS(port=0, state_dir=tmp_path_factory.mktemp("local-aws-state")) as aws:
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
