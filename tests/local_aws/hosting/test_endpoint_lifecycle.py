"""Endpoints served for real: a model trained by model_code/train.py, invoked through
sagemaker-runtime, replaced blue/green under load, rolled back, deleted."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError

from hosting_helpers import VARIANT, wait_while
from local_aws_testing import unique_name


def invoke(runtime, endpoint_name: str, image: bytes, **extra) -> tuple[list[dict], dict]:
    response = runtime.invoke_endpoint(
        EndpointName=endpoint_name, Body=image, ContentType="image/jpeg", Accept="application/json", **extra
    )
    return json.loads(response["Body"].read()), response


@pytest.mark.slow
def test_create_invoke_update_under_load_and_delete(
    sagemaker, runtime, create_model, create_config, trained_model_archive, digit_jpeg
):
    model = create_model(trained_model_archive)
    blue_config = create_config(model, variant="Blue")
    name = unique_name("endpoint")
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=blue_config)
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"

    described = wait_while(sagemaker, name, {"Creating"})
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    [variant] = described["ProductionVariants"]
    assert (variant["VariantName"], variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == ("Blue", 1, 1)

    predictions, response = invoke(runtime, name, digit_jpeg, CustomAttributes="trace=1")
    assert response["InvokedProductionVariant"] == "Blue"
    assert response["ContentType"] == "application/json"
    assert len(predictions) == 5
    assert {"label", "probability"} <= set(predictions[0])
    assert predictions == sorted(predictions, key=lambda p: p["probability"], reverse=True)

    green_config = create_config(model, count=2, variant="Green")
    served_by, failures = [], []
    stop = threading.Event()

    def keep_invoking():
        while not stop.is_set():
            try:
                served_by.append(invoke(runtime, name, digit_jpeg)[1]["InvokedProductionVariant"])
            except Exception as error:  # every failure is a lost request: the test counts them
                failures.append(error)

    with ThreadPoolExecutor(max_workers=3) as clients:
        for _ in range(3):
            clients.submit(keep_invoking)
        time.sleep(0.5)
        sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=green_config)
        assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Updating"
        described = wait_while(sagemaker, name, {"Updating"})
        time.sleep(0.5)
        stop.set()

    assert failures == []
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    assert described["EndpointConfigName"] == green_config
    assert [(v["VariantName"], v["CurrentInstanceCount"]) for v in described["ProductionVariants"]] == [("Green", 2)]
    # Traffic moved from the old fleet to the new one without a gap.
    assert served_by[0] == "Blue" and served_by[-1] == "Green"
    assert served_by.index("Green") > 0

    sagemaker.delete_endpoint(EndpointName=name)
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    with pytest.raises(ClientError) as raised:
        invoke(runtime, name, digit_jpeg)
    assert raised.value.response["Error"]["Code"] == "ValidationError"


@pytest.mark.slow
def test_a_model_that_fails_to_load_fails_the_endpoint(
    local_aws, sagemaker, create_model, create_config, broken_model_archive, endpoint
):
    name, described = endpoint(create_config(create_model(broken_model_archive)))
    assert described["EndpointStatus"] == "Failed"
    assert "did not pass the ping health check" in described["FailureReason"]
    assert "model.pth is missing from the archive" in described["FailureReason"]
    # The container's traceback is where SageMaker puts it: the endpoint's CloudWatch log group.
    logs = boto3.client("logs", **local_aws.client_kwargs)
    events = logs.filter_log_events(logGroupName=f"/aws/sagemaker/Endpoints/{name}")["events"]
    assert any("FileNotFoundError: model.pth is missing" in event["message"] for event in events)
    [stream] = logs.describe_log_streams(logGroupName=f"/aws/sagemaker/Endpoints/{name}")["logStreams"]
    assert stream["logStreamName"].startswith(f"{VARIANT}/")


@pytest.mark.slow
def test_a_failed_update_rolls_back_and_the_old_model_keeps_serving(
    sagemaker, runtime, create_model, create_config, trained_model_archive, broken_model_archive, digit_jpeg, endpoint
):
    good_config = create_config(create_model(trained_model_archive))
    name, described = endpoint(good_config)
    assert described["EndpointStatus"] == "InService"

    broken_config = create_config(create_model(broken_model_archive))
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=broken_config)
    pending = sagemaker.describe_endpoint(EndpointName=name)
    assert pending["PendingDeploymentSummary"]["EndpointConfigName"] == broken_config
    described = wait_while(sagemaker, name, {"Updating"})

    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == good_config
    assert "rolled back" in described["FailureReason"]
    assert "model.pth is missing from the archive" in described["FailureReason"]
    assert "PendingDeploymentSummary" not in described
    predictions, _ = invoke(runtime, name, digit_jpeg)
    assert len(predictions) == 5


@pytest.mark.slow
def test_model_errors_become_model_error_424(runtime, create_model, create_config, trained_model_archive, endpoint):
    name, _ = endpoint(create_config(create_model(trained_model_archive)))
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=name, Body=b"a,b", ContentType="text/csv")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 415
    assert "text/csv" in error["OriginalMessage"]
    assert error["Error"]["Message"].startswith("Received client error (415) from primary with message")
    assert error["LogStreamArn"].endswith(f":log-group:/aws/sagemaker/Endpoints/{name}")

    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=name, Body=b"x", ContentType="image/jpeg", TargetVariant="Nope")
    assert raised.value.response["Error"]["Code"] == "ValidationError"

    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=name, Body=b"x" * (6 * 1024 * 1024 + 1), ContentType="image/jpeg")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_unknown_endpoint_is_a_validation_error(runtime, local_aws):
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", Body=b"{}", ContentType="application/json")
    assert raised.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": "Endpoint no-such-endpoint of account 123456789012 not found.",
    }
