"""What makes a pipeline parameter valid: its type, as its JSON schema says, and its domain (`DOMAINS`):
the bounds, patterns and choices of the AWS services it ends up in. A domain is written once and read
twice: `Domain.schema()` becomes the parameter's JSON schema (the trigger form and Airflow's own Param
validation), `Domain.problem()` is what `value_problems` checks, so the two refuse the same values.
Rules between parameters, and the PyTorch regions (which only the SageMaker SDK, too slow to import while
a DAG file is parsed, can list), are checked here only. Each check returns problems as text naming the
parameter; `PipelineConfig.from_mapping` raises them together."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dog_breed import ec2_training, front_door_deployment
from dog_breed.image_uris import pytorch_regions

if TYPE_CHECKING:
    from dog_breed.config import PipelineConfig

# Every pattern is read by Python's `re.search` (the jsonschema package, and `Domain.problem`) and by
# JavaScript's RegExp (a browser's JSON-schema validator), so it uses only what both mean alike: no `\d`,
# `\w` or `\s` (Unicode in Python, ASCII in JavaScript), no `\A`/`\Z`, no lookbehind, no named groups.
# Python's `$` also matches before a final newline, JavaScript's does not: END is the end of the value in both.
END = r"$(?!\n)"


def whole(body: str) -> str:
    """A pattern the entire value must match."""
    return f"^(?:{body}){END}"


def _body(pattern: re.Pattern[str]) -> str:
    """An operator's `^...$` regex without its anchors, to anchor with `whole`."""
    return pattern.pattern.removeprefix("^").removesuffix("$")


# SageMaker's name rule for jobs, models, endpoints and model package groups.
SAGEMAKER_NAME = re.compile(whole(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*"))
# The project prefix leaves room for "-hpo-", the 8-character run id and a "-NN" attempt suffix
# inside the 32 characters SageMaker allows a tuning job name.
PROJECT_MAX_LEN = 16
NAME_MAX_LEN = 63
TUNED_HYPERPARAMETERS = ("learning_rate", "batch_size", "epochs")
DATASET_SCHEMES = ("https", "s3", "file")
IPV4_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"

_JSON_TYPES: dict[str, tuple[type, ...]] = {"integer": (int,), "number": (int, float), "boolean": (bool,),
                                             "string": (str,), "array": (list,), "object": (dict,)}


@dataclass(frozen=True)
class Rule:
    pattern: str  # for `re.search`, as JSON schema's `pattern` is applied
    problem: str  # what a value that does not match is told


@dataclass(frozen=True)
class Domain:
    """The values one parameter (or an array's items, an object's keys or values) may take. The first broken
    constraint is the problem: bounds for numbers, length then rules then choices for strings."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    why: str = ""  # said after a numeric bound
    max_length: int | None = None  # told the first rule's problem
    rules: tuple[Rule, ...] = ()
    enum: tuple[str, ...] = ()
    items: Domain | None = None
    min_items: int | None = None
    unique_items: bool = False
    says: str = ""  # an array's problem
    keys: Domain | None = None
    values: Domain | None = None

    def schema(self) -> dict[str, Any]:
        """These constraints as JSON schema keywords (draft 2020-12, as the jsonschema package applies them)."""
        found: dict[str, Any] = {}
        for keyword, value in (("minimum", self.minimum), ("maximum", self.maximum),
                               ("exclusiveMinimum", self.exclusive_minimum), ("maxLength", self.max_length),
                               ("minItems", self.min_items)):
            if value is not None:
                found[keyword] = value
        if self.rules:
            found["pattern"] = self.rules[0].pattern
        if len(self.rules) > 1:
            found["allOf"] = [{"pattern": rule.pattern} for rule in self.rules[1:]]
        if self.enum:
            found["enum"] = list(self.enum)
        if self.items:
            found["items"] = self.items.schema()
        if self.unique_items:
            found["uniqueItems"] = True
        if self.keys:
            found["propertyNames"] = self.keys.schema()
        if self.values:
            found["additionalProperties"] = self.values.schema()
        return found

    def problem(self, value: Any) -> str | None:
        """What is wrong with `value` (of the parameter's type), as `describe` words it, or None."""
        if isinstance(value, str):
            return self._text_problem(value)
        if isinstance(value, list):
            items_ok = self.items is None or all(self.items.problem(item) is None for item in value)
            if (self.min_items is not None and len(value) < self.min_items) or not items_ok or (
                    self.unique_items and len(set(value)) != len(value)):
                return f"{self.says}, got {value}"
            return None
        if isinstance(value, dict):
            return "; ".join(self._entry_problems(value)) or None
        return self._number_problem(value)

    def _number_problem(self, value: float) -> str | None:
        low_ok = self.minimum is None or value >= self.minimum
        high_ok = self.maximum is None or value <= self.maximum
        if self.exclusive_minimum is not None and not value > self.exclusive_minimum:
            return f"must be > {self.exclusive_minimum}{self.why}, got {value}"
        if low_ok and high_ok:
            return None
        if self.minimum is not None and self.maximum is not None:
            return f"must be in [{self.minimum}, {self.maximum}]{self.why}, got {value}"
        bound = f">= {self.minimum}" if self.maximum is None else f"<= {self.maximum}"
        return f"must be {bound}{self.why}, got {value}"

    def _text_problem(self, value: str) -> str | None:
        if self.max_length is not None and len(value) > self.max_length:
            return f"{value!r} {self.rules[0].problem}"
        for rule in self.rules:
            if not re.search(rule.pattern, value):
                return f"{value!r} {rule.problem}"
        if self.enum and value not in self.enum:
            return f"{value!r} is not one of {', '.join(self.enum)}"
        return None

    def _entry_problems(self, value: dict[str, Any]) -> list[str]:
        found = []
        for key, item in value.items():
            key_problem = self.keys.problem(key) if self.keys else None
            if key_problem:
                found.append(key_problem)
            item_problem = self.values.problem(item) if self.values else None
            if item_problem:
                found.append(f"the value of {key!r}: {item_problem}")
        return found


def _at_least(minimum: float) -> Domain:
    return Domain(minimum=minimum)


def _between(minimum: float, maximum: float) -> Domain:
    return Domain(minimum=minimum, maximum=maximum)


def _positive(why: str = "") -> Domain:
    return Domain(exclusive_minimum=0, why=why)


def _matching(body: str, problem: str, max_length: int | None = None) -> Domain:
    return Domain(rules=(Rule(whole(body), problem),), max_length=max_length)


def _sagemaker_name(max_length: int) -> Domain:
    return Domain(rules=(Rule(SAGEMAKER_NAME.pattern, f"must be 1-{max_length} letters, digits or inner hyphens"),),
                  max_length=max_length)


_INSTANCE_TYPE = _matching(r"ml\.[a-z0-9]+\.[a-z0-9]+", "is not a SageMaker instance type like ml.m5.xlarge")

# Every parameter but the booleans. The bounds of the custom operators' settings (autoscaling_*, lambda_*,
# ec2_*, max_runtime_seconds) are those their own checks apply when a task runs (operator_plans); the test
# of this table against validate_config keeps the two equal.
DOMAINS: dict[str, Domain] = {
    "project": _sagemaker_name(PROJECT_MAX_LEN),
    "region": _matching(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}", "is not an AWS region name like us-east-1"),
    "bucket": Domain(max_length=63, rules=(
        Rule(whole(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
             "must be 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit"),
        Rule(r"^(?![\s\S]*(\.\.|\.-|-\.))", "must not contain '..', '.-' or '-.'"),
        Rule(f"^(?!({IPV4_OCTET}\\.){{3}}{IPV4_OCTET}{END})", "must not look like an IP address"),
        Rule(f"^(?!xn--|sthree-)(?![\\s\\S]*(-s3alias|--ol-s3){END})", "uses a prefix or suffix S3 reserves"))),
    "s3_prefix": _matching(r"[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*",
                           "must be non-empty key segments joined by '/', without leading or trailing '/'"),
    "sagemaker_role_arn": _matching(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}",
                                    "is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
    "dataset_url": Domain(rules=(
        Rule(whole(r"[!-~]+"), "must be one URL of printable ASCII characters, without spaces"),
        Rule(f"^({'|'.join(DATASET_SCHEMES)})://", f"must use one of the schemes {', '.join(DATASET_SCHEMES)}"),
        Rule(r"^(file://|[a-z0-9]+://[^/?#])", "has no host or bucket"),
        Rule(r"^[a-z0-9]+://[^/?#]*/[^?#]*[^/?#]", "has no path to a zip file"))),
    "dataset_version": _matching(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", "must be 1-63 letters, digits, '.', '_' or '-'"),
    "training_backend": Domain(enum=("sagemaker", "ec2")),
    "training_instance_type": _INSTANCE_TYPE,
    "training_instance_count": _at_least(1),
    "tuning_instance_type": _INSTANCE_TYPE,
    "tuning_strategy": Domain(enum=("Bayesian", "Random", "Hyperband")),
    "tuning_max_jobs": _at_least(1),
    "tuning_max_parallel_jobs": _at_least(1),
    "learning_rate_min": _positive(" for a log-scale search"),
    "learning_rate_max": _positive(" for a log-scale search"),
    "batch_sizes": Domain(items=_at_least(1), min_items=1, unique_items=True, says="must be distinct integers >= 1"),
    "epochs_min": _at_least(1),
    "epochs_max": _at_least(1),
    "extra_hyperparameters": Domain(
        # EC2 training passes them as command-line flags, whose names its check limits to 63 characters.
        keys=Domain(rules=(
            Rule(whole(r"(?!sagemaker_)[a-z][a-z0-9_]{0,62}"),
                 "must be a snake_case train.py argument of at most 63 characters, not starting with 'sagemaker_'"),
            Rule(f"^(?!({'|'.join(TUNED_HYPERPARAMETERS)}){END})", "is tuned: set its range instead"))),
        values=_matching(r"[ -~]*", "must be one line of printable ASCII characters")),
    "max_runtime_seconds": _between(1, 172_800),  # SSM Run Command's longest execution timeout (EC2 backend)
    "volume_size_gb": _at_least(1),
    "max_wait_seconds": _at_least(1),
    "ec2_image": _matching(
        f"{_body(ec2_training.IMAGE_ID)}|{_body(ec2_training.SSM_PARAMETER)}",
        "must be an AMI id (ami-...) or the name of an SSM parameter holding one (/aws/service/...)"),
    "ec2_instance_type": _matching(_body(ec2_training.INSTANCE_TYPE), "is not an EC2 instance type like t2.xlarge"),
    "ec2_volume_gb": _between(8, 16_384),
    "ec2_interpreter": _matching(r"[^\n\x00]+", "must be one non-empty line"),
    "ec2_learning_rate": _positive(),
    "ec2_batch_size": _positive(),
    "ec2_epochs": _positive(),
    "accuracy_threshold": _between(0, 1),
    "max_accuracy_drop": _between(0, 1),
    "model_package_group": _sagemaker_name(NAME_MAX_LEN),
    "endpoint_name": _sagemaker_name(NAME_MAX_LEN),
    "endpoint_instance_type": _INSTANCE_TYPE,
    "endpoint_instance_count": _at_least(1),
    "deployment_bake_seconds": _between(0, 3600),
    "smoke_test_images": _at_least(1),
    "autoscaling_min_capacity": _at_least(1),
    "autoscaling_max_capacity": _at_least(1),
    "autoscaling_target_value": _positive(),
    "autoscaling_scale_in_cooldown": _at_least(0),
    "autoscaling_scale_out_cooldown": _at_least(0),
    "lambda_function_name": _matching(_body(front_door_deployment.FUNCTION_NAME),
                                      "must be 1 to 64 letters, digits, '-' or '_'"),
    "lambda_memory_mb": _between(128, 10_240),
    "lambda_timeout_seconds": _between(1, 900),
    "lambda_reserved_concurrency": _at_least(1),
    "lambda_provisioned_concurrency": _at_least(0),
    # The form's choices; FrontDoor.problems judges a value.
    "lambda_function_url_auth": Domain(enum=("off", "AWS_IAM", "NONE")),
}


# The operators' rules between parameters, parameter by the one it is compared with: said only when that
# one is good.
OPERATOR_RULES_BETWEEN = {"lambda_provisioned_concurrency": "lambda_reserved_concurrency",
                          "autoscaling_max_capacity": "autoscaling_min_capacity"}


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
    """Each parameter against its domain, then the rules between parameters whose own values are good, then
    what the custom operators refuse in parameters not named yet."""
    found = [(name, problem) for name, domain in DOMAINS.items()
             if (problem := domain.problem(getattr(c, name))) is not None]
    named = {name for name, _ in found}

    def check(name: str, needs: tuple[str, ...], ok: bool, problem: str) -> None:
        if not ok and not named & {name, *needs}:
            found.append((name, problem))

    if "region" not in named:
        regions = pytorch_regions()
        check("region", (), c.region in regions,
              f"{c.region!r} is not a region with PyTorch Deep Learning Containers: {', '.join(sorted(regions))}")
    check("tuning_max_parallel_jobs", ("tuning_max_jobs",), c.tuning_max_parallel_jobs <= c.tuning_max_jobs,
          f"{c.tuning_max_parallel_jobs} exceeds tuning_max_jobs ({c.tuning_max_jobs})")
    check("learning_rate_max", ("learning_rate_min",), c.learning_rate_min < c.learning_rate_max,
          f"must be greater than learning_rate_min ({c.learning_rate_min}), got {c.learning_rate_max}")
    check("epochs_max", ("epochs_min",), c.epochs_min < c.epochs_max,
          f"must be greater than epochs_min ({c.epochs_min}), got {c.epochs_max}")
    check("max_wait_seconds", ("max_runtime_seconds",),
          not c.use_spot_instances or c.max_wait_seconds >= c.max_runtime_seconds,
          f"must be >= max_runtime_seconds ({c.max_runtime_seconds}) with spot training, got {c.max_wait_seconds}")
    named = {name for name, _ in found}
    return found + [(name, problem) for name, problem in _operator_problems(c)
                    if name not in named and OPERATOR_RULES_BETWEEN.get(name) not in named]


def _operator_problems(c: PipelineConfig) -> list[tuple[str, str]]:
    """What the custom operators would refuse, checked by their own settings (operator_plans) once; the run's
    job name and layout are placeholders, so only the parameters' values are judged."""
    from dog_breed import operator_plans
    from dog_breed.layout import DataLayout

    return operator_plans.problems(c, "validation", DataLayout.for_run(c, "validation"))
