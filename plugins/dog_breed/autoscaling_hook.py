"""Application Auto Scaling for an endpoint variant: every boto3 call the autoscaling operator makes."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from dog_breed.autoscaling_requests import (DIMENSION, NAMESPACE, VariantScaling, policy_configuration, policy_request,
                                            target_request)


class EndpointAutoscalingHook(AwsBaseHook):
    def __init__(self, *args: Any, **kwargs: Any):
        kwargs["client_type"] = "application-autoscaling"
        super().__init__(*args, **kwargs)

    def register(self, scaling: VariantScaling) -> bool:
        """Register the variant's target and put its policy, each only when it differs from what is there;
        whether anything changed."""
        changed = False
        target = self.target(scaling)
        wanted = target_request(scaling)
        if target is None or (target["MinCapacity"], target["MaxCapacity"]) != (wanted["MinCapacity"],
                                                                               wanted["MaxCapacity"]):
            self.conn.register_scalable_target(**wanted)
            changed = True
        policy = self.policy(scaling)
        if policy is None or policy.get("TargetTrackingScalingPolicyConfiguration") != policy_configuration(scaling):
            self.conn.put_scaling_policy(**policy_request(scaling))
            changed = True
        return changed

    def deregister(self, scaling: VariantScaling) -> bool:
        """Remove the variant's target (and with it its policies); False when none was registered."""
        if self.target(scaling) is None:
            return False
        self.conn.deregister_scalable_target(ServiceNamespace=NAMESPACE, ResourceId=scaling.resource_id,
                                             ScalableDimension=DIMENSION)
        return True

    def release(self, endpoint_name: str, variants: list[str]) -> list[str]:
        """Deregister those of `variants` that are registered (before an update AWS forbids under them); the
        deregistered ones, which the autoscaling task registers again after the update."""
        return [variant for variant in variants if self.deregister(VariantScaling(endpoint_name, variant))]

    def target(self, scaling: VariantScaling) -> dict[str, Any] | None:
        found = self.conn.describe_scalable_targets(ServiceNamespace=NAMESPACE, ResourceIds=[scaling.resource_id],
                                                    ScalableDimension=DIMENSION)["ScalableTargets"]
        return found[0] if found else None

    def policy(self, scaling: VariantScaling) -> dict[str, Any] | None:
        found = self.conn.describe_scaling_policies(ServiceNamespace=NAMESPACE, ResourceId=scaling.resource_id,
                                                    ScalableDimension=DIMENSION,
                                                    PolicyNames=[scaling.policy_name])["ScalingPolicies"]
        return found[0] if found else None
