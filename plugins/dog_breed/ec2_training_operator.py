"""`Ec2SsmTrainingOperator`: trains on an EC2 instance through SSM Run Command, as the user once did by hand
on a Deep Learning AMI. It launches one instance (its least-privilege profile: the run's code, data and
output only; user data that ends it once its time is up, whatever happens to Airflow), waits for `running`
and its SSM agent `Online`, sends one `AWS-RunShellScript` command (`ec2_training.commands`), follows it to
its end, streaming its output into the task log, and always terminates the instance: on success, on
failure, on timeout and when the task is killed. A re-run whose artifact is already uploaded adopts it.
Deferrable: the waits for `Online` and for the command run in the triggerer (`ec2_training_triggers`),
whose `on_kill` terminates the instance when a user kills the deferred task.
It returns the SageMaker training task's shape (`{"Training": {...}}`), so `evaluate` and what follows take
either backend's result unchanged."""

from __future__ import annotations

import contextlib
import datetime
import math
import time
from collections.abc import Sequence
from typing import Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.operators.sagemaker import serialize
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowException, TaskDeferred, conf

from dog_breed.ec2_training import COMMAND_ENDED, Ec2Training, command_failure
from dog_breed.ec2_training_hook import Ec2TrainingHook
from dog_breed.ec2_training_triggers import InstanceOnlineTrigger, TrainingCommandTrigger
from dog_breed.operator_settings import PullsFromXCom, checked

STDERR_TAIL_LINES = 10
COMMAND_END_MARGIN_SECONDS = 300  # the agent's report of a timed-out command, after its executionTimeout
LIFETIME_MARGIN_SECONDS = 900  # launch, the uploads, and termination, beyond the waits


class Ec2SsmTrainingOperator(PullsFromXCom, AwsBaseOperator[Ec2TrainingHook]):
    """Train as `config` says: the fields of `Ec2Training` (job_name, code_uri, data_uri, output_uri, image_id,
    instance_type, volume_gb, interpreter, hyperparameters, execution_timeout_seconds), like the provider's
    SageMaker operators take their request."""

    aws_hook_class = Ec2TrainingHook
    template_fields: Sequence[str] = aws_template_fields("config")
    template_fields_renderers = {"config": "json"}

    def __init__(self, *, config: dict[str, Any], waiter_delay: int = 5, waiter_max_attempts: int = 120,
                 online_timeout_seconds: float = 600,
                 deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False), **kwargs: Any):
        super().__init__(**kwargs)
        self.deferrable = deferrable
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
            return self._result(training, None, None, adopted=True)
        profile = self.hook.ensure_profile(training)
        wait = None if self.deferrable else {"Delay": self.waiter_delay, "MaxAttempts": self.waiter_max_attempts}
        self._instance_id = instance_id = self.hook.launch(training, profile, self._lifetime_minutes(training), wait)
        self.log.info("launched %s (%s) for %s", instance_id, training.instance_type, training.job_name)
        if self.deferrable:
            with self._terminated_unless_deferred(instance_id):
                self.defer(trigger=InstanceOnlineTrigger(**self._trigger_fields(instance_id, self.online_timeout_seconds)),
                           method_name="execute_online")
        try:
            self.hook.wait_online(instance_id, self.online_timeout_seconds, self.waiter_delay)
            command_id = self._send(training, instance_id)
            invocation = self._follow(command_id, instance_id)
            self._raise_if_failed(training, instance_id, invocation)
        finally:
            self.hook.terminate(instance_id)
            self._instance_id = None
        return self._result(training, instance_id, command_id)

    def execute_online(self, context: Any, event: dict[str, Any]) -> None:
        """Deferred: the instance is Online (or the wait failed); send the command and defer until it ends."""
        training, instance_id = self.training(), event["instance_id"]
        with self._terminated_unless_deferred(instance_id):
            if event["status"] != "online":
                raise AirflowException(f"the SSM agent of {instance_id} was not Online: {event.get('message')} "
                                       "(does its role allow ssm:UpdateInstanceInformation?)")
            command_id = self._send(training, instance_id)
            self.defer(trigger=TrainingCommandTrigger(
                command_id=command_id,
                **self._trigger_fields(instance_id, training.execution_timeout_seconds + COMMAND_END_MARGIN_SECONDS)),
                method_name="execute_complete")

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """Deferred: the command ended (or the wait failed); terminate the instance, return or fail."""
        training, instance_id = self.training(), event["instance_id"]
        try:
            if event["status"] != "ended":
                raise AirflowException(f"training {training.job_name} on {instance_id}: the wait for its command "
                                       f"ended {event['status']}: {event.get('message')}")
            self._raise_if_failed(training, instance_id, event["invocation"])
        finally:
            self.hook.terminate(instance_id)
        return self._result(training, instance_id, event["command_id"])

    def on_kill(self) -> None:
        if self._instance_id is not None:
            self.log.warning("the task was killed: terminating %s", self._instance_id)
            self.hook.terminate(self._instance_id)

    def _send(self, training: Ec2Training, instance_id: str) -> str:
        bucket, _, key = training.artifact_prefix[len("s3://"):].partition("/")
        command_id = self.hook.send(training, instance_id, bucket, f"{key}/ssm")
        self.log.info("sent command %s to %s", command_id, instance_id)
        return command_id

    def _raise_if_failed(self, training: Ec2Training, instance_id: str, invocation: dict[str, Any]) -> None:
        failure = command_failure(training, instance_id, invocation, STDERR_TAIL_LINES)
        if failure:
            raise AirflowException(failure)

    def _lifetime_minutes(self, training: Ec2Training) -> int:
        """How long the instance may live at the most: the waits and the command's timeout, with a margin."""
        seconds = self.online_timeout_seconds + training.execution_timeout_seconds + LIFETIME_MARGIN_SECONDS
        return math.ceil(seconds / 60)

    def _trigger_fields(self, instance_id: str, timeout_seconds: float) -> dict[str, Any]:
        return {"instance_id": instance_id, "poll_seconds": self.waiter_delay, "timeout_seconds": timeout_seconds,
                "aws_conn_id": self.aws_conn_id, "region_name": self.region_name, "verify": self.verify,
                "botocore_config": self.botocore_config}

    @contextlib.contextmanager
    def _terminated_unless_deferred(self, instance_id: str):
        """Terminate the instance when what runs inside fails; deferring hands it to the trigger instead."""
        try:
            yield
        except TaskDeferred:
            raise
        except BaseException:
            self.hook.terminate(instance_id)
            raise

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
            if seen in COMMAND_ENDED:
                lines, token = self.hook.output_since(command_id, instance_id, token)  # what came with the end
                for line in lines:
                    self.log.info("  %s", line)
                return invocation
            time.sleep(self.waiter_delay)

    def _result(self, training: Ec2Training, instance_id: str | None, command_id: str | None,
                adopted: bool = False) -> dict[str, Any]:
        ended = datetime.datetime.now(datetime.timezone.utc)
        started = self.hook.launch_time(instance_id) if instance_id else None
        seconds = int((ended - started).total_seconds()) if started else None
        return serialize({"Training": {
            "TrainingJobName": training.job_name, "TrainingJobStatus": "Completed", "Backend": "ec2",
            "ModelArtifacts": {"S3ModelArtifacts": training.model_uri}, "HyperParameters": training.hyperparameters,
            "ResourceConfig": {"InstanceType": training.instance_type, "InstanceCount": 1,
                               "VolumeSizeInGB": training.volume_gb},
            "InstanceId": instance_id, "CommandId": command_id, "Adopted": adopted,
            "TrainingStartTime": started, "TrainingEndTime": ended if started else None,
            "TrainingTimeInSeconds": seconds, "BillableTimeInSeconds": seconds}})
