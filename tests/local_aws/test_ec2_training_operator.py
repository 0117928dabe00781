"""Ec2SsmTrainingOperator (issue 16): model_code/train.py trained on a local EC2 instance through SSM, the
artifact in SageMaker's layout (evaluate reads its metrics), the instance terminated; a re-run adopts the
artifact; a hostile hyperparameter value stays inert data and its failure names the exit code and stderr;
a hostile name is refused before anything is launched."""

import sys

import boto3
import pytest

from local_aws_testing import first_event, run_deferring, unique_name

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="instances run in Linux namespace sandboxes")
HYPERPARAMETERS = {"arch": "resnet18", "image_size": "16", "epochs": "1", "batch_size": "8", "augment": "false",
                   "workers": "0"}


def operator(model_code_in_s3, bucket, image_id, job_name, deferrable=False, **changes):
    from dog_breed.ec2_training_operator import Ec2SsmTrainingOperator

    data_uri, code_uri = model_code_in_s3
    return Ec2SsmTrainingOperator(task_id="train_on_ec2", aws_conn_id=None, waiter_delay=1, deferrable=deferrable,
                                  config={
        "job_name": job_name, "code_uri": code_uri, "data_uri": data_uri, "output_uri": f"s3://{bucket}/ec2-training",
        "image_id": image_id, "hyperparameters": HYPERPARAMETERS, **changes})


class TaskLog:
    """Records what the operator logs."""

    def __init__(self):
        self.lines = []

    def _record(self, message, *args, **_):
        self.lines.append(message % args if args else message)

    info = warning = error = debug = exception = _record


def instance_state(local_aws, instance_id: str) -> str:
    ec2 = boto3.client("ec2", **local_aws.client_kwargs)
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


@pytest.fixture
def image_id(aws_client):
    return aws_client("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


@pytest.mark.slow
def test_trains_on_an_instance_through_ssm_terminates_it_and_adopts_on_a_rerun(aws_env, model_code_in_s3, bucket,
                                                                              image_id, local_aws, monkeypatch):
    from dog_breed.ec2_training_operator import Ec2SsmTrainingOperator
    from dog_breed.evaluation import read_metrics

    job = unique_name("ec2-train")
    task_log = TaskLog()  # what the task log shows
    monkeypatch.setattr(Ec2SsmTrainingOperator, "log", property(lambda self: task_log))
    result = operator(model_code_in_s3, bucket, image_id, job).execute(context={})["Training"]
    streamed = "\n".join(task_log.lines)
    assert "dog-breed: training on" in streamed and "test:accuracy=" in streamed  # train.py's own lines, streamed
    assert result["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{bucket}/ec2-training/{job}/output/model.tar.gz"
    s3 = boto3.client("s3", **local_aws.client_kwargs)
    assert 0.0 <= read_metrics(s3, result["ModelArtifacts"]["S3ModelArtifacts"])["test_accuracy"] <= 1.0
    assert instance_state(local_aws, result["InstanceId"]) in ("shutting-down", "terminated")
    again = operator(model_code_in_s3, bucket, image_id, job).execute(context={})["Training"]
    assert again["Adopted"] and again["InstanceId"] is None


def test_a_hostile_value_is_inert_data_and_the_failure_says_how_it_ended(aws_env, model_code_in_s3, bucket,
                                                                         image_id, local_aws):
    from airflow.providers.common.compat.sdk import AirflowException

    hostile = {**HYPERPARAMETERS, "arch": "$(touch /root/pwned); `touch /root/pwned`"}
    with pytest.raises(AirflowException) as failed:
        operator(model_code_in_s3, bucket, image_id, unique_name("ec2-hostile"), hyperparameters=hostile).execute(
            context={})
    message = str(failed.value)
    assert "exit code 2" in message and "invalid choice: '$(touch /root/pwned); `touch /root/pwned`'" in message


def test_a_hostile_hyperparameter_name_is_refused_before_anything_is_launched(aws_env, model_code_in_s3, bucket,
                                                                              image_id):
    from airflow.providers.common.compat.sdk import AirflowException

    with pytest.raises(AirflowException, match="hyperparameters: name 'x; rm -rf ~'"):
        operator(model_code_in_s3, bucket, image_id, unique_name("ec2-name"),
                 hyperparameters={"x; rm -rf ~": "1"}).execute(context={})


@pytest.mark.slow
def test_a_task_killed_mid_training_leaves_no_instance_running(aws_env, model_code_in_s3, bucket, image_id,
                                                               local_aws, monkeypatch):
    """What Airflow's task runner does on SIGTERM: call `on_kill` on the task, here while train.py runs."""
    import threading
    import time

    from dog_breed.ec2_training_operator import Ec2SsmTrainingOperator

    task_log = TaskLog()
    monkeypatch.setattr(Ec2SsmTrainingOperator, "log", property(lambda self: task_log))
    task = operator(model_code_in_s3, bucket, image_id, unique_name("ec2-killed"),
                    hyperparameters={**HYPERPARAMETERS, "epochs": "200"})
    ended = {}

    def run():
        try:
            task.execute(context={})
        except Exception as error:  # noqa: BLE001 - the outcome is what the test checks
            ended["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 240
    while not any("train:" in line or "Epoch" in line or "epoch" in line for line in task_log.lines):
        assert time.monotonic() < deadline and worker.is_alive(), task_log.lines[-5:]
        time.sleep(0.5)
    instance_id = task._instance_id
    task.on_kill()
    worker.join(timeout=120)
    assert not worker.is_alive() and "error" in ended, "the command ended with its instance"
    assert instance_state(local_aws, instance_id) in ("shutting-down", "terminated")


@pytest.mark.slow
def test_deferred_it_waits_in_the_triggerer_streams_the_output_there_and_terminates(
        aws_env, model_code_in_s3, bucket, image_id, local_aws, monkeypatch):
    from dog_breed.ec2_training_triggers import TrainingCommandTrigger

    trigger_log = TaskLog()  # the triggerer's lines land in the task log
    monkeypatch.setattr(TrainingCommandTrigger, "log", property(lambda self: trigger_log))
    job = unique_name("ec2-deferred")
    result, triggers = run_deferring(operator(model_code_in_s3, bucket, image_id, job, deferrable=True), {})
    training = result["Training"]
    assert triggers == ["InstanceOnlineTrigger", "TrainingCommandTrigger"]
    streamed = "\n".join(trigger_log.lines)
    assert "dog-breed: training on" in streamed and "test:accuracy=" in streamed
    assert training["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{bucket}/ec2-training/{job}/output/model.tar.gz"
    assert training["TrainingTimeInSeconds"] >= 0 and training["TrainingStartTime"].endswith("timezone.utc)")
    assert training["CommandId"]
    assert instance_state(local_aws, training["InstanceId"]) in ("shutting-down", "terminated")


def test_deferred_a_failing_command_fails_with_its_exit_code_and_terminates(
        aws_env, model_code_in_s3, bucket, image_id, local_aws):
    from airflow.providers.common.compat.sdk import AirflowException

    task = operator(model_code_in_s3, bucket, image_id, unique_name("ec2-deferred-fails"), deferrable=True,
                    hyperparameters={**HYPERPARAMETERS, "arch": "no-such-arch"})
    with pytest.raises(AirflowException, match="exit code 2") as failed:
        run_deferring(task, {})
    instance_id = str(failed.value).split(" on ", 1)[1].split(" ", 1)[0]
    assert instance_state(local_aws, instance_id) in ("shutting-down", "terminated")


@pytest.mark.slow
def test_a_deferred_task_killed_by_its_user_has_its_trigger_terminate_the_instance(
        aws_env, model_code_in_s3, bucket, image_id, local_aws, monkeypatch):
    """What Airflow 3.3's triggerer does when a user marks a deferred task failed or clears it: cancel the
    trigger and call its `on_kill`, here while train.py runs."""
    import asyncio

    from airflow.providers.common.compat.sdk import TaskDeferred

    from dog_breed.ec2_training_triggers import InstanceOnlineTrigger, TrainingCommandTrigger

    trigger_log = TaskLog()
    monkeypatch.setattr(TrainingCommandTrigger, "log", property(lambda self: trigger_log))
    task = operator(model_code_in_s3, bucket, image_id, unique_name("ec2-deferred-killed"), deferrable=True,
                    hyperparameters={**HYPERPARAMETERS, "epochs": "200"})
    with pytest.raises(TaskDeferred) as online:
        task.execute(context={})
    assert isinstance(online.value.trigger, InstanceOnlineTrigger)
    with pytest.raises(TaskDeferred) as command:
        task.execute_online(context={}, event=asyncio.run(first_event(online.value.trigger)))
    trigger = command.value.trigger

    async def kill_once_training() -> None:
        running = asyncio.create_task(first_event(trigger))
        for _ in range(480):
            if any("epoch" in line.lower() for line in trigger_log.lines) or running.done():
                break
            await asyncio.sleep(0.5)
        assert not running.done(), f"the command ended before it was killed: {trigger_log.lines[-5:]}"
        running.cancel()
        await trigger.on_kill()

    asyncio.run(kill_once_training())
    assert instance_state(local_aws, trigger.instance_id) in ("shutting-down", "terminated")


def test_an_instance_left_behind_ends_itself_when_its_lifetime_is_up(aws_env, model_code_in_s3, bucket, image_id,
                                                                     local_aws, monkeypatch):
    """The worker killed outright (no on_kill) and the triggerer down: the user data's scheduled shutdown
    terminates the instance. LOCAL_AWS_TIME_SCALE=60 makes its one minute last a second."""
    import time

    monkeypatch.setenv("LOCAL_AWS_TIME_SCALE", "60")
    task = operator(model_code_in_s3, bucket, image_id, unique_name("ec2-left"))
    training = task.training()
    instance_id = task.hook.launch(training, task.hook.ensure_profile(training), lifetime_minutes=1, wait=None)
    deadline = time.monotonic() + 60
    while True:
        state = instance_state(local_aws, instance_id)
        if state in ("shutting-down", "terminated"):
            break
        assert time.monotonic() < deadline, f"{instance_id} is still {state}"
        time.sleep(0.5)
