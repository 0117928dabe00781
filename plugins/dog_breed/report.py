"""The run summary: a Markdown page with the best hyperparameters, the trial table, the metrics, the
endpoint, timings and an estimated cost.

Cost = billable seconds of every training job × instance count × the on-demand hourly price below, plus
the endpoint's hourly price while it serves. Prices are SageMaker's published on-demand rates for
us-east-1 (USD per instance hour; https://aws.amazon.com/sagemaker/pricing/), used for an estimate only:
other regions, spot discounts and savings plans differ. An instance type missing here is reported as
"unknown", never guessed.
"""

from __future__ import annotations

from typing import Any

PRICE_PER_HOUR_USD = {
    "ml.t3.medium": 0.05,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m5.2xlarge": 0.461,
    "ml.m5.4xlarge": 0.922,
    "ml.c5.xlarge": 0.204,
    "ml.c5.2xlarge": 0.408,
    "ml.g4dn.xlarge": 0.736,
    "ml.g5.xlarge": 1.408,
    "ml.p3.2xlarge": 3.825,
}


def job_cost(instance_type: str, instance_count: int, billable_seconds: float) -> float | None:
    price = PRICE_PER_HOUR_USD.get(instance_type)
    return None if price is None else price * instance_count * billable_seconds / 3600.0


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def render(summary: dict[str, Any]) -> str:
    """Markdown for a run summary (the dict the report task assembles)."""
    lines = [f"# Dog-breed pipeline run `{summary['run_id']}`", ""]
    decision = summary["decision"]
    lines += [f"**Outcome:** {'deployed' if decision['deploy'] else 'not deployed'}: {decision['reason']}", ""]
    lines += ["## Best hyperparameters", "", _row(["name", "value"]), _row(["---", "---"])]
    lines += [_row([k, v]) for k, v in sorted(summary["best_hyperparameters"].items())]
    lines += ["", f"## Trials of `{summary['tuning_job']}`", "",
              _row(["training job", "status", "objective", "hyperparameters", "billable s", "cost"]),
              _row(["---"] * 6)]
    for trial in summary["trials"]:
        lines.append(_row([trial["name"], trial["status"], trial["objective"],
                           ", ".join(f"{k}={v}" for k, v in sorted(trial["hyperparameters"].items())),
                           trial["billable_seconds"], _money(trial["cost"])]))
    metrics = summary["metrics"]
    lines += ["", f"## Training job `{summary['training_job']}`", "", _row(["metric", "value"]), _row(["---", "---"])]
    lines += [_row([k, metrics[k]]) for k in sorted(metrics)]
    lines += ["", "## Endpoint", ""]
    if summary.get("endpoint"):
        endpoint = summary["endpoint"]
        replaced = f"updated blue/green from `{endpoint['replaced_model']}`" if endpoint.get("replaced_model") \
            else "created"
        lines += [f"- `{endpoint['name']}` ({endpoint['status']}), model `{endpoint['model']}`: {replaced}",
                  f"- smoke test: accuracy {endpoint['smoke_accuracy']} on {endpoint['smoke_images']} test images",
                  f"- serving cost: {_money(endpoint['hourly_cost'])} per hour"]
    else:
        lines.append("- unchanged: the candidate was not deployed")
    lines += ["", "## Timings and cost", "", _row(["step", "seconds", "cost"]), _row(["---", "---", "---"])]
    lines += [_row([step["name"], step["seconds"], _money(step["cost"])]) for step in summary["timings"]]
    lines += ["", f"**Estimated training cost:** {_money(summary['training_cost'])} "
                  "(on-demand us-east-1 prices; see docs/pipeline.md)", ""]
    return "\n".join(lines)


def total_cost(costs: list[float | None]) -> float | None:
    """The sum, or None when any part is unknown (a partial sum would understate the cost)."""
    return None if any(c is None for c in costs) else sum(costs)  # type: ignore[arg-type]
