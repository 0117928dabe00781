"""Endpoint configurations and endpoints of one account and region: their wire shapes and statuses.

State only: :mod:`local_aws.hosting.provisioning` runs an endpoint and tells it what happened
(`serve`, `fail`, `finish_update`, `roll_back_update`, ...); the endpoint moves through its statuses
itself. Callers change an endpoint under its store's lock (`EndpointStore.lock`).
"""

import datetime
from dataclasses import dataclass, field

from local_aws.clock import now
from local_aws.exceptions import ValidationException
from local_aws.hosting.deployment import Deployment
from local_aws.hosting.invocation_metrics import InvocationMetrics
from local_aws.sagemaker.resources import SageMakerStore

CREATING, UPDATING, IN_SERVICE, FAILED, DELETING = "Creating", "Updating", "InService", "Failed", "Deleting"
IN_PROGRESS = (CREATING, UPDATING, DELETING)


@dataclass
class EndpointConfig:
    name: str
    arn: str
    request: dict  # the CreateEndpointConfig parameters, which DescribeEndpointConfig echoes
    creation_time: datetime.datetime = field(default_factory=now)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def production_variants(self) -> list[dict]:
        return self.request["ProductionVariants"]

    def describe(self) -> dict:
        described = {key: value for key, value in self.request.items() if key != "Tags"}
        return {**described, "EndpointConfigArn": self.arn, "CreationTime": self.creation_time}

    def summary(self) -> dict:
        return {
            "EndpointConfigName": self.name,
            "EndpointConfigArn": self.arn,
            "CreationTime": self.creation_time,
        }


@dataclass
class Endpoint:
    name: str
    arn: str
    config: EndpointConfig
    deployment_config: dict | None
    status: str = CREATING
    failure_reason: str | None = None
    creation_time: datetime.datetime = field(default_factory=now)
    last_modified_time: datetime.datetime = field(default_factory=now)
    # What serves requests right now (None until the first deployment is healthy).
    deployment: Deployment | None = None
    pending_config: EndpointConfig | None = None
    pending_since: datetime.datetime | None = None
    baking_since: datetime.datetime | None = None  # the pending configuration serves; the update bakes
    counts_before_shift: dict[str, int] = field(default_factory=dict)
    # Per variant, the instance count asked for (by the config, autoscaling or the API).
    desired_counts: dict[str, int] = field(default_factory=dict)
    metrics: InvocationMetrics = field(default_factory=InvocationMetrics)
    tags: dict[str, str] = field(default_factory=dict)

    def serve(self, deployment: Deployment, counts: dict[str, int]) -> None:
        """The first deployment is healthy: the endpoint is InService."""
        self.deployment = deployment
        self.desired_counts = counts
        self._set_status(IN_SERVICE)

    def fail(self, reason: str) -> None:
        self._set_status(FAILED, reason)

    def begin_update(self, config: EndpointConfig) -> None:
        self._require_in_service("update")
        self.pending_config = config
        self.pending_since = now()
        self._set_status(UPDATING)

    def shift_traffic(self, deployment: Deployment, counts: dict[str, int]) -> Deployment:
        """The pending configuration's deployment is healthy and now takes all traffic while the update bakes
        (still Updating, its variants `Baking`); returns the one it replaced."""
        replaced = self.deployment
        self.deployment = deployment
        self.desired_counts, self.counts_before_shift = counts, self.desired_counts
        self.baking_since = now()
        return replaced

    def roll_back_bake(self, replaced: Deployment, reason: str) -> Deployment:
        """An alarm fired while the update baked: traffic goes back to the fleet it replaced (still running),
        InService on the old configuration with FailureReason saying why; returns the new deployment."""
        rolled_back, self.deployment = self.deployment, replaced
        self.desired_counts = self.counts_before_shift
        failed = self.pending_config
        self.pending_config = self.baking_since = None
        self._set_status(IN_SERVICE, f"Update to endpoint configuration {failed.name} failed and was rolled back to "
                                     f"{self.config.name}: {reason}")
        return rolled_back

    def finish_update(self, deployment_config: dict | None) -> None:
        """The update has baked: the endpoint is InService on its new configuration."""
        self.config = self.pending_config
        self.pending_config = self.baking_since = None
        if deployment_config is not None:
            self.deployment_config = deployment_config
        self._set_status(IN_SERVICE)

    def roll_back_update(self, error: Exception) -> None:
        """The pending configuration could not start: the old one keeps serving, and FailureReason says why."""
        failed = self.pending_config
        self.pending_config = None
        self._set_status(
            IN_SERVICE,
            f"Update to endpoint configuration {failed.name} failed and was rolled back to {self.config.name}: {error}",
        )

    def begin_scale(self, changes: list[dict]) -> dict[str, int]:
        """Apply UpdateEndpointWeightsAndCapacities' weights now; return the instance counts to reach."""
        self._require_in_service("update")
        for change in changes:
            if change["VariantName"] not in self.deployment.fleets:
                raise ValidationException(
                    f'The variant name(s) "{change["VariantName"]}" is/are not present in endpoint "{self.arn}".'
                )
        counts = {}
        for change in changes:
            if "DesiredWeight" in change:
                self.deployment.weights[change["VariantName"]] = change["DesiredWeight"]
            if "DesiredInstanceCount" in change:
                counts[change["VariantName"]] = change["DesiredInstanceCount"]
        self.desired_counts.update(counts)
        self._set_status(UPDATING)
        return counts

    def finish_scale(self, failures: list[str]) -> None:
        self._set_status(IN_SERVICE, "; ".join(failures) or None)

    def begin_delete(self) -> None:
        if self.status in IN_PROGRESS:
            raise ValidationException(f'Cannot delete in-progress endpoint "{self.arn}".')
        self._set_status(DELETING)

    def _require_in_service(self, verb: str) -> None:
        if self.status in IN_PROGRESS:
            raise ValidationException(f'Cannot {verb} in-progress endpoint "{self.arn}".')
        if self.status != IN_SERVICE:
            raise ValidationException(
                f'Cannot {verb} endpoint "{self.arn}" in status {self.status}; delete it and create it again.'
            )

    def _set_status(self, status: str, failure_reason: str | None = None) -> None:
        self.status = status
        self.failure_reason = failure_reason
        self.last_modified_time = now()

    def describe(self) -> dict:
        described = {
            "EndpointName": self.name,
            "EndpointArn": self.arn,
            "EndpointConfigName": self.config.name,
            "EndpointStatus": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if self.deployment is not None:
            described["ProductionVariants"] = [
                self._variant_summary(variant) for variant in self.config.production_variants
            ]
        if self.failure_reason:
            described["FailureReason"] = self.failure_reason
        if self.deployment_config:
            described["LastDeploymentConfig"] = self.deployment_config
        if self.pending_config is not None:
            described["PendingDeploymentSummary"] = {
                "EndpointConfigName": self.pending_config.name,
                "ProductionVariants": [
                    {
                        "VariantName": variant["VariantName"],
                        "DesiredInstanceCount": variant["InitialInstanceCount"],
                        "DesiredWeight": variant.get("InitialVariantWeight", 1.0),
                        "VariantStatus": [{"Status": "Baking", "StartTime": self.baking_since} if self.baking_since
                                          else {"Status": CREATING, "StartTime": self.pending_since}],
                    }
                    for variant in self.pending_config.production_variants
                ],
                "StartTime": self.pending_since,
            }
        return described

    def _variant_summary(self, variant: dict) -> dict:
        name = variant["VariantName"]
        weight = self.deployment.weights[name]
        return {
            "VariantName": name,
            "CurrentWeight": weight,
            "DesiredWeight": weight,
            "CurrentInstanceCount": self.deployment.fleets[name].instance_count,
            "DesiredInstanceCount": self.desired_counts[name],
        }

    def summary(self) -> dict:
        return {
            "EndpointName": self.name,
            "EndpointArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "EndpointStatus": self.status,
        }


class EndpointConfigStore(SageMakerStore[EndpointConfig]):
    arn_resource_type = "endpoint-config"

    missing_error = ValidationException, 'Could not find endpoint configuration "{arn}".'
    taken_error = ValidationException, 'Cannot create already existing endpoint configuration "{arn}".'


class EndpointStore(SageMakerStore[Endpoint]):
    arn_resource_type = "endpoint"

    missing_error = ValidationException, 'Could not find endpoint "{arn}".'
    taken_error = ValidationException, 'Cannot create already existing endpoint "{arn}".'
