"""BlueGreenUpdatePolicy's waits honoured (issue 15's pretences): the new fleet serves while the update
bakes for WaitIntervalInSeconds (still Updating, its variant Baking), then InService; a new fleet that is
not healthy within MaximumExecutionTimeoutInSeconds (less the waits) is rolled back; a timeout no larger
than the waits is refused as AWS documents."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from hosting_helpers import wait_while

SLOW_TO_LOAD = """
    import time

    def model_fn(model_dir):
        time.sleep(60)

    def transform_fn(model, body, content_type, accept):
        return body
"""


def pid_of(runtime, name: str) -> int:
    return json.loads(runtime.invoke_endpoint(EndpointName=name, Body=b"ping", ContentType="text/plain")["Body"].read())[
        "pid"]


def blue_green(bake: int = 0, **policy) -> dict:
    return {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE",
                                                                      "WaitIntervalInSeconds": bake}, **policy}}


def test_the_new_fleet_serves_while_the_update_bakes_then_the_endpoint_is_in_service(
        sagemaker, runtime, create_model, create_config, probe_model_archive, endpoint):
    blue = create_config(create_model(probe_model_archive))
    name, _ = endpoint(blue)
    old_pid = pid_of(runtime, name)
    green = create_config(create_model(probe_model_archive))
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=green, DeploymentConfig=blue_green(bake=4))
    deadline = time.monotonic() + 60
    while pid_of(runtime, name) == old_pid:  # until traffic shifts to the new fleet
        assert time.monotonic() < deadline
        time.sleep(0.1)
    baking = sagemaker.describe_endpoint(EndpointName=name)
    assert baking["EndpointStatus"] == "Updating" and baking["EndpointConfigName"] == blue
    assert baking["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Baking"
    done = wait_while(sagemaker, name, {"Updating"})
    assert (done["EndpointStatus"], done["EndpointConfigName"]) == ("InService", green)
    assert done["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"] == 4


def test_a_fleet_not_healthy_within_the_execution_timeout_is_rolled_back(
        sagemaker, runtime, create_model, create_config, probe_model_archive, endpoint, tmp_path, monkeypatch, s3):
    from hosting_helpers import archive, write_model_dir

    blue = create_config(create_model(probe_model_archive))
    name, _ = endpoint(blue)
    monkeypatch.setenv("LOCAL_AWS_TIME_SCALE", "300")  # 600 s of AWS time last 2 s
    slow = create_config(create_model(archive(write_model_dir(tmp_path / "slow", SLOW_TO_LOAD))))
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=slow,
                              DeploymentConfig=blue_green(MaximumExecutionTimeoutInSeconds=600))
    described = wait_while(sagemaker, name, {"Updating"})
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", blue)
    assert "exceeded its MaximumExecutionTimeoutInSeconds (600 s)" in described["FailureReason"]
    assert pid_of(runtime, name)  # the old fleet still serves


def test_an_execution_timeout_no_larger_than_the_waits_is_refused(sagemaker, create_model, create_config,
                                                                  probe_model_archive, endpoint):
    name, _ = endpoint(create_config(create_model(probe_model_archive)))
    with pytest.raises(ClientError, match="MaximumExecutionTimeoutInSeconds must be larger"):
        sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=create_config(create_model(probe_model_archive)),
                                  DeploymentConfig=blue_green(bake=600, MaximumExecutionTimeoutInSeconds=600))


def test_an_update_whose_rollback_alarm_fires_while_baking_is_rolled_back(
        sagemaker, runtime, create_model, create_config, probe_model_archive, endpoint, local_aws, monkeypatch):
    import uuid

    import boto3

    monkeypatch.setenv("LOCAL_AWS_TIME_SCALE", "60")  # alarms are evaluated every second; the 600 s bake lasts 10 s
    cloudwatch = boto3.client("cloudwatch", **local_aws.client_kwargs)
    alarm = f"errors-{uuid.uuid4().hex[:6]}"
    dimensions = [{"Name": "Deployment", "Value": alarm}]
    cloudwatch.put_metric_alarm(AlarmName=alarm, Namespace="Test/Rollback", MetricName="Errors", Dimensions=dimensions,
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=0,
                                ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    blue = create_config(create_model(probe_model_archive))
    name, _ = endpoint(blue)
    old_pid = pid_of(runtime, name)
    green = create_config(create_model(probe_model_archive))
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=green, DeploymentConfig={
        **blue_green(bake=600), "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]}})
    deadline = time.monotonic() + 60
    while pid_of(runtime, name) == old_pid:  # the new fleet serves: the update bakes
        assert time.monotonic() < deadline
        time.sleep(0.1)
    cloudwatch.put_metric_data(Namespace="Test/Rollback", MetricData=[
        {"MetricName": "Errors", "Dimensions": dimensions, "Value": 1, "StorageResolution": 1}])
    described = wait_while(sagemaker, name, {"Updating"})
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", blue)
    assert f"the alarm {alarm} went into ALARM while the update baked" in described["FailureReason"]
    assert pid_of(runtime, name) == old_pid  # traffic is back on the old fleet
