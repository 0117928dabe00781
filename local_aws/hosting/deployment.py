"""What one endpoint configuration runs: a fleet per production variant and the traffic split.

An endpoint serves through exactly one deployment at a time. Blue/green replacement builds a new
deployment, switches the endpoint to it once every fleet is healthy, then closes the old one (which
drains its in-flight requests before stopping its replicas).
"""

import random
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from local_aws.hosting.fleet import ReplicaSpec, VariantFleet
from local_aws.hosting.replica import ReplicaStartError
from local_aws.supervisor import Supervisor


@dataclass(frozen=True)
class VariantPlan:
    name: str
    weight: float
    instance_count: int
    spec: ReplicaSpec


class VariantStartError(Exception):
    """A variant's replicas did not become healthy; carries AWS's FailureReason wording."""

    def __init__(self, variant_name: str, cause: ReplicaStartError):
        super().__init__(
            f"The primary container for production variant {variant_name} did not pass the ping "
            f"health check: {cause}"
        )
        self.variant_name = variant_name


class UnknownVariant(Exception):
    pass


class Deployment:
    def __init__(self, supervisor: Supervisor, plans: list[VariantPlan]):
        self.plans = {plan.name: plan for plan in plans}
        self.fleets = {plan.name: VariantFleet(supervisor, plan.name, plan.spec) for plan in plans}
        self.weights = {plan.name: plan.weight for plan in plans}

    def start(self) -> None:
        """Start every variant's initial instances; on any failure stop everything started."""

        def start_variant(plan: VariantPlan) -> VariantStartError | None:
            try:
                self.fleets[plan.name].scale_to(plan.instance_count)
            except ReplicaStartError as error:
                return VariantStartError(plan.name, error)
            return None

        with ThreadPoolExecutor(max_workers=len(self.plans)) as pool:
            errors = [e for e in pool.map(start_variant, self.plans.values()) if e is not None]
        if errors:
            self.close()
            raise errors[0]

    def choose_fleet(self, target_variant: str | None) -> VariantFleet:
        if target_variant is not None:
            if target_variant not in self.fleets:
                raise UnknownVariant(target_variant)
            return self.fleets[target_variant]
        if len(self.fleets) == 1:
            return next(iter(self.fleets.values()))
        names = list(self.weights)
        weights = list(self.weights.values())
        # All-zero weights would route nothing; split evenly instead.
        return self.fleets[random.choices(names, weights=weights if any(weights) else None)[0]]

    def close(self) -> None:
        """Drain and stop every fleet, then drop the extracted models (the replica logs stay)."""
        with ThreadPoolExecutor(max_workers=len(self.fleets)) as pool:
            list(pool.map(VariantFleet.close, self.fleets.values()))
        for plan in self.plans.values():
            shutil.rmtree(plan.spec.model_dir, ignore_errors=True)
