"""The run summary: a Markdown page with the best hyperparameters, the trial table, the metrics, the
endpoint, timings and an estimated cost.

Cost = billable seconds of every training job × instance count × the on-demand hourly price below, plus
the endpoint's hourly price while it serves. Prices are SageMaker's and EC2's published on-demand Linux rates
for us-east-1 (USD per instance hour; https://aws.amazon.com/sagemaker/pricing/ and
https://aws.amazon.com/ec2/pricing/on-demand/), used for an estimate only: other regions, spot discounts and
savings plans differ. An instance type missing here is reported as "unknown", never guessed.

A run trained on EC2 is also priced as the same training on SageMaker: its real duration on the SageMaker
instance of the same vCPUs and memory (the user compared t2.xlarge, $0.1856/h, with ml.m5.xlarge, $0.23/h).
"""

from __future__ import annotations

import json
from typing import Any

NOTE_MAX_CHARS = 1000  # what Airflow keeps of a run's note (DagRunNote.content, the REST API's max_length)
NOTE_METRICS = ("test_accuracy", "valid_accuracy", "test_loss")

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


EC2_PRICE_PER_HOUR_USD = {
    "t2.xlarge": 0.1856,
    "t3.large": 0.0832,
    "t3.xlarge": 0.1664,
    "m5.large": 0.096,
    "m5.xlarge": 0.192,
    "c5.xlarge": 0.17,
    "g4dn.xlarge": 0.526,
}
# The SageMaker training instance of the same vCPUs and memory as an EC2 type.
SAGEMAKER_EQUIVALENT = {
    "t2.xlarge": "ml.m5.xlarge",
    "t3.large": "ml.m5.large",
    "t3.xlarge": "ml.m5.xlarge",
    "m5.large": "ml.m5.large",
    "m5.xlarge": "ml.m5.xlarge",
    "c5.xlarge": "ml.c5.xlarge",
    "g4dn.xlarge": "ml.g4dn.xlarge",
}


def job_cost(instance_type: str, instance_count: int, billable_seconds: float) -> float | None:
    price = PRICE_PER_HOUR_USD.get(instance_type, EC2_PRICE_PER_HOUR_USD.get(instance_type))
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


def ec2_comparison(training_job: dict[str, Any]) -> dict[str, Any] | None:
    """For a run trained on EC2: its cost, and the same seconds on the equivalent SageMaker instance."""
    if training_job.get("Backend") != "ec2":
        return None
    seconds, cost = _billed(training_job)
    ec2_type = training_job["ResourceConfig"]["InstanceType"]
    sagemaker_type = SAGEMAKER_EQUIVALENT.get(ec2_type)
    sagemaker_cost = job_cost(sagemaker_type, 1, seconds) if sagemaker_type else None
    return {"instance_id": training_job.get("InstanceId"), "instance_type": ec2_type, "seconds": seconds,
            "cost": cost, "sagemaker_instance_type": sagemaker_type or "unknown", "sagemaker_cost": sagemaker_cost,
            "saving": None if cost is None or sagemaker_cost is None else sagemaker_cost - cost}


def scaling_summary(scaling: dict[str, Any] | None) -> dict[str, Any] | None:
    """The scalable target's bounds and the target-tracking policy, from what the autoscaling task returned."""
    if not scaling:
        return None
    target, policy = scaling["ScalableTarget"], scaling["ScalingPolicy"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    return {"resource_id": scaling["ResourceId"], "min": target["MinCapacity"], "max": target["MaxCapacity"],
            "policy": policy["PolicyName"], "target": tracking["TargetValue"],
            "metric": tracking["PredefinedMetricSpecification"]["PredefinedMetricType"],
            "scale_in_cooldown": tracking.get("ScaleInCooldown"), "scale_out_cooldown": tracking.get("ScaleOutCooldown")}


def front_door_summary(front_door: dict[str, Any] | None, check: dict[str, Any] | None) -> dict[str, Any] | None:
    """The function, its version behind the alias, its concurrency, URL and role policy, and its check."""
    if not front_door:
        return None
    provisioned = front_door.get("ProvisionedConcurrency") or {}
    return {"function": front_door["FunctionName"], "version": front_door["Version"], "alias": front_door["Alias"],
            "memory_mb": front_door["Configuration"]["MemorySize"],
            "reserved_concurrency": front_door["ReservedConcurrentExecutions"],
            "provisioned_concurrency": provisioned.get("AllocatedProvisionedConcurrentExecutions", 0),
            "provisioned_status": provisioned.get("Status", "none"), "url": front_door.get("FunctionUrl"),
            "role": front_door["RoleArn"], "role_policy": front_door["RolePolicy"],
            "events": (check or {}).get("events"), "url_skipped": (check or {}).get("url_skipped")}


def summarize(*, run_id: str | None, tuning_job: dict[str, Any] | None, training_job: dict[str, Any],
              trials: list[dict[str, Any]], evaluation: dict[str, Any], smoke: dict[str, Any] | None,
              endpoint: dict[str, Any] | None, endpoint_instance: tuple[str, int], report_uri: str,
              scaling: dict[str, Any] | None = None, front_door: dict[str, Any] | None = None,
              front_door_check: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run summary that `render` turns into Markdown, from the descriptions the pipeline's tasks
    returned: the tuning job's (None when it trained on EC2) and the training job's, the trial rows
    (`trial`), the evaluation, the smoke test's result, the endpoint's description, its scaling and the
    front door (None when the gate kept the candidate out)."""
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
    timings = [{"name": "training", "seconds": training_job.get("TrainingTimeInSeconds"), "cost": training_cost}]
    if tuning_job:
        timings.insert(0, {"name": "tuning", "seconds": tuning_job.get("ConsumedResources", {}).get("RuntimeInSeconds"),
                           "cost": total_cost([row["cost"] for row in trials])})
    return {
        "run_id": run_id,
        "decision": evaluation["decision"],
        "training_backend": training_job.get("Backend", "sagemaker"),
        "tuning_job": tuning_job["HyperParameterTuningJobName"] if tuning_job else None,
        "training_job": training_job["TrainingJobName"],
        "best_hyperparameters": {k: v for k, v in training_job["HyperParameters"].items()
                                 if not k.startswith("sagemaker_")},
        "trials": sorted(trials, key=lambda row: row["name"]),
        "metrics": {k: v for k, v in evaluation["metrics"].items() if isinstance(v, (int, float))},
        "endpoint": deployed,
        "scaling": scaling_summary(scaling),
        "front_door": front_door_summary(front_door, front_door_check),
        "ec2": ec2_comparison(training_job),
        "timings": timings,
        "training_cost": total_cost([*(row["cost"] for row in trials), training_cost]),
        "report_uri": report_uri,
    }


def render(summary: dict[str, Any]) -> str:
    """Markdown for a run summary (the dict the report task assembles)."""
    lines = [f"# Dog-breed pipeline run `{summary['run_id']}`", ""]
    decision = summary["decision"]
    lines += [f"**Outcome:** {'deployed' if decision['deploy'] else 'not deployed'}: {decision['reason']}", ""]
    tuned = summary["tuning_job"] is not None
    lines += ["## Best hyperparameters" if tuned else "## Hyperparameters (given; trained on EC2)", "",
              _row(["name", "value"]), _row(["---", "---"])]
    lines += [_row([k, v]) for k, v in sorted(summary["best_hyperparameters"].items())]
    if tuned:
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
    lines += _scaling_lines(summary.get("scaling")) + _front_door_lines(summary.get("front_door"))
    lines += _ec2_lines(summary.get("ec2"))
    lines += ["", "## Timings and cost", "", _row(["step", "seconds", "cost"]), _row(["---", "---", "---"])]
    lines += [_row([step["name"], step["seconds"], _money(step["cost"])]) for step in summary["timings"]]
    lines += ["", f"**Estimated training cost:** {_money(summary['training_cost'])} "
                  "(on-demand us-east-1 prices; see docs/pipeline.md)", ""]
    return "\n".join(lines)


def note(summary: dict[str, Any]) -> str:
    """The run's note: the report's outcome, metrics, endpoint, front door and cost in Markdown within the
    NOTE_MAX_CHARS Airflow keeps, the full report's S3 URI last. Lines that do not fit are left out from the
    end (the URI always stays); nothing is cut mid-line but a long gate reason."""
    decision = summary["decision"]
    metrics = summary["metrics"]
    headline = f"**{'Deployed' if decision['deploy'] else 'Not deployed'}:** {decision['reason']}"
    lines = [_clipped(headline, NOTE_MAX_CHARS // 2),
             "- " + ", ".join(f"{name} {metrics[name]:.4g}" for name in NOTE_METRICS if name in metrics)
             + f" (training job `{summary['training_job']}`)"]
    endpoint = summary.get("endpoint")
    if endpoint:
        lines.append(f"- endpoint `{endpoint['name']}` ({endpoint['status']}): smoke test {endpoint['smoke_accuracy']} on "
                     f"{endpoint['smoke_images']} images, {_money(endpoint['hourly_cost'])} per hour")
    scaling = summary.get("scaling")
    if scaling:
        lines.append(f"- autoscaling {scaling['min']} to {scaling['max']} instances")
    front_door = summary.get("front_door")
    if front_door:
        lines.append(f"- front door `{front_door['function']}` v{front_door['version']} behind "
                     f"`{front_door['alias']}`: {front_door['reserved_concurrency']} reserved, "
                     f"{front_door['provisioned_concurrency']} provisioned" +
                     (f", URL {front_door['url']}" if front_door.get("url") else ""))
    ec2 = summary.get("ec2")
    if ec2:
        lines.append(f"- trained on EC2 `{ec2['instance_type']}`: {_money(ec2['cost'])} against "
                     f"{_money(ec2['sagemaker_cost'])} on SageMaker")
    lines.append(f"- training cost {_money(summary['training_cost'])}")
    last = f"Full report: `{summary['report_uri']}`"
    while lines and len("\n".join([*lines, last])) > NOTE_MAX_CHARS:
        lines.pop()
    return "\n".join([*lines, last])


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _scaling_lines(scaling: dict[str, Any] | None) -> list[str]:
    if not scaling:
        return []
    return ["", "## Autoscaling", "",
            f"- `{scaling['resource_id']}`: {scaling['min']} to {scaling['max']} instances",
            f"- policy `{scaling['policy']}`: target tracking, {scaling['target']} {scaling['metric']}, cooldowns "
            f"{scaling['scale_in_cooldown']} s in, {scaling['scale_out_cooldown']} s out"]


def _front_door_lines(front_door: dict[str, Any] | None) -> list[str]:
    if not front_door:
        return []
    events = front_door.get("events") or {}
    lines = ["", "## Lambda front door", "",
             f"- `{front_door['function']}` version {front_door['version']} behind alias `{front_door['alias']}`, "
             f"{front_door['memory_mb']} MB",
             f"- concurrency: {front_door['reserved_concurrency']} reserved, {front_door['provisioned_concurrency']} "
             f"provisioned on `{front_door['alias']}` ({front_door['provisioned_status']})",
             f"- function URL: {front_door['url'] or 'none'}",
             f"- checked: {events.get('image', 0)} image events and {events.get('url', 0)} URL events agreed with "
             "the endpoint" + (f" (no URL event: {front_door['url_skipped']})" if front_door.get("url_skipped") else ""),
             f"- role `{front_door['role']}`, its only policy:", "", "```json",
             json.dumps(front_door["role_policy"], indent=2), "```"]
    return lines


def _ec2_lines(ec2: dict[str, Any] | None) -> list[str]:
    if not ec2:
        return []
    return ["", "## Training on EC2 against SageMaker", "",
            _row(["where", "instance type", "seconds", "cost"]), _row(["---"] * 4),
            _row([f"EC2 ({ec2['instance_id'] or 'adopted artifact'})", ec2["instance_type"], ec2["seconds"],
                  _money(ec2["cost"])]),
            _row(["SageMaker, the same seconds", ec2["sagemaker_instance_type"], ec2["seconds"],
                  _money(ec2["sagemaker_cost"])]),
            "", f"Saving on EC2: {_money(ec2['saving'])} (on-demand us-east-1 prices)"]


def total_cost(costs: list[float | None]) -> float | None:
    """The sum, or None when any part is unknown (a partial sum would understate the cost)."""
    return None if any(c is None for c in costs) else sum(costs)  # type: ignore[arg-type]
