"""Every parameter of the pipeline: its JSON schema, its description, and the one way in.

`PipelineConfig.from_mapping` checks every value (validation.py) and raises `ConfigError` listing each
bad parameter by name, before anything is spent. The defaults come from a profile (profiles.py) with
the changes a deployment makes through its environment (environment.py); the DAG offers every field as
an Airflow Param (`param_specs`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dog_breed import validation
from dog_breed.validation import FUNCTION_URL_AUTH, TRAINING_BACKENDS, TUNING_STRATEGIES


class ConfigError(ValueError):
    """One or more pipeline parameters are invalid; the message names each of them."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid pipeline parameters:\n  " + "\n  ".join(problems))


def _param(description: str, schema: dict[str, Any]) -> Any:
    return field(metadata={"description": description, "schema": schema})


@dataclass(frozen=True)
class PipelineConfig:
    project: str = _param("Prefix of every resource name (≤ 16 characters).", {"type": "string"})
    region: str = _param("AWS region of every resource.", {"type": "string"})
    bucket: str = _param("S3 bucket for data, code, artifacts and reports.", {"type": "string"})
    s3_prefix: str = _param("Key prefix inside the bucket.", {"type": "string"})
    sagemaker_role_arn: str = _param("IAM role SageMaker assumes for jobs and models.", {"type": "string"})
    dataset_url: str = _param("dogImages.zip to train on: https://, s3:// or file:// URL.", {"type": "string"})
    dataset_version: str = _param(
        "Name of the staged dataset under <prefix>/data/; a version is immutable once staged.", {"type": "string"}
    )
    training_backend: str = _param(
        "Where the model trains: 'sagemaker' (a tuning job, then a training job with the best trial's "
        "hyperparameters) or 'ec2' (one EC2 instance through SSM Run Command, with the ec2_* hyperparameters).",
        {"type": "string", "enum": list(TRAINING_BACKENDS)})
    training_instance_type: str = _param("Instance type of the final training job.", {"type": "string"})
    training_instance_count: int = _param("Instances of the final training job (DDP across hosts).", {"type": "integer"})
    tuning_instance_type: str = _param("Instance type of each tuning trial.", {"type": "string"})
    tuning_strategy: str = _param("Search strategy of the tuning job.", {"type": "string", "enum": list(TUNING_STRATEGIES)})
    tuning_max_jobs: int = _param("Tuning budget: total number of trials.", {"type": "integer"})
    tuning_max_parallel_jobs: int = _param("Trials running at the same time.", {"type": "integer"})
    learning_rate_min: float = _param("Lower bound of the learning rate (searched on a log scale).", {"type": "number"})
    learning_rate_max: float = _param("Upper bound of the learning rate.", {"type": "number"})
    batch_sizes: list[int] = _param("Batch sizes the tuner may choose from.", {"type": "array", "items": {"type": "integer"}})
    epochs_min: int = _param("Fewest epochs the tuner may choose.", {"type": "integer"})
    epochs_max: int = _param("Most epochs the tuner may choose.", {"type": "integer"})
    extra_hyperparameters: dict[str, str] = _param(
        "Fixed hyperparameters passed to train.py in every trial and in the final training.",
        {"type": "object", "additionalProperties": {"type": "string"}}
    )
    max_runtime_seconds: int = _param("Stopping condition of every training job.", {"type": "integer"})
    volume_size_gb: int = _param("Storage volume of each training instance.", {"type": "integer"})
    use_spot_instances: bool = _param(
        "Managed spot training for the final training job, resuming from S3 checkpoints.", {"type": "boolean"}
    )
    max_wait_seconds: int = _param("With spot training: longest wait for capacity plus runtime.", {"type": "integer"})
    enable_debugger: bool = _param("Attach the SageMaker Debugger hook to the final training job.", {"type": "boolean"})
    enable_profiler: bool = _param("Attach the SageMaker Profiler to the final training job.", {"type": "boolean"})
    ec2_image: str = _param(
        "EC2 backend: the training instance's AMI, by id (ami-...) or by the name of the SSM parameter that holds "
        "it (on AWS the Deep Learning AMI's public parameter under /aws/service/deeplearning/).", {"type": "string"})
    ec2_instance_type: str = _param("EC2 backend: the training instance's type (the user's t2.xlarge).",
                                    {"type": "string"})
    ec2_volume_gb: int = _param("EC2 backend: the gp3 root volume the code and dataset are copied onto, in GiB.",
                                {"type": "integer"})
    ec2_interpreter: str = _param(
        "EC2 backend: the Python that runs train.py on the instance (the AMI's PyTorch environment).",
        {"type": "string"})
    ec2_learning_rate: float = _param("EC2 backend: the learning rate train.py trains with.", {"type": "number"})
    ec2_batch_size: int = _param("EC2 backend: the batch size train.py trains with.", {"type": "integer"})
    ec2_epochs: int = _param("EC2 backend: the epochs train.py trains for.", {"type": "integer"})
    accuracy_threshold: float = _param("Lowest test accuracy a model may have to be deployed, in [0, 1].", {"type": "number"})
    max_accuracy_drop: float = _param(
        "How far below the serving model's test accuracy a candidate may score and still replace it.", {"type": "number"}
    )
    model_package_group: str = _param("Model registry group that receives every deployed version.", {"type": "string"})
    endpoint_name: str = _param("Endpoint serving the model; created on the first run, updated after.", {"type": "string"})
    endpoint_instance_type: str = _param("Instance type of the endpoint.", {"type": "string"})
    endpoint_instance_count: int = _param("Instances behind the endpoint.", {"type": "integer"})
    deployment_bake_seconds: int = _param(
        "Blue/green update: how long the new fleet takes all traffic under the rollback alarm before the old "
        "one is released.", {"type": "integer"})
    auto_rollback_alarm: bool = _param(
        "Blue/green update: roll back when the endpoint's 5xx CloudWatch alarm fires while baking (local AWS "
        "refuses alarm-driven rollback; it rolls back only on failed health checks).", {"type": "boolean"})
    smoke_test_images: int = _param("Test images sent to the endpoint after deployment.", {"type": "integer"})
    autoscaling_min_capacity: int = _param("Fewest instances Application Auto Scaling keeps behind the endpoint.",
                                           {"type": "integer"})
    autoscaling_max_capacity: int = _param("Most instances Application Auto Scaling may run behind the endpoint.",
                                           {"type": "integer"})
    autoscaling_target_value: float = _param(
        "Target of the scaling policy: invocations per instance per minute (SageMakerVariantInvocationsPerInstance).",
        {"type": "number"})
    autoscaling_scale_in_cooldown: int = _param("Seconds after a scale-in before the next one.", {"type": "integer"})
    autoscaling_scale_out_cooldown: int = _param("Seconds after a scale-out before the next one.",
                                                 {"type": "integer"})
    lambda_function_name: str = _param("Name of the Lambda front door in front of the endpoint.",
                                       {"type": "string"})
    lambda_memory_mb: int = _param("Memory of the Lambda front door, in MB (128 to 10240).", {"type": "integer"})
    lambda_timeout_seconds: int = _param("Timeout of the Lambda front door, in seconds (1 to 900).",
                                         {"type": "integer"})
    lambda_reserved_concurrency: int = _param("Reserved concurrency of the Lambda front door.", {"type": "integer"})
    lambda_provisioned_concurrency: int = _param(
        "Provisioned concurrency on the front door's alias 'live' (at most the reserved concurrency).",
        {"type": "integer"})
    lambda_function_url_auth: str = _param(
        "The front door's function URL: 'off' (none), 'AWS_IAM' (callers sign with SigV4) or 'NONE' (public; "
        "local AWS refuses it, it lets in only callers signed with its key pair).",
        {"type": "string", "enum": list(FUNCTION_URL_AUTH)})

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PipelineConfig:
        """Build a config from plain values (Airflow params, JSON), checking every one of them."""
        known = {f.name for f in dataclasses.fields(cls)}
        problems = [f"{name}: unknown parameter" for name in sorted(set(values) - known)]
        problems += [f"{name}: missing" for name in sorted(known - set(values))]
        if problems:
            raise ConfigError(problems)
        config = cls(**{name: values[name] for name in known})
        problems = config.problems()
        if problems:
            raise ConfigError(problems)
        return config

    def problems(self) -> list[str]:
        """Every invalid value as 'parameter: what is wrong', in field order."""
        found: list[str] = []
        for f in dataclasses.fields(self):
            problem = validation.type_problem(getattr(self, f.name), f.metadata["schema"])
            if problem:
                found.append(f"{f.name}: {problem}")
        if found:
            return found  # value checks below assume the types are right
        for name, problem in validation.value_problems(self):
            found.append(f"{name}: {problem}")
        return found

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def param_specs(defaults: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Keyword arguments of an Airflow `Param` for every field: default, JSON schema type, description."""
    return {
        f.name: {"default": defaults[f.name], "description": f.metadata["description"], **f.metadata["schema"]}
        for f in dataclasses.fields(PipelineConfig)
    }
