"""The one source of truth for the metric lines train.py prints and the regexes SageMaker reads them with.

SageMaker scans a training job's log with each ``MetricDefinitions`` regex and records the first capture
group as the metric's value; hyperparameter tuning optimises ``OBJECTIVE_METRIC``. train.py prints its
lines with ``format_metric_line`` so the format and the regexes cannot drift apart.
"""

from __future__ import annotations

if __package__:  # imported by the pipeline, as model_code.metric_definitions
    from .dataset_layout import SPLITS
else:  # imported beside train.py, as the training container runs it
    from dataset_layout import SPLITS

# A float as Python's "g" format prints it: plain decimals and scientific notation (1.5e-03, 2E+10).
_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"

MEASURES = ("loss", "accuracy")
METRIC_NAMES = tuple(f"{split}:{measure}" for split in SPLITS for measure in MEASURES)

METRIC_DEFINITIONS = [{"Name": name, "Regex": rf"\b{name}={_NUMBER}"} for name in METRIC_NAMES]

OBJECTIVE_METRIC = "valid:accuracy"


def format_metric_line(split: str, loss: float, accuracy: float, epoch: int | None = None) -> str:
    """``epoch=3 valid:loss=0.1234 valid:accuracy=0.95``: one line the regexes above capture."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    prefix = "" if epoch is None else f"epoch={epoch} "
    return f"{prefix}{split}:loss={loss:.6g} {split}:accuracy={accuracy:.6g}"
