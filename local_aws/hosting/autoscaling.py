"""Target tracking on ``SageMakerVariantInvocationsPerInstance``, decided from per-period rates.

Application Auto Scaling's target tracking drives two CloudWatch alarms; this module applies the
same rule to the per-minute ``InvocationsPerInstance`` values the monitor publishes:

- scale out when the last 3 periods are all above the target value (AWS's high alarm: 3 of 3
  one-minute datapoints), to ``ceil(capacity * rate / target)``, at most once per
  ``ScaleOutCooldown``;
- scale in when the last 15 periods are all below 90% of the target (AWS's low alarm: 15 of 15),
  to the same formula, unless ``DisableScaleIn`` (or scale-in is suspended), at most once per ``ScaleInCooldown`` and not
  during a scale-out cooldown;
- always within ``MinCapacity`` and ``MaxCapacity``; suspended dynamic scale-out is honoured too.

Pure functions over plain data: the monitor owns the clock and the API calls.
"""

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

NAMESPACE = "sagemaker"  # Application Auto Scaling's service namespace for SageMaker variants
PREDEFINED_METRIC = "SageMakerVariantInvocationsPerInstance"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALE_OUT_PERIODS = 3
SCALE_IN_PERIODS = 15
SCALE_IN_FRACTION = 0.9
# Application Auto Scaling's defaults when a policy gives no cooldowns (seconds).
DEFAULT_SCALE_OUT_COOLDOWN = 300
DEFAULT_SCALE_IN_COOLDOWN = 300


@dataclass(frozen=True)
class TrackedVariant:
    endpoint_name: str
    variant_name: str
    min_capacity: int
    max_capacity: int
    target_value: float
    scale_out_cooldown: float
    scale_in_cooldown: float
    disable_scale_in: bool
    scale_out_suspended: bool
    policy_name: str = ""


@dataclass
class ScalingHistory:
    """The recent per-period rates of one variant and when it last scaled (monitor clock, seconds)."""

    rates: deque = field(default_factory=lambda: deque(maxlen=SCALE_IN_PERIODS))
    last_scale_out: float = -math.inf
    last_scale_in: float = -math.inf


def parse_resource_id(resource_id: str) -> tuple[str, str] | None:
    """(endpoint, variant) of ``endpoint/<name>/variant/<variant>``, else None."""
    parts = resource_id.split("/")
    if len(parts) == 4 and parts[0] == "endpoint" and parts[2] == "variant":
        return parts[1], parts[3]
    return None


def resource_id(endpoint_name: str, variant_name: str) -> str:
    """The ``ResourceId`` Application Auto Scaling names a variant by; ``parse_resource_id``'s inverse."""
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def tracked_variants(targets: list[dict], policies: list[dict]) -> list[TrackedVariant]:
    """Join DescribeScalableTargets and DescribeScalingPolicies into what the monitor enforces."""
    bounds = {target["ResourceId"]: target for target in targets if target["ScalableDimension"] == SCALABLE_DIMENSION}
    tracked = []
    for policy in policies:
        target = bounds.get(policy["ResourceId"])
        names = parse_resource_id(policy["ResourceId"])
        configuration = policy.get("TargetTrackingScalingPolicyConfiguration", {})
        metric = configuration.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
        if target is None or names is None or metric != PREDEFINED_METRIC:
            continue
        suspended = target.get("SuspendedState", {})
        tracked.append(
            TrackedVariant(
                endpoint_name=names[0],
                variant_name=names[1],
                min_capacity=target["MinCapacity"],
                max_capacity=target["MaxCapacity"],
                target_value=configuration["TargetValue"],
                scale_out_cooldown=configuration.get("ScaleOutCooldown", DEFAULT_SCALE_OUT_COOLDOWN),
                scale_in_cooldown=configuration.get("ScaleInCooldown", DEFAULT_SCALE_IN_COOLDOWN),
                disable_scale_in=configuration.get("DisableScaleIn", False)
                or suspended.get("DynamicScalingInSuspended", False),
                scale_out_suspended=suspended.get("DynamicScalingOutSuspended", False),
                policy_name=policy.get("PolicyName", ""),
            )
        )
    return tracked


def cause(variant: TrackedVariant, capacity: int, desired: int) -> str:
    """Why ``desired_capacity`` moved ``capacity`` to ``desired``, in a scaling activity's words."""
    if capacity < variant.min_capacity:
        return f"minimum capacity was set to {variant.min_capacity}"
    if capacity > variant.max_capacity:
        return f"maximum capacity was set to {variant.max_capacity}"
    if desired > capacity:
        rule = f"{SCALE_OUT_PERIODS} of {SCALE_OUT_PERIODS} periods above {variant.target_value:g}"
    else:
        rule = (f"{SCALE_IN_PERIODS} of {SCALE_IN_PERIODS} periods below {SCALE_IN_FRACTION:.0%} of "
                f"{variant.target_value:g}")
    return (f"target tracking on {PREDEFINED_METRIC} ({rule} invocations per instance) triggered policy "
            f"{variant.policy_name}")


def desired_capacity(variant: TrackedVariant, history: ScalingHistory, capacity: int, now: float,
                     seconds: Callable[[float], float]) -> int | None:
    """The capacity to scale to now, or None to leave it; ``seconds`` maps AWS seconds to the clock's."""
    bounded = min(max(capacity, variant.min_capacity), variant.max_capacity)
    if bounded != capacity:
        return bounded
    if not history.rates:
        return None
    proposal = math.ceil(capacity * history.rates[-1] / variant.target_value)
    proposal = min(max(proposal, variant.min_capacity), variant.max_capacity)
    recent = list(history.rates)
    out_cooled = now - history.last_scale_out >= seconds(variant.scale_out_cooldown)
    if (
        proposal > capacity
        and not variant.scale_out_suspended
        and len(recent) >= SCALE_OUT_PERIODS
        and all(rate > variant.target_value for rate in recent[-SCALE_OUT_PERIODS:])
        and out_cooled
    ):
        return proposal
    if (
        proposal < capacity
        and not variant.disable_scale_in
        and len(recent) >= SCALE_IN_PERIODS
        and all(rate < SCALE_IN_FRACTION * variant.target_value for rate in recent)
        and out_cooled
        and now - history.last_scale_in >= seconds(variant.scale_in_cooldown)
    ):
        return proposal
    return None
