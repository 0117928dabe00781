"""SSM Run Command on local instances (issue 15, step 2): an instance with a profile comes Online; commands
really run under bash on it, one at a time, with their exit code, their output cut inline and kept whole in
S3, their timeout and cancellation; a stopped instance's command times out on delivery; the provider's
operators and sensor succeed on a command that succeeds and fail on one that fails."""

import asyncio
import sys
import time
import uuid

import pytest
from botocore.exceptions import ClientError, WaiterError
from local_aws_testing import instance_profile

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="instances run in Linux namespace sandboxes")

FAST = {"Delay": 0.2, "MaxAttempts": 300}


@pytest.fixture(scope="module")
def instance(local_aws):
    """A running instance with an instance profile, its agent Online."""
    import boto3

    iam = boto3.client("iam", **local_aws.client_kwargs)
    ec2 = boto3.client("ec2", **local_aws.client_kwargs)
    name = instance_profile(iam, "ssm")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance_id = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, IamInstanceProfile={"Name": name},
                                    TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                        {"Key": "role", "Value": name}]}])["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=FAST)
    yield instance_id
    ec2.terminate_instances(InstanceIds=[instance_id])


@pytest.fixture
def ssm(aws_client):
    return aws_client("ssm")


def run(ssm, instance_id: str, *commands: str, **send) -> dict:
    command_id = ssm.send_command(InstanceIds=[instance_id], DocumentName="AWS-RunShellScript",
                                  Parameters={"commands": list(commands), **send.pop("parameters", {})},
                                  **send)["Command"]["CommandId"]
    try:
        ssm.get_waiter("command_executed").wait(CommandId=command_id, InstanceId=instance_id, WaiterConfig=FAST)
    except Exception:
        pass  # a failed command ends the waiter: the invocation says how
    return ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)


def test_an_instance_with_a_profile_is_a_managed_instance_online(ssm, instance):
    found = ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [instance]}])
    information = found["InstanceInformationList"]
    assert [(i["InstanceId"], i["PingStatus"], i["PlatformType"]) for i in information] == [(instance, "Online", "Linux")]


def test_a_command_runs_on_the_instance_with_its_roles_credentials(ssm, instance, local_aws):
    answer = run(ssm, instance, "echo kept > /root/from-ssm", "pwd",
                 "python3 -c 'import boto3; print(boto3.client(\"sts\").get_caller_identity()[\"Arn\"])'")
    assert (answer["Status"], answer["ResponseCode"]) == ("Success", 0), answer["StandardErrorContent"]
    lines = answer["StandardOutputContent"].splitlines()
    assert lines[0].startswith(f"/var/lib/amazon/ssm/{instance}/document/orchestration/")
    assert lines[1].endswith(f"/{instance}") and ":assumed-role/" in lines[1]
    root = next((local_aws.state_dir / "123456789012" / "us-east-1" / "ec2" / instance / "volumes").glob("*/root"))
    assert (root / "from-ssm").read_text() == "kept\n"


def test_a_failing_command_reports_its_exit_code_and_long_output_is_cut_inline_and_whole_in_s3(ssm, instance, s3,
                                                                                                 bucket):
    answer = run(ssm, instance, "python3 -c 'print(\"x\" * 29999)'", "echo oops >&2", "exit 3",
                 OutputS3BucketName=bucket, OutputS3KeyPrefix="ssm-output")
    assert (answer["Status"], answer["StatusDetails"], answer["ResponseCode"]) == ("Failed", "Failed", 3)
    assert len(answer["StandardOutputContent"]) == 24_000 and answer["StandardErrorContent"] == "oops\n"
    key = (f"ssm-output/{answer['CommandId']}/{instance}/awsrunShellScript/0.awsrunShellScript/stdout")
    assert len(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) == 30_000
    assert answer["StandardOutputUrl"].endswith(f"/{bucket}/{key}")


def test_a_command_past_its_execution_timeout_is_timed_out_and_its_processes_are_gone(ssm, instance):
    answer = run(ssm, instance, "sleep 300 &", "echo $! > /root/sleeper", "wait",
                 parameters={"executionTimeout": ["2"]})
    assert (answer["Status"], answer["StatusDetails"]) == ("TimedOut", "Execution Timed Out")
    check = run(ssm, instance, "kill -0 $(cat /root/sleeper) && echo alive || echo gone")
    assert check["StandardOutputContent"].strip().endswith("gone")


def test_a_cancelled_command_stops(ssm, instance):
    command_id = ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                                  Parameters={"commands": ["sleep 60"]})["Command"]["CommandId"]
    deadline = time.monotonic() + 20
    while ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)["Status"] != "InProgress":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    ssm.cancel_command(CommandId=command_id)
    deadline = time.monotonic() + 20
    while (status := ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)["Status"]) != "Cancelled":
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    listed = ssm.list_command_invocations(CommandId=command_id, Details=True)["CommandInvocations"]
    assert [(i["Status"], i["CommandPlugins"][0]["Name"]) for i in listed] == [("Cancelled", "aws:runShellScript")]


def test_targets_by_tag_and_what_cannot_run_is_refused_as_aws_refuses_it(ssm, instance, aws_client):
    tag = aws_client("ec2").describe_tags(Filters=[{"Name": "resource-id", "Values": [instance]}])["Tags"][0]
    sent = ssm.send_command(Targets=[{"Key": f"tag:{tag['Key']}", "Values": [tag["Value"]]}],
                            DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]})["Command"]
    assert sent["TargetCount"] == 1
    refusals = [({"DocumentName": "AWS-RunPowerShellScript"}, "UnsupportedPlatformType"),
                ({"DocumentName": "No-Such-Document"}, "InvalidDocument"),
                ({"InstanceIds": ["i-0123456789abcdef0"]}, "InvalidInstanceId"),
                ({"Parameters": {"commands": ["true"], "shell": ["zsh"]}}, "InvalidParameters")]
    for change, code in refusals:
        request = {"InstanceIds": [instance], "DocumentName": "AWS-RunShellScript",
                   "Parameters": {"commands": ["true"]}, **change}
        with pytest.raises(ClientError) as refused:
            ssm.send_command(**request)
        assert refused.value.response["Error"]["Code"] == code


def test_a_command_to_a_stopped_instance_times_out_on_delivery(ssm, aws_client, instance):
    ec2 = aws_client("ec2")
    ec2.stop_instances(InstanceIds=[instance])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance], WaiterConfig=FAST)
    try:
        assert ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [instance]}])[
            "InstanceInformationList"][0]["PingStatus"] == "ConnectionLost"
        command_id = ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript", TimeoutSeconds=30,
                                      Parameters={"commands": ["true"]})["Command"]["CommandId"]
        deadline = time.monotonic() + 45
        while (answer := ssm.get_command_invocation(CommandId=command_id, InstanceId=instance))["Status"] == "Pending":
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert (answer["Status"], answer["StatusDetails"]) == ("TimedOut", "Delivery Timed Out")
    finally:
        ec2.start_instances(InstanceIds=[instance])
        ec2.get_waiter("instance_running").wait(InstanceIds=[instance], WaiterConfig=FAST)


def test_the_providers_operators_and_sensor_succeed_and_fail_with_the_command(aws_env, ssm, instance):
    from airflow.providers.amazon.aws.operators.ssm import SsmGetCommandInvocationOperator, SsmRunCommandOperator
    from airflow.providers.amazon.aws.sensors.ssm import SsmRunCommandCompletedSensor
    from airflow.providers.amazon.aws.triggers.ssm import SsmRunCommandTrigger

    def operator(commands: list[str], **kwargs) -> SsmRunCommandOperator:
        return SsmRunCommandOperator(task_id="run", document_name="AWS-RunShellScript", aws_conn_id=None,
                                     run_command_kwargs={"InstanceIds": [instance],
                                                         "Parameters": {"commands": commands}},
                                     waiter_delay=1, waiter_max_attempts=60, **kwargs)

    command_id = operator(["echo from-the-provider"], deferrable=False).execute(context={})
    got = SsmGetCommandInvocationOperator(task_id="get", command_id=command_id, instance_id=instance,
                                          aws_conn_id=None).execute(context={})
    assert got["invocations"][0]["status"] == "Success"
    assert got["invocations"][0]["standard_output"] == "from-the-provider\n"
    with pytest.raises(WaiterError, match="Failed"):
        operator(["exit 7"], deferrable=False).execute(context={})

    failing = ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                               Parameters={"commands": ["exit 5"]})["Command"]["CommandId"]
    sensor = SsmRunCommandCompletedSensor(task_id="sensor", command_id=failing, aws_conn_id=None, poke_interval=0.5)
    deadline = time.monotonic() + 30
    with pytest.raises(RuntimeError):
        while not sensor.poke(context={}):
            assert time.monotonic() < deadline
            time.sleep(0.5)

    succeeding = ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                                  Parameters={"commands": ["true"]})["Command"]["CommandId"]

    async def first_event():
        trigger = SsmRunCommandTrigger(command_id=succeeding, waiter_delay=1, waiter_max_attempts=60, aws_conn_id=None)
        async for event in trigger.run():
            return event.payload

    event = asyncio.run(asyncio.wait_for(first_event(), timeout=120))
    assert event["status"] == "success" and event["command_id"] == succeeding


def test_a_commands_output_goes_to_cloudwatch_logs_when_asked(ssm, instance, aws_client):
    group = f"/ssm/tests/{uuid.uuid4().hex[:6]}"
    answer = run(ssm, instance, "echo to-the-logs", "echo and-stderr >&2",
                 CloudWatchOutputConfig={"CloudWatchOutputEnabled": True, "CloudWatchLogGroupName": group})
    assert answer["Status"] == "Success" and answer["CloudWatchOutputConfig"]["CloudWatchLogGroupName"] == group
    logs = aws_client("logs")
    prefix = f"{answer['CommandId']}/{instance}/aws-runShellScript/"
    streams = {stream["logStreamName"].removeprefix(prefix): stream["logStreamName"] for stream in
               logs.describe_log_streams(logGroupName=group)["logStreams"]}
    assert set(streams) == {"stdout", "stderr"}
    messages = {name: [event["message"] for event in logs.get_log_events(logGroupName=group, logStreamName=stream)[
        "events"]] for name, stream in streams.items()}
    assert messages == {"stdout": ["to-the-logs"], "stderr": ["and-stderr"]}
