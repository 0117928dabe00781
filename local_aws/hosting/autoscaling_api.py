"""Application Auto Scaling on SageMaker variants: what local AWS's monitor (`monitor.py`, `autoscaling.py`) can
honour passes on to moto, which keeps the targets and policies; what it cannot is refused by name, never
stored and ignored.

For the `sagemaker` namespace: a `ResourceId` must be `endpoint/<name>/variant/<variant>` and the dimension
`sagemaker:variant:DesiredInstanceCount` (moto answers a malformed id with HTTP 500); a scaling policy needs
a registered scalable target, as AWS requires (`ObjectNotFoundException`); an UpdateEndpoint that removes a
registered variant or changes its instance type fails, and deleting an endpoint deregisters its variants, as
on AWS; `DescribeScalingActivities` answers the monitor's scaling (`scaling_activities.py`); only target tracking on the
predefined `SageMakerVariantInvocationsPerInstance` is honoured, so step scaling, customized metrics and
other predefined metrics are refused. Other namespaces are moto's alone.
"""

from werkzeug.wrappers import Response

from local_aws import protocol
from local_aws.exceptions import NotSupportedLocally, ValidationException, aws_error
from local_aws.hosting.autoscaling import (NAMESPACE, PREDEFINED_METRIC, SCALABLE_DIMENSION, parse_resource_id,
                                           resource_id)
from local_aws.hosting.scaling_activities import MAX_RESULTS, ScalingActivities
from local_aws.routing import around_moto

ObjectNotFoundException = aws_error("ObjectNotFoundException")


@around_moto("application-autoscaling", "RegisterScalableTarget")
def register_scalable_target(params: dict, ctx, moto) -> Response:
    _checked_variant(params)
    return moto().response()


@around_moto("application-autoscaling", "DeregisterScalableTarget")
def deregister_scalable_target(params: dict, ctx, moto) -> Response:
    _checked_variant(params)
    return moto().response()


@around_moto("application-autoscaling", "DeleteScalingPolicy")
def delete_scaling_policy(params: dict, ctx, moto) -> Response:
    _checked_variant(params)
    return moto().response()


@around_moto("application-autoscaling", "PutScalingPolicy")
def put_scaling_policy(params: dict, ctx, moto) -> Response:
    if params["ServiceNamespace"] != NAMESPACE:
        return moto().response()
    _checked_variant(params)
    if params.get("PolicyType", "StepScaling") != "TargetTrackingScaling":
        raise NotSupportedLocally("step scaling policies on SageMaker variants",
                                  f"Use TargetTrackingScaling on {PREDEFINED_METRIC}.")
    configuration = params.get("TargetTrackingScalingPolicyConfiguration", {})
    if "CustomizedMetricSpecification" in configuration:
        raise NotSupportedLocally("CustomizedMetricSpecification", f"Track the predefined {PREDEFINED_METRIC}.")
    metric = configuration.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
    if metric != PREDEFINED_METRIC:
        raise NotSupportedLocally(f"target tracking on {metric or 'no metric'}",
                                  f"Local AWS's endpoints publish and track {PREDEFINED_METRIC}.")
    registered = ctx.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[params["ResourceId"]],
        ScalableDimension=params["ScalableDimension"])["ScalableTargets"]
    if not registered:
        raise ObjectNotFoundException(
            f"No scalable target registered for service namespace: {NAMESPACE}, resource ID: {params['ResourceId']}, "
            f"scalable dimension: {params['ScalableDimension']}")
    return moto().response()


@around_moto("application-autoscaling", "DescribeScalingActivities")
def describe_scaling_activities(params: dict, ctx, moto) -> Response:
    """The monitor's scaling of SageMaker variants (moto implements the action for no namespace)."""
    if params["ServiceNamespace"] != NAMESPACE:
        return moto().response()
    ctx.authorize("application-autoscaling:DescribeScalingActivities", "*")
    if "ResourceId" in params:
        _checked_variant({"ServiceNamespace": NAMESPACE, "ResourceId": params["ResourceId"],
                          "ScalableDimension": params.get("ScalableDimension", SCALABLE_DIMENSION)})
    elif params.get("ScalableDimension", SCALABLE_DIMENSION) != SCALABLE_DIMENSION:
        raise ValidationException(f"Unsupported scalable dimension {params['ScalableDimension']!r} for service "
                                  f"namespace {NAMESPACE}: SageMaker variants scale {SCALABLE_DIMENSION}.")
    page = params.get("MaxResults", MAX_RESULTS)
    if not 1 <= page <= MAX_RESULTS:
        raise ValidationException(f"1 validation error detected: Value '{page}' at 'maxResults' failed to satisfy "
                                  f"constraint: Member must have value less than or equal to {MAX_RESULTS}")
    token = params.get("NextToken", "0")
    if not token.isdigit():
        raise ValidationException("Invalid NextToken")
    start = int(token)
    activities = ctx.state(ScalingActivities).newest_first(params.get("ResourceId"))
    answer = {"ScalingActivities": [activity.shape() for activity in activities[start:start + page]]}
    if start + page < len(activities):
        answer["NextToken"] = str(start + page)
    return Response(protocol.serialise(answer), status=200, content_type=protocol.JSON_CONTENT_TYPE)


def registered_variants(ctx, endpoint_name: str) -> list[str]:
    """The endpoint's variants registered as scalable targets."""
    pages = ctx.client("application-autoscaling").get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace=NAMESPACE, ScalableDimension=SCALABLE_DIMENSION)
    parsed = (parse_resource_id(target["ResourceId"]) for page in pages for target in page["ScalableTargets"])
    return sorted(variant for endpoint, variant in filter(None, parsed) if endpoint == endpoint_name)


def check_update_keeps_scaled_variants(ctx, endpoint_name: str, current: list[dict], new: list[dict]) -> None:
    """AWS fails an UpdateEndpoint that removes a variant registered with Application Auto Scaling or changes
    its instance type (a changed model is allowed): deregister it first, register it again after."""
    new_types = {variant["VariantName"]: variant.get("InstanceType") for variant in new}
    current_types = {variant["VariantName"]: variant.get("InstanceType") for variant in current}
    blocked = [name for name in registered_variants(ctx, endpoint_name)
               if name in current_types and new_types.get(name, object()) != current_types[name]]
    if blocked:
        raise ValidationException(
            f"The variant(s) \"{blocked}\" must be deregistered as scalable targets with AWS Application Auto "
            "Scaling before they can be removed or have their instance type updated.")


def deregister_endpoint(ctx, endpoint_name: str) -> None:
    """What AWS does when an endpoint is deleted: its variants' scalable targets (and policies) go with it."""
    client = ctx.client("application-autoscaling")
    for variant in registered_variants(ctx, endpoint_name):
        client.deregister_scalable_target(ServiceNamespace=NAMESPACE, ScalableDimension=SCALABLE_DIMENSION,
                                          ResourceId=resource_id(endpoint_name, variant))


def _checked_variant(params: dict) -> None:
    if params.get("ServiceNamespace") != NAMESPACE:
        return
    if parse_resource_id(params["ResourceId"]) is None:
        raise ValidationException(f"Unsupported resource ID {params['ResourceId']!r} for service namespace "
                                  f"{NAMESPACE}: it must be endpoint/<endpoint name>/variant/<variant name>.")
    if params["ScalableDimension"] != SCALABLE_DIMENSION:
        raise ValidationException(f"Unsupported scalable dimension {params['ScalableDimension']!r} for "
                                  f"{params['ResourceId']}: SageMaker variants scale {SCALABLE_DIMENSION}.")

