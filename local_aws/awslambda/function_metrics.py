"""Lambda's metrics in CloudWatch, namespace `AWS/Lambda`: per function (and per alias or version, with
the `Resource` dimension, where the invocation named one), published once per metric period as Lambda
publishes them: `Invocations`, `Errors`, `Throttles`, `Duration` (milliseconds) and
`ConcurrentExecutions` (the most at once); where provisioned concurrency is configured or served,
`ProvisionedConcurrencyInvocations`, `ProvisionedConcurrencySpilloverInvocations` (invocations of a
provisioned version or alias that on-demand environments served), `ProvisionedConcurrentExecutions` (the
most provisioned environments busy at once) and, per alias or version, `ProvisionedConcurrencyUtilization`
(that most over the allocated count). `LOCAL_AWS_TIME_SCALE` compresses the period as it does for hosting."""

import datetime
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from local_aws.hosting.time_scale import METRIC_PERIOD_SECONDS, real_seconds, time_scale
from local_aws.statistics import Statistic

logger = logging.getLogger(__name__)

NAMESPACE = "AWS/Lambda"
PUT_METRIC_DATA_LIMIT = 1000
WAKE_SECONDS = 0.1


@dataclass
class Period:
    counts: Counter = field(default_factory=Counter)  # Invocations, Errors, Throttles
    duration: Statistic = field(default_factory=Statistic)
    concurrent: int = 0  # the most invocations running at once
    provisioned_concurrent: int = 0  # the most provisioned environments serving at once
    allocated: int = 0  # the provisioned concurrency of the alias or version, when invocations named one


class FunctionMetrics:
    """What one account and region's invocations did this period; a thread publishes each period."""

    def __init__(self, account_id: str, region: str):
        self._lock = threading.Lock()
        self._periods: dict[tuple[str, str | None], Period] = {}
        self._running: dict[tuple[str, str | None], int] = {}
        self._running_provisioned: dict[tuple[str, str | None], int] = {}
        self._publisher: threading.Thread | None = None

    def started(self, function_name: str, resource: str | None) -> None:
        with self._lock:
            for key in self._keys(function_name, resource):
                self._running[key] = self._running.get(key, 0) + 1
                period = self._periods.setdefault(key, Period())
                period.concurrent = max(period.concurrent, self._running[key])

    def serving(self, function_name: str, resource: str | None, provisioned: bool) -> None:
        """The invocation that `started` got its environment: a provisioned one or not."""
        if not provisioned:
            return
        with self._lock:
            for key in self._keys(function_name, resource):
                self._running_provisioned[key] = self._running_provisioned.get(key, 0) + 1
                period = self._periods.setdefault(key, Period())
                period.provisioned_concurrent = max(period.provisioned_concurrent, self._running_provisioned[key])

    def ended(self, function_name: str, resource: str | None, duration_ms: float, error: bool,
              provisioned: bool = False, allocated: int = 0) -> None:
        """`allocated`: the provisioned concurrency configured on `resource` (0: none)."""
        with self._lock:
            for key in self._keys(function_name, resource):
                self._running[key] -= 1
                period = self._periods.setdefault(key, Period())
                period.counts.update(Invocations=1, Errors=int(error))
                period.duration.add(duration_ms)
                if provisioned:
                    self._running_provisioned[key] -= 1
                    period.counts.update(ProvisionedConcurrencyInvocations=1)
                elif allocated:
                    period.counts.update(ProvisionedConcurrencySpilloverInvocations=1)
                if key[1] is not None:
                    period.allocated = max(period.allocated, allocated)

    def throttled(self, function_name: str, resource: str | None) -> None:
        with self._lock:
            for key in self._keys(function_name, resource):
                self._periods.setdefault(key, Period()).counts.update(Throttles=1)

    def publish_with(self, ctx) -> None:
        """Start publishing this account and region's periods through `ctx`'s CloudWatch client (once)."""
        with self._lock:
            if self._publisher is not None:
                return
            self._publisher = threading.Thread(target=self._publish_each_period, args=(ctx,), daemon=True,
                                               name="lambda-metrics")
        self._publisher.start()

    def _publish_each_period(self, ctx) -> None:
        stopping = ctx.platform.supervisor.stopping
        period_started = time.monotonic()
        # Wakes often and compares with the period, which LOCAL_AWS_TIME_SCALE may change meanwhile.
        while not stopping.wait(WAKE_SECONDS):
            if time.monotonic() - period_started < real_seconds(METRIC_PERIOD_SECONDS):
                continue
            period_started = time.monotonic()
            try:
                self.publish(ctx.client("cloudwatch"))
            except Exception:
                logger.exception("publishing Lambda metrics failed")

    def publish(self, cloudwatch) -> None:
        with self._lock:
            periods, self._periods = self._periods, {}
        timestamp = datetime.datetime.now(datetime.timezone.utc)
        resolution = 60 if time_scale() == 1 else 1  # compressed periods stay apart in high resolution
        data = [datum for (function_name, resource), period in periods.items()
                for datum in _data(function_name, resource, period, timestamp, resolution)]
        for start in range(0, len(data), PUT_METRIC_DATA_LIMIT):
            cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start:start + PUT_METRIC_DATA_LIMIT])

    @staticmethod
    def _keys(function_name: str, resource: str | None) -> list[tuple[str, str | None]]:
        return [(function_name, None)] + ([(function_name, resource)] if resource else [])


def _data(function_name: str, resource: str | None, period: Period, timestamp, resolution: int) -> list[dict]:
    dimensions = [{"Name": "FunctionName", "Value": function_name}]
    if resource:
        dimensions.append({"Name": "Resource", "Value": f"{function_name}:{resource}"})

    def datum(name: str, unit: str, **value) -> dict:
        return {"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Unit": unit,
                "StorageResolution": resolution, **value}

    data = [datum(name, "Count", Value=period.counts[name]) for name in ("Invocations", "Errors", "Throttles")]
    data.append(datum("ConcurrentExecutions", "Count", Value=period.concurrent))
    if period.duration.count:
        data.append(datum("Duration", "Milliseconds", StatisticValues=period.duration.statistic_values()))
    if period.allocated or period.counts["ProvisionedConcurrencyInvocations"]:
        data += [datum(name, "Count", Value=period.counts[name]) for name in (
            "ProvisionedConcurrencyInvocations", "ProvisionedConcurrencySpilloverInvocations")]
        data.append(datum("ProvisionedConcurrentExecutions", "Count", Value=period.provisioned_concurrent))
    if period.allocated:
        data.append(datum("ProvisionedConcurrencyUtilization", "None",
                          Value=min(1.0, period.provisioned_concurrent / period.allocated)))
    return data
