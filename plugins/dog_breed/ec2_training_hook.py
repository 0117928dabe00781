"""Every boto3 call of training on EC2 through SSM: the instance's role and profile (IAM), the instance (the
provider's `EC2Hook`), SSM's agent and Run Command (the provider's `SsmHook`), the artifact (S3)."""

from __future__ import annotations

import datetime
import time
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook
from airflow.providers.amazon.aws.hooks.ssm import SsmHook
from airflow.providers.common.compat.sdk import AirflowException

from dog_breed.ec2_training import (
    LOG_GROUP,
    Ec2Training,
    commands,
    role_policy,
    self_termination_user_data,
    stdout_stream,
    trust_policy,
)
from dog_breed.iam_roles import ensure_role

POLICY_NAME = "run-code-data-output"
JOB_TAG = "dog-breed:job"


class Ec2TrainingHook(EC2Hook):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, api_type="client_type", **kwargs)
        self.ssm = SsmHook(*args, **kwargs)
        self._iam = AwsBaseHook(*args, client_type="iam", **kwargs)
        self._s3 = AwsBaseHook(*args, client_type="s3", **kwargs)
        self._logs = AwsBaseHook(*args, client_type="logs", **kwargs)

    def artifact_exists(self, training: Ec2Training) -> bool:
        bucket, _, key = training.model_uri[len("s3://"):].partition("/")
        try:
            self._s3.conn.head_object(Bucket=bucket, Key=key)
            return True
        except self._s3.conn.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def ensure_profile(self, training: Ec2Training) -> str:
        """The training instances' role and instance profile, its policy scoped to this run; the profile's name."""
        iam, name = self._iam.conn, training.role_name
        ensure_role(iam, name, trust_policy(), POLICY_NAME, role_policy(training),
                    "dog-breed training on EC2: the run's code, data and output only")
        try:
            profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        except iam.exceptions.NoSuchEntityException:
            profile = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        if not any(role["RoleName"] == name for role in profile["Roles"]):
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        return name

    def image_id(self, training: Ec2Training) -> str:
        """The AMI id the run names, or the one the SSM parameter it names holds (the Deep Learning AMI's public
        parameters under /aws/service/deeplearning/)."""
        if not training.image_id.startswith("/"):
            return training.image_id
        try:
            return self.ssm.conn.get_parameter(Name=training.image_id)["Parameter"]["Value"]
        except self.ssm.conn.exceptions.ParameterNotFound as error:
            raise AirflowException(f"image_id: no SSM parameter {training.image_id} in this region") from error

    def launch(self, training: Ec2Training, profile: str, lifetime_minutes: int, wait: dict[str, int] | None) -> str:
        """One instance of the run, gp3 root volume of `volume_gb`, tagged, ending itself after
        `lifetime_minutes` at the latest; waited for until running unless `wait` is None."""
        image_id = self.image_id(training)
        image = self.conn.describe_images(ImageIds=[image_id])["Images"][0]
        instance_id = self.conn.run_instances(
            ImageId=image_id, InstanceType=training.instance_type, MinCount=1, MaxCount=1,
            IamInstanceProfile={"Name": profile}, InstanceInitiatedShutdownBehavior="terminate",
            UserData=self_termination_user_data(lifetime_minutes),
            BlockDeviceMappings=[{"DeviceName": image.get("RootDeviceName", "/dev/sda1"), "Ebs": {
                "VolumeSize": training.volume_gb, "VolumeType": "gp3", "DeleteOnTermination": True}}],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": JOB_TAG, "Value": training.job_name}, {"Key": "Name", "Value": training.job_name}]}],
        )["Instances"][0]["InstanceId"]
        if wait is not None:
            self.conn.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=wait)
        return instance_id

    def wait_online(self, instance_id: str, timeout_seconds: float, poll_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while True:
            found = self.ssm.conn.describe_instance_information(Filters=[
                {"Key": "InstanceIds", "Values": [instance_id]}])["InstanceInformationList"]
            if found and found[0]["PingStatus"] == "Online":
                return
            if time.monotonic() > deadline:
                raise AirflowException(f"the SSM agent of {instance_id} was not Online within {timeout_seconds:.0f} s "
                                       "(does its role allow ssm:UpdateInstanceInformation?)")
            time.sleep(poll_seconds)

    def send(self, training: Ec2Training, instance_id: str, output_bucket: str, output_prefix: str) -> str:
        return self.ssm.conn.send_command(
            InstanceIds=[instance_id], DocumentName="AWS-RunShellScript",
            Comment=f"dog-breed training {training.job_name}"[:100],
            Parameters={"commands": commands(training),
                        "executionTimeout": [str(training.execution_timeout_seconds)]},
            OutputS3BucketName=output_bucket, OutputS3KeyPrefix=output_prefix,
            CloudWatchOutputConfig={"CloudWatchOutputEnabled": True, "CloudWatchLogGroupName": LOG_GROUP},
        )["Command"]["CommandId"]

    def output_since(self, command_id: str, instance_id: str, token: str | None) -> tuple[list[str], str | None]:
        """The command's stdout lines streamed since `token` (None: from the start), and the next token."""
        logs = self._logs.conn
        kwargs = {"nextToken": token} if token else {"startFromHead": True}
        try:
            page = logs.get_log_events(logGroupName=LOG_GROUP,
                                       logStreamName=stdout_stream(command_id, instance_id), **kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return [], token  # nothing written yet
        return [event["message"] for event in page["events"]], page["nextForwardToken"]

    def invocation(self, command_id: str, instance_id: str) -> dict[str, Any]:
        try:
            return self.ssm.conn.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except self.ssm.conn.exceptions.InvocationDoesNotExist:
            return {"Status": "Pending"}

    def launch_time(self, instance_id: str) -> datetime.datetime:
        """When the instance was launched, in UTC (the run's start, as SageMaker's TrainingStartTime is)."""
        instance = self.conn.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        return instance["LaunchTime"].astimezone(datetime.timezone.utc)

    def terminate(self, instance_id: str) -> None:
        self.conn.terminate_instances(InstanceIds=[instance_id])
