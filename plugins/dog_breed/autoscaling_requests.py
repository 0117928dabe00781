"""Application Auto Scaling requests for an endpoint variant, as pure builders: the scalable target and the
target-tracking policy on `SageMakerVariantInvocationsPerInstance` (the user's settings: min 1, max 3,
target 100 invocations per instance per minute, 30 s cooldowns)."""

from dataclasses import dataclass
from typing import Any

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
METRIC = "SageMakerVariantInvocationsPerInstance"


@dataclass(frozen=True)
class VariantScaling:
    endpoint_name: str
    variant_name: str = "AllTraffic"
    min_capacity: int = 1
    max_capacity: int = 3
    target_value: float = 100.0
    scale_in_cooldown: int = 30
    scale_out_cooldown: int = 30

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with these settings as (setting, problem); empty when they are usable."""
        found = []
        if self.min_capacity < 1:
            found.append(("min_capacity", f"must be at least 1, got {self.min_capacity}"))
        elif self.max_capacity < self.min_capacity:
            found.append(("max_capacity", f"must be at least min_capacity ({self.min_capacity}), "
                                          f"got {self.max_capacity}"))
        if not self.target_value > 0:
            found.append(("target_value", f"must be positive, got {self.target_value}"))
        for name in ("scale_in_cooldown", "scale_out_cooldown"):
            if getattr(self, name) < 0:
                found.append((name, f"must be 0 or more seconds, got {getattr(self, name)}"))
        return found

    @property
    def resource_id(self) -> str:
        return f"endpoint/{self.endpoint_name}/variant/{self.variant_name}"

    @property
    def policy_name(self) -> str:
        return f"{self.endpoint_name}-{self.variant_name}-invocations-per-instance"


def target_request(scaling: VariantScaling) -> dict[str, Any]:
    return {"ServiceNamespace": NAMESPACE, "ResourceId": scaling.resource_id, "ScalableDimension": DIMENSION,
            "MinCapacity": scaling.min_capacity, "MaxCapacity": scaling.max_capacity}


def policy_configuration(scaling: VariantScaling) -> dict[str, Any]:
    return {"TargetValue": float(scaling.target_value),
            "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
            "ScaleInCooldown": scaling.scale_in_cooldown, "ScaleOutCooldown": scaling.scale_out_cooldown}


def policy_request(scaling: VariantScaling) -> dict[str, Any]:
    return {"PolicyName": scaling.policy_name, "ServiceNamespace": NAMESPACE, "ResourceId": scaling.resource_id,
            "ScalableDimension": DIMENSION, "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": policy_configuration(scaling)}


def variants_to_release(current: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """The variants of an endpoint's `current` ProductionVariants that an update to `new` removes or gives
    another instance type: AWS fails such an update while they are scalable targets (a new model is allowed)."""
    new_types = {variant["VariantName"]: variant.get("InstanceType") for variant in new}
    return sorted(variant["VariantName"] for variant in current
                  if new_types.get(variant["VariantName"], "removed") != variant.get("InstanceType"))
