"""SageMaker endpoint invocation metrics: aggregated per variant and per period, shaped as CloudWatch
``PutMetricData`` datums in the ``AWS/SageMaker`` namespace.

Latencies are in microseconds as SageMaker reports them: ``ModelLatency`` is the time the container
took as seen from the edge, ``OverheadLatency`` the rest of the request's time at the edge.
"""

import datetime
import threading
from dataclasses import dataclass, field

from local_aws.statistics import Statistic

NAMESPACE = "AWS/SageMaker"
MICROSECONDS = 1_000_000


@dataclass
class VariantPeriod:
    """One variant's invocations during one period."""

    invocations: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    model_latency: Statistic = field(default_factory=Statistic)
    overhead_latency: Statistic = field(default_factory=Statistic)


class InvocationMetrics:
    """What the runtime records for one endpoint; the monitor collects one period at a time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._periods: dict[str, VariantPeriod] = {}

    def record(self, variant: str, status: int, model_latency: float | None = None,
               overhead_latency: float | None = None) -> None:
        with self._lock:
            period = self._periods.setdefault(variant, VariantPeriod())
            period.invocations += 1
            if 400 <= status < 500:
                period.errors_4xx += 1
            elif status >= 500:
                period.errors_5xx += 1
            if model_latency is not None:
                period.model_latency.add(model_latency * MICROSECONDS)
                period.overhead_latency.add(overhead_latency * MICROSECONDS)

    def collect(self) -> dict[str, VariantPeriod]:
        """The period that just ended, per variant; recording starts a new one."""
        with self._lock:
            periods, self._periods = self._periods, {}
        return periods


def invocations_per_instance(period: VariantPeriod, instance_count: int) -> float:
    return period.invocations / max(1, instance_count)


def metric_data(endpoint_name: str, variant: str, period: VariantPeriod, instance_count: int,
                timestamp: datetime.datetime, storage_resolution: int) -> list[dict]:
    """The PutMetricData datums of one variant's period (counts even when zero, as target tracking
    needs a value every period; latencies only when there were answered invocations)."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint_name}, {"Name": "VariantName", "Value": variant}]

    def datum(name: str, unit: str, **value) -> dict:
        return {"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Unit": unit,
                "StorageResolution": storage_resolution, **value}

    data = [
        datum("Invocations", "None", Value=period.invocations),
        datum("InvocationsPerInstance", "None", Value=invocations_per_instance(period, instance_count)),
        datum("Invocation4XXErrors", "None", Value=period.errors_4xx),
        datum("Invocation5XXErrors", "None", Value=period.errors_5xx),
    ]
    for name, statistic in (("ModelLatency", period.model_latency), ("OverheadLatency", period.overhead_latency)):
        if statistic.count:
            data.append(datum(name, "Microseconds", StatisticValues=statistic.statistic_values()))
    return data
