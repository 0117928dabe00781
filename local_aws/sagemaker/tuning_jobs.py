"""Hyperparameter tuning jobs as state: their trials, counters, best job and wire shapes.

Trials are real training jobs (local_aws.sagemaker.training_jobs); what a tuning job reports
about them is read from those jobs each time it is described.
"""

import datetime
import threading
from dataclasses import dataclass

from local_aws.clock import now
from local_aws.exceptions import ResourceInUse, ResourceNotFound, ValidationException
from local_aws.sagemaker.resources import SageMakerStore, summary_of
from local_aws.sagemaker.training_jobs import TERMINAL_STATUSES, TrainingJob

TUNING_TERMINAL_STATUSES = {"Completed", "Failed", "Stopped"}


@dataclass
class Trial:
    job: TrainingJob
    tuned_hyperparameters: dict[str, str]


class TuningJob:
    def __init__(self, name: str, arn: str, request: dict):
        self.name = name
        self.arn = arn
        self.request = request
        self.tags: dict[str, str] = {}
        self.lock = threading.Lock()
        self.stop_requested = threading.Event()
        self.creation_time = now()
        self.last_modified_time = self.creation_time
        self.end_time: datetime.datetime | None = None
        self.status = "InProgress"
        self.failure_reason: str | None = None
        self.trials: list[Trial] = []

    @property
    def config(self) -> dict:
        return self.request["HyperParameterTuningJobConfig"]

    @property
    def objective(self) -> dict:
        return self.config["HyperParameterTuningJobObjective"]

    def add_trial(self, trial: Trial) -> None:
        with self.lock:
            self.trials.append(trial)
            self.last_modified_time = now()

    def request_stop(self) -> bool:
        with self.lock:
            if self.status in TUNING_TERMINAL_STATUSES:
                return False
            self.status = "Stopping"
            self.last_modified_time = now()
        self.stop_requested.set()
        return True

    def stop(self) -> None:
        """StopHyperParameterTuningJob: as `request_stop`, with AWS's error for a job that has already ended."""
        if not self.request_stop():
            raise ValidationException(f"The hyperparameter tuning job {self.name} has already ended and cannot be stopped.")

    def finish(self, status: str, failure_reason: str | None = None) -> None:
        with self.lock:
            self.status = status
            self.failure_reason = failure_reason
            self.end_time = self.last_modified_time = now()

    def objective_value(self, job: TrainingJob) -> float | None:
        """The trial's objective: the final value of the objective metric, once the job completed."""
        if job.describe()["TrainingJobStatus"] != "Completed":
            return None
        return job.final_metric(self.objective["MetricName"])

    def best_trial(self) -> Trial | None:
        with self.lock:
            trials = list(self.trials)
        scored = [(value, trial) for trial in trials if (value := self.objective_value(trial.job)) is not None]
        if not scored:
            return None
        pick = max if self.objective["Type"] == "Maximize" else min
        return pick(scored, key=lambda pair: pair[0])[1]

    def trial_summary(self, trial: Trial) -> dict:
        described = trial.job.describe()
        status = described["TrainingJobStatus"]
        value = self.objective_value(trial.job)
        summary = {
            "TrainingJobName": described["TrainingJobName"],
            "TrainingJobArn": described["TrainingJobArn"],
            "TuningJobName": self.name,
            "CreationTime": described["CreationTime"],
            "TrainingJobStatus": status,
            "TunedHyperParameters": trial.tuned_hyperparameters,
            "ObjectiveStatus": "Pending" if status not in TERMINAL_STATUSES else ("Succeeded" if value is not None else "Failed"),
        }
        for optional in ("TrainingStartTime", "TrainingEndTime", "FailureReason"):
            if optional in described:
                summary[optional] = described[optional]
        if value is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": self.objective["Type"], "MetricName": self.objective["MetricName"], "Value": value,
            }
        return summary

    def trial_summaries(self) -> list[dict]:
        with self.lock:
            trials = list(self.trials)
        return [self.trial_summary(trial) for trial in trials]

    def describe(self) -> dict:
        summaries = self.trial_summaries()
        statuses = [s["TrainingJobStatus"] for s in summaries]
        objectives = [s["ObjectiveStatus"] for s in summaries]
        best = self.best_trial()
        with self.lock:
            described = {
                "HyperParameterTuningJobName": self.name,
                "HyperParameterTuningJobArn": self.arn,
                "HyperParameterTuningJobConfig": self.config,
                "TrainingJobDefinition": self.request["TrainingJobDefinition"],
                "HyperParameterTuningJobStatus": self.status,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "TrainingJobStatusCounters": {
                    "Completed": statuses.count("Completed"),
                    "InProgress": statuses.count("InProgress") + statuses.count("Stopping"),
                    "RetryableError": 0,
                    "NonRetryableError": statuses.count("Failed"),
                    "Stopped": statuses.count("Stopped"),
                },
                "ObjectiveStatusCounters": {
                    "Succeeded": objectives.count("Succeeded"),
                    "Pending": objectives.count("Pending"),
                    "Failed": objectives.count("Failed"),
                },
            }
            if self.end_time is not None:
                described["HyperParameterTuningEndTime"] = self.end_time
                described["ConsumedResources"] = {
                    "RuntimeInSeconds": int((self.end_time - self.creation_time).total_seconds())
                }
            if self.failure_reason:
                described["FailureReason"] = self.failure_reason
        if best is not None:
            described["BestTrainingJob"] = self.trial_summary(best)
        return described

    def summary(self) -> dict:
        summary = summary_of(self.describe(), (
            "HyperParameterTuningJobName", "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus", "CreationTime",
            "LastModifiedTime", "HyperParameterTuningEndTime", "TrainingJobStatusCounters", "ObjectiveStatusCounters"))
        return {**summary, "Strategy": self.config["Strategy"], "ResourceLimits": self.config["ResourceLimits"]}


class TuningJobStore(SageMakerStore[TuningJob]):
    arn_resource_type = "hyper-parameter-tuning-job"

    missing_error = ResourceNotFound, "Amazon SageMaker can't find a tuning job called {name}. Type another name."
    taken_error = ResourceInUse, ("A hyperparameter tuning job with the name, {name}, already exists. "
                                  "Choose a different name.")
