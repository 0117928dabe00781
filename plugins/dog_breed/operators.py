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
import math
from collections.abc import Sequence
from typing import Any, NoReturn

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointOperator,
    SageMakerModelOperator,
    SageMakerTrainingOperator,
    SageMakerTuningOperator,
    serialize,
)
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from airflow.providers.common.compat.sdk import AirflowException
from airflow.triggers.base import BaseTrigger

from dog_breed.autoscaling_hook import EndpointAutoscalingHook
from dog_breed.autoscaling_requests import variants_to_release
from dog_breed.job_progress_triggers import JobProgressTrigger
from dog_breed.operator_settings import PullsFromXCom
from dog_breed.sagemaker_hook import TRAINING, TUNING, EndpointAction, JobKind, PipelineSageMakerHook
from dog_breed.sagemaker_requests import with_tuned_hyperparameters


DEFAULT_MAX_WAIT_SECONDS = 24 * 3600  # without max_ingestion_time: SageMaker's default MaxRuntimeInSeconds


class _AdoptsJobs(PullsFromXCom):
    """Mixin for job operators: run under the name the hook claims, adopting the job an earlier try started."""

    aws_hook_class = PipelineSageMakerHook
    kind: JobKind

    def execute(self, context: Any) -> dict:
        kind = self.kind
        claimed = self.hook.claim_job(kind, self.config[kind.name_key])
        self.config[kind.name_key] = claimed.name
        job = claimed.existing
        if job is None:
            return super().execute(context)
        if job[kind.status_key] == "Completed":
            self.log.info("Adopting completed %s job %s from an earlier try.", kind.result_key, claimed.name)
            return {kind.result_key: serialize(job)}
        self.log.info("%s job %s from an earlier try is %s; waiting for it.", kind.result_key, claimed.name,
                      job[kind.status_key])
        if self.deferrable:
            self.defer(
                trigger=self._progress_trigger(claimed.name), method_name="execute_complete",
                timeout=datetime.timedelta(seconds=self.max_ingestion_time) if self.max_ingestion_time else None,
            )
        done = self.hook.wait_for_job(kind, claimed.name, self.check_interval, self.max_ingestion_time)
        return {kind.result_key: serialize(done)}

    def defer(self, *, trigger: BaseTrigger, method_name: str, kwargs: dict[str, Any] | None = None,
              timeout: datetime.timedelta | int | float | None = None) -> NoReturn:
        """The provider's operators defer to `SageMakerTrigger`, which only waits: these defer to
        `JobProgressTrigger`, which logs the job's progress while it waits and ends in the same event."""
        if isinstance(trigger, SageMakerTrigger):
            trigger = self._progress_trigger(trigger.job_name)
        super().defer(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)

    def _progress_trigger(self, job_name: str) -> JobProgressTrigger:
        # As many polls as the task may wait (the provider's training operator polls 60 times by default:
        # 30 minutes on AWS, less than a real training job), the task's timeout ending it sooner.
        wait = self.max_ingestion_time or DEFAULT_MAX_WAIT_SECONDS
        return JobProgressTrigger(job_name=job_name, job_type=self.kind.trigger_job_type,
                                  poll_seconds=self.check_interval,
                                  max_attempts=max(1, math.ceil(wait / max(self.check_interval, 1))),
                                  aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify,
                                  botocore_config=self.botocore_config)


class ResumableTuningOperator(_AdoptsJobs, SageMakerTuningOperator):
    """`SageMakerTuningOperator` that adopts its run's tuning job instead of colliding with it."""

    kind = TUNING


class BestTrialTrainingOperator(_AdoptsJobs, SageMakerTrainingOperator):
    """`SageMakerTrainingOperator` that trains with the best trial of `tuning_result` (the tuning task's
    output) and adopts its run's training job instead of starting a duplicate."""

    template_fields: Sequence[str] = (*SageMakerTrainingOperator.template_fields, "tuning_result")
    kind = TRAINING

    def __init__(self, *, tuning_result: Any, **kwargs: Any):
        # The hook claims the name; the provider's timestamp renaming would duplicate the job.
        super().__init__(check_if_job_exists=False, **kwargs)
        self.tuning_result = tuning_result

    def execute(self, context: Any) -> dict:
        best = self.tuning_result["Tuning"].get("BestTrainingJob")
        if not best:
            raise AirflowException("the tuning job has no best training job: every trial failed")
        self.log.info("Best trial %s: %s", best["TrainingJobName"], best["TunedHyperParameters"])
        self.config = with_tuned_hyperparameters(self.config, best["TunedHyperParameters"])
        return super().execute(context)


class ReusableModelOperator(PullsFromXCom, SageMakerModelOperator):
    """`SageMakerModelOperator` that returns the existing model of the same name (models are immutable and
    named after their training job, so the same name means the same artifact)."""

    aws_hook_class = PipelineSageMakerHook

    def execute(self, context: Any) -> dict:
        model = self.hook.describe_or_none(self.hook.describe_model, self.config["ModelName"])
        if model is None:
            return super().execute(context)
        self.log.info("Model %s exists from an earlier try; reusing it.", self.config["ModelName"])
        return {"Model": serialize(model)}


class BlueGreenEndpointOperator(PullsFromXCom, SageMakerEndpointOperator):
    """Deploys `config["EndpointConfig"]` on `config["Endpoint"]`: creates the endpoint, or updates it
    blue/green with the request's auto-rollback alarm, which the hook keeps in CloudWatch.

    `rollback_alarm` holds the keyword arguments of CloudWatch's `put_metric_alarm` (idempotent), or None
    when the deployment has no alarm-driven rollback."""

    aws_hook_class = PipelineSageMakerHook
    template_fields: Sequence[str] = (*SageMakerEndpointOperator.template_fields, "rollback_alarm")

    def __init__(self, *, rollback_alarm: dict[str, Any] | None, **kwargs: Any):
        super().__init__(operation="create", **kwargs)
        self.rollback_alarm = rollback_alarm

    def execute(self, context: Any) -> dict:
        if self.rollback_alarm:
            self.hook.put_rollback_alarm(self.rollback_alarm)
        config_name = self.config["EndpointConfig"]["EndpointConfigName"]
        target = self.config["Endpoint"]
        if self.hook.describe_or_none(self.hook.describe_endpoint_config, config_name) is not None:
            self.log.info("Endpoint config %s exists; reusing it.", config_name)
            self.config = {"Endpoint": target}
        plan = self.hook.plan_endpoint(target["EndpointName"], target["EndpointConfigName"])
        if plan.action is EndpointAction.SERVING:
            self.log.info("Endpoint %s already serves %s.", target["EndpointName"], target["EndpointConfigName"])
            return {"EndpointConfig": serialize(self.hook.describe_endpoint_config(target["EndpointConfigName"])),
                    "Endpoint": serialize(plan.current)}
        if plan.action is EndpointAction.UPDATE:
            self.log.info("Endpoint %s serves %s; updating it blue/green to %s.", target["EndpointName"],
                          plan.current["EndpointConfigName"], target["EndpointConfigName"])
            self._release_scaling(target["EndpointName"], plan.current["EndpointConfigName"])
            self.operation = "update"
            # UpdateEndpoint takes no tags: the endpoint keeps those it was created with.
            self.config = {**self.config, "Endpoint": {k: v for k, v in target.items() if k != "Tags"}}
        result = super().execute(context)
        self.hook.check_deployed(result["Endpoint"], target["EndpointConfigName"])
        return result

    def _release_scaling(self, endpoint_name: str, current_config: str) -> None:
        """Deregister the variants whose instance type the update changes, or which it removes, from Application
        Auto Scaling (AWS fails the update otherwise); the autoscaling task registers them again after it."""
        new = self.config.get("EndpointConfig") or self.hook.describe_endpoint_config(
            self.config["Endpoint"]["EndpointConfigName"])
        variants = variants_to_release(self.hook.describe_endpoint_config(current_config)["ProductionVariants"],
                                       new["ProductionVariants"])
        released = EndpointAutoscalingHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name,
                                           verify=self.verify, config=self.botocore_config).release(endpoint_name,
                                                                                                    variants)
        if released:
            self.log.info("Deregistered %s of %s from Application Auto Scaling for the update.", released,
                          endpoint_name)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, dict]:
        result = super().execute_complete(context, event)
        self.hook.check_deployed(result["Endpoint"], self.config["Endpoint"]["EndpointConfigName"])
        return result
