"""Every AWS request the pipeline renders is valid for botocore's service models, in both profiles and
with every optional training feature on."""

import botocore.session
import pytest
from botocore.validate import validate_parameters

from dog_breed import model_packages, sagemaker_requests as requests
from dog_breed.config import PipelineConfig
from dog_breed.environment import profile_defaults
from dog_breed.steps import validate_config

RUN = "manual__2026-11-25T06:00:00+00:00"
AWS_TARGET = {"bucket": "my-ml-bucket", "sagemaker_role_arn": "arn:aws:iam::111122223333:role/dog-breed-sagemaker"}
PROFILES = {
    "local": profile_defaults("local"),
    "aws": {**profile_defaults("aws"), **AWS_TARGET},
    "aws-everything-on": {**profile_defaults("aws"), **AWS_TARGET, "use_spot_instances": True, "enable_debugger": True,
                          "enable_profiler": True, "training_instance_count": 3,
                          "training_instance_type": "ml.g4dn.xlarge", "region": "eu-west-1"},
}
TUNED = {"learning_rate": "0.0123", "batch_size": '"32"', "epochs": "2"}


def validate(service, operation, request):
    model = botocore.session.get_session().get_service_model(service)
    validate_parameters(request, model.operation_model(operation).input_shape)


@pytest.fixture(params=sorted(PROFILES))
def plan(request):
    return validate_config(params=PROFILES[request.param], run_id=RUN)


def test_tuning_request(plan):
    validate("sagemaker", "CreateHyperParameterTuningJob", plan["tuning"])
    definition = plan["tuning"]["TrainingJobDefinition"]
    assert definition["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "train:loss"
    assert plan["tuning"]["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"] == {
        "Type": "Maximize", "MetricName": "valid:accuracy"}
    assert definition["StaticHyperParameters"]["sagemaker_submit_directory"].endswith("/sourcedir.tar.gz")


def test_training_request_with_the_best_trial(plan):
    request = requests.with_tuned_hyperparameters(plan["training"], TUNED)
    validate("sagemaker", "CreateTrainingJob", request)
    assert request["HyperParameters"]["batch_size"] == "32"
    assert request["ResourceConfig"]["InstanceCount"] == plan["config"]["training_instance_count"]
    assert ("CheckpointConfig" in request) == plan["config"]["use_spot_instances"]


def test_deployment_requests(plan):
    config = PipelineConfig(**plan["config"])
    names = requests.ResourceNames(**plan["names"])
    model_name = names.training_job
    deployment = requests.deployment_requests(config, names, model_name, "s3://b/k/output/model.tar.gz")
    model = deployment["model"]
    validate("sagemaker", "CreateModel", model)
    assert model["EnableNetworkIsolation"] is True
    validate("sagemaker", "CreateEndpointConfig", deployment["endpoint"]["EndpointConfig"])
    endpoint = deployment["endpoint"]["Endpoint"]
    validate("sagemaker", "CreateEndpoint", endpoint)
    validate("sagemaker", "UpdateEndpoint", {k: v for k, v in endpoint.items() if k != "Tags"})
    alarm = deployment["rollback_alarm"]
    assert (alarm is not None) == config.auto_rollback_alarm == ("AutoRollbackConfiguration" in endpoint["DeploymentConfig"])
    if alarm:
        validate("cloudwatch", "PutMetricAlarm", alarm)
    version = model_packages.version_request(group=config.model_package_group, container=model["PrimaryContainer"],
                                       instance_type=config.endpoint_instance_type,
                                       metadata={"training_job": model_name, "test_accuracy": "0.9"}, approved=True)
    validate("sagemaker", "CreateModelPackage", version)


def test_a_gpu_instance_gets_the_cuda_image():
    plan = validate_config(params=PROFILES["aws-everything-on"], run_id=RUN)
    image = plan["training"]["AlgorithmSpecification"]["TrainingImage"]
    assert image.startswith("763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:") and "-gpu-" in image
    assert "-cpu-" in plan["tuning"]["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"]


def test_a_best_trial_without_a_tuned_value_is_refused():
    plan = validate_config(params=PROFILES["local"], run_id=RUN)
    with pytest.raises(ValueError, match=r"lacks tuned hyperparameters \['epochs'\]"):
        requests.with_tuned_hyperparameters(plan["training"], {"learning_rate": "0.1", "batch_size": "16"})


def test_images_are_the_sdks_newest_pytorch_release_for_both_training_and_inference():
    from sagemaker.core import image_uris

    from dog_breed.image_uris import pytorch_image_uri, pytorch_release

    version, python = pytorch_release()
    listed = image_uris.config_for_framework("pytorch")
    in_both = set(listed["training"]["versions"]) & set(listed["inference"]["versions"])
    newest = max(in_both, key=lambda v: tuple(int(p) for p in v.split(".")))
    assert version == newest
    # The publishing account differs by region; the SDK's tables know it.
    assert pytorch_image_uri("af-south-1", "ml.m5.large", inference=False) == (
        f"626614931356.dkr.ecr.af-south-1.amazonaws.com/pytorch-training:{version}-cpu-{python}")
    assert pytorch_image_uri("us-east-1", "ml.g4dn.xlarge", inference=True) == (
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:{version}-gpu-{python}")
    with pytest.raises(ValueError, match="no PyTorch Deep Learning Container is listed for 'mars-north-1'"):
        pytorch_image_uri("mars-north-1", "ml.m5.large", inference=False)
