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


def _billed(training_job: dict[str, Any]) -> tuple[int, float | None]:
    """A DescribeTrainingJob's billable seconds, and their estimated cost."""
    billable = training_job.get("BillableTimeInSeconds") or 0
    resources = training_job["ResourceConfig"]
    return billable, job_cost(resources["InstanceType"], resources["InstanceCount"], billable)


def trial(summary: dict[str, Any], described: dict[str, Any]) -> dict[str, Any]:
    """A row of the trial table from a trial's `TrainingJobSummaries` entry and its DescribeTrainingJob."""
    billable, cost = _billed(described)
    return {
        "name": summary["TrainingJobName"],
        "status": summary["TrainingJobStatus"],
        "objective": summary.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value"),
        "hyperparameters": summary.get("TunedHyperParameters", {}),
        "billable_seconds": billable,
        "cost": cost,
    }


def summarize(*, run_id: str | None, tuning_job: dict[str, Any], training_job: dict[str, Any],
              trials: list[dict[str, Any]], evaluation: dict[str, Any], smoke: dict[str, Any] | None,
              endpoint: dict[str, Any] | None, endpoint_instance: tuple[str, int], report_uri: str) -> dict[str, Any]:
    """The run summary that `render` turns into Markdown, from the descriptions the pipeline's tasks
    returned: the tuning job's and the training job's, the trial rows (`trial`), the evaluation, the
    smoke test's result and the endpoint's description (both None when the gate kept the candidate out)."""
    _, training_cost = _billed(training_job)
    deployed = None
    if endpoint is not None and smoke is not None:
        previous = (evaluation["serving"] or {}).get("model_name")
        deployed = {
            "name": endpoint["EndpointName"], "status": endpoint["EndpointStatus"],
            "model": evaluation["training_job"],
            # A re-run of a deployed run finds its own model serving: nothing was replaced.
            "replaced_model": previous if previous != evaluation["training_job"] else None,
            "smoke_accuracy": round(smoke["accuracy"], 4),
            "smoke_images": smoke["images"], "example": smoke["example"],
            "hourly_cost": job_cost(*endpoint_instance, 3600),
        }
    return {
        "run_id": run_id,
        "decision": evaluation["decision"],
        "tuning_job": tuning_job["HyperParameterTuningJobName"],
        "training_job": training_job["TrainingJobName"],
        "best_hyperparameters": {k: v for k, v in training_job["HyperParameters"].items()
                                 if not k.startswith("sagemaker_")},
        "trials": sorted(trials, key=lambda row: row["name"]),
        "metrics": {k: v for k, v in evaluation["metrics"].items() if isinstance(v, (int, float))},
        "endpoint": deployed,
        "timings": [
            {"name": "tuning", "seconds": tuning_job.get("ConsumedResources", {}).get("RuntimeInSeconds"),
             "cost": total_cost([row["cost"] for row in trials])},
            {"name": "training", "seconds": training_job.get("TrainingTimeInSeconds"), "cost": training_cost},
        ],
        "training_cost": total_cost([*(row["cost"] for row in trials), training_cost]),
        "report_uri": report_uri,
    }


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
