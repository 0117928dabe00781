"""The pipeline's job operators and the project hook under them, against local AWS: a task run again
adopts the job its earlier try completed, waits for one still running (in the worker, or deferred to
the progress trigger), and moves past a failed one to the next attempt name."""

import pytest
from airflow.providers.common.compat.sdk import AirflowException, TaskDeferred

from dog_breed.job_progress_triggers import JobProgressTrigger
from dog_breed.operators import BestTrialTrainingOperator
from dog_breed.sagemaker_hook import TRAINING, TUNING, PipelineSageMakerHook
from local_aws_testing import unique_name, wait_for

TUNED = {"learning_rate": "0.01", "batch_size": "8", "epochs": "1"}
BEST_TRIAL = {"Tuning": {"BestTrainingJob": {"TrainingJobName": "a-trial", "TunedHyperParameters": TUNED}}}


def training_operator(request: dict, deferrable: bool = False) -> BestTrialTrainingOperator:
    return BestTrialTrainingOperator(
        task_id="train", config=request, tuning_result=BEST_TRIAL, aws_conn_id=None, wait_for_completion=True,
        print_log=False, check_interval=1, max_ingestion_time=300, deferrable=deferrable,
    )


def jobs_named_after(sm, name: str) -> list[str]:
    return sorted(job["TrainingJobName"] for job in sm.list_training_jobs(NameContains=name)["TrainingJobSummaries"])


def run_to_the_end(sm, request: dict) -> dict:
    sm.create_training_job(**request)
    name = request["TrainingJobName"]
    return wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")


@pytest.mark.parametrize("earlier_try", ["completed", "running"])
def test_the_job_an_earlier_try_started_is_adopted_not_run_again(aws_env, sm, probe_request, earlier_try):
    name = unique_name(f"adopt-{earlier_try}")
    if earlier_try == "completed":
        assert run_to_the_end(sm, probe_request(name))["TrainingJobStatus"] == "Completed"
    else:  # waited for until it completes
        sm.create_training_job(**probe_request(name, {"seconds": "3"}))

    result = training_operator(probe_request(name)).execute({})["Training"]

    assert result["TrainingJobName"] == name and result["TrainingJobStatus"] == "Completed"
    assert jobs_named_after(sm, name) == [name]


def test_a_deferrable_task_defers_to_the_progress_trigger_for_a_running_job(aws_env, sm, probe_request):
    name = unique_name("defer")
    sm.create_training_job(**probe_request(name, {"seconds": "30"}))
    try:
        with pytest.raises(TaskDeferred) as deferred:
            training_operator(probe_request(name), deferrable=True).execute({})
    finally:
        sm.stop_training_job(TrainingJobName=name)
    trigger = deferred.value.trigger
    assert isinstance(trigger, JobProgressTrigger)
    # As long as the task may wait (max_ingestion_time 300 s, a poll a second), not the provider's 60 polls.
    assert trigger.serialize()[1] == {
        "job_name": name, "job_type": "training", "poll_seconds": 1, "max_attempts": 300, "aws_conn_id": None,
        "region_name": None, "verify": None, "botocore_config": None}
    assert deferred.value.method_name == "execute_complete"


def test_a_failed_job_moves_the_run_to_the_next_attempt_name(aws_env, sm, probe_request):
    name = unique_name("retry")
    assert run_to_the_end(sm, probe_request(name, {"mode": "fail"}))["TrainingJobStatus"] == "Failed"

    result = training_operator(probe_request(name)).execute({})["Training"]

    assert result["TrainingJobName"] == f"{name}-2" and result["TrainingJobStatus"] == "Completed"
    assert jobs_named_after(sm, name) == [name, f"{name}-2"]


def test_a_job_that_fails_while_waited_for_fails_the_task_with_its_reason(aws_env, sm, probe_request):
    name = unique_name("fails-later")
    # Long enough that the operator finds it still running even on a loaded machine (CI once saw the
    # operator's first describe 2.8 s after the create, when a 2 s job had already failed).
    sm.create_training_job(**probe_request(name, {"mode": "fail", "seconds": "8"}))

    with pytest.raises(AirflowException, match="the probe was told to fail"):
        training_operator(probe_request(name)).execute({})


def test_the_hook_claims_a_tuning_jobs_planned_name_when_none_exists(aws_env):
    claimed = PipelineSageMakerHook(aws_conn_id=None).claim_job(TUNING, unique_name("tune")[:32])
    assert claimed.existing is None


def test_the_hook_refuses_when_every_attempt_name_is_taken_by_a_failed_job(aws_env, sm, probe_request):
    name = unique_name("spent")
    hook = PipelineSageMakerHook(aws_conn_id=None)
    for attempt in [name, *(f"{name}-{number}" for number in range(2, 10))]:
        sm.create_training_job(**probe_request(attempt, {"mode": "fail"}))
    for attempt in [name, *(f"{name}-{number}" for number in range(2, 10))]:
        wait_for(lambda: sm.describe_training_job(TrainingJobName=attempt), "TrainingJobStatus")

    with pytest.raises(AirflowException, match=f"every attempt name of {name} is taken"):
        hook.claim_job(TRAINING, name)
