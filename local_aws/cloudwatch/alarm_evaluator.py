"""Evaluates the metric alarms moto keeps, as CloudWatch does once a minute (moto stores alarms and never
moves their state): each alarm's last `EvaluationPeriods` periods of its metric are read from moto's
datapoints and the state is set by `alarm_rules`, with a reason and a history entry, so `DescribeAlarms` is
truthful and what watches an alarm (a blue/green update's `AutoRollbackConfiguration`) sees it change.

A new alarm is INSUFFICIENT_DATA until evaluated (moto would say OK). The minute and the periods follow
`LOCAL_AWS_TIME_SCALE`. Alarms on metric math, on percentiles or composite alarms are not evaluated: they
stay INSUFFICIENT_DATA with a reason saying so, never a made-up state.
"""

import datetime
import json
import logging
import threading

from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum, cloudwatch_backends

from local_aws.cloudwatch.alarm_rules import OPERATORS, STATISTICS, Sample, alarm_state, period_value
from local_aws.hosting.time_scale import real_seconds

logger = logging.getLogger(__name__)

EVALUATION_SECONDS = 60  # CloudWatch evaluates metric alarms every minute
NEW_ALARM_REASON = "Unchecked: Initial alarm creation"  # moto's reason for an alarm it has just stored


class AlarmEvaluator:
    def __init__(self, stopping: threading.Event):
        self._stopping = stopping
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cloudwatch-alarms", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        evaluated = 0.0
        while not self._stopping.wait(0.05):
            fresh = _alarms(lambda alarm: alarm.state_reason == NEW_ALARM_REASON)
            for alarm, _ in fresh:
                _set(alarm, "INSUFFICIENT_DATA", "Unchecked: the alarm has not been evaluated yet.")
            now = datetime.datetime.now(datetime.timezone.utc)
            if fresh or now.timestamp() - evaluated >= real_seconds(EVALUATION_SECONDS):
                evaluated = now.timestamp()
                for alarm, backend in _alarms(lambda alarm: True):
                    try:
                        evaluate(alarm, backend, now)
                    except Exception:
                        logger.exception("evaluating alarm %s failed", alarm.name)


def evaluate(alarm, backend, now: datetime.datetime) -> None:
    """Set `alarm`'s state from its metric's datapoints in `backend` up to `now`."""
    unsupported = _unsupported(alarm)
    if unsupported:
        if alarm.state_value != "INSUFFICIENT_DATA" or alarm.state_reason != unsupported:
            _set(alarm, "INSUFFICIENT_DATA", unsupported)
        return
    period = datetime.timedelta(seconds=real_seconds(int(alarm.period)))
    count = int(alarm.evaluation_periods)
    starts = [now - period * (count - index) for index in range(count)]
    wanted = {(dimension.name, dimension.value) for dimension in alarm.dimensions}
    buckets: list[list[Sample]] = [[] for _ in starts]
    for datum in backend.get_all_metrics():
        if datum.namespace != alarm.namespace or datum.name != alarm.metric_name:
            continue
        if {(dimension.name, dimension.value) for dimension in datum.dimensions} != wanted:
            continue
        timestamp = _aware(datum.timestamp)
        for index, start in enumerate(starts):
            if start <= timestamp < start + period:
                buckets[index].append(_sample(datum))
    values = [period_value(bucket, alarm.statistic) for bucket in buckets]
    decided = alarm_state(values, alarm.comparison_operator, float(alarm.threshold),
                          int(alarm.datapoints_to_alarm) if alarm.datapoints_to_alarm else None,
                          alarm.treat_missing_data)
    if decided is not None and decided[0] != alarm.state_value:
        _set(alarm, decided[0], decided[1])


def _unsupported(alarm) -> str | None:
    if getattr(alarm, "rule", None):
        return "local AWS does not evaluate composite alarms."
    if alarm.metric_data_queries or not alarm.metric_name:
        return "local AWS does not evaluate alarms on metric math or several metrics."
    if alarm.extended_statistic or alarm.statistic not in STATISTICS:
        return f"local AWS does not evaluate alarms on the statistic {alarm.extended_statistic or alarm.statistic}."
    if alarm.comparison_operator not in OPERATORS:
        return f"local AWS does not evaluate {alarm.comparison_operator} (anomaly detection) alarms."
    return None


def _sample(datum) -> Sample:
    if isinstance(datum, MetricAggregatedDatum):
        return Sample(float(datum.sum), float(datum.sample_count), float(datum.min), float(datum.max))
    value = float(datum.value) if isinstance(datum, MetricDatum) else 0.0
    return Sample(value, 1.0, value, value)


def _alarms(which):
    found = []
    for account in list(dict.values(cloudwatch_backends)):
        for backend in list(dict.values(account)):
            found += [(alarm, backend) for alarm in list(backend.alarms.values()) if which(alarm)]
    return found


def _set(alarm, state: str, reason: str) -> None:
    alarm.update_state(reason, json.dumps({"version": "1.0", "evaluatedBy": "local_aws"}), state)


def _aware(timestamp: datetime.datetime) -> datetime.datetime:
    return timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=datetime.timezone.utc)
