"""Thin subclasses of the provider's SageMaker operators that make re-running a task safe.

The provider's operators create what their config names; a cleared task would then fail on the name
collision (models, endpoint configs, tuning jobs) or start a second, duplicate job (training with
`action_if_job_exists="timestamp"`). These subclasses look first and adopt what an earlier try made:

- jobs: a completed job of the planned name is adopted, a running one is waited for, and only a failed or
  stopped one (SageMaker never reuses job names) moves on to the next deterministic attempt name;
- the model and the endpoint config are created only when missing;
- the endpoint is created, or updated (blue/green) when it serves another config, or left alone when it
  already serves this one.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointOperator,
    SageMakerModelOperator,
    SageMakerTrainingOperator,
    SageMakerTuningOperator,
    serialize,
)
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from airflow.providers.common.compat.sdk import AirflowException

from dog_breed.naming import TUNING_JOB_MAX_LEN, attempt_names
from dog_breed.config import NAME_MAX_LEN
from dog_breed.sagemaker_requests import with_tuned_hyperparameters

FAILED_JOB_STATES = ("Failed", "Stopped")


def _missing(error: ClientError) -> bool:
    # SageMaker answers a describe of a missing job or model with ValidationException, of a missing
    # tuning job with ResourceNotFound.
    return error.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound")


class _AdoptsJobs:
    """Mixin for job operators: pick the job name, adopting a completed or running job of that name."""

    name_key: str
    status_key: str
    result_key: str
    trigger_job_type: str
    max_name_len: int

    def _describe(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def _claim_name(self) -> dict[str, Any] | None:
        """Set the job name in the config; return the existing job to adopt, or None to create one."""
        for name in attempt_names(self.config[self.name_key], self.max_name_len):
            try:
                job = self._describe(name)
            except ClientError as error:
                if not _missing(error):
                    raise
                self.config[self.name_key] = name
                return None
            if job[self.status_key] in FAILED_JOB_STATES:
                self.log.info("%s %s is %s; trying the next attempt name", self.result_key, name, job[self.status_key])
                continue
            self.config[self.name_key] = name
            return job
        raise AirflowException(f"every attempt name of {self.config[self.name_key]} is taken by a failed job")

    def execute(self, context: Any) -> dict:
        job = self._claim_name()
        if job is None:
            return super().execute(context)
        name = self.config[self.name_key]
        if job[self.status_key] == "Completed":
            self.log.info("Adopting completed %s job %s from an earlier try.", self.result_key, name)
            return {self.result_key: serialize(job)}
        self.log.info("%s job %s from an earlier try is %s; waiting for it.", self.result_key, name, job[self.status_key])
        if self.deferrable:
            self.defer(
                trigger=SageMakerTrigger(job_name=name, job_type=self.trigger_job_type, waiter_delay=self.check_interval,
                                         aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify,
                                         botocore_config=self.botocore_config),
                method_name="execute_complete",
                timeout=datetime.timedelta(seconds=self.max_ingestion_time) if self.max_ingestion_time else None,
            )
        done = self.hook.check_status(name, self.status_key, self._describe, self.check_interval, self.max_ingestion_time)
        return {self.result_key: serialize(done)}


class ResumableTuningOperator(_AdoptsJobs, SageMakerTuningOperator):
    """`SageMakerTuningOperator` that adopts its run's tuning job instead of colliding with it."""

    name_key = "HyperParameterTuningJobName"
    status_key = "HyperParameterTuningJobStatus"
    result_key = "Tuning"
    trigger_job_type = "tuning"
    max_name_len = TUNING_JOB_MAX_LEN

    def _describe(self, name: str) -> dict[str, Any]:
        return self.hook.describe_tuning_job(name)


class BestTrialTrainingOperator(_AdoptsJobs, SageMakerTrainingOperator):
    """`SageMakerTrainingOperator` that trains with the best trial of `tuning_result` (the tuning task's
    output) and adopts its run's training job instead of starting a duplicate."""

    template_fields: Sequence[str] = (*SageMakerTrainingOperator.template_fields, "tuning_result")
    name_key = "TrainingJobName"
    status_key = "TrainingJobStatus"
    result_key = "Training"
    trigger_job_type = "training"
    max_name_len = NAME_MAX_LEN

    def __init__(self, *, tuning_result: Any, **kwargs: Any):
        # The name is claimed by _AdoptsJobs; the provider's timestamp renaming would duplicate the job.
        super().__init__(check_if_job_exists=False, **kwargs)
        self.tuning_result = tuning_result

    def _describe(self, name: str) -> dict[str, Any]:
        return self.hook.describe_training_job(name)

    def execute(self, context: Any) -> dict:
        best = self.tuning_result["Tuning"].get("BestTrainingJob")
        if not best:
            raise AirflowException("the tuning job has no best training job: every trial failed")
        self.log.info("Best trial %s: %s", best["TrainingJobName"], best["TunedHyperParameters"])
        self.config = with_tuned_hyperparameters(self.config, best["TunedHyperParameters"])
        return super().execute(context)


class ReusableModelOperator(SageMakerModelOperator):
    """`SageMakerModelOperator` that returns the existing model of the same name (models are immutable and
    named after their training job, so the same name means the same artifact)."""

    def execute(self, context: Any) -> dict:
        try:
            model = self.hook.describe_model(self.config["ModelName"])
        except ClientError as error:
            if not _missing(error):
                raise
            return super().execute(context)
        self.log.info("Model %s exists from an earlier try; reusing it.", self.config["ModelName"])
        return {"Model": serialize(model)}


class BlueGreenEndpointOperator(SageMakerEndpointOperator):
    """Deploys `config["EndpointConfig"]` on `config["Endpoint"]`: creates the endpoint, or updates it
    blue/green with the request's auto-rollback alarm, which this operator keeps in CloudWatch.

    `rollback_alarm` holds the keyword arguments of CloudWatch's `put_metric_alarm` (idempotent), or None
    when the deployment has no alarm-driven rollback."""

    template_fields: Sequence[str] = (*SageMakerEndpointOperator.template_fields, "rollback_alarm")

    def __init__(self, *, rollback_alarm: dict[str, Any] | None, **kwargs: Any):
        super().__init__(operation="create", **kwargs)
        self.rollback_alarm = rollback_alarm

    def execute(self, context: Any) -> dict:
        if self.rollback_alarm:
            AwsBaseHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify,
                        client_type="cloudwatch").get_conn().put_metric_alarm(**self.rollback_alarm)
        endpoint_config = self.config["EndpointConfig"]
        target = self.config["Endpoint"]
        try:
            self.hook.describe_endpoint_config(endpoint_config["EndpointConfigName"])
            self.log.info("Endpoint config %s exists; reusing it.", endpoint_config["EndpointConfigName"])
            self.config = {"Endpoint": target}
        except ClientError as error:
            if not _missing(error):
                raise
        current = self._describe_endpoint(target["EndpointName"])
        if current is None:
            return super().execute(context)
        status = current["EndpointStatus"]
        if status == "Failed":
            raise AirflowException(f"endpoint {target['EndpointName']} is Failed ({current.get('FailureReason')}); "
                                   "run the dog_breed_teardown DAG before deploying again")
        if current["EndpointConfigName"] == target["EndpointConfigName"] and status == "InService":
            self.log.info("Endpoint %s already serves %s.", target["EndpointName"], target["EndpointConfigName"])
            return {
                "EndpointConfig": serialize(self.hook.describe_endpoint_config(target["EndpointConfigName"])),
                "Endpoint": serialize(current),
            }
        if status != "InService":
            raise AirflowException(f"endpoint {target['EndpointName']} is {status}; retry once it is InService")
        self.log.info("Endpoint %s serves %s; updating it blue/green to %s.", target["EndpointName"],
                      current["EndpointConfigName"], target["EndpointConfigName"])
        self.operation = "update"
        # UpdateEndpoint takes no tags: the endpoint keeps those it was created with.
        self.config = {**self.config, "Endpoint": {k: v for k, v in target.items() if k != "Tags"}}
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, dict]:
        result = super().execute_complete(context, event)
        wanted = self.config["Endpoint"]["EndpointConfigName"]
        serving = result["Endpoint"]["EndpointConfigName"]
        if serving != wanted:
            raise AirflowException(f"the deployment of {wanted} was rolled back: the endpoint still serves {serving}")
        return result

    def _describe_endpoint(self, name: str) -> dict[str, Any] | None:
        try:
            return self.hook.describe_endpoint(name)
        except ClientError as error:
            if _missing(error):
                return None
            raise
