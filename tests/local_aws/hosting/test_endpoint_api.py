"""The endpoint-config and endpoint actions' answers and AWS-shaped refusals (no replica started)."""

import pytest
from botocore.exceptions import ClientError

from hosting_helpers import wait_while
from local_aws_testing import unique_name

ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def error_of(call, **params) -> dict:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]


def variant(model_name: str, **overrides) -> dict:
    return {"VariantName": "AllTraffic", "ModelName": model_name, "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large", **overrides}


@pytest.fixture(scope="module")
def model_name(create_model, broken_model_archive) -> str:
    return create_model(broken_model_archive)


def test_endpoint_configs_are_created_described_listed_and_deleted(sagemaker, model_name):
    name = unique_name("Config")
    arn = sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant(model_name)],
                                           Tags=[{"Key": "team", "Value": "ml"}])["EndpointConfigArn"]
    assert arn == f"{ACCOUNT_ARN}:endpoint-config/{name.lower()}"

    described = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert described["EndpointConfigArn"] == arn
    assert described["ProductionVariants"] == [variant(model_name)]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    listed = sagemaker.list_endpoint_configs(NameContains=name.lower())["EndpointConfigs"]
    assert [config["EndpointConfigName"] for config in listed] == [name]

    assert error_of(sagemaker.create_endpoint_config, EndpointConfigName=name,
                    ProductionVariants=[variant(model_name)]) == {
        "Code": "ValidationException",
        "Message": f'Cannot create already existing endpoint configuration "{arn}".',
    }
    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    assert error_of(sagemaker.describe_endpoint_config, EndpointConfigName=name) == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint configuration "{arn}".',
    }


def test_a_config_naming_an_unknown_model_is_refused(sagemaker):
    error = error_of(sagemaker.create_endpoint_config, EndpointConfigName=unique_name("config"),
                     ProductionVariants=[variant("no-such-model")])
    assert error == {"Code": "ValidationException",
                     "Message": f'Could not find model "{ACCOUNT_ARN}:model/no-such-model".'}


@pytest.mark.parametrize("extra, member", [
    ({"ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "{model}",
                              "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}}]},
     "ProductionVariants.ServerlessConfig"),
    ({"DataCaptureConfig": {"InitialSamplingPercentage": 100, "DestinationS3Uri": "s3://bucket/capture",
                            "CaptureOptions": [{"CaptureMode": "Input"}]}}, "DataCaptureConfig"),
    ({"ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "{model}", "InitialInstanceCount": 1,
                              "InstanceType": "ml.m5.large", "RoutingConfig": {"RoutingStrategy": "RANDOM"}}]},
     "routing strategy RANDOM"),
])
def test_features_local_aws_cannot_run_are_refused_by_name(sagemaker, model_name, extra, member):
    params = {"EndpointConfigName": unique_name("config"), "ProductionVariants": [variant(model_name)], **extra}
    params["ProductionVariants"] = [{**v, "ModelName": model_name} for v in params["ProductionVariants"]]
    error = error_of(sagemaker.create_endpoint_config, **params)
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith(f"local_aws does not support {member}.")


def test_variant_names_must_be_unique_and_counts_given(sagemaker, model_name):
    error = error_of(sagemaker.create_endpoint_config, EndpointConfigName=unique_name("config"),
                     ProductionVariants=[variant(model_name), variant(model_name)])
    assert "must be unique" in error["Message"]
    without_count = {key: value for key, value in variant(model_name).items() if key != "InitialInstanceCount"}
    error = error_of(sagemaker.create_endpoint_config, EndpointConfigName=unique_name("config"),
                     ProductionVariants=[without_count])
    assert error["Message"] == "InitialInstanceCount is required for production variant AllTraffic."


def test_endpoint_errors_use_aws_wording(sagemaker, model_name):
    missing = unique_name("endpoint")
    assert error_of(sagemaker.describe_endpoint, EndpointName=missing) == {
        "Code": "ValidationException", "Message": f'Could not find endpoint "{ACCOUNT_ARN}:endpoint/{missing}".'}
    assert error_of(sagemaker.create_endpoint, EndpointName=missing, EndpointConfigName="no-such-config") == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint configuration "{ACCOUNT_ARN}:endpoint-config/no-such-config".'}
    assert error_of(sagemaker.update_endpoint, EndpointName=missing, EndpointConfigName="no-such-config")[
        "Code"] == "ValidationException"
    assert error_of(sagemaker.delete_endpoint, EndpointName=missing)["Code"] == "ValidationException"


def test_rolling_updates_and_gradual_traffic_shifting_are_refused(sagemaker, model_name):
    config = unique_name("config")
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[variant(model_name)])
    canary = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
        "Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}
    error = error_of(sagemaker.create_endpoint, EndpointName=unique_name("endpoint"), EndpointConfigName=config,
                     DeploymentConfig=canary)
    assert error["Message"].startswith("local_aws does not support blue/green traffic routing CANARY.")


def test_a_creating_endpoint_cannot_be_updated_or_deleted_and_a_failed_one_is_listed(sagemaker, model_name):
    config = unique_name("config")
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[variant(model_name)])
    name = unique_name("endpoint")
    arn = sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)["EndpointArn"]
    assert arn == f"{ACCOUNT_ARN}:endpoint/{name}"
    assert error_of(sagemaker.create_endpoint, EndpointName=name, EndpointConfigName=config)["Message"] == (
        f'Cannot create already existing endpoint "{arn}".')
    if sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating":
        assert error_of(sagemaker.update_endpoint, EndpointName=name, EndpointConfigName=config)["Message"] == (
            f'Cannot update in-progress endpoint "{arn}".')
    described = wait_while(sagemaker, name, {"Creating"})
    assert described["EndpointStatus"] == "Failed"
    assert "ProductionVariants" not in described
    listed = sagemaker.list_endpoints(StatusEquals="Failed", NameContains=name)["Endpoints"]
    assert [(e["EndpointName"], e["EndpointStatus"]) for e in listed] == [(name, "Failed")]
    refused = error_of(sagemaker.update_endpoint, EndpointName=name, EndpointConfigName=config)
    assert refused["Code"] == "ValidationException" and "in status Failed" in refused["Message"]
    sagemaker.delete_endpoint(EndpointName=name)
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})


def _invoke_error(runtime, **options) -> str:
    request = {"EndpointName": "no-such-endpoint", "Body": b"{}", "ContentType": "application/json", **options}
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(**request)
    error = raised.value.response["Error"]
    assert (raised.value.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"]) == (400, "ValidationError")
    return error["Message"]


@pytest.mark.parametrize("options, named", [
    ({"CustomAttributes": "a" * 1025}, "customAttributes"),
    ({"InferenceId": "i" * 65}, "inferenceId"),
    ({"EndpointName": "e" * 200}, "endpointName"),
    ({"TargetVariant": "no spaces allowed"}, "targetVariant"),
])
def test_invoke_endpoint_options_are_held_to_aws_limits(runtime, options, named):
    message = _invoke_error(runtime, **options)
    assert f"at '{named}' failed to satisfy constraint" in message
    assert "a" * 300 not in message and "e" * 300 not in message  # a long value is never echoed whole


@pytest.mark.parametrize("options, named", [
    ({"InferenceComponentName": "component"}, "InferenceComponentName"),
    ({"SessionId": "NEW_SESSION"}, "SessionId"),
    ({"EnableExplanations": "`true`"}, "EnableExplanations"),
    ({"TargetModel": "model.tar.gz"}, "TargetModel"),
    ({"TargetContainerHostname": "second"}, "TargetContainerHostname"),
])
def test_invoke_endpoint_options_local_aws_cannot_honour_are_refused_by_name(runtime, options, named):
    assert f"does not support the InvokeEndpoint option(s) {named}" in _invoke_error(runtime, **options)


def test_invoke_endpoint_options_within_limits_reach_the_endpoint_lookup(runtime):
    message = _invoke_error(runtime, CustomAttributes="a" * 1024, InferenceId="run-1")
    assert message.startswith("Endpoint no-such-endpoint of account")


def test_an_endpoint_configs_kms_key_must_exist(sagemaker, model_name):
    error = error_of(sagemaker.create_endpoint_config, EndpointConfigName=unique_name("config"),
                     ProductionVariants=[variant(model_name)], KmsKeyId="alias/no-such-key")
    assert error["Code"] == "ValidationException" and "KmsKeyId: the KMS key alias/no-such-key does not exist" in \
        error["Message"]
