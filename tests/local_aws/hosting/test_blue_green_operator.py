"""The pipeline's endpoint operator and the project hook under it, against local AWS: it creates an
endpoint, leaves one that already serves its config alone, updates one that serves another config
blue/green, fails clearly when the update was rolled back, and refuses a Failed endpoint."""

import boto3
import pytest
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from airflow.providers.common.compat.sdk import AirflowException, TaskDeferred

from dog_breed.operators import BlueGreenEndpointOperator
from hosting_helpers import VARIANT, wait_while
from local_aws_testing import unique_name


def deployment(model_name: str, endpoint_name: str) -> dict:
    config_name = unique_name("config")
    return {
        "EndpointConfig": {"EndpointConfigName": config_name, "ProductionVariants": [{
            "VariantName": VARIANT, "ModelName": model_name, "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large"}]},
        "Endpoint": {"EndpointName": endpoint_name, "EndpointConfigName": config_name},
    }


def operator(config: dict, rollback_alarm: dict | None = None, deferrable: bool = False):
    return BlueGreenEndpointOperator(task_id="deploy", config=config, rollback_alarm=rollback_alarm,
                                     aws_conn_id=None, check_interval=1, max_ingestion_time=300,
                                     deferrable=deferrable)


@pytest.fixture
def endpoint_name(sagemaker):
    name = unique_name("blue-green")
    yield name
    try:
        sagemaker.delete_endpoint(EndpointName=name)
    except sagemaker.exceptions.ClientError:
        pass


@pytest.mark.slow
def test_creates_leaves_alone_then_updates_blue_green(aws_env, local_aws, sagemaker, create_model,
                                                      probe_model_archive, endpoint_name):
    model = create_model(probe_model_archive)
    alarm = {"AlarmName": unique_name("rollback"), "MetricName": "Invocation5XXErrors", "Namespace": "AWS/SageMaker",
             "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0,
             "ComparisonOperator": "GreaterThanOrEqualToThreshold",
             "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name},
                            {"Name": "VariantName", "Value": VARIANT}]}
    first = deployment(model, endpoint_name)

    created = operator(first, rollback_alarm=alarm).execute({})["Endpoint"]
    assert created["EndpointStatus"] == "InService"
    assert created["EndpointConfigName"] == first["Endpoint"]["EndpointConfigName"]
    cloudwatch = boto3.client("cloudwatch", **local_aws.client_kwargs)
    assert [a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])
            ["MetricAlarms"]] == [alarm["AlarmName"]]

    again = operator(first).execute({})["Endpoint"]
    assert again["EndpointConfigName"] == first["Endpoint"]["EndpointConfigName"]
    assert again["LastModifiedTime"] == created["LastModifiedTime"], "an endpoint serving the config is left alone"

    second = deployment(model, endpoint_name)
    updated = operator(second).execute({})["Endpoint"]
    assert updated["EndpointStatus"] == "InService"
    assert updated["EndpointConfigName"] == second["Endpoint"]["EndpointConfigName"]


@pytest.mark.slow
def test_a_rolled_back_update_fails_the_task_naming_the_config_still_served(
    aws_env, sagemaker, create_model, probe_model_archive, broken_model_archive, endpoint_name
):
    good = deployment(create_model(probe_model_archive), endpoint_name)
    operator(good).execute({})
    broken = deployment(create_model(broken_model_archive), endpoint_name)

    with pytest.raises(AirflowException, match=f"the deployment of {broken['Endpoint']['EndpointConfigName']} "
                       f"was rolled back: endpoint {endpoint_name} still serves "
                       f"{good['Endpoint']['EndpointConfigName']}.*model.pth is missing"):
        operator(broken).execute({})


@pytest.mark.slow
def test_a_deferred_update_that_was_rolled_back_fails_when_the_task_resumes(
    aws_env, sagemaker, create_model, probe_model_archive, broken_model_archive, endpoint_name
):
    operator(deployment(create_model(probe_model_archive), endpoint_name)).execute({})
    broken = deployment(create_model(broken_model_archive), endpoint_name)
    deferred_operator = operator(broken, deferrable=True)

    with pytest.raises(TaskDeferred) as deferred:
        deferred_operator.execute({})
    assert isinstance(deferred.value.trigger, SageMakerTrigger)
    assert deferred.value.trigger.serialize()[1]["job_type"] == "endpoint"
    wait_while(sagemaker, endpoint_name, {"Updating"})

    with pytest.raises(AirflowException, match="was rolled back"):
        deferred_operator.execute_complete({}, {"status": "success", "job_name": endpoint_name})


@pytest.mark.slow
def test_a_failed_endpoint_is_refused_with_what_to_do(aws_env, sagemaker, create_model, create_config,
                                                     probe_model_archive, broken_model_archive, endpoint_name):
    sagemaker.create_endpoint(EndpointName=endpoint_name,
                              EndpointConfigName=create_config(create_model(broken_model_archive)))
    assert wait_while(sagemaker, endpoint_name, {"Creating"})["EndpointStatus"] == "Failed"

    with pytest.raises(AirflowException, match=f"endpoint {endpoint_name} is Failed .*dog_breed_teardown"):
        operator(deployment(create_model(probe_model_archive), endpoint_name)).execute({})
