"""What makes a pipeline parameter valid: its type, as its JSON schema says, and the rules of the AWS
services it ends up in (names, ARNs, instance types, ranges). Each check returns problems as text naming
the parameter; `PipelineConfig.from_mapping` raises them together."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from dog_breed.image_uris import pytorch_regions

if TYPE_CHECKING:
    from dog_breed.config import PipelineConfig

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
TRAINING_BACKENDS = ("sagemaker", "ec2")
FUNCTION_URL_AUTH = ("off", "AWS_IAM", "NONE")  # the form's choices; FrontDoor.problems judges a value
DATASET_SCHEMES = ("https", "s3", "file")

_JSON_TYPES: dict[str, tuple[type, ...]] = {"integer": (int,), "number": (int, float), "boolean": (bool,),
                                             "string": (str,), "array": (list,), "object": (dict,)}


def type_problem(value: Any, schema: dict[str, Any]) -> str | None:
    """What makes `value` not of the JSON schema's type (`type`, and `items` of an array or
    `additionalProperties` of an object), if anything. A bool is no number, as in JSON."""
    return None if _has_type(value, schema) else f"expected {_type_name(schema)}, got {value!r}"


def _has_type(value: Any, schema: dict[str, Any]) -> bool:
    expected = schema["type"]
    if isinstance(value, bool) and expected != "boolean":
        return False
    if not isinstance(value, _JSON_TYPES[expected]):
        return False
    if expected == "array":
        return all(_has_type(item, schema["items"]) for item in value)
    if expected == "object":
        return all(isinstance(key, str) and _has_type(item, schema["additionalProperties"])
                   for key, item in value.items())
    return True


def _type_name(schema: dict[str, Any]) -> str:
    expected = schema["type"]
    if expected == "array":
        return f"list of {_type_name(schema['items'])}s"
    if expected == "object":
        return f"mapping of strings to {_type_name(schema['additionalProperties'])}s"
    return expected


def value_problems(c: PipelineConfig) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def check(name: str, ok: bool, problem: str) -> None:
        if not ok:
            found.append((name, problem))

    check("project", bool(SAGEMAKER_NAME.match(c.project)) and len(c.project) <= PROJECT_MAX_LEN,
          f"{c.project!r} must be 1-{PROJECT_MAX_LEN} letters, digits or inner hyphens")
    regions = pytorch_regions()
    check("region", c.region in regions,
          f"{c.region!r} is not a region with PyTorch Deep Learning Containers: {', '.join(sorted(regions))}")
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
    for key, value in c.extra_hyperparameters.items():
        check("extra_hyperparameters", value.isprintable(),
              f"the value of {key!r} must be one line of printable characters, got {value!r}")
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
    check("training_backend", c.training_backend in TRAINING_BACKENDS,
          f"{c.training_backend!r} is not one of {', '.join(TRAINING_BACKENDS)}")
    for name in ("ec2_learning_rate", "ec2_batch_size", "ec2_epochs"):
        check(name, getattr(c, name) > 0, f"must be > 0, got {getattr(c, name)}")
    return found + _operator_problems(c)


def _operator_problems(c: PipelineConfig) -> list[tuple[str, str]]:
    """What the custom operators would refuse, checked by their own settings (operator_plans) once; the run's
    job name and layout are placeholders, so only the parameters' values are judged."""
    from dog_breed import operator_plans
    from dog_breed.layout import DataLayout

    return operator_plans.problems(c, "validation", DataLayout.for_run(c, "validation"))


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
