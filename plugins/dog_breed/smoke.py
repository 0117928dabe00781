"""The smoke test after a deployment: which test images to send, what a valid answer looks like, and
whether the endpoint's accuracy on them agrees with the evaluation."""

from __future__ import annotations

import math
from typing import Any

from model_code.dataset_layout import label_of  # the label the inference handler answers with

CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


class SmokeTestError(AssertionError):
    """The endpoint answered, but not as the deployed model should."""


def pick_test_images(files: list[dict[str, Any]], count: int) -> list[tuple[str, str]]:
    """`count` test images as (path, expected label), spread evenly over the sorted test split."""
    test = sorted(f["path"] for f in files
                  if f["path"].startswith("test/") and f["path"].rsplit(".", 1)[-1].lower() in ("jpg", "jpeg", "png"))
    if not test:
        raise SmokeTestError("the staged dataset has no test images")
    step = max(1, len(test) // count)
    chosen = test[::step][:count]
    return [(path, label_of(path.split("/")[1])) for path in chosen]


def content_type(path: str) -> str:
    return CONTENT_TYPES["." + path.rsplit(".", 1)[-1].lower()]


def check_answer(answer: Any, source: str) -> str:
    """The top label of a valid answer: a non-empty list of {label, probability}, most probable first."""
    if not isinstance(answer, list) or not answer:
        raise SmokeTestError(f"{source}: expected a non-empty list of predictions, got {answer!r:.200}")
    for entry in answer:
        if not (isinstance(entry, dict) and isinstance(entry.get("label"), str)
                and isinstance(entry.get("probability"), (int, float)) and 0.0 <= entry["probability"] <= 1.0):
            raise SmokeTestError(f"{source}: a prediction must be {{label: str, probability: 0..1}}, got {entry!r:.200}")
    probabilities = [entry["probability"] for entry in answer]
    if probabilities != sorted(probabilities, reverse=True):
        raise SmokeTestError(f"{source}: predictions are not sorted by probability: {probabilities}")
    if sum(probabilities) > 1.0 + 1e-4:
        raise SmokeTestError(f"{source}: probabilities add up to {sum(probabilities):.4f} > 1")
    return answer[0]["label"]


def accuracy_tolerance(expected: float, n: int) -> float:
    """Three binomial standard errors plus one image: how far accuracy on `n` images may stray by chance."""
    return 3.0 * math.sqrt(expected * (1.0 - expected) / n) + 1.0 / n


def check_accuracy(correct: int, n: int, expected: float) -> float:
    observed = correct / n
    tolerance = accuracy_tolerance(expected, n)
    if abs(observed - expected) > tolerance:
        raise SmokeTestError(f"endpoint accuracy {observed:.3f} on {n} test images is inconsistent with the "
                             f"evaluated test accuracy {expected:.3f} (tolerance ±{tolerance:.3f})")
    return observed
