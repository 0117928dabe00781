"""A trigger that waits for a SageMaker job or endpoint in the triggerer, without aiobotocore.

Written when no aiobotocore release supported the botocore this project pinned. The pins now hold
botocore 1.43.117 with aiobotocore 3.10.0, so the provider's `SageMakerTrigger` can run here; until the
operators defer to it, this trigger polls the same `describe_*` calls through the provider's synchronous
`SageMakerHook` in a worker thread and sends the provider's event shape (`{"status": "success" |
"failed" | "timeout", "job_name": ..., "message": ...}`), so the operators' own `execute_complete`
handles it. It replaces the provider's trigger one for one (see `ThreadedDeferral`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

# job type (as the provider's operators name it) -> (describe method, its name argument, status key,
# success state, failure states)
WATCHED = {
    "training": ("describe_training_job", "TrainingJobName", "TrainingJobStatus", "Completed", ("Failed", "Stopped")),
    "tuning": ("describe_hyper_parameter_tuning_job", "HyperParameterTuningJobName", "HyperParameterTuningJobStatus",
               "Completed", ("Failed", "Stopped")),
    "endpoint": ("describe_endpoint", "EndpointName", "EndpointStatus", "InService", ("Failed", "OutOfService")),
}


class SageMakerStatusTrigger(BaseTrigger):
    def __init__(self, *, job_name: str, job_type: str, poll_seconds: float, max_attempts: int,
                 aws_conn_id: str | None, region_name: str | None):
        super().__init__()
        if job_type.lower() not in WATCHED:
            raise ValueError(f"job_type {job_type!r} is not one of {', '.join(WATCHED)}")
        self.job_name = job_name
        self.job_type = job_type.lower()
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            "job_name": self.job_name, "job_type": self.job_type, "poll_seconds": self.poll_seconds,
            "max_attempts": self.max_attempts, "aws_conn_id": self.aws_conn_id, "region_name": self.region_name,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        method, argument, status_key, success, failures = WATCHED[self.job_type]
        client = SageMakerHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name).get_conn()
        for _ in range(self.max_attempts):
            described = await asyncio.to_thread(getattr(client, method), **{argument: self.job_name})
            status = described[status_key]
            if status == success:
                yield TriggerEvent({"status": "success", "job_name": self.job_name})
                return
            if status in failures:
                reason = described.get("FailureReason", "(no reason given)")
                yield TriggerEvent({"status": "failed", "job_name": self.job_name,
                                    "message": f"{self.job_type} {self.job_name} is {status}: {reason}"})
                return
            self.log.info("%s %s is %s", self.job_type, self.job_name, status)
            await asyncio.sleep(self.poll_seconds)
        yield TriggerEvent({"status": "timeout", "job_name": self.job_name,
                            "message": f"{self.job_type} {self.job_name} not done after {self.max_attempts} polls"})


class ThreadedDeferral:
    """Operator mixin: defer to `SageMakerStatusTrigger` where the provider's code defers to its
    aiobotocore-based `SageMakerTrigger`."""

    def defer(self, *, trigger: Any, method_name: str, kwargs: dict[str, Any] | None = None,
              timeout: Any = None) -> None:
        replacement = SageMakerStatusTrigger(
            job_name=trigger.job_name, job_type=trigger.job_type, poll_seconds=self.check_interval,
            max_attempts=_attempts(timeout, self.check_interval), aws_conn_id=self.aws_conn_id,
            region_name=self.region_name)
        super().defer(trigger=replacement, method_name=method_name, kwargs=kwargs, timeout=timeout)


def _attempts(timeout: Any, poll_seconds: float) -> int:
    # Without a timeout the provider's waiter gives up after 480 polls; keep the same bound.
    return 480 if timeout is None else max(1, int(timeout.total_seconds() // poll_seconds) + 1)
