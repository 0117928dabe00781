"""How CloudWatch decides a metric alarm's state from its last `EvaluationPeriods` periods: pure functions.

A period's value is the alarm's statistic over the datapoints in it, or None when it has none. A value
breaches when it compares with `Threshold` as `ComparisonOperator` says. Missing periods are treated as
`TreatMissingData` says: `missing` (the default) and `ignore` leave them out, `breaching` and
`notBreaching` count them as such. The alarm is ALARM when at least `DatapointsToAlarm` (default:
`EvaluationPeriods`) periods breach; otherwise OK, unless every period is missing: then
INSUFFICIENT_DATA with `missing`, and no change with `ignore`.
"""

import math
from dataclasses import dataclass

OPERATORS = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


@dataclass(frozen=True)
class Sample:
    """What one datapoint (a value, or a StatisticSet) adds to a period."""
    total: float
    count: float
    low: float
    high: float


def period_value(samples: list[Sample], statistic: str) -> float | None:
    if not samples:
        return None
    count = sum(sample.count for sample in samples)
    total = sum(sample.total for sample in samples)
    return {"SampleCount": count, "Sum": total, "Average": total / count if count else math.nan,
            "Minimum": min(sample.low for sample in samples), "Maximum": max(sample.high for sample in samples)}[statistic]


def alarm_state(values: list[float | None], operator: str, threshold: float, datapoints_to_alarm: int | None,
                treat_missing: str | None) -> tuple[str, str] | None:
    """(state, reason) for the periods' values, oldest first; None: the state stays as it is."""
    treat_missing = treat_missing or "missing"
    needed = datapoints_to_alarm or len(values)
    present = [value for value in values if value is not None]
    breaching = sum(OPERATORS[operator](value, threshold) for value in present)
    missing = len(values) - len(present)
    if treat_missing == "breaching":
        breaching += missing
    shown = ", ".join("missing" if value is None else f"{value:g}" for value in values)
    reason = f"Threshold Crossed: {breaching} of the last {len(values)} datapoints [{shown}] crossed the threshold " \
             f"({threshold:g}); {needed} needed."
    if breaching >= needed:
        return "ALARM", reason
    if not present and treat_missing == "missing":
        return "INSUFFICIENT_DATA", f"Insufficient Data: {len(values)} datapoints were missing."
    if not present and treat_missing == "ignore":
        return None
    return "OK", reason
