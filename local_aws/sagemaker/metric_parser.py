"""SageMaker's `MetricDefinitions`: each regex's first group, matched against every log line."""

import math
import re

from local_aws.exceptions import ValidationException


class MetricParser:
    def __init__(self, definitions: list[dict]):
        self._patterns = []
        for definition in definitions:
            try:
                pattern = re.compile(definition["Regex"])
            except re.error as error:
                raise ValidationException(f"Metric {definition['Name']!r} has an invalid Regex: {error}.")
            if pattern.groups < 1:
                raise ValidationException(
                    f"Metric {definition['Name']!r} Regex must capture the value in a group: {definition['Regex']}"
                )
            self._patterns.append((definition["Name"], pattern))

    def scan(self, line: str) -> list[tuple[str, float]]:
        found = []
        for name, pattern in self._patterns:
            match = pattern.search(line)
            if match is None:
                continue
            try:
                value = float(match.group(1))
            except (TypeError, ValueError):
                continue
            if math.isfinite(value):
                found.append((name, value))
        return found
