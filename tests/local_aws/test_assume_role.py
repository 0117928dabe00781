"""AssumeRole as AWS refuses it (issue 15's pretences): moto hands out credentials for any ARN; local AWS
refuses a role that does not exist or whose trust policy does not let the one assuming it, and SageMaker
refuses a job or model whose role it could not assume, before anything is made."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from local_aws_testing import probe_training_request

ACCOUNT = "123456789012"


def role(iam, principal: dict) -> str:
    return iam.create_role(RoleName=f"trust-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal,
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]


def test_a_role_that_does_not_exist_or_does_not_trust_the_caller_is_refused(aws_client):
    sts, iam = aws_client("sts"), aws_client("iam")
    for role_arn in (f"arn:aws:iam::{ACCOUNT}:role/no-such-role", role(iam, {"Service": "lambda.amazonaws.com"})):
        with pytest.raises(ClientError) as refused:
            sts.assume_role(RoleArn=role_arn, RoleSessionName="session")
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        assert refused.value.response["Error"]["Message"] == (
            f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    trusted = role(iam, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    assert sts.assume_role(RoleArn=trusted, RoleSessionName="session")["AssumedRoleUser"]["Arn"].endswith("/session")


def test_sagemaker_refuses_a_job_or_model_whose_role_does_not_trust_it(sm, aws_client, bucket):
    not_for_sagemaker = role(aws_client("iam"), {"Service": "lambda.amazonaws.com"})
    request = probe_training_request(bucket, f"untrusted-{uuid.uuid4().hex[:6]}", RoleArn=not_for_sagemaker)
    with pytest.raises(ClientError, match="Could not assume role .* allows principal 'sagemaker.amazonaws.com'"):
        sm.create_training_job(**request)
    with pytest.raises(ClientError, match="Requested resource not found"):  # nothing half-created
        sm.describe_training_job(TrainingJobName=request["TrainingJobName"])
    with pytest.raises(ClientError, match="Could not assume role"):
        sm.create_model(ModelName=f"untrusted-{uuid.uuid4().hex[:6]}", ExecutionRoleArn=not_for_sagemaker,
                        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:"
                                                   "2.5.1-cpu-py311",
                                          "ModelDataUrl": f"s3://{bucket}/no-such-model.tar.gz"})
