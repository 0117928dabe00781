"""`Ec2SsmTrainingOperator`: trains on an EC2 instance through SSM Run Command, as the user once did by hand
on a Deep Learning AMI. It launches one instance (its least-privilege profile: the run's code, data and
output only), waits for `running` and its SSM agent `Online`, sends one `AWS-RunShellScript` command
(`ec2_training.commands`), follows it to its end, and always terminates the instance: on success, on
failure, on timeout and when the task is killed. A re-run whose artifact is already uploaded adopts it.
It returns the SageMaker training task's shape (`{"Training": {...}}`), so `evaluate` and what follows take
either backend's result unchanged."""

from __future__ import annotations

import datetime
import time
from collections.abc import Sequence
from typing import Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.operators.sagemaker import serialize
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowException

from dog_breed.ec2_training import Ec2Training
from dog_breed.ec2_training_hook import TERMINAL, Ec2TrainingHook
from dog_breed.operator_settings import checked

STDERR_TAIL_LINES = 10


class Ec2SsmTrainingOperator(AwsBaseOperator[Ec2TrainingHook]):
    """Train as `config` says: the fields of `Ec2Training` (job_name, code_uri, data_uri, output_uri, image_id,
    instance_type, volume_gb, interpreter, hyperparameters, execution_timeout_seconds), like the provider's
    SageMaker operators take their request."""

    aws_hook_class = Ec2TrainingHook
    template_fields: Sequence[str] = aws_template_fields("config")
    template_fields_renderers = {"config": "json"}

    def __init__(self, *, config: dict[str, Any], waiter_delay: int = 5, waiter_max_attempts: int = 120,
                 online_timeout_seconds: float = 600, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = config
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self.online_timeout_seconds = online_timeout_seconds
        self._instance_id: str | None = None

    def training(self) -> Ec2Training:
        """The settings, with the numbers Jinja renders as text made numbers again; refused naming what is wrong."""
        def build() -> Ec2Training:
            config = dict(self.config)
            for number in ("volume_gb", "execution_timeout_seconds"):
                if number in config:
                    config[number] = int(config[number])
            config["hyperparameters"] = {str(name): str(value)
                                         for name, value in (config.get("hyperparameters") or {}).items()}
            return Ec2Training(**config)

        return checked(build, "EC2 training settings", "whole numbers")

    def execute(self, context: Any) -> dict[str, Any]:
        training = self.training()
        if self.hook.artifact_exists(training):
            self.log.info("%s is already uploaded: adopted, not trained again", training.model_uri)
            return self._result(training, None, None, None, adopted=True)
        wait = {"Delay": self.waiter_delay, "MaxAttempts": self.waiter_max_attempts}
        profile = self.hook.ensure_profile(training)
        self._instance_id = instance_id = self.hook.launch(training, profile, wait)
        self.log.info("launched %s (%s) for %s", instance_id, training.instance_type, training.job_name)
        started = datetime.datetime.now(datetime.timezone.utc)
        try:
            self.hook.wait_online(instance_id, self.online_timeout_seconds, self.waiter_delay)
            bucket, _, key = training.artifact_prefix[len("s3://"):].partition("/")
            command_id = self.hook.send(training, instance_id, bucket, f"{key}/ssm")
            invocation = self._follow(command_id, instance_id)
            if invocation["Status"] != "Success":
                stderr = "\n".join(invocation.get("StandardErrorContent", "").splitlines()[-STDERR_TAIL_LINES:])
                raise AirflowException(
                    f"training {training.job_name} on {instance_id} ended {invocation['Status']} "
                    f"({invocation.get('StatusDetails', '')}) with exit code {invocation.get('ResponseCode')}; "
                    f"the last lines of stderr:\n{stderr}\nthe whole output: {invocation.get('StandardErrorUrl') or 's3'}")
        finally:
            self.hook.terminate(instance_id)
            self._instance_id = None
        return self._result(training, instance_id, command_id, started)

    def on_kill(self) -> None:
        if self._instance_id is not None:
            self.log.warning("the task was killed: terminating %s", self._instance_id)
            self.hook.terminate(self._instance_id)

    def _follow(self, command_id: str, instance_id: str) -> dict[str, Any]:
        """Poll the invocation until it ends, streaming its output into the task log as the agent ships it."""
        seen, token = None, None
        while True:
            invocation = self.hook.invocation(command_id, instance_id)
            if invocation["Status"] != seen:
                seen = invocation["Status"]
                self.log.info("command %s on %s: %s", command_id, instance_id, seen)
            lines, token = self.hook.output_since(command_id, instance_id, token)
            for line in lines:
                self.log.info("  %s", line)
            if seen in TERMINAL:
                lines, token = self.hook.output_since(command_id, instance_id, token)  # what came with the end
                for line in lines:
                    self.log.info("  %s", line)
                return invocation
            time.sleep(self.waiter_delay)

    def _result(self, training: Ec2Training, instance_id: str | None, command_id: str | None,
                started: datetime.datetime | None, adopted: bool = False) -> dict[str, Any]:
        ended = datetime.datetime.now(datetime.timezone.utc)
        seconds = int((ended - started).total_seconds()) if started else None
        return serialize({"Training": {
            "TrainingJobName": training.job_name, "TrainingJobStatus": "Completed", "Backend": "ec2",
            "ModelArtifacts": {"S3ModelArtifacts": training.model_uri}, "HyperParameters": training.hyperparameters,
            "ResourceConfig": {"InstanceType": training.instance_type, "InstanceCount": 1,
                               "VolumeSizeInGB": training.volume_gb},
            "InstanceId": instance_id, "CommandId": command_id, "Adopted": adopted,
            "TrainingStartTime": started, "TrainingEndTime": ended if started else None,
            "TrainingTimeInSeconds": seconds, "BillableTimeInSeconds": seconds}})
