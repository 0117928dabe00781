"""EC2 instances that really run (issue 15, step 1): moto keeps the state, local AWS's machines drive it
(pending -> running -> stopping -> stopped -> pending -> running -> shutting-down -> terminated), user data
runs once at first boot with the profile role's credentials, GetConsoleOutput is the instance's console,
volumes survive a stop and go on terminate per DeleteOnTermination, a power-off inside stops the instance."""

import sys
import time

import pytest
from botocore.exceptions import ClientError
from local_aws_testing import instance_profile

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="instances run in Linux namespace sandboxes")

FAST = {"Delay": 0.2, "MaxAttempts": 150}
USER_DATA = """#!/bin/bash
echo "user data ran as $(id -u) in $(pwd)"
echo boot >> /root/boots
echo data > /mnt/sdf/kept
touch /tmp/scratch
python3 -c 'import boto3; print("caller", boto3.client("sts").get_caller_identity()["Arn"])'
"""


@pytest.fixture
def ec2(aws_client):
    return aws_client("ec2")


@pytest.fixture
def image_id(ec2):
    return ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


@pytest.fixture
def profile(aws_client):
    return instance_profile(aws_client("iam"), "trainer")


def console(ec2, instance_id: str, expected: str, within: float = 30) -> str:
    deadline = time.monotonic() + within
    while True:
        output = ec2.get_console_output(InstanceId=instance_id).get("Output", "")  # boto3 decodes its base64
        if expected in output or time.monotonic() > deadline:
            return output
        time.sleep(0.2)


def state(ec2, instance_id: str) -> str:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


def test_an_instance_boots_runs_its_user_data_once_and_stops_starts_and_terminates_truthfully(
        ec2, image_id, profile, local_aws):
    launched = ec2.run_instances(
        ImageId=image_id, InstanceType="t2.xlarge", MinCount=1, MaxCount=1, UserData=USER_DATA,
        IamInstanceProfile={"Name": profile},
        BlockDeviceMappings=[{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 8, "DeleteOnTermination": False}}])
    instance_id = launched["Instances"][0]["InstanceId"]
    assert launched["Instances"][0]["State"]["Name"] == "pending"
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=FAST)

    output = console(ec2, instance_id, "user data exited")
    assert "user data ran as 0 in /root" in output and "user data exited with status 0" in output
    assert f"assumed-role/{profile}/{instance_id}" in output  # the profile's role, the session named as EC2 names it
    volumes = local_aws.state_dir / "123456789012" / "us-east-1" / "ec2" / instance_id / "volumes"
    assert (volumes / "sdf" / "kept").read_text() == "data\n"

    stopped = ec2.stop_instances(InstanceIds=[instance_id])["StoppingInstances"][0]
    assert stopped["CurrentState"]["Name"] == "stopping"
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance_id], WaiterConfig=FAST)
    assert not (local_aws.state_dir / "123456789012" / "us-east-1" / "ec2" / instance_id / "tmp").exists()

    assert ec2.start_instances(InstanceIds=[instance_id])["StartingInstances"][0]["CurrentState"]["Name"] == "pending"
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=FAST)
    assert console(ec2, instance_id, "is running\nlocal AWS: booting").count("user data exited") == 1
    assert list(volumes.glob("*/root/boots"))[0].read_text() == "boot\n"  # kept on the root volume, run once

    assert ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0]["CurrentState"]["Name"] \
        == "shutting-down"
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig=FAST)
    assert not list(volumes.glob("sda1")) and (volumes / "sdf" / "kept").exists()  # DeleteOnTermination false


@pytest.mark.parametrize("behavior, final", [("stop", "stopped"), ("terminate", "terminated")])
def test_a_power_off_inside_ends_that_instance_only_as_its_shutdown_behavior_says(ec2, image_id, behavior, final):
    bystander = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    instance_id = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceInitiatedShutdownBehavior=behavior,
                                    UserData="#!/bin/sh\nsleep 2\nshutdown -h now\n")["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id, bystander], WaiterConfig=FAST)
    ec2.get_waiter(f"instance_{final}").wait(InstanceIds=[instance_id], WaiterConfig=FAST)
    assert (state(ec2, instance_id), state(ec2, bystander)) == (final, "running")  # and local AWS still answers
    ec2.terminate_instances(InstanceIds=[bystander])


def test_every_instance_of_a_launch_gets_the_profile_and_cloud_config_is_refused(ec2, image_id, profile):
    launched = ec2.run_instances(ImageId=image_id, MinCount=2, MaxCount=2, IamInstanceProfile={"Name": profile})
    ids = [instance["InstanceId"] for instance in launched["Instances"]]
    associations = ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
    assert {a["InstanceId"] for a in associations if a["IamInstanceProfile"]["Arn"].endswith(profile)} == set(ids)
    ec2.terminate_instances(InstanceIds=ids)
    with pytest.raises(ClientError, match="cloud-config"):
        ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData="#cloud-config\nruncmd: [ls]\n")


def test_the_providers_ec2_operators_and_the_deferrable_sensors_trigger_see_the_truth(aws_env, ec2, image_id):
    import asyncio

    from airflow.providers.amazon.aws.operators.ec2 import (EC2CreateInstanceOperator, EC2StopInstanceOperator,
                                                            EC2TerminateInstanceOperator)
    from airflow.providers.amazon.aws.triggers.ec2 import EC2StateSensorTrigger

    created = EC2CreateInstanceOperator(task_id="create", image_id=image_id, aws_conn_id=None, poll_interval=1,
                                        wait_for_completion=True, config={"UserData": "#!/bin/sh\necho provider\n"})
    instance_id = created.execute(context={})[0]
    assert state(ec2, instance_id) == "running" and "provider" in console(ec2, instance_id, "provider")
    EC2StopInstanceOperator(task_id="stop", instance_id=instance_id, aws_conn_id=None, check_interval=1).execute(
        context={})
    assert state(ec2, instance_id) == "stopped"

    async def first_event():
        trigger = EC2StateSensorTrigger(instance_id=instance_id, target_state="stopped", aws_conn_id=None,
                                        poll_interval=1)
        async for event in trigger.run():
            return event.payload

    assert asyncio.run(asyncio.wait_for(first_event(), timeout=60)) == {"status": "success", "message": "target state met"}
    EC2TerminateInstanceOperator(task_id="terminate", instance_ids=[instance_id], aws_conn_id=None,
                                 wait_for_completion=True, poll_interval=1).execute(context={})
    assert state(ec2, instance_id) == "terminated"
