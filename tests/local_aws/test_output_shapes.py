"""Local AWS's answers against AWS's output shapes (local_aws/output_shapes): what the check refuses, and that
the edge answers a violation as an internal failure naming it, so that a test meeting one fails."""

import json

import pytest

from local_aws import output_shapes, routing
from local_aws.settings import switch_setting


def described_job(**members) -> bytes:
    job = {"TrainingJobName": "job", "TrainingJobArn": "arn:aws:sagemaker:us-east-1:000000000000:training-job/job",
           "TrainingJobStatus": "InProgress", "SecondaryStatus": "Starting", "CreationTime": 1765000000.5,
           "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "image"},
           "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
           "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
           "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/output/job/output/model.tar.gz"}}
    job.update(members)
    return json.dumps({name: value for name, value in job.items() if value is not ...}).encode()


def test_a_whole_answer_passes():
    assert output_shapes.violations("sagemaker", "DescribeTrainingJob", described_job()) == []


def test_an_empty_model_artifacts_is_refused_as_the_sdk_refuses_it():
    assert output_shapes.violations("sagemaker", "DescribeTrainingJob", described_job(ModelArtifacts={})) == [
        "DescribeTrainingJob.ModelArtifacts.S3ModelArtifacts: missing, and ModelArtifacts requires it"]


@pytest.mark.parametrize("members, problem", [
    ({"TrainingJobStatus": ...}, "DescribeTrainingJob.TrainingJobStatus: missing, and "
                                 "DescribeTrainingJobResponse requires it"),
    ({"FailureReason": None}, "DescribeTrainingJob.FailureReason: null, where AWS omits a member that has no value"),
    ({"Surprise": 1}, "DescribeTrainingJob.Surprise: not a member of DescribeTrainingJobResponse"),
    ({"TrainingJobStatus": "Running"}, "DescribeTrainingJob.TrainingJobStatus: 'Running' is not one of "
                                       "TrainingJobStatus's values"),
    ({"CreationTime": "2026-12-07"}, "DescribeTrainingJob.CreationTime: a str where the shape Timestamp is a timestamp"),
    ({"ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": True, "VolumeSizeInGB": 30}},
     "DescribeTrainingJob.ResourceConfig.InstanceCount: a bool where the shape TrainingInstanceCount is a integer"),
    ({"SecondaryStatusTransitions": [{"Status": "Starting"}]},
     "DescribeTrainingJob.SecondaryStatusTransitions[0].StartTime: missing"),
    ({"HyperParameters": {"epochs": 3}}, "DescribeTrainingJob.HyperParameters['epochs']: a int where the shape "
                                         "HyperParameterValue is a string"),
])
def test_each_kind_of_mismatch_is_named_with_its_path(members, problem):
    found = output_shapes.violations("sagemaker", "DescribeTrainingJob", described_job(**members))
    assert len(found) == 1 and found[0].startswith(problem), found


def test_the_edge_answers_a_broken_answer_as_an_internal_failure_naming_it(sm, monkeypatch):
    """The suite runs with LOCAL_AWS_CHECK_RESPONSES=1 (tests/conftest.py): a handler answering off-shape fails
    its caller instead of reaching it."""
    handler = routing.find_action("sagemaker", "ListTrainingJobs")
    monkeypatch.setitem(routing._actions, ("sagemaker", "ListTrainingJobs"),
                        lambda params, ctx: {**handler(params, ctx), "NextToken": None})
    with pytest.raises(sm.exceptions.ClientError) as raised:
        sm.list_training_jobs()
    error = raised.value.response["Error"]
    assert error["Code"] == "InternalFailure"
    assert error["Message"] == ("local_aws's answer to sagemaker ListTrainingJobs breaks AWS's output shape: "
                                "ListTrainingJobs.NextToken: null, where AWS omits a member that has no value")


@pytest.mark.parametrize("raw, on", [(None, False), ("0", False), ("1", True)])
def test_the_switch_reads_one_or_zero(monkeypatch, raw, on):
    if raw is None:
        monkeypatch.delenv("LOCAL_AWS_CHECK_RESPONSES", raising=False)
    else:
        monkeypatch.setenv("LOCAL_AWS_CHECK_RESPONSES", raw)
    assert switch_setting("LOCAL_AWS_CHECK_RESPONSES") is on


def test_any_other_value_of_the_switch_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("LOCAL_AWS_CHECK_RESPONSES", "yes")
    with pytest.raises(ValueError, match="LOCAL_AWS_CHECK_RESPONSES must be 1 \\(on\\) or 0 \\(off\\), got 'yes'"):
        switch_setting("LOCAL_AWS_CHECK_RESPONSES")
