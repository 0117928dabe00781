"""Target tracking on InvocationsPerInstance: the rule on plain data, then replicas really scaling
1 -> 3 -> 1 under load with compressed time, and the metrics that drove it in CloudWatch."""

import datetime
import json
import threading
import time

import pytest

from hosting_helpers import VARIANT, wait_while
from local_aws.hosting.autoscaling import (
    SCALE_IN_PERIODS,
    ScalingHistory,
    TrackedVariant,
    cause,
    desired_capacity,
    tracked_variants,
)

RESOURCE_ID = "endpoint/shop/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def variant(**overrides) -> TrackedVariant:
    settings = dict(endpoint_name="shop", variant_name="AllTraffic", min_capacity=1, max_capacity=3,
                    target_value=100.0, scale_out_cooldown=30, scale_in_cooldown=30, disable_scale_in=False,
                    scale_out_suspended=False)
    return TrackedVariant(**{**settings, **overrides})


def history(*rates: float, **times: float) -> ScalingHistory:
    recorded = ScalingHistory(**times)
    recorded.rates.extend(rates)
    return recorded


def same_clock(seconds: float) -> float:
    return seconds


def test_scales_out_after_three_periods_above_target_to_the_proportional_capacity():
    assert desired_capacity(variant(), history(150, 210), 1, now=1000, seconds=same_clock) is None
    assert desired_capacity(variant(), history(150, 210, 180), 1, now=1000, seconds=same_clock) == 2
    assert desired_capacity(variant(), history(150, 210, 250), 1, now=1000, seconds=same_clock) == 3
    assert desired_capacity(variant(), history(500, 500, 900), 1, now=1000, seconds=same_clock) == 3


def test_scale_out_waits_for_its_cooldown():
    recent = history(300, 300, 300, last_scale_out=990)
    assert desired_capacity(variant(), recent, 1, now=1000, seconds=same_clock) is None
    assert desired_capacity(variant(), recent, 1, now=1021, seconds=same_clock) == 3
    assert desired_capacity(variant(scale_out_suspended=True), recent, 1, now=1021, seconds=same_clock) is None


def test_scales_in_only_after_fifteen_periods_well_below_target():
    low = [10.0] * SCALE_IN_PERIODS
    assert desired_capacity(variant(), history(*low[1:]), 3, now=1000, seconds=same_clock) is None
    assert desired_capacity(variant(), history(*low[:-1], 95), 3, now=1000, seconds=same_clock) is None
    assert desired_capacity(variant(), history(*low), 3, now=1000, seconds=same_clock) == 1
    assert desired_capacity(variant(), history(*low, last_scale_in=990), 3, now=1000, seconds=same_clock) is None
    assert desired_capacity(variant(disable_scale_in=True), history(*low), 3, now=1000, seconds=same_clock) is None


def test_capacity_is_brought_within_bounds_at_once():
    assert desired_capacity(variant(min_capacity=2), history(), 1, now=0, seconds=same_clock) == 2
    assert desired_capacity(variant(max_capacity=2), history(), 3, now=0, seconds=same_clock) == 2


def test_cooldowns_follow_the_time_scale():
    recent = history(300, 300, 300, last_scale_out=100)
    compressed = lambda seconds: seconds / 60  # noqa: E731  (LOCAL_AWS_TIME_SCALE=60)
    assert desired_capacity(variant(), recent, 1, now=100.4, seconds=compressed) is None
    assert desired_capacity(variant(), recent, 1, now=100.6, seconds=compressed) == 3


def test_a_scaling_activitys_cause_names_the_rule_that_fired_and_the_policy():
    tracked = variant(policy_name="invocations", min_capacity=2)
    assert cause(tracked, 1, 2) == "minimum capacity was set to 2"
    assert cause(variant(max_capacity=2), 3, 2) == "maximum capacity was set to 2"
    assert cause(variant(policy_name="p"), 1, 3) == (
        "target tracking on SageMakerVariantInvocationsPerInstance (3 of 3 periods above 100 invocations per "
        "instance) triggered policy p")
    assert "(15 of 15 periods below 90% of 100 invocations per instance)" in cause(variant(), 3, 1)


def test_only_target_tracking_on_the_predefined_sagemaker_metric_is_tracked():
    targets = [{"ResourceId": RESOURCE_ID, "ScalableDimension": DIMENSION, "MinCapacity": 1, "MaxCapacity": 3}]
    tracking = {"TargetValue": 100.0, "ScaleInCooldown": 30, "ScaleOutCooldown": 30,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}
    custom = {"TargetValue": 1.0, "CustomizedMetricSpecification": {"MetricName": "CPUUtilization"}}
    policies = [
        {"ResourceId": RESOURCE_ID, "TargetTrackingScalingPolicyConfiguration": tracking},
        {"ResourceId": RESOURCE_ID, "TargetTrackingScalingPolicyConfiguration": custom},
        {"ResourceId": "endpoint/other/variant/AllTraffic", "TargetTrackingScalingPolicyConfiguration": tracking},
    ]
    assert tracked_variants(targets, policies) == [variant()]


@pytest.fixture
def compressed_time(monkeypatch):
    """One metric minute per second, cooldowns alike."""
    monkeypatch.setenv("LOCAL_AWS_TIME_SCALE", "60")


def instance_counts(sagemaker, name: str) -> tuple[str, int, int]:
    described = sagemaker.describe_endpoint(EndpointName=name)
    [production_variant] = described["ProductionVariants"]
    return (described["EndpointStatus"], production_variant["CurrentInstanceCount"],
            production_variant["DesiredInstanceCount"])


def wait_for_instances(sagemaker, name: str, count: int, timeout: float) -> float:
    started = time.monotonic()
    while instance_counts(sagemaker, name) != ("InService", count, count):
        assert time.monotonic() - started < timeout, instance_counts(sagemaker, name)
        time.sleep(0.25)
    return time.monotonic() - started


@pytest.mark.slow
def test_an_endpoint_scales_out_under_load_and_back_in_when_idle(
    compressed_time, local_aws, sagemaker, runtime, create_model, create_config, trained_model_archive,
    digit_jpeg, endpoint,
):
    import boto3

    name, described = endpoint(create_config(create_model(trained_model_archive)))
    assert described["EndpointStatus"] == "InService"
    scaling = boto3.client("application-autoscaling", **local_aws.client_kwargs)
    resource_id = f"endpoint/{name}/variant/{VARIANT}"
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=DIMENSION,
        MinCapacity=1, MaxCapacity=3,
    )
    # The user's document: target 100 invocations per instance per minute, 30 s cooldowns. At one
    # metric minute per second, 100 per minute is 100 requests per second per instance, so the
    # target here is 10 per minute to stay light on a shared 2-core machine.
    scaling.put_scaling_policy(
        PolicyName="invocations-per-instance", ServiceNamespace="sagemaker", ResourceId=resource_id,
        ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 10.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleOutCooldown": 30,
            "ScaleInCooldown": 30,
        },
    )

    stop = threading.Event()
    sent = []

    def load():
        while not stop.is_set():
            runtime.invoke_endpoint(EndpointName=name, Body=digit_jpeg, ContentType="image/jpeg")
            sent.append(1)
            time.sleep(0.02)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        wait_for_instances(sagemaker, name, 3, timeout=60)
    finally:
        stop.set()
        worker.join()
    # Idle: fifteen metric minutes below 90% of the target, then one scale-in to the minimum.
    wait_for_instances(sagemaker, name, 1, timeout=60)
    response = runtime.invoke_endpoint(EndpointName=name, Body=digit_jpeg, ContentType="image/jpeg")
    assert json.loads(response["Body"].read())

    # What scaled, when and why, as a user reads it from Application Auto Scaling.
    activities = scaling.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=resource_id)[
        "ScalingActivities"]
    assert [a["StatusCode"] for a in activities] == ["Successful"] * len(activities) and len(activities) >= 2
    assert activities[0]["Description"] == "Setting desired instance count to 1."
    assert "15 of 15 periods below 90% of 10" in activities[0]["Cause"]
    assert activities[-1]["Description"] != "Setting desired instance count to 1."
    assert "3 of 3 periods above 10" in activities[-1]["Cause"]
    assert all(a["Cause"].endswith("triggered policy invocations-per-instance") for a in activities)
    assert all(a["StartTime"] <= a["EndTime"] for a in activities)
    assert activities[0]["StatusMessage"] == ("Successfully set desired instance count to 1. Change successfully "
                                              "fulfilled by sagemaker.")
    first_page = scaling.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=resource_id, MaxResults=1)
    assert first_page["ScalingActivities"][0]["ActivityId"] == activities[0]["ActivityId"] and "NextToken" in first_page

    cloudwatch = boto3.client("cloudwatch", **local_aws.client_kwargs)
    dimensions = [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": VARIANT}]
    now = datetime.datetime.now(datetime.timezone.utc)
    window = dict(Namespace="AWS/SageMaker", Dimensions=dimensions, StartTime=now - datetime.timedelta(minutes=10),
                  EndTime=now + datetime.timedelta(minutes=1), Period=600)
    invocations = cloudwatch.get_metric_statistics(MetricName="Invocations", Statistics=["Sum"], **window)
    assert 0 < invocations["Datapoints"][0]["Sum"] <= len(sent) + 1
    latency = cloudwatch.get_metric_statistics(MetricName="ModelLatency", Statistics=["Average", "Maximum"], **window)
    assert latency["Datapoints"][0]["Unit"] == "Microseconds"
    assert 0 < latency["Datapoints"][0]["Average"] <= latency["Datapoints"][0]["Maximum"] < 60_000_000
    per_instance = cloudwatch.get_metric_statistics(MetricName="InvocationsPerInstance", Statistics=["Maximum"], **window)
    assert per_instance["Datapoints"][0]["Maximum"] > 10.0


def test_what_the_monitor_cannot_honour_is_refused_and_a_policy_needs_a_registered_target(local_aws):
    import boto3
    from botocore.exceptions import ClientError

    scaling = boto3.client("application-autoscaling", **local_aws.client_kwargs)
    resource_id = "endpoint/not-registered/variant/AllTraffic"
    tracking = {"TargetValue": 10.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}

    def code(call, **params) -> str:
        with pytest.raises(ClientError) as refused:
            call(ServiceNamespace="sagemaker", ScalableDimension=DIMENSION, **params)
        return refused.value.response["Error"]["Code"]

    assert code(scaling.describe_scaling_activities, ResourceId="endpoint/missing-variant") == "ValidationException"
    assert code(scaling.describe_scaling_activities, MaxResults=51) == "ValidationException"
    assert code(scaling.describe_scaling_activities, NextToken="not-ours") == "ValidationException"
    policy = {"PolicyName": "p", "ResourceId": resource_id}
    assert code(scaling.put_scaling_policy, PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration=tracking, **policy) == "ObjectNotFoundException"
    assert code(scaling.register_scalable_target, ResourceId="endpoint/missing-variant", MinCapacity=1,
                MaxCapacity=2) == "ValidationException"
    scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=DIMENSION,
                                     MinCapacity=1, MaxCapacity=2)
    for refused in ({"PolicyType": "StepScaling", "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity"}},
                    {"PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": {
                        "TargetValue": 1.0, "CustomizedMetricSpecification": {
                            "MetricName": "CPUUtilization", "Namespace": "/aws/sagemaker/Endpoints", "Statistic": "Average"}}}):
        assert code(scaling.put_scaling_policy, **policy, **refused) == "ValidationException"
    assert not scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource_id)["ScalingPolicies"]
    scaling.put_scaling_policy(ServiceNamespace="sagemaker", ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
                               TargetTrackingScalingPolicyConfiguration=tracking, **policy)
    scaling.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=DIMENSION)


@pytest.mark.slow
def test_an_update_may_change_a_scaled_variants_model_but_not_its_instance_type_and_deleting_deregisters(
    local_aws, sagemaker, create_model, create_config, trained_model_archive, endpoint,
):
    import boto3
    from botocore.exceptions import ClientError

    name, _ = endpoint(create_config(create_model(trained_model_archive)))
    scaling = boto3.client("application-autoscaling", **local_aws.client_kwargs)
    target = {"ServiceNamespace": "sagemaker", "ResourceId": f"endpoint/{name}/variant/{VARIANT}",
              "ScalableDimension": DIMENSION}
    scaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=2)

    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=create_config(create_model(trained_model_archive)))
    assert wait_while(sagemaker, name, {"Updating"})["EndpointStatus"] == "InService", "a new model is allowed"

    bigger = f"{name}-bigger"
    sagemaker.create_endpoint_config(EndpointConfigName=bigger, ProductionVariants=[{
        "VariantName": VARIANT, "ModelName": create_model(trained_model_archive), "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.xlarge"}])
    with pytest.raises(ClientError, match="must be deregistered as scalable targets"):
        sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=bigger)
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    scaling.deregister_scalable_target(**target)
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=bigger)
    assert wait_while(sagemaker, name, {"Updating"})["EndpointStatus"] == "InService"

    scaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=2)
    sagemaker.delete_endpoint(EndpointName=name)
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker",
                                             ResourceIds=[target["ResourceId"]])["ScalableTargets"] == []
