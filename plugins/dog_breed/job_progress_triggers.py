"""The deferred `tune` and `train` tasks' wait, in the triggerer: `JobProgressTrigger` polls the job as the
provider's `SageMakerTrigger` does and logs its progress meanwhile (`job_progress`): a tuning job's trials
and summary, a training job's status transitions and CloudWatch lines. It ends in the provider trigger's
event (`success`, `failed`, `stopped` or `timeout`, with `job_name`), which the provider operators'
`execute_complete` resumes on.

The progress objects call the provider's synchronous hook in a thread of their own, so one implementation
serves the worker's wait and the triggerer's; a thread copies the trigger's log context, so its lines reach
the task's log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from dog_breed.sagemaker_hook import KINDS, PipelineSageMakerHook


class JobProgressTrigger(BaseTrigger):
    def __init__(self, *, job_name: str, job_type: str, poll_seconds: float, max_attempts: int,
                 aws_conn_id: str | None, region_name: str | None = None, verify: bool | str | None = None,
                 botocore_config: dict | None = None):
        super().__init__()
        if job_type not in KINDS:
            raise ValueError(f"job_type must be one of {sorted(KINDS)}, not {job_type!r}")
        self.job_name = job_name
        self.job_type = job_type
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{__name__}.{type(self).__name__}", {
            "job_name": self.job_name, "job_type": self.job_type, "poll_seconds": self.poll_seconds,
            "max_attempts": self.max_attempts, "aws_conn_id": self.aws_conn_id, "region_name": self.region_name,
            "verify": self.verify, "botocore_config": self.botocore_config}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = PipelineSageMakerHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name,
                                     verify=self.verify, config=self.botocore_config)
        kind = KINDS[self.job_type]
        progress = hook.progress(kind, self.job_name, self.log)
        try:
            for _ in range(self.max_attempts):
                description = await asyncio.to_thread(progress.poll)
                if description is not None:
                    yield self._ended(description[kind.status_key], description)
                    return
                await asyncio.sleep(self.poll_seconds)
        except Exception as error:  # noqa: BLE001 - the task fails with it, as with the provider's trigger
            yield TriggerEvent({"status": "error", "job_name": self.job_name,
                                "message": f"{type(error).__name__}: {error}"})
            return
        yield TriggerEvent({"status": "timeout", "job_name": self.job_name,
                            "message": f"not ended after {self.max_attempts} polls {self.poll_seconds} s apart"})

    def _ended(self, status: str, description: dict[str, Any]) -> TriggerEvent:
        if status == "Completed":
            return TriggerEvent({"status": "success", "job_name": self.job_name})
        return TriggerEvent({"status": status.lower(), "job_name": self.job_name,
                             "message": description.get("FailureReason") or f"the job is {status}"})
