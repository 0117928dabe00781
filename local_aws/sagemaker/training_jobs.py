"""Training jobs as state: status, secondary status transitions, metrics, wire shapes.

The compute plane moves a job along (`advance`, `record_metric`, `finish`); the API reads
snapshots (`describe`, `summary`) under the job's lock, so any number of clients may poll while
the job runs.
"""

import datetime
import threading
import time
from dataclasses import dataclass

from local_aws.clock import now
from local_aws.exceptions import ResourceInUse, ValidationException
from local_aws.sagemaker.resources import SageMakerStore, summary_of

TERMINAL_STATUSES = {"Completed", "Failed", "Stopped"}
DEFAULT_MAX_RUNTIME_SECONDS = 86400


@dataclass
class Transition:
    status: str
    message: str
    start_time: datetime.datetime
    end_time: datetime.datetime | None = None

    def wire(self) -> dict:
        shape = {"Status": self.status, "StartTime": self.start_time, "StatusMessage": self.message}
        if self.end_time is not None:
            shape["EndTime"] = self.end_time
        return shape


class TrainingJob:
    def __init__(self, name: str, arn: str, request: dict, tuning_job_arn: str | None = None):
        self.name = name
        self.arn = arn
        self.request = request
        self.tuning_job_arn = tuning_job_arn
        self.tags: dict[str, str] = {}
        self.lock = threading.Lock()
        self.stop_requested = threading.Event()
        self.finished = threading.Event()
        created = now()
        self.creation_time = created
        self.last_modified_time = created
        self.status = "InProgress"
        self.secondary_status = "Starting"
        self.transitions = [Transition("Starting", "Launching requested ML instances", created)]
        self.training_start_time: datetime.datetime | None = None
        self.training_end_time: datetime.datetime | None = None
        self.failure_reason: str | None = None
        self.model_artifacts: str | None = None
        self.metrics: dict[str, tuple[float, datetime.datetime]] = {}
        self.interrupted_seconds = 0.0  # spot interruptions: time without instances, not billed
        stopping = request.get("StoppingCondition", {})
        self.max_wait_deadline = (time.monotonic() + stopping["MaxWaitTimeInSeconds"]
                                  if request.get("EnableManagedSpotTraining") and "MaxWaitTimeInSeconds" in stopping
                                  else None)

    @property
    def hyperparameters(self) -> dict[str, str]:
        return self.request.get("HyperParameters", {})

    @property
    def instance_count(self) -> int:
        return self.request["ResourceConfig"]["InstanceCount"]

    @property
    def max_runtime_seconds(self) -> int:
        return self.request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS)

    def advance(self, secondary_status: str, message: str) -> None:
        with self.lock:
            if self.status in TERMINAL_STATUSES:
                return
            if secondary_status == "Downloading":
                self.training_start_time = now()
            self._transition(secondary_status, message)

    def add_interrupted_seconds(self, seconds: float) -> None:
        with self.lock:
            self.interrupted_seconds += seconds

    def record_metric(self, name: str, value: float) -> None:
        with self.lock:
            self.metrics[name] = (value, now())

    def request_stop(self) -> bool:
        """Ask a running job to stop; False when it has already ended."""
        with self.lock:
            if self.status in TERMINAL_STATUSES:
                return False
            if self.status != "Stopping":
                self.status = "Stopping"
                self._transition("Stopping", "Stopping the training job")
        self.stop_requested.set()
        return True

    def stop(self) -> None:
        """StopTrainingJob: as `request_stop`, with AWS's error for a job that has already ended."""
        if not self.request_stop():
            raise ValidationException(
                f"The request was rejected because the training job is in status {self.status}."
            )

    def finish(self, status: str, secondary_status: str, message: str, *,
               failure_reason: str | None = None, model_artifacts: str | None = None) -> None:
        with self.lock:
            self.status = status
            self.failure_reason = failure_reason
            self.model_artifacts = model_artifacts
            self._transition(secondary_status, message)
            # The final transition is an instant: it ends as it starts, when training ended.
            self.training_end_time = self.transitions[-1].end_time = self.transitions[-1].start_time
        self.finished.set()

    def _transition(self, secondary_status: str, message: str) -> None:
        moved = now()
        self.transitions[-1].end_time = moved
        self.transitions.append(Transition(secondary_status, message, moved))
        self.secondary_status = secondary_status
        self.last_modified_time = moved

    def final_metric(self, name: str) -> float | None:
        with self.lock:
            found = self.metrics.get(name)
        return None if found is None else found[0]

    def describe(self) -> dict:
        with self.lock:
            request = self.request
            described = {
                "TrainingJobName": self.name,
                "TrainingJobArn": self.arn,
                "TrainingJobStatus": self.status,
                "SecondaryStatus": self.secondary_status,
                "HyperParameters": self.hyperparameters,
                "AlgorithmSpecification": request["AlgorithmSpecification"],
                "RoleArn": request["RoleArn"],
                "InputDataConfig": request.get("InputDataConfig", []),
                "OutputDataConfig": request["OutputDataConfig"],
                "ResourceConfig": request["ResourceConfig"],
                "StoppingCondition": {"MaxRuntimeInSeconds": self.max_runtime_seconds,
                                      **request.get("StoppingCondition", {})},
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "SecondaryStatusTransitions": [t.wire() for t in self.transitions],
                "FinalMetricDataList": [
                    {"MetricName": name, "Value": value, "Timestamp": at}
                    for name, (value, at) in sorted(self.metrics.items())
                ],
                "EnableNetworkIsolation": request.get("EnableNetworkIsolation", False),
                "EnableInterContainerTrafficEncryption": request.get("EnableInterContainerTrafficEncryption", False),
                "EnableManagedSpotTraining": request.get("EnableManagedSpotTraining", False),
            }
            # Absent until there is a model (SageMaker SDK 3's TrainingJob requires S3ModelArtifacts when present).
            if self.model_artifacts:
                described["ModelArtifacts"] = {"S3ModelArtifacts": self.model_artifacts}
            for optional in ("CheckpointConfig", "Environment", "RetryStrategy"):
                if optional in request:
                    described[optional] = request[optional]
            if self.tuning_job_arn:
                described["TuningJobArn"] = self.tuning_job_arn
            if self.failure_reason:
                described["FailureReason"] = self.failure_reason
            if self.training_start_time:
                described["TrainingStartTime"] = self.training_start_time
            if self.training_end_time:
                described["TrainingEndTime"] = self.training_end_time
                if self.training_start_time:
                    seconds = int((self.training_end_time - self.training_start_time).total_seconds())
                    described["TrainingTimeInSeconds"] = seconds
                    described["BillableTimeInSeconds"] = max(1, seconds - int(self.interrupted_seconds))
            return described

    def summary(self) -> dict:
        return summary_of(self.describe(), ("TrainingJobName", "TrainingJobArn", "CreationTime", "LastModifiedTime",
                                            "TrainingJobStatus", "SecondaryStatus", "TrainingEndTime"))


class TrainingJobStore(SageMakerStore[TrainingJob]):
    arn_resource_type = "training-job"

    missing_error = ValidationException, "Requested resource not found."
    taken_error = ResourceInUse, ("Training job names must be unique within an AWS account and region, and a "
                                  "training job with this name already exists ({arn})")
