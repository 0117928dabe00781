"""The provider's own deferrable trigger, which polls through aiobotocore, against local AWS: the event a
deferred operator resumes on, for a job that completes and for one that fails. (The pipeline's tune,
train and deploy_endpoint tasks defer to it in the end-to-end DAG test.)"""

import asyncio

import pytest

from local_aws_testing import probe_training_request, unique_name


def _first_event(trigger) -> dict:
    async def first():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(asyncio.wait_for(first(), timeout=120))


def _training_trigger(name: str):
    from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger

    return SageMakerTrigger(job_name=name, job_type="training", waiter_delay=1, waiter_max_attempts=100,
                            aws_conn_id=None)


@pytest.mark.parametrize("mode, status", [("ok", "success"), ("fail", "failed")])
def test_the_providers_sagemaker_trigger_reports_how_a_training_job_ended(aws_env, sm, bucket, mode, status):
    name = unique_name(f"trigger-{mode}")
    sm.create_training_job(**probe_training_request(bucket, name, {"mode": mode}))
    event = _first_event(_training_trigger(name))
    assert event["status"] == status, event
    if mode == "fail":
        assert event["message"].startswith("AlgorithmError: ExecuteUserScriptError")
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == (
        "Completed" if mode == "ok" else "Failed")
