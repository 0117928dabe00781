"""How the pipeline's own operators take their settings: built from what Jinja rendered (numbers arrive as
text and are made numbers again), then refused with every problem named, before anything is made; or read
from an earlier task's XCom when the task runs (`FromXCom`)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

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


@dataclass(frozen=True)
class FromXCom:
    """A templated field's value that the operator (`PullsFromXCom`) reads when its task runs, from the XCom
    `key` of the task `task_id`. For a value from a task that the chain already runs earlier but not just
    before: an XComArg would draw one more edge in the graph for each such value."""

    task_id: str
    key: str = "return_value"


class PullsFromXCom:
    """Mixin for operators whose templated fields may be `FromXCom`: they are replaced once the templates have
    rendered, so XCom values are not rendered as Jinja (as an XComArg's are not), and before Airflow records the
    rendered fields, so the task's Rendered Template view shows them. A deferred task renders again when it
    resumes, so `execute_complete` has them too."""

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        for name in self.template_fields:
            value = getattr(self, name)
            if isinstance(value, FromXCom):
                setattr(self, name, context["ti"].xcom_pull(task_ids=value.task_id, key=value.key))
