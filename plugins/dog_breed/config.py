"""Every parameter of the pipeline: its JSON schema, its description, and the one way in.

`PipelineConfig.from_mapping` checks every value (validation.py) and raises `ConfigError` listing each
bad parameter by name, before anything is spent. The defaults come from a profile (profiles.py) with
the changes a deployment makes through its environment (environment.py); the DAG offers every field as
an Airflow Param (`param_specs`) in a section of the trigger form, with a JSON schema made of its type and
its domain (validation.DOMAINS), the same domain `from_mapping` checks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dog_breed import validation


class ConfigError(ValueError):
    """One or more pipeline parameters are invalid; the message names each of them."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid pipeline parameters:\n  " + "\n  ".join(problems))


# The trigger form's sections, in the form's order.
DATA, TUNING, TRAINING, DEPLOYMENT, FRONT_DOOR, EC2, ADVANCED = SECTIONS = (
    "Data", "Tuning", "Training", "Evaluation and deployment", "Front door", "EC2", "Advanced")
LOCAL_REFUSES = "AWS only: local AWS refuses it"
# What a profile sets for a parameter only the deployment can know (the aws profile's bucket and role).
UNSET = ""


def _param(section: str, description: str, schema: dict[str, Any]) -> Any:
    return field(metadata={"section": section, "description": description, "schema": schema})


@dataclass(frozen=True)
class PipelineConfig:
    project: str = _param(ADVANCED, "Prefix of every resource name (≤ 16 characters).", {"type": "string"})
    region: str = _param(ADVANCED, "AWS region of every resource: one with PyTorch Deep Learning Containers.",
                         {"type": "string"})
    bucket: str = _param(DATA, "S3 bucket for data, code, artifacts and reports (created if missing).",
                         {"type": "string"})
    s3_prefix: str = _param(DATA, "Key prefix inside the bucket.", {"type": "string"})
    sagemaker_role_arn: str = _param(TRAINING, "IAM role SageMaker assumes for jobs and models.", {"type": "string"})
    dataset_url: str = _param(DATA, "dogImages.zip to train on: https://, s3:// or file:// URL.", {"type": "string"})
    dataset_version: str = _param(
        DATA, "Name of the staged dataset under <prefix>/data/; a version is immutable once staged.",
        {"type": "string"})
    training_backend: str = _param(
        TRAINING, "Where the model trains: 'sagemaker' (a tuning job, then a training job with the best trial's "
        "hyperparameters) or 'ec2' (one EC2 instance through SSM Run Command, with the EC2 section's "
        "hyperparameters).", {"type": "string"})
    training_instance_type: str = _param(
        TRAINING, f"Instance type of the final training job (GPU types such as ml.g5.xlarge: {LOCAL_REFUSES}).",
        {"type": "string"})
    training_instance_count: int = _param(TRAINING, "Instances of the final training job (DDP across hosts).",
                                          {"type": "integer"})
    tuning_instance_type: str = _param(
        TUNING, f"Instance type of each tuning trial (GPU types: {LOCAL_REFUSES}).", {"type": "string"})
    tuning_strategy: str = _param(TUNING, "Search strategy of the tuning job.", {"type": "string"})
    tuning_max_jobs: int = _param(TUNING, "Tuning budget: total number of trials.", {"type": "integer"})
    tuning_max_parallel_jobs: int = _param(TUNING, "Trials running at the same time (at most tuning_max_jobs).",
                                           {"type": "integer"})
    learning_rate_min: float = _param(TUNING, "Lower bound of the learning rate (searched on a log scale).",
                                      {"type": "number"})
    learning_rate_max: float = _param(TUNING, "Upper bound of the learning rate (above learning_rate_min).",
                                      {"type": "number"})
    batch_sizes: list[int] = _param(TUNING, "Batch sizes the tuner may choose from.",
                                    {"type": "array", "items": {"type": "integer"}})
    epochs_min: int = _param(TUNING, "Fewest epochs the tuner may choose.", {"type": "integer"})
    epochs_max: int = _param(TUNING, "Most epochs the tuner may choose (above epochs_min).", {"type": "integer"})
    extra_hyperparameters: dict[str, str] = _param(
        TRAINING, "Fixed hyperparameters passed to train.py in every trial, in the final training and on EC2; "
        "the tuned learning_rate, batch_size and epochs are not among them.",
        {"type": "object", "additionalProperties": {"type": "string"}})
    max_runtime_seconds: int = _param(TRAINING, "Stopping condition of every training job (at most 48 hours).",
                                      {"type": "integer"})
    volume_size_gb: int = _param(TRAINING, "Storage volume of each training instance.", {"type": "integer"})
    use_spot_instances: bool = _param(
        TRAINING, "Managed spot training for the final training job, resuming from S3 checkpoints (local AWS "
        "runs it on this machine; LOCAL_AWS_SPOT_INTERRUPTION_SECONDS makes it interrupt a job once).",
        {"type": "boolean"})
    max_wait_seconds: int = _param(
        TRAINING, "With spot training: longest wait for capacity plus runtime (at least max_runtime_seconds).",
        {"type": "integer"})
    enable_debugger: bool = _param(ADVANCED, f"Attach the SageMaker Debugger hook to the final training job "
                                             f"({LOCAL_REFUSES}).", {"type": "boolean"})
    enable_profiler: bool = _param(ADVANCED, f"Attach the SageMaker Profiler to the final training job "
                                             f"({LOCAL_REFUSES}).", {"type": "boolean"})
    ec2_image: str = _param(
        EC2, "EC2 backend: the training instance's AMI, by id (ami-...) or by the name of the SSM parameter that "
        "holds it (on AWS the Deep Learning AMI's public parameter under /aws/service/deeplearning/).",
        {"type": "string"})
    ec2_instance_type: str = _param(EC2, "EC2 backend: the training instance's type (the user's t2.xlarge).",
                                    {"type": "string"})
    ec2_volume_gb: int = _param(EC2, "EC2 backend: the gp3 root volume the code and dataset are copied onto, in GiB.",
                                {"type": "integer"})
    ec2_interpreter: str = _param(
        EC2, "EC2 backend: the Python that runs train.py on the instance (the AMI's PyTorch environment).",
        {"type": "string"})
    ec2_learning_rate: float = _param(EC2, "EC2 backend: the learning rate train.py trains with.", {"type": "number"})
    ec2_batch_size: int = _param(EC2, "EC2 backend: the batch size train.py trains with.", {"type": "integer"})
    ec2_epochs: int = _param(EC2, "EC2 backend: the epochs train.py trains for.", {"type": "integer"})
    accuracy_threshold: float = _param(DEPLOYMENT, "Lowest test accuracy a model may have to be deployed, in [0, 1].",
                                       {"type": "number"})
    max_accuracy_drop: float = _param(
        DEPLOYMENT, "How far below the serving model's test accuracy a candidate may score and still replace it.",
        {"type": "number"})
    model_package_group: str = _param(DEPLOYMENT, "Model registry group that receives every deployed version.",
                                      {"type": "string"})
    endpoint_name: str = _param(DEPLOYMENT, "Endpoint serving the model; created on the first run, updated after.",
                                {"type": "string"})
    endpoint_instance_type: str = _param(DEPLOYMENT, "Instance type of the endpoint.", {"type": "string"})
    endpoint_instance_count: int = _param(DEPLOYMENT, "Instances behind the endpoint.", {"type": "integer"})
    deployment_bake_seconds: int = _param(
        DEPLOYMENT, "Blue/green update: how long the new fleet takes all traffic under the rollback alarm before "
        "the old one is released.", {"type": "integer"})
    auto_rollback_alarm: bool = _param(
        DEPLOYMENT, "Blue/green update: roll back when the endpoint's 5xx CloudWatch alarm fires while baking "
        "(local AWS evaluates the alarm too; the local profile bakes for 0 s, so it leaves it off).",
        {"type": "boolean"})
    smoke_test_images: int = _param(DEPLOYMENT, "Test images sent to the endpoint after deployment.",
                                    {"type": "integer"})
    autoscaling_min_capacity: int = _param(
        DEPLOYMENT, "Fewest instances Application Auto Scaling keeps behind the endpoint.", {"type": "integer"})
    autoscaling_max_capacity: int = _param(
        DEPLOYMENT, "Most instances Application Auto Scaling may run behind the endpoint (at least the fewest).",
        {"type": "integer"})
    autoscaling_target_value: float = _param(
        DEPLOYMENT, "Target of the scaling policy: invocations per instance per minute "
        "(SageMakerVariantInvocationsPerInstance).", {"type": "number"})
    autoscaling_scale_in_cooldown: int = _param(DEPLOYMENT, "Seconds after a scale-in before the next one.",
                                                {"type": "integer"})
    autoscaling_scale_out_cooldown: int = _param(DEPLOYMENT, "Seconds after a scale-out before the next one.",
                                                 {"type": "integer"})
    lambda_function_name: str = _param(FRONT_DOOR, "Name of the Lambda front door in front of the endpoint.",
                                       {"type": "string"})
    lambda_memory_mb: int = _param(FRONT_DOOR, "Memory of the Lambda front door, in MB (128 to 10240).",
                                   {"type": "integer"})
    lambda_timeout_seconds: int = _param(FRONT_DOOR, "Timeout of the Lambda front door, in seconds (1 to 900).",
                                         {"type": "integer"})
    lambda_reserved_concurrency: int = _param(FRONT_DOOR, "Reserved concurrency of the Lambda front door.",
                                              {"type": "integer"})
    lambda_provisioned_concurrency: int = _param(
        FRONT_DOOR, "Provisioned concurrency on the front door's alias 'live' (at most the reserved concurrency).",
        {"type": "integer"})
    lambda_function_url_auth: str = _param(
        FRONT_DOOR, "The front door's function URL: 'off' (none), 'AWS_IAM' (callers sign with SigV4) or 'NONE' "
        f"(public; {LOCAL_REFUSES}, it lets in only callers signed with its key pair).", {"type": "string"})

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


def field_schema(name: str) -> dict[str, Any]:
    """The JSON schema of a parameter: its type (here) with its domain (validation.DOMAINS)."""
    return _merged(PipelineConfig.__dataclass_fields__[name].metadata["schema"], validation.DOMAINS[name].schema()
                   if name in validation.DOMAINS else {})


def _merged(base: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    nested = {key: _merged(base[key], more[key]) for key in base.keys() & more.keys()
              if isinstance(base[key], dict) and isinstance(more[key], dict)}
    return {**base, **more, **nested}


def _or_unset(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` taking UNSET too: Airflow checks a scheduled DAG's defaults when it parses the file, so a profile's
    UNSET must pass, and validate_config asks for the value when a run starts."""
    rules = {key: schema[key] for key in ("pattern", "allOf") if key in schema}
    rest = {key: value for key, value in schema.items() if key not in rules}
    return {**rest, "anyOf": [{"const": UNSET}, rules]}


def param_specs(defaults: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Keyword arguments of an Airflow `Param` for every field, section by section: default, JSON schema,
    description and the form's section."""
    ordered = sorted(dataclasses.fields(PipelineConfig), key=lambda f: SECTIONS.index(f.metadata["section"]))
    specs = {}
    for f in ordered:
        schema = field_schema(f.name)
        if defaults[f.name] == UNSET and "pattern" in schema:
            schema = _or_unset(schema)
        specs[f.name] = {"default": defaults[f.name], "description": f.metadata["description"],
                         "section": f.metadata["section"], **schema}
    return specs
