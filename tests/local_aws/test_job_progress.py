"""Progress a user can watch (issue 22): the tune and train tasks log a tuning job's trials and a summary, and a
training job's status transitions and its script's own lines, in the worker and deferred to the triggerer
alike, against local AWS."""

import logging

import pytest
from airflow.providers.common.compat.sdk import AirflowException, TaskDeferred

from dog_breed.job_progress import TrainingProgress, follow, tuning_summary
from dog_breed.job_progress_triggers import JobProgressTrigger
from dog_breed.operators import BestTrialTrainingOperator, ResumableTuningOperator
from dog_breed.sagemaker_hook import PipelineSageMakerHook
from local_aws_testing import probe_training_request, probe_tuning_request, run_deferring, unique_name

# The train task takes the best trial's values: 3 epochs.
TUNED = {"learning_rate": "0.01", "batch_size": "8", "epochs": "3"}
BEST_TRIAL = {"Tuning": {"BestTrainingJob": {"TrainingJobName": "a-trial", "TunedHyperParameters": TUNED}}}


def training_task(request: dict, deferrable: bool) -> BestTrialTrainingOperator:
    return BestTrialTrainingOperator(task_id="train", config=request, tuning_result=BEST_TRIAL, aws_conn_id=None,
                                     wait_for_completion=True, print_log=False, check_interval=1,
                                     max_ingestion_time=300, deferrable=deferrable)


def logged(capfd) -> str:
    # Airflow 3's task logging is structlog on the standard streams.
    return "".join(capfd.readouterr())


@pytest.mark.parametrize("deferrable", [False, True], ids=["in-the-worker", "deferred"])
def test_a_training_task_logs_the_jobs_transitions_and_the_scripts_lines(aws_env, bucket, capfd, deferrable):
    name = unique_name("progress")
    result, triggers = run_deferring(training_task(probe_training_request(bucket, name),
                                                   deferrable), {})

    assert result["Training"]["TrainingJobStatus"] == "Completed"
    assert triggers == (["JobProgressTrigger"] if deferrable else [])
    log = logged(capfd)
    for epoch in (1, 2, 3):  # each line once, in order
        assert log.count(f"epoch={epoch} valid:loss=") == 1
    assert log.index("epoch=1 valid:loss=") < log.index("epoch=2 valid:loss=") < log.index("epoch=3 valid:loss=")
    for transition in ("Downloading - Downloading input data",
                       "Training - Training image download completed. Training in progress.",
                       "Completed - Training job completed"):
        assert log.count(transition) == 1, transition
    assert f"{name}: Completed" in log


def test_several_hosts_lines_are_each_prefixed_with_their_host(aws_env, bucket, capfd):
    name = unique_name("progress-hosts")
    training_task(probe_training_request(bucket, name, instance_count=2), False).execute({})
    log = logged(capfd)
    assert log.count("[algo-1] epoch=3 valid:loss=") == 1 and log.count("[algo-2] epoch=3 valid:loss=") == 1


def test_a_failed_job_ends_the_deferred_wait_in_the_providers_failed_event(aws_env, bucket, capfd):
    name = unique_name("progress-fails")
    task = training_task(probe_training_request(bucket, name, {"mode": "fail", "seconds": "2"}), True)

    with pytest.raises(AirflowException, match="'status': 'failed'.*the probe was told to fail"):
        run_deferring(task, {})
    assert "ValueError: the probe was told to fail" in logged(capfd)  # the script's traceback, from CloudWatch


@pytest.mark.parametrize("deferrable", [False, True], ids=["in-the-worker", "deferred"])
def test_a_tuning_task_logs_each_trial_and_a_summary(aws_env, bucket, capfd, deferrable):
    name = unique_name("progress-tune")[:32]
    task = ResumableTuningOperator(task_id="tune", config=probe_tuning_request(bucket, name, max_jobs=2),
                                   aws_conn_id=None, wait_for_completion=True, check_interval=1,
                                   max_ingestion_time=300, deferrable=deferrable)
    result, _ = run_deferring(task, {})

    described = result["Tuning"]
    best = described["BestTrainingJob"]
    log = logged(capfd)
    trials = sorted({line.split("trial ", 1)[1].split(":")[0] for line in log.splitlines()
                     if ": Completed (valid:accuracy " in line})
    assert len(trials) == 2 and all(trial.startswith(name) for trial in trials)
    for trial in trials:
        assert log.count(f"trial {trial}: InProgress") == 1
    value = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert f"2 of 2 complete; best valid:accuracy {value:.4g} (trial {best['TrainingJobName']})" in log


def test_the_tuning_summary_counts_what_failed_and_stopped():
    described = {"HyperParameterTuningJobConfig": {"ResourceLimits": {"MaxNumberOfTrainingJobs": 8}},
                 "TrainingJobStatusCounters": {"Completed": 3, "InProgress": 2, "RetryableError": 1,
                                               "NonRetryableError": 1, "Stopped": 1}}
    assert tuning_summary(described) == "3 of 8 complete, 2 in progress, 2 failed, 1 stopped"
    described["BestTrainingJob"] = {"TrainingJobName": "t-003", "FinalHyperParameterTuningJobObjectiveMetric": {
        "MetricName": "valid:accuracy", "Value": 0.912345}}
    assert tuning_summary(described).endswith("; best valid:accuracy 0.9123 (trial t-003)")


def test_following_a_job_gives_up_after_its_longest_wait(aws_env, sm, bucket):
    name = unique_name("progress-slow")
    sm.create_training_job(**probe_training_request(bucket, name, {"seconds": "30"}))
    try:
        progress = TrainingProgress(PipelineSageMakerHook(aws_conn_id=None), name, logging.getLogger(__name__))
        with pytest.raises(AirflowException, match=f"SageMaker job {name} took more than 2 seconds"):
            follow(progress, interval=0.5, max_seconds=2)
    finally:
        sm.stop_training_job(TrainingJobName=name)
