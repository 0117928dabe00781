"""A CloudWatch statistic set accumulated over a period: what PutMetricData's StatisticValues carries."""

from dataclasses import dataclass


@dataclass
class Statistic:
    count: int = 0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)

    def statistic_values(self) -> dict:
        return {"SampleCount": self.count, "Sum": self.total, "Minimum": self.minimum, "Maximum": self.maximum}
