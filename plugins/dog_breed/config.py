"""Every parameter of the pipeline: its type, its default per profile, and its validation.

A profile is a complete set of defaults. `aws` is sized for the real dogImages dataset on SageMaker;
`local` is sized for the sample dataset on the local AWS endpoint (small model, few epochs, small tuning
budget). The DAG offers every field as an Airflow Param whose default comes from the profile selected by
the `DOG_BREED_PROFILE` environment variable, so the UI form shows values that work where it runs.
`DOG_BREED_DEFAULTS` (a JSON object) changes single defaults of that profile for one deployment, such as
the bucket and the SageMaker role a scheduled run on AWS needs; environment variables are read when the
DAG file is parsed, which, unlike Airflow Variables, costs no database or network call.

`PipelineConfig.from_mapping` is the one way in: it checks every value and raises `ConfigError` listing
each bad parameter by name, before anything is spent.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dog_breed.images import DLC_ACCOUNTS

PROFILE_ENV = "DOG_BREED_PROFILE"
DEFAULTS_ENV = "DOG_BREED_DEFAULTS"
LOCAL_DATASET_ENV = "DOG_BREED_LOCAL_DATASET_URL"

USER_DATASET_URL = "https://s3-us-west-1.amazonaws.com/udacity-aind/dog-project/dogImages.zip"
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DATASET_ZIP = REPO_ROOT / "build" / "sample" / "dogImages.zip"

# SageMaker's name rule for jobs, models, endpoints and model package groups.
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
DATASET_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
S3_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
HYPERPARAMETER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

# The project prefix leaves room for "-hpo-", the 8-character run id and a "-NN" attempt suffix
# inside the 32 characters SageMaker allows a tuning job name.
PROJECT_MAX_LEN = 16
NAME_MAX_LEN = 63
TUNING_STRATEGIES = ("Bayesian", "Random", "Hyperband")
DATASET_SCHEMES = ("https", "s3", "file")


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
        "Fixed hyperparameters passed to train.py in every trial and in the final training.", {"type": "object"}
    )
    max_runtime_seconds: int = _param("Stopping condition of every training job.", {"type": "integer"})
    volume_size_gb: int = _param("Storage volume of each training instance.", {"type": "integer"})
    use_spot_instances: bool = _param(
        "Managed spot training for the final training job, resuming from S3 checkpoints.", {"type": "boolean"}
    )
    max_wait_seconds: int = _param("With spot training: longest wait for capacity plus runtime.", {"type": "integer"})
    enable_debugger: bool = _param("Attach the SageMaker Debugger hook to the final training job.", {"type": "boolean"})
    enable_profiler: bool = _param("Attach the SageMaker Profiler to the final training job.", {"type": "boolean"})
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
            problem = _type_problem(getattr(self, f.name), f.metadata["schema"])
            if problem:
                found.append(f"{f.name}: {problem}")
        if found:
            return found  # value checks below assume the types are right
        for name, problem in _value_problems(self):
            found.append(f"{name}: {problem}")
        return found

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _type_problem(value: Any, schema: dict[str, Any]) -> str | None:
    expected = schema["type"]
    if expected == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif expected == "boolean":
        ok = isinstance(value, bool)
    elif expected == "string":
        ok = isinstance(value, str)
    elif expected == "array":
        ok = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        expected = "list of integers"
    else:
        ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        expected = "mapping of strings to strings"
    return None if ok else f"expected {expected}, got {value!r}"


def _value_problems(c: PipelineConfig) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def check(name: str, ok: bool, problem: str) -> None:
        if not ok:
            found.append((name, problem))

    check("project", bool(SAGEMAKER_NAME.match(c.project)) and len(c.project) <= PROJECT_MAX_LEN,
          f"{c.project!r} must be 1-{PROJECT_MAX_LEN} letters, digits or inner hyphens")
    check("region", c.region in DLC_ACCOUNTS,
          f"{c.region!r} is not a region with PyTorch Deep Learning Containers: {', '.join(sorted(DLC_ACCOUNTS))}")
    bucket_problem = bucket_name_problem(c.bucket)
    check("bucket", bucket_problem is None, bucket_problem or "")
    check("s3_prefix", bool(S3_PREFIX.match(c.s3_prefix)),
          f"{c.s3_prefix!r} must be non-empty key segments joined by '/', without leading or trailing '/'")
    check("sagemaker_role_arn", bool(ROLE_ARN.match(c.sagemaker_role_arn)),
          f"{c.sagemaker_role_arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    dataset_problem = dataset_url_problem(c.dataset_url)
    check("dataset_url", dataset_problem is None, dataset_problem or "")
    check("dataset_version", bool(DATASET_VERSION.match(c.dataset_version)),
          f"{c.dataset_version!r} must be 1-63 letters, digits, '.', '_' or '-'")
    for name in ("training_instance_type", "tuning_instance_type", "endpoint_instance_type"):
        value = getattr(c, name)
        check(name, bool(INSTANCE_TYPE.match(value)), f"{value!r} is not a SageMaker instance type like ml.m5.xlarge")
    for name in ("training_instance_count", "tuning_max_jobs", "tuning_max_parallel_jobs", "epochs_min",
                 "endpoint_instance_count", "smoke_test_images", "max_runtime_seconds", "volume_size_gb"):
        check(name, getattr(c, name) >= 1, f"must be >= 1, got {getattr(c, name)}")
    check("tuning_strategy", c.tuning_strategy in TUNING_STRATEGIES,
          f"{c.tuning_strategy!r} is not one of {', '.join(TUNING_STRATEGIES)}")
    check("tuning_max_parallel_jobs", c.tuning_max_parallel_jobs <= c.tuning_max_jobs,
          f"{c.tuning_max_parallel_jobs} exceeds tuning_max_jobs ({c.tuning_max_jobs})")
    check("learning_rate_min", c.learning_rate_min > 0, f"must be > 0 for a log-scale search, got {c.learning_rate_min}")
    check("learning_rate_max", c.learning_rate_min < c.learning_rate_max,
          f"must be greater than learning_rate_min ({c.learning_rate_min}), got {c.learning_rate_max}")
    check("epochs_max", c.epochs_min < c.epochs_max, f"must be greater than epochs_min ({c.epochs_min}), got {c.epochs_max}")
    check("batch_sizes", bool(c.batch_sizes) and all(b >= 1 for b in c.batch_sizes)
          and len(set(c.batch_sizes)) == len(c.batch_sizes),
          f"must be distinct integers >= 1, got {c.batch_sizes}")
    for key in c.extra_hyperparameters:
        check("extra_hyperparameters", bool(HYPERPARAMETER_NAME.match(key)) and not key.startswith("sagemaker_"),
              f"{key!r} must be a snake_case train.py argument not starting with 'sagemaker_'")
    tuned = {"learning_rate", "batch_size", "epochs"} & set(c.extra_hyperparameters)
    check("extra_hyperparameters", not tuned, f"{sorted(tuned)} are tuned; set their ranges instead")
    check("deployment_bake_seconds", 0 <= c.deployment_bake_seconds <= 3600,
          f"must be in [0, 3600], got {c.deployment_bake_seconds}")
    check("max_wait_seconds", not c.use_spot_instances or c.max_wait_seconds >= c.max_runtime_seconds,
          f"must be >= max_runtime_seconds ({c.max_runtime_seconds}) with spot training, got {c.max_wait_seconds}")
    check("accuracy_threshold", 0.0 <= c.accuracy_threshold <= 1.0, f"must be in [0, 1], got {c.accuracy_threshold}")
    check("max_accuracy_drop", 0.0 <= c.max_accuracy_drop <= 1.0, f"must be in [0, 1], got {c.max_accuracy_drop}")
    for name in ("model_package_group", "endpoint_name"):
        value = getattr(c, name)
        check(name, bool(SAGEMAKER_NAME.match(value)) and len(value) <= NAME_MAX_LEN,
              f"{value!r} must be 1-{NAME_MAX_LEN} letters, digits or inner hyphens")
    return found


def bucket_name_problem(name: str) -> str | None:
    """What breaks S3's bucket naming rules in `name`, if anything."""
    if not BUCKET.match(name):
        return f"{name!r} must be 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return f"{name!r} must not contain '..', '.-' or '-.'"
    try:
        ipaddress.IPv4Address(name)
        return f"{name!r} must not look like an IP address"
    except ValueError:
        pass
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return f"{name!r} uses a prefix or suffix S3 reserves"
    return None


def dataset_url_problem(url: str) -> str | None:
    parsed = urlparse(url)
    if parsed.scheme not in DATASET_SCHEMES:
        return f"{url!r} must use one of the schemes {', '.join(DATASET_SCHEMES)}"
    if parsed.scheme in ("https", "s3") and not parsed.netloc:
        return f"{url!r} has no host or bucket"
    if not parsed.path.strip("/"):
        return f"{url!r} has no path to a zip file"
    return None


AWS_DEFAULTS: dict[str, Any] = {
    "project": "dog-breed",
    "region": "us-east-1",
    "bucket": "",
    "s3_prefix": "dog-breed",
    "sagemaker_role_arn": "",
    "dataset_url": USER_DATASET_URL,
    "dataset_version": "dogImages-v1",
    "training_instance_type": "ml.m5.xlarge",
    "training_instance_count": 1,
    "tuning_instance_type": "ml.m5.xlarge",
    "tuning_strategy": "Bayesian",
    "tuning_max_jobs": 4,
    "tuning_max_parallel_jobs": 2,
    "learning_rate_min": 0.0001,
    "learning_rate_max": 0.01,
    "batch_sizes": [32, 64, 128],
    "epochs_min": 2,
    "epochs_max": 5,
    # ImageNet weights need the internet, which the training containers have on AWS.
    "extra_hyperparameters": {"arch": "resnet50", "pretrained": "true", "image_size": "224"},
    "max_runtime_seconds": 4 * 3600,
    "volume_size_gb": 30,
    "use_spot_instances": False,
    "max_wait_seconds": 8 * 3600,
    "enable_debugger": False,
    "enable_profiler": False,
    "accuracy_threshold": 0.6,
    "max_accuracy_drop": 0.0,
    "model_package_group": "dog-breed-classifier",
    "endpoint_name": "dog-breed",
    "endpoint_instance_type": "ml.m5.large",
    "endpoint_instance_count": 1,
    "deployment_bake_seconds": 300,
    "auto_rollback_alarm": True,
    "smoke_test_images": 20,
}

# The local endpoint runs every instance as a process on this machine: one host per job, a couple of
# short trials, a tiny model, and the sample dataset's zip that `python -m sample_dataset` builds.
LOCAL_DEFAULTS: dict[str, Any] = {
    **AWS_DEFAULTS,
    "bucket": "dog-breed-local",
    "sagemaker_role_arn": "arn:aws:iam::123456789012:role/dog-breed-sagemaker",
    "dataset_url": os.environ.get(LOCAL_DATASET_ENV, SAMPLE_DATASET_ZIP.as_uri()),
    "dataset_version": "sample-v1",
    "training_instance_type": "ml.m5.large",
    "tuning_instance_type": "ml.m5.large",
    "tuning_max_jobs": 2,
    "tuning_max_parallel_jobs": 1,
    "learning_rate_min": 0.0005,
    "learning_rate_max": 0.005,
    "batch_sizes": [32, 64],
    # One epoch of 22 steps can stop near 0.45 test accuracy; two or three reliably pass 0.95.
    "epochs_min": 2,
    "epochs_max": 3,
    # model_code's tiny-test model: 16-pixel digits train an epoch in seconds and reach ~0.95 test accuracy.
    "extra_hyperparameters": {"arch": "resnet18", "image_size": "16", "augment": "false", "workers": "0"},
    "max_runtime_seconds": 900,
    "max_wait_seconds": 1800,
    "accuracy_threshold": 0.7,
    # Retraining a tiny model on a tiny dataset moves test accuracy by a few points from run to run.
    "max_accuracy_drop": 0.15,
    "deployment_bake_seconds": 0,
    "auto_rollback_alarm": False,
    "smoke_test_images": 10,
}

PROFILES: dict[str, dict[str, Any]] = {"aws": AWS_DEFAULTS, "local": LOCAL_DEFAULTS}


def profile_defaults(profile: str | None = None) -> dict[str, Any]:
    """The defaults of `profile`, or of the profile named by $DOG_BREED_PROFILE (default: aws), with the
    changes $DOG_BREED_DEFAULTS makes. Values are checked when a run validates its parameters."""
    name = profile or os.environ.get(PROFILE_ENV, "aws")
    if name not in PROFILES:
        raise ConfigError([f"{PROFILE_ENV}: {name!r} is not one of {', '.join(PROFILES)}"])
    defaults = {**PROFILES[name], **_default_overrides()}
    return {key: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
            for key, v in defaults.items()}


def _default_overrides() -> dict[str, Any]:
    raw = os.environ.get(DEFAULTS_ENV, "").strip()
    if not raw:
        return {}
    try:
        overrides = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError([f"{DEFAULTS_ENV}: not valid JSON ({error})"]) from error
    if not isinstance(overrides, dict):
        raise ConfigError([f"{DEFAULTS_ENV}: must be a JSON object of parameter names and values"])
    known = {f.name for f in dataclasses.fields(PipelineConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError([f"{DEFAULTS_ENV}: unknown parameters {unknown}"])
    return overrides


def param_specs(defaults: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Keyword arguments of an Airflow `Param` for every field: default, JSON schema type, description."""
    return {
        f.name: {"default": defaults[f.name], "description": f.metadata["description"], **f.metadata["schema"]}
        for f in dataclasses.fields(PipelineConfig)
    }
