"""The Airflow Amazon provider's SageMakerEndpointOperator deploys and redeploys against the edge,
knowing only AWS_ENDPOINT_URL."""

import pytest

from hosting_helpers import BUCKET
from local_aws_testing import INFERENCE_IMAGE, ROLE, unique_name


def endpoint_operator(task_id: str, config: dict, operation: str):
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerEndpointOperator

    return SageMakerEndpointOperator(
        task_id=task_id, config=config, operation=operation, aws_conn_id=None, check_interval=1,
        max_ingestion_time=300,
    )


def deployment_config(model_name: str, data_url: str, config_name: str, endpoint_name: str) -> dict:
    return {
        "Model": {
            "ModelName": model_name,
            "PrimaryContainer": {"Image": INFERENCE_IMAGE, "ModelDataUrl": data_url},
            "ExecutionRoleArn": ROLE,
        },
        "EndpointConfig": {
            "EndpointConfigName": config_name,
            # Templated configs arrive as strings; the operator casts the count back.
            "ProductionVariants": [{
                "VariantName": "AllTraffic", "ModelName": model_name,
                "InitialInstanceCount": "1", "InstanceType": "ml.m5.large",
            }],
        },
        "Endpoint": {"EndpointName": endpoint_name, "EndpointConfigName": config_name},
    }


@pytest.mark.slow
def test_the_endpoint_operator_creates_then_updates_an_endpoint(aws_env, s3, sagemaker, trained_model_archive):
    key = f"{unique_name('operator')}/model.tar.gz"
    s3.upload_file(str(trained_model_archive), BUCKET, key)
    data_url = f"s3://{BUCKET}/{key}"
    endpoint_name = unique_name("operator-endpoint")

    first = deployment_config(unique_name("model"), data_url, unique_name("config"), endpoint_name)
    created = endpoint_operator("deploy", first, "create").execute(context={})
    assert created["Endpoint"]["EndpointStatus"] == "InService"
    assert created["EndpointConfig"]["EndpointConfigName"] == first["EndpointConfig"]["EndpointConfigName"]

    # A second "create" of the same endpoint is turned into an update by the operator itself,
    # which relies on AWS's "Cannot create already existing endpoint" wording.
    second = deployment_config(unique_name("model"), data_url, unique_name("config"), endpoint_name)
    updated = endpoint_operator("redeploy", second, "create").execute(context={})
    assert updated["Endpoint"]["EndpointStatus"] == "InService"
    assert updated["Endpoint"]["EndpointConfigName"] == second["EndpointConfig"]["EndpointConfigName"]

    third = deployment_config(unique_name("model"), data_url, unique_name("config"), endpoint_name)
    updated = endpoint_operator("update", third, "update").execute(context={})
    assert updated["Endpoint"]["EndpointConfigName"] == third["EndpointConfig"]["EndpointConfigName"]
    assert updated["Endpoint"]["ProductionVariants"][0]["CurrentInstanceCount"] == 1

    sagemaker.delete_endpoint(EndpointName=endpoint_name)
