"""`EndpointAutoscalingOperator`: registers an endpoint variant with Application Auto Scaling, a target-tracking
policy on `SageMakerVariantInvocationsPerInstance`; idempotent (what is unchanged is left alone, a change is
applied). On AWS it relies on the service-linked role `AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`
(created by the first registration) and a caller allowed `application-autoscaling:RegisterScalableTarget`,
`PutScalingPolicy`, `Describe*`, `sagemaker:DescribeEndpoint`, `sagemaker:UpdateEndpointWeightsAndCapacities`,
`cloudwatch:PutMetricAlarm`, `DescribeAlarms`, `DeleteAlarms` and `iam:CreateServiceLinkedRole`, as AWS lists them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.operators.sagemaker import serialize
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from dog_breed.autoscaling_hook import EndpointAutoscalingHook
from dog_breed.autoscaling_requests import VariantScaling
from dog_breed.operator_settings import checked


class EndpointAutoscalingOperator(AwsBaseOperator[EndpointAutoscalingHook]):
    """Register `endpoint_name`'s `variant_name` between `min_capacity` and `max_capacity` instances, tracking
    `target_value` invocations per instance per minute; returns the variant's scalable target and policies."""

    aws_hook_class = EndpointAutoscalingHook
    template_fields: Sequence[str] = aws_template_fields(
        "endpoint_name", "variant_name", "min_capacity", "max_capacity", "target_value", "scale_in_cooldown",
        "scale_out_cooldown")

    def __init__(self, *, endpoint_name: str, variant_name: str = "AllTraffic", min_capacity: int | str = 1,
                 max_capacity: int | str = 3, target_value: float | str = 100.0, scale_in_cooldown: int | str = 30,
                 scale_out_cooldown: int | str = 30, **kwargs: Any):
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name
        self.variant_name = variant_name
        self.min_capacity = min_capacity
        self.max_capacity = max_capacity
        self.target_value = target_value
        self.scale_in_cooldown = scale_in_cooldown
        self.scale_out_cooldown = scale_out_cooldown

    def scaling(self) -> VariantScaling:
        """The settings, with the numbers Jinja renders as text made numbers again."""
        return checked(lambda: VariantScaling(
            self.endpoint_name, self.variant_name, int(self.min_capacity), int(self.max_capacity),
            float(self.target_value), int(self.scale_in_cooldown), int(self.scale_out_cooldown)),
            "autoscaling settings")

    def execute(self, context: Any) -> dict[str, Any]:
        scaling = self.scaling()
        changed = self.hook.register(scaling)
        self.log.info("%s %s: %d to %d instances, target %s invocations per instance", scaling.resource_id,
                      "registered" if changed else "unchanged", scaling.min_capacity, scaling.max_capacity,
                      scaling.target_value)
        return serialize({"ResourceId": scaling.resource_id, "Changed": changed,
                          "ScalableTarget": self.hook.target(scaling), "ScalingPolicy": self.hook.policy(scaling)})
