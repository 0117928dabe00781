"""How the pipeline's own operators take their settings: built from what Jinja rendered (numbers arrive as
text and are made numbers again), then refused with every problem named, before anything is made."""

from collections.abc import Callable
from typing import TypeVar

from airflow.providers.common.compat.sdk import AirflowException

Settings = TypeVar("Settings")


def checked(build: Callable[[], Settings], label: str, numbers: str = "numbers") -> Settings:
    """`build()`'s settings (whose `problems()` are (setting, problem) pairs); AirflowException naming what is
    wrong."""
    try:
        settings = build()
    except (TypeError, ValueError) as error:
        raise AirflowException(f"{label} must be {numbers}: {error}") from error
    problems = settings.problems()
    if problems:
        raise AirflowException(f"{label}: " + "; ".join(f"{setting}: {problem}" for setting, problem in problems))
    return settings
