"""The provider's `SageMakerHook`, with what makes the pipeline's SageMaker tasks safe to run again: it
describes a resource or says it is missing, picks a job's name (adopting what an earlier try started,
moving past what failed), decides how an endpoint is deployed, and keeps its rollback alarm."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.providers.common.compat.sdk import AirflowException

from dog_breed.aws_errors import is_missing
from dog_breed.job_progress import JobProgress, TrainingProgress, TuningProgress, follow
from dog_breed.naming import TUNING_JOB_MAX_LEN, attempt_names
from dog_breed.validation import NAME_MAX_LEN

FAILED_JOB_STATES = frozenset({"Failed", "Stopped"})


@dataclass(frozen=True)
class JobKind:
    """A kind of SageMaker job: how its requests and descriptions name it, and its provider trigger type."""

    result_key: str  # the key of the provider operator's result, "Training" or "Tuning"
    name_key: str
    status_key: str
    describe: str  # the SageMakerHook method that describes one
    trigger_job_type: str  # SageMakerTrigger's job_type
    max_name_len: int


TRAINING = JobKind("Training", "TrainingJobName", "TrainingJobStatus", "describe_training_job", "training",
                   NAME_MAX_LEN)
TUNING = JobKind("Tuning", "HyperParameterTuningJobName", "HyperParameterTuningJobStatus", "describe_tuning_job",
                 "tuning", TUNING_JOB_MAX_LEN)
KINDS = {kind.trigger_job_type: kind for kind in (TRAINING, TUNING)}


@dataclass(frozen=True)
class ClaimedJob:
    """The name a job runs under, and the job of that name an earlier try started (None: create it)."""

    name: str
    existing: dict[str, Any] | None


class EndpointAction(enum.Enum):
    CREATE = "create"  # no endpoint of that name yet
    UPDATE = "update"  # the endpoint serves another config: update it blue/green
    SERVING = "serving"  # the endpoint already serves this config


@dataclass(frozen=True)
class EndpointPlan:
    action: EndpointAction
    current: dict[str, Any] | None  # the endpoint's description, None when it does not exist


class PipelineSageMakerHook(SageMakerHook):
    def describe_or_none(self, describe: Callable[[str], dict[str, Any]], name: str) -> dict[str, Any] | None:
        """`describe(name)`, or None when SageMaker says there is no such resource."""
        try:
            return describe(name)
        except ClientError as error:
            if is_missing(error):
                return None
            raise

    def claim_job(self, kind: JobKind, planned_name: str) -> ClaimedJob:
        """The first attempt name of `planned_name` that no failed or stopped job holds (SageMaker never
        reuses a job name), with the completed or running job that holds it, if any."""
        describe = getattr(self, kind.describe)
        for name in attempt_names(planned_name, kind.max_name_len):
            job = self.describe_or_none(describe, name)
            if job is None or job[kind.status_key] not in FAILED_JOB_STATES:
                return ClaimedJob(name, job)
            self.log.info("%s job %s is %s; trying the next attempt name", kind.result_key, name,
                          job[kind.status_key])
        raise AirflowException(f"every attempt name of {planned_name} is taken by a failed or stopped job")

    def progress(self, kind: JobKind, name: str, log: logging.Logger) -> JobProgress:
        """What logs the job's progress to `log` each time it is polled (`job_progress`)."""
        return (TuningProgress if kind is TUNING else TrainingProgress)(self, name, log)

    def wait_for_job(self, kind: JobKind, name: str, check_interval: int, max_ingestion_time: int | None) -> dict:
        """The job's description once it has ended, its progress logged meanwhile; AirflowException if it
        failed, was stopped or took too long."""
        done = follow(self.progress(kind, name, self.log), check_interval, max_ingestion_time)
        status = done[kind.status_key]
        if status != "Completed":
            raise AirflowException(f"SageMaker {kind.result_key.lower()} job {name} is {status}: "
                                   f"{done.get('FailureReason', '(no reason given)')}")
        return done

    def check_status(self, job_name: str, key: str, describe_function: Callable, check_interval: int,
                     max_ingestion_time: int | None = None, non_terminal_states: set | None = None) -> dict:
        """The provider's wait in the worker, which logs only the status: for training and tuning jobs,
        `wait_for_job`, which logs their progress."""
        kind = next((kind for kind in KINDS.values() if kind.status_key == key), None)
        if kind is None or non_terminal_states is not None:
            return super().check_status(job_name, key, describe_function, check_interval, max_ingestion_time,
                                        non_terminal_states)
        return self.wait_for_job(kind, job_name, check_interval, max_ingestion_time)

    def plan_endpoint(self, endpoint_name: str, config_name: str) -> EndpointPlan:
        """How to deploy `config_name` on `endpoint_name`; AirflowException if the endpoint is Failed or
        between states."""
        current = self.describe_or_none(self.describe_endpoint, endpoint_name)
        if current is None:
            return EndpointPlan(EndpointAction.CREATE, None)
        status = current["EndpointStatus"]
        if status == "Failed":
            raise AirflowException(f"endpoint {endpoint_name} is Failed ({current.get('FailureReason')}); "
                                   "run the dog_breed_teardown DAG before deploying again")
        if status != "InService":
            raise AirflowException(f"endpoint {endpoint_name} is {status}; retry once it is InService")
        if current["EndpointConfigName"] == config_name:
            return EndpointPlan(EndpointAction.SERVING, current)
        return EndpointPlan(EndpointAction.UPDATE, current)

    @staticmethod
    def check_deployed(endpoint: dict[str, Any], config_name: str) -> None:
        """AirflowException if the endpoint does not serve `config_name` after a deployment: its update
        was rolled back."""
        serving = endpoint["EndpointConfigName"]
        if serving != config_name:
            reason = endpoint.get("FailureReason")
            raise AirflowException(f"the deployment of {config_name} was rolled back: endpoint "
                                   f"{endpoint['EndpointName']} still serves {serving}"
                                   + (f" ({reason})" if reason else ""))

    def put_rollback_alarm(self, alarm: dict[str, Any]) -> None:
        """Creates or updates the CloudWatch alarm (`put_metric_alarm` keyword arguments) that rolls an
        endpoint update back."""
        cloudwatch = AwsBaseHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify,
                                 config=self.config, client_type="cloudwatch")
        cloudwatch.conn.put_metric_alarm(**alarm)
