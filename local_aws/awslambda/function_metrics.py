"""Lambda's metrics in CloudWatch, namespace `AWS/Lambda`: per function (and per alias or version, with
the `Resource` dimension, where the invocation named one), published once per metric period as Lambda
publishes them: `Invocations`, `Errors`, `Throttles`, `Duration` (milliseconds) and
`ConcurrentExecutions` (the most at once). `LOCAL_AWS_TIME_SCALE` compresses the period as it does for
hosting."""

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


class FunctionMetrics:
    """What one account and region's invocations did this period; a thread publishes each period."""

    def __init__(self, account_id: str, region: str):
        self._lock = threading.Lock()
        self._periods: dict[tuple[str, str | None], Period] = {}
        self._running: dict[tuple[str, str | None], int] = {}
        self._publisher: threading.Thread | None = None

    def started(self, function_name: str, resource: str | None) -> None:
        with self._lock:
            for key in self._keys(function_name, resource):
                self._running[key] = self._running.get(key, 0) + 1
                period = self._periods.setdefault(key, Period())
                period.concurrent = max(period.concurrent, self._running[key])

    def ended(self, function_name: str, resource: str | None, duration_ms: float, error: bool) -> None:
        with self._lock:
            for key in self._keys(function_name, resource):
                self._running[key] -= 1
                period = self._periods.setdefault(key, Period())
                period.counts.update(Invocations=1, Errors=int(error))
                period.duration.add(duration_ms)

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
    return data
