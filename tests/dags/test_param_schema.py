"""One domain per parameter, read twice: the JSON schema of its Param (the trigger form, Airflow's own Param
validation) and validate_config refuse the same values and accept the same values, the patterns mean the same
to Python and to JavaScript, every profile's defaults pass their schema, and every parameter is in a section."""

import json
import re
import shutil
import subprocess

import jsonschema
import pytest

from dog_breed import validation
from dog_breed.config import SECTIONS, ConfigError, PipelineConfig, field_schema, param_specs
from dog_breed.environment import DeploymentSettings, profile_defaults
from dog_breed.profiles import PROFILES

# Good and bad values per parameter, each changed alone in the local profile; values a rule between
# parameters refuses (such as tuning_max_parallel_jobs above tuning_max_jobs) are left to test_config.py.
VALUES = {
    "project": (["dog-breed", "a", "x" * 16, "A1-b2"], ["", "-dog", "dog-", "dog_breed", "x" * 17, "dog-breed\n"]),
    "region": (["us-east-1", "eu-west-2", "ap-southeast-1"], ["", "mars-north-1", "US-EAST-1", "us-east-1\n"]),
    "bucket": (["abc", "my-bucket.data", "a" * 63, "01.2.3.4"],
               ["", "ab", "a" * 64, "My_Bucket", "-abc", "abc-", "a..b", "a.-b", "192.168.1.1", "xn--bucket",
                "sthree-x", "x-s3alias", "x--ol-s3", "abc\n"]),
    "s3_prefix": (["dog-breed", "a/b/c", "it's(ok)*"], ["", "/dog-breed", "dog-breed/", "a//b", "a b", "a\n"]),
    "sagemaker_role_arn": (["arn:aws:iam::111122223333:role/sm", "arn:aws-cn:iam::111122223333:role/path/sm"],
                           ["", "SageMakerRole", "arn:aws:iam::1111:role/sm", "arn:aws:iam::111122223333:user/u",
                            "arn:aws:iam::111122223333:role/é", "arn:aws:iam::١١١١٢٢٢٢٣٣٣٣:role/sm",
                            "arn:aws:iam::111122223333:role/sm\n"]),
    "dataset_url": (["file:///data/dogImages.zip", "s3://bucket/key/dogImages.zip",
                     "https://example.com/d/dogImages.zip?version=2"],
                    ["", "ftp://example.com/dogImages.zip", "s3:///dogImages.zip", "https://example.com/",
                     "https://example.com", "https://example.com/?x=1", "file:///", "https://example.com/a b.zip",
                     "HTTPS://example.com/dogImages.zip", "https://example.com/dogImages.zip\n"]),
    "dataset_version": (["sample-v1", "v1.2_b", "x" * 63], ["", "v1/../x", ".v1", "x" * 64, "v1\n"]),
    "training_backend": (["sagemaker", "ec2"], ["", "laptop", "EC2"]),
    "training_instance_type": (["ml.m5.xlarge", "ml.g5.2xlarge"],
                               ["m5.xlarge", "ml.M5.xlarge", "ml.m5", "ml.m5.large\n"]),
    "training_instance_count": ([1, 3], [0, -1]),
    "tuning_instance_type": (["ml.m5.large"], ["t2.micro", ""]),
    "tuning_strategy": (["Bayesian", "Random", "Hyperband"], ["Grid", "bayesian"]),
    "tuning_max_jobs": ([2, 50], [0]),
    "tuning_max_parallel_jobs": ([1, 2], [0, -2]),
    "learning_rate_min": ([1e-6, 0.001], [0, 0.0, -0.1]),
    "learning_rate_max": ([0.01, 1.0], [0, -1.0]),
    "batch_sizes": ([[1], [32, 64, 128]], [[], [0], [16, 16], [32, -1]]),
    "epochs_min": ([1, 2], [0, -3]),
    "epochs_max": ([3, 100], [0, -1]),
    "extra_hyperparameters": ([{}, {"arch": "resnet18", "pretrained": "true"}, {"a" * 63: "x"}, {"epochs_warm": "1"},
                               {"note": "a value, with spaces ~"}],
                              [{"epochs": "3"}, {"learning_rate": "0.1"}, {"sagemaker_program": "x.py"}, {"Arch": "x"},
                               {"a" * 64: "x"}, {"1arch": "x"}, {"arch": "resnet18\nrm -rf ~"}, {"arch": "café"},
                               {"arch\n": "x"}]),
    "max_runtime_seconds": ([1, 900, 172_800], [0, 172_801]),
    "volume_size_gb": ([1, 30], [0]),
    "max_wait_seconds": ([1800, 10**6], [0, -1]),
    "ec2_image": (["ami-0123456789abcdef0", "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"],
                  ["", "ami-123", "ami-123; rm -rf ~", "$(curl evil)", "aws/service/x", "ami-0123456789abcdef0\n"]),
    "ec2_instance_type": (["t2.xlarge", "g4dn.xlarge", "m7i-flex.large"],
                          ["ml.m5.xlarge", "T2.xlarge", "t2", "", "t2.xlarge\n"]),
    "ec2_volume_gb": ([8, 16_384], [7, 16_385]),
    "ec2_interpreter": (["python3", "/opt/pytorch/bin/python"], ["", "python3\nrm -rf ~", "py\x00thon"]),
    "ec2_learning_rate": ([0.002], [0.0, -1]),
    "ec2_batch_size": ([1, 32], [0]),
    "ec2_epochs": ([1], [0, -1]),
    "accuracy_threshold": ([0, 0.7, 1], [-0.1, 1.5]),
    "max_accuracy_drop": ([0.0, 1.0], [-0.01, 2]),
    "model_package_group": (["dog-breed-classifier", "x" * 63], ["a--", "x" * 64, "dog_breed", ""]),
    "endpoint_name": (["dog-breed"], ["x" * 64, "dog_breed", "dog-breed\n"]),
    "endpoint_instance_type": (["ml.m5.large"], ["t2.micro"]),
    "endpoint_instance_count": ([1, 2], [0]),
    "deployment_bake_seconds": ([0, 3600], [-1, 3601]),
    "smoke_test_images": ([1, 10], [0]),
    "autoscaling_min_capacity": ([1, 2], [0, -1]),
    "autoscaling_max_capacity": ([2, 10], [0]),
    "autoscaling_target_value": ([0.5, 100.0], [0, -5.0]),
    "autoscaling_scale_in_cooldown": ([0, 300], [-1]),
    "autoscaling_scale_out_cooldown": ([0, 300], [-5]),
    "lambda_function_name": (["dog-breed-front-door", "a_b", "x" * 64], ["", "front door; rm", "x" * 65, "fd\n"]),
    "lambda_memory_mb": ([128, 10_240], [127, 10_241]),
    "lambda_timeout_seconds": ([1, 900], [0, 901]),
    "lambda_reserved_concurrency": ([1, 1000], [0, -1]),
    "lambda_provisioned_concurrency": ([0, 1], [-1]),
    "lambda_function_url_auth": (["off", "AWS_IAM", "NONE"], ["OPEN", "", "aws_iam"]),
}
# What only validate_config can refuse: the regions with PyTorch containers come from the SageMaker SDK,
# which a DAG file must not import while it is parsed.
VALIDATE_CONFIG_ONLY = {("region", "us-mars-1")}
CASES = [(name, value, good) for name, (goods, bads) in VALUES.items()
         for good, values in ((True, goods), (False, bads)) for value in values]


def local(**changes):
    return {**profile_defaults("local"), **changes}


def schema_accepts(schema, value):
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError:
        return False
    return True


def config_accepts(name, value):
    try:
        PipelineConfig.from_mapping(local(**{name: value}))
    except ConfigError as error:
        assert all(p.split(":")[0] == name for p in error.problems), error.problems  # only the changed one
        return False
    return True


def form_schema(name):
    from airflow.sdk import Param

    return Param(**param_specs(profile_defaults("local"))[name]).schema


def test_every_parameter_with_a_domain_has_a_bound_pattern_or_enum():
    fields = PipelineConfig.__dataclass_fields__
    booleans = {name for name, f in fields.items() if f.metadata["schema"]["type"] == "boolean"}
    assert set(validation.DOMAINS) == set(fields) - booleans
    assert set(VALUES) == set(validation.DOMAINS), "every domain needs good and bad values here"
    constraints = {"minimum", "maximum", "exclusiveMinimum", "pattern", "enum", "maxLength"}
    for name in validation.DOMAINS:
        schema = field_schema(name)
        nested = [schema.get("items", {}), schema.get("propertyNames", {}), schema.get("additionalProperties", {})]
        assert any(constraints & set(part) for part in [schema, *nested]), name


@pytest.mark.parametrize("name, value, good", CASES)
def test_the_form_schema_and_validate_config_agree(name, value, good):
    assert config_accepts(name, value) is good, "validate_config"
    assert schema_accepts(form_schema(name), value) is good, "JSON schema"


@pytest.mark.parametrize("name, value", sorted(VALIDATE_CONFIG_ONLY))
def test_what_only_validate_config_can_refuse(name, value):
    assert schema_accepts(form_schema(name), value) and not config_accepts(name, value)


def all_patterns(schema):
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern":
                yield value
            else:
                yield from all_patterns(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from all_patterns(item)


PATTERNS = sorted({p for name in validation.DOMAINS for p in all_patterns(field_schema(name))})
# What Python's re and ECMA-262 read differently, or what ECMA-262 lacks; `[\s\S]` (any character) and END
# are the same in both.
ANY_CHARACTER = "[\\s\\S]"
NOT_PORTABLE = re.compile(r"\\[dDwWsSbBAZz]|\(\?<|\(\?P|\(\?[aiLmsux]|\(\?#"  # classes, lookbehind, names, flags
                          r"|(?<!\\)\$(?!\(\?!\\n\))")  # a `$` that is not END


@pytest.mark.parametrize("pattern", PATTERNS)
def test_patterns_use_only_what_python_and_javascript_read_alike(pattern):
    re.compile(pattern)
    assert not NOT_PORTABLE.search(pattern.replace(ANY_CHARACTER, "")), pattern
    assert pattern.startswith("^"), "a pattern anchors at the start: JSON schema's pattern is a search"


JS_MATCHES = """
const pairs = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(pairs.map(([p, v]) => [new RegExp(p).test(v), new RegExp(p, "u").test(v)])));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node for JavaScript's RegExp")
def test_patterns_match_the_same_values_in_javascript():
    pairs = []
    for name, value, _ in CASES:
        schema = field_schema(name)
        strings = [value] if isinstance(value, str) else list(value) if isinstance(value, dict) else []
        values = list(value.values()) if isinstance(value, dict) else []
        for pattern in all_patterns({k: v for k, v in schema.items() if k != "additionalProperties"}):
            pairs += [(pattern, s) for s in strings]
        for pattern in all_patterns(schema.get("additionalProperties", {})):
            pairs += [(pattern, s) for s in values]
    done = subprocess.run(["node", "-e", JS_MATCHES], input=json.dumps(pairs), capture_output=True, text=True,
                          timeout=60, check=True)
    for (pattern, value), (plain, unicode) in zip(pairs, json.loads(done.stdout)):
        python = re.search(pattern, value) is not None
        assert plain == unicode == python, (pattern, value)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profiles_defaults_pass_their_schema(profile):
    from airflow.sdk import Param
    from airflow.sdk.definitions.param import ParamsDict

    specs = param_specs(DeploymentSettings().defaults(profile))
    ParamsDict({name: Param(**spec) for name, spec in specs.items()}).validate()  # what parsing a scheduled DAG does


def test_a_parameter_the_profile_leaves_unset_is_asked_for_by_validate_config():
    aws = param_specs(profile_defaults("aws"))
    assert (aws["bucket"]["default"], aws["sagemaker_role_arn"]["default"]) == ("", "")
    assert schema_accepts({k: v for k, v in aws["bucket"].items() if k != "default"}, "")
    assert not schema_accepts({k: v for k, v in aws["bucket"].items() if k != "default"}, "My_Bucket")
    assert not schema_accepts(form_schema("bucket"), ""), "a profile that sets it does not take it back"
    with pytest.raises(ConfigError) as caught:
        PipelineConfig.from_mapping(profile_defaults("aws"))
    assert [p.split(":")[0] for p in caught.value.problems] == ["bucket", "sagemaker_role_arn"]


def test_every_parameter_is_in_a_section_and_the_form_shows_them_section_by_section(pipeline):
    specs = param_specs(profile_defaults("local"))
    assert {spec["section"] for spec in specs.values()} == set(SECTIONS)
    order = [pipeline.params.get_param(name).schema["section"] for name in pipeline.params.keys()]
    assert order == sorted(order, key=SECTIONS.index), "the form lists sections in their first field's order"
    assert set(pipeline.params.keys()) == set(PipelineConfig.__dataclass_fields__)


def test_the_dag_refuses_a_bad_value_before_a_run_is_made(pipeline):
    # As a trigger (the form's or the API's) is checked: Airflow validates the run's conf with each Param's schema.
    import copy

    from airflow.sdk.exceptions import ParamValidationError

    params = copy.deepcopy(pipeline.params)
    with pytest.raises(ParamValidationError, match="lambda_memory_mb"):
        params["lambda_memory_mb"] = 64
    params["lambda_memory_mb"] = 256


def test_the_portability_check_catches_what_it_names():
    for pattern in (r"^a$", r"^\d+", r"^\w", r"^(?<=a)b", r"^(?P<n>a)", r"^a\Z"):
        assert NOT_PORTABLE.search(pattern.replace(ANY_CHARACTER, "")), pattern
    assert not NOT_PORTABLE.search(validation.whole("a|b"))
