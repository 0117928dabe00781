"""Asynchronous invocations (issue 14): an `Event` that fails is retried on AWS's schedule (compressed by
LOCAL_AWS_TIME_SCALE) as many times as its event-invoke config allows; the config's API; destinations
refused by name."""

import json
import sys
import time
import uuid

import pytest
from botocore.exceptions import ClientError
from local_aws_testing import lambda_function

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="functions run in Linux namespace sandboxes")

HANDLER = '''
import boto3


def handler(event, context):
    boto3.client("s3").put_object(Bucket=event["bucket"], Key=f"{event['prefix']}/{context.aws_request_id}", Body=b"")
    raise RuntimeError("always fails")
'''


@pytest.fixture(scope="module")
def failing(local_aws):
    return lambda_function(local_aws.client_kwargs, "failing", HANDLER, Timeout=10)


def attempts(s3, bucket: str, prefix: str, expected: int, within: float = 30) -> int:
    deadline = time.monotonic() + within
    while True:
        found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("KeyCount", 0)
        if found >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_failing_event_is_retried_as_its_config_allows(aws_client, s3, failing, monkeypatch):
    monkeypatch.setenv("LOCAL_AWS_TIME_SCALE", "600")  # the one- and two-minute waits last 0.1 and 0.2 s
    lam = aws_client("lambda")
    bucket = f"events-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    assert lam.invoke(FunctionName=failing, InvocationType="Event", Payload=json.dumps(
        {"bucket": bucket, "prefix": "default"}).encode())["StatusCode"] == 202
    assert attempts(s3, bucket, "default", 3) == 3  # the first attempt and AWS's two retries
    time.sleep(1)
    assert attempts(s3, bucket, "default", 4, within=0) == 3  # and no more

    put = lam.put_function_event_invoke_config(FunctionName=failing, MaximumRetryAttempts=0)
    assert put["MaximumRetryAttempts"] == 0 and put["FunctionArn"].endswith(f":function:{failing}:$LATEST")
    lam.invoke(FunctionName=failing, InvocationType="Event", Payload=json.dumps(
        {"bucket": bucket, "prefix": "no-retries"}).encode())
    assert attempts(s3, bucket, "no-retries", 1) == 1
    time.sleep(1)
    assert attempts(s3, bucket, "no-retries", 2, within=0) == 1

    updated = lam.update_function_event_invoke_config(FunctionName=failing, MaximumEventAgeInSeconds=120)
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (0, 120)
    assert [c["MaximumEventAgeInSeconds"] for c in lam.list_function_event_invoke_configs(
        FunctionName=failing)["FunctionEventInvokeConfigs"]] == [120]
    with pytest.raises(ClientError, match="DestinationConfig"):
        lam.put_function_event_invoke_config(FunctionName=failing, DestinationConfig={
            "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:dlq"}})
    lam.delete_function_event_invoke_config(FunctionName=failing)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.get_function_event_invoke_config(FunctionName=failing)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.update_function_event_invoke_config(FunctionName=failing, MaximumRetryAttempts=1)
