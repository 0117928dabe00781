"""Hyperparameter tuning jobs through boto3: real trials, the best one by the objective, refusals."""

import pytest
from botocore.exceptions import ClientError

from local_aws_testing import probe_tuning_request, unique_name, wait_for


def run_tuning(sm, request: dict) -> dict:
    sm.create_hyper_parameter_tuning_job(**request)
    name = request["HyperParameterTuningJobName"]
    return wait_for(lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
                    "HyperParameterTuningJobStatus")


def expected_accuracy(learning_rate: str) -> float:
    # What the probe script reports after one epoch.
    return 1.0 - abs(float(learning_rate) - 0.01)


@pytest.mark.parametrize("strategy, objective", [
    ("Random", ("Maximize", "valid:accuracy")),
    ("Bayesian", ("Minimize", "valid:loss")),
])
def test_three_trials_and_the_best_by_the_objective(sm, bucket, strategy, objective):
    name = unique_name("tune")[:32]
    described = run_tuning(sm, probe_tuning_request(bucket, name, strategy=strategy, objective=objective))

    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"] == {
        "Completed": 3, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 0}
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
        "TrainingJobSummaries"]
    assert len(trials) == 3
    for trial in trials:
        assert trial["TrainingJobName"].startswith(f"{name}-")
        index, suffix = trial["TrainingJobName"][len(name) + 1:].split("-")
        assert len(index) == 3 and len(suffix) == 8
        accuracy = expected_accuracy(trial["TunedHyperParameters"]["learning_rate"])
        value = accuracy if objective[1] == "valid:accuracy" else 1 - accuracy
        assert trial["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(value, abs=1e-5)
        assert 0.001 <= float(trial["TunedHyperParameters"]["learning_rate"]) <= 0.5
    pick = max if objective[0] == "Maximize" else min
    best = pick(trials, key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert described["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert len({t["TunedHyperParameters"]["learning_rate"] for t in trials}) == 3
    trial_job = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert trial_job["TuningJobArn"] == described["HyperParameterTuningJobArn"]
    assert trial_job["HyperParameters"]["epochs"] == "1"
    assert trial_job["HyperParameters"]["_tuning_objective_metric"] == objective[1]


def test_every_range_type_one_trial_at_a_time(sm, bucket):
    ranges = {
        "ContinuousParameterRanges": [
            {"Name": "learning_rate", "MinValue": "0.001", "MaxValue": "0.05", "ScalingType": "Linear"}],
        "IntegerParameterRanges": [{"Name": "epochs", "MinValue": "1", "MaxValue": "4", "ScalingType": "Logarithmic"}],
        "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["adamw", "sgd"]}],
    }
    name = unique_name("ranges")[:32]
    request = probe_tuning_request(bucket, name, strategy="Bayesian", ranges=ranges, max_jobs=3)
    del request["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"]
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = 1
    described = run_tuning(sm, request)

    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] == 1
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="CreationTime", SortOrder="Ascending")["TrainingJobSummaries"]
    assert len(trials) == 3
    for trial in trials:
        tuned = trial["TunedHyperParameters"]
        assert set(tuned) == {"learning_rate", "epochs", "optimizer"}
        assert tuned["optimizer"] in ("adamw", "sgd") and tuned["epochs"] in ("1", "2", "3", "4")
        # The probe reports 1 - |lr - 0.01| / epochs: proof that both values reached the script.
        value = 1.0 - abs(float(tuned["learning_rate"]) - 0.01) / int(tuned["epochs"])
        assert trial["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(value, abs=1e-5)
    jobs = [sm.describe_training_job(TrainingJobName=t["TrainingJobName"]) for t in trials]
    for earlier, later in zip(jobs, jobs[1:]):
        assert later["CreationTime"] >= earlier["TrainingEndTime"]  # MaxParallelTrainingJobs 1: never two at once


def test_trials_sort_by_objective(sm, bucket):
    name = unique_name("sorted")[:32]
    run_tuning(sm, probe_tuning_request(bucket, name, max_jobs=2))
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue", SortOrder="Descending")[
        "TrainingJobSummaries"]
    values = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials]
    assert values == sorted(values, reverse=True)
    listed = sm.list_hyper_parameter_tuning_jobs(NameContains=name)["HyperParameterTuningJobSummaries"]
    assert [(j["HyperParameterTuningJobName"], j["Strategy"]) for j in listed] == [(name, "Random")]


def test_failing_trials_fail_the_tuning_job(sm, bucket):
    request = probe_tuning_request(bucket, unique_name("fails")[:32], max_jobs=2)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["mode"] = "fail"
    described = run_tuning(sm, request)
    assert described["HyperParameterTuningJobStatus"] == "Failed"
    assert described["FailureReason"].startswith("No training job succeeded after 2 attempts.")
    assert described["TrainingJobStatusCounters"]["NonRetryableError"] == 2
    assert described["ObjectiveStatusCounters"]["Failed"] == 2
    assert "BestTrainingJob" not in described


def test_stopping_a_tuning_job_stops_its_trials(sm, bucket):
    request = probe_tuning_request(bucket, unique_name("stop")[:32], max_jobs=4)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["mode"] = "sleep"
    name = request["HyperParameterTuningJobName"]
    sm.create_hyper_parameter_tuning_job(**request)
    wait_for(lambda: {"running": "yes" if sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name)["TrainingJobSummaries"] else "no"}, "running", until={"yes"}, timeout=30)
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    described = wait_for(lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
                         "HyperParameterTuningJobStatus")
    assert described["HyperParameterTuningJobStatus"] == "Stopped"
    counters = described["TrainingJobStatusCounters"]
    assert counters["InProgress"] == 0 and counters["Stopped"] >= 1

    with pytest.raises(ClientError) as raised:
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "has already ended" in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as raised:
        sm.create_hyper_parameter_tuning_job(**request)
    assert raised.value.response["Error"] == {"Code": "ResourceInUse", "Message": (
        f"A hyperparameter tuning job with the name, {name}, already exists. Choose a different name.")}


@pytest.mark.parametrize("call", ["describe_hyper_parameter_tuning_job", "stop_hyper_parameter_tuning_job",
                                  "list_training_jobs_for_hyper_parameter_tuning_job"])
def test_unknown_tuning_job_is_resource_not_found(sm, call):
    with pytest.raises(ClientError) as raised:
        getattr(sm, call)(HyperParameterTuningJobName="never-created")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFound"
    assert "can't find a tuning job called never-created" in raised.value.response["Error"]["Message"]


@pytest.mark.parametrize("change, refused", [
    ({"objective": ("Maximize", "test:accuracy")}, "Provide a metric in the metric definitions"),
    ({"strategy": "Hyperband"}, "Hyperband strategy"),
    ({"TrainingJobEarlyStoppingType": "Auto"}, "TrainingJobEarlyStoppingType Auto"),
    ({"ranges": {"ContinuousParameterRanges": [
        {"Name": "learning_rate", "MinValue": "0", "MaxValue": "0.5", "ScalingType": "Logarithmic"}]}},
     "values greater than 0"),
    ({"ranges": {"IntegerParameterRanges": [{"Name": "epochs", "MinValue": "1", "MaxValue": "3"}]}},
     "cannot be both static and tunable"),
    ({"ranges": {"IntegerParameterRanges": [{"Name": "width", "MinValue": "5", "MaxValue": "1"}]}},
     "greater than its MaxValue"),
])
def test_invalid_or_unsupported_configurations_are_refused(sm, bucket, change, refused):
    request = probe_tuning_request(bucket, unique_name("bad")[:32], **change)
    with pytest.raises(ClientError) as raised:
        sm.create_hyper_parameter_tuning_job(**request)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert refused in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=request["HyperParameterTuningJobName"])
