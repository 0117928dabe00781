"""What a running SageMaker job has done since the last look, as lines of the task's log: a training job's
secondary status transitions and the lines its hosts write to CloudWatch (the script's per-epoch output,
as the provider's `print_log` shows them), a tuning job's trials as each changes state and a summary
(`3 of 8 complete; best valid_accuracy 0.91 (trial ...)`).

A progress object is polled, in the worker (`follow`) or in the triggerer (`job_progress_triggers`), and
returns the job's description once the job has ended and its last lines are logged."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from airflow.providers.amazon.aws.hooks.sagemaker import (
    Position,
    SageMakerHook,
    secondary_training_status_changed,
    secondary_training_status_message,
)
from airflow.providers.common.compat.sdk import AirflowException

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
ENDED = frozenset({"Completed", "Failed", "Stopped"})


class JobProgress(Protocol):
    job_name: str

    def poll(self) -> dict[str, Any] | None:
        """Log what changed; the job's description once it has ended and nothing more will be logged."""


class TrainingProgress:
    """A training job's secondary status transitions and its hosts' CloudWatch lines (prefixed with the host
    when there are several), each logged once, in the order CloudWatch gives them."""

    def __init__(self, hook: SageMakerHook, job_name: str, log: logging.Logger):
        self._hook = hook
        self.job_name = job_name
        self._log = log
        self._positions: dict[str, Position] = {}  # per log stream: the last line read
        self._previous: dict[str, Any] | None = None
        self._ended = False

    def poll(self) -> dict[str, Any] | None:
        description = self._hook.describe_training_job(self.job_name)
        if secondary_training_status_changed(description, self._previous or {}):
            self._log.info(secondary_training_status_message(description, self._previous))
        self._previous = description
        self._log_new_lines(description["ResourceConfig"]["InstanceCount"])
        if description["TrainingJobStatus"] not in ENDED:
            return None
        if not self._ended:  # one more look: CloudWatch may take a moment with the last lines
            self._ended = True
            return None
        self._log.info("%s: %s (%s)", self.job_name, description["TrainingJobStatus"],
                       description.get("SecondaryStatus", ""))
        return description

    def _log_new_lines(self, instance_count: int) -> None:
        streams = self._streams()
        prefix = instance_count > 1 or len(streams) > 1
        for index, event in self._hook.multi_stream_iter(TRAINING_LOG_GROUP, streams, self._positions):
            stream = streams[index]
            self._log.info("%s", f"[{_host(stream)}] {event['message']}" if prefix else event["message"])
            timestamp, skip = self._positions[stream]
            self._positions[stream] = (Position(timestamp, skip + 1) if event["timestamp"] == timestamp
                                       else Position(event["timestamp"], 1))

    def _streams(self) -> list[str]:
        """The job's log streams: one per host, and new ones when hosts start again (spot interruptions)."""
        logs = self._hook.logs_hook.conn  # the client the provider reads the lines with
        try:
            pages = logs.get_paginator("describe_log_streams").paginate(
                logGroupName=TRAINING_LOG_GROUP, logStreamNamePrefix=f"{self.job_name}/")
            for page in pages:
                for stream in page["logStreams"]:
                    self._positions.setdefault(stream["logStreamName"], Position(timestamp=0, skip=0))
        except logs.exceptions.ResourceNotFoundException:  # no job has logged in this account yet
            pass
        return sorted(self._positions)


def _host(stream: str) -> str:
    """`algo-1` of the stream `<job>/algo-1-1700000000`."""
    return stream.split("/", 1)[-1].rsplit("-", 1)[0]


class TuningProgress:
    """A tuning job's trials, each logged as it changes state (with its objective once it has one), and a
    summary line whenever the counts or the best trial change."""

    def __init__(self, hook: SageMakerHook, job_name: str, log: logging.Logger):
        self._hook = hook
        self.job_name = job_name
        self._log = log
        self._trial_states: dict[str, str] = {}
        self._summary = ""

    def poll(self) -> dict[str, Any] | None:
        description = self._hook.describe_tuning_job(self.job_name)
        for trial in self._trials():
            name, status = trial["TrainingJobName"], trial["TrainingJobStatus"]
            if self._trial_states.get(name) != status:
                self._trial_states[name] = status
                objective = trial.get("FinalHyperParameterTuningJobObjectiveMetric")
                self._log.info("trial %s: %s%s", name, status,
                               f" ({objective['MetricName']} {objective['Value']:.4g})" if objective else "")
        summary = tuning_summary(description)
        if summary != self._summary:
            self._summary = summary
            self._log.info(summary)
        return description if description["HyperParameterTuningJobStatus"] in ENDED else None

    def _trials(self) -> list[dict[str, Any]]:
        pages = self._hook.conn.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
            HyperParameterTuningJobName=self.job_name)
        trials = [trial for page in pages for trial in page["TrainingJobSummaries"]]
        return sorted(trials, key=lambda trial: trial["CreationTime"])


def tuning_summary(description: dict[str, Any]) -> str:
    """`3 of 8 complete, 2 in progress, 1 failed; best valid_accuracy 0.91 (trial <name>)`."""
    counters = description.get("TrainingJobStatusCounters", {})
    limit = description["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    parts = [f"{counters.get('Completed', 0)} of {limit} complete"]
    if counters.get("InProgress"):
        parts.append(f"{counters['InProgress']} in progress")
    failed = counters.get("RetryableError", 0) + counters.get("NonRetryableError", 0)
    if failed:
        parts.append(f"{failed} failed")
    if counters.get("Stopped"):
        parts.append(f"{counters['Stopped']} stopped")
    best = description.get("BestTrainingJob")
    objective = (best or {}).get("FinalHyperParameterTuningJobObjectiveMetric")
    if objective:
        return (f"{', '.join(parts)}; best {objective['MetricName']} {objective['Value']:.4g} "
                f"(trial {best['TrainingJobName']})")
    return ", ".join(parts)


def follow(progress: JobProgress, interval: float, max_seconds: float | None,
           sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll `progress` every `interval` seconds until its job has ended: its last description; an
    AirflowException if it has not ended within `max_seconds`."""
    started = time.monotonic()
    while (description := progress.poll()) is None:
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            raise AirflowException(f"SageMaker job {progress.job_name} took more than {max_seconds} seconds")
        sleep(interval)
    return description
