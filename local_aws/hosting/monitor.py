"""Once per metric period: publish every endpoint's invocation metrics to CloudWatch and run target
tracking on them, as SageMaker and Application Auto Scaling do on AWS. Every time it wakes: replace
replicas whose process died, as SageMaker replaces a failed instance without waiting for traffic. On a
thread of its own: the ping health checks (``health_checks``), which replace replicas that hang.

One monitor thread per account and region, started with its first endpoint. It talks to CloudWatch
and Application Auto Scaling through the edge like any client, and scales a variant the way
Application Auto Scaling does: by calling UpdateEndpointWeightsAndCapacities.
"""

import datetime
import logging
import threading
import time

from botocore.exceptions import ClientError

from local_aws.hosting import autoscaling
from local_aws.hosting.health_checks import HealthChecks
from local_aws.hosting.invocation_metrics import NAMESPACE, VariantPeriod, invocations_per_instance, metric_data
from local_aws.hosting.scaling_activities import FAILED, ScalingActivities, settle
from local_aws.hosting.state import IN_SERVICE, EndpointStore
from local_aws.hosting.time_scale import METRIC_PERIOD_SECONDS, real_seconds, time_scale

logger = logging.getLogger(__name__)

# How often the loop looks at the clock; the period itself follows LOCAL_AWS_TIME_SCALE.
WAKE_SECONDS = 0.1
PUT_METRIC_DATA_LIMIT = 1000


class HostingMonitor:
    def __init__(self, account_id: str, region: str):
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._histories: dict[tuple[str, str], autoscaling.ScalingHistory] = {}

    def ensure_started(self, ctx) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, args=(ctx,), name="hosting-monitor", daemon=True)
                self._thread.start()
                threading.Thread(target=HealthChecks().run, args=(lambda: self._fleets(ctx),
                                 ctx.platform.supervisor.stopping), name="hosting-health-checks", daemon=True).start()

    def _run(self, ctx) -> None:
        stopping = ctx.platform.supervisor.stopping
        period_started = time.monotonic()
        while not stopping.wait(WAKE_SECONDS):
            try:
                self.replace_dead_replicas(ctx)
                self.settle_activities(ctx)
            except Exception:
                logger.exception("hosting monitor: checking replicas failed")
            if time.monotonic() - period_started < real_seconds(METRIC_PERIOD_SECONDS):
                continue
            period_started = time.monotonic()
            try:
                self.tick(ctx)
            except Exception:
                logger.exception("hosting monitor tick failed")

    def replace_dead_replicas(self, ctx) -> None:
        """Take replicas whose process exited out of routing and start their replacements, so that
        ``CurrentInstanceCount`` is true and the next request finds a live replica."""
        for fleet in self._fleets(ctx):
            fleet.remove_exited()

    @staticmethod
    def settle_activities(ctx) -> None:
        """End the scaling activities whose endpoint has reached (or can no longer reach) its count."""
        endpoints = ctx.state(EndpointStore)
        for activity in ctx.state(ScalingActivities).in_progress():
            endpoint_name, variant_name = autoscaling.parse_resource_id(activity.resource_id)
            with endpoints.lock:
                endpoint = endpoints.find(endpoint_name)
                if endpoint is None:
                    settle(activity, None, None)
                    continue
                fleet = endpoint.deployment.fleets.get(variant_name) if endpoint.deployment else None
                settle(activity, endpoint.status, fleet.instance_count if fleet else None)

    @staticmethod
    def _fleets(ctx) -> list:
        """Every variant fleet of every serving deployment."""
        endpoints = ctx.state(EndpointStore)
        with endpoints.lock:
            deployments = [endpoint.deployment for endpoint in endpoints.all() if endpoint.deployment]
        return [fleet for deployment in deployments for fleet in deployment.fleets.values()]

    def tick(self, ctx) -> None:
        """Close the current period: publish it and act on it."""
        endpoints = ctx.state(EndpointStore)
        with endpoints.lock:
            serving = [endpoint for endpoint in endpoints.all() if endpoint.deployment is not None]
        timestamp = datetime.datetime.now(datetime.timezone.utc)
        # High-resolution storage keeps compressed periods apart in CloudWatch.
        resolution = 60 if time_scale() == 1 else 1
        data = []
        rates = {}
        for endpoint in serving:
            periods = endpoint.metrics.collect()
            for variant, fleet in endpoint.deployment.fleets.items():
                period = periods.get(variant, VariantPeriod())
                count = fleet.instance_count
                data += metric_data(endpoint.name, variant, period, count, timestamp, resolution)
                rates[(endpoint.name, variant)] = invocations_per_instance(period, count)
        cloudwatch = ctx.client("cloudwatch")
        for start in range(0, len(data), PUT_METRIC_DATA_LIMIT):
            cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start:start + PUT_METRIC_DATA_LIMIT])
        self._autoscale(ctx, endpoints, rates)

    def _autoscale(self, ctx, endpoints: EndpointStore, rates: dict[tuple[str, str], float]) -> None:
        client = ctx.client("application-autoscaling")
        targets = _all(client, "describe_scalable_targets", "ScalableTargets")
        policies = [
            policy for policy in _all(client, "describe_scaling_policies", "ScalingPolicies")
            if policy.get("PolicyType") == "TargetTrackingScaling"
        ]
        now = time.monotonic()
        for variant in autoscaling.tracked_variants(targets, policies):
            key = (variant.endpoint_name, variant.variant_name)
            endpoint = endpoints.find(variant.endpoint_name)
            if endpoint is None:
                self._histories.pop(key, None)
                continue
            if key not in rates or endpoint.status != IN_SERVICE:
                continue
            history = self._histories.setdefault(key, autoscaling.ScalingHistory())
            history.rates.append(rates[key])
            capacity = endpoint.desired_counts.get(variant.variant_name)
            if capacity is None:
                continue
            desired = autoscaling.desired_capacity(variant, history, capacity, now, real_seconds)
            if desired is None:
                continue
            activity = ctx.state(ScalingActivities).started(
                autoscaling.resource_id(variant.endpoint_name, variant.variant_name), desired,
                autoscaling.cause(variant, capacity, desired))
            try:
                ctx.client("sagemaker").update_endpoint_weights_and_capacities(
                    EndpointName=variant.endpoint_name,
                    DesiredWeightsAndCapacities=[
                        {"VariantName": variant.variant_name, "DesiredInstanceCount": desired}
                    ],
                )
            except ClientError as error:
                logger.warning("autoscaling %s/%s to %d failed: %s", *key, desired, error)
                activity.end(FAILED, f"Failed to set desired instance count to {desired}. Reason: "
                                       f"{error.response['Error'].get('Message', error)}")
                continue
            logger.info("autoscaling %s/%s from %d to %d instances", *key, capacity, desired)
            if desired > capacity:
                history.last_scale_out = now
            else:
                history.last_scale_in = now


def _all(client, operation: str, key: str) -> list[dict]:
    pages = client.get_paginator(operation).paginate(ServiceNamespace="sagemaker")
    return [item for page in pages for item in page[key]]
