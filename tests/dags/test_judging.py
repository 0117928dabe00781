"""Evaluation, gate decision, smoke-test checks and the report: pure functions over plain data."""

import io
import json
import tarfile

import pytest

from dog_breed import evaluation, report, smoke
from dog_breed.evaluation import EvaluationError
from dog_breed.smoke import SmokeTestError

METRICS = {"test_accuracy": 0.91, "test_loss": 0.3, "valid_accuracy": 0.93, "valid_loss": 0.25, "best_epoch": 2,
           "epochs": 3, "num_classes": 10}


def output_tar(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_metrics_are_read_from_the_output_tarball():
    data = output_tar({"metrics.json": json.dumps(METRICS).encode()})
    assert evaluation.metrics_from_output_tar(data, "x") == METRICS
    assert evaluation.output_tar_url("s3://b/t/job/output/model.tar.gz") == "s3://b/t/job/output/output.tar.gz"


@pytest.mark.parametrize("files, message", [
    ({"other.txt": b"x"}, "has no metrics.json"),
    ({"metrics.json": b"{not json"}, "cannot read metrics.json"),
    ({"metrics.json": json.dumps({"test_accuracy": 0.5}).encode()}, "lacks numeric"),
])
def test_unusable_outputs_are_explained(files, message):
    with pytest.raises(EvaluationError, match=message):
        evaluation.metrics_from_output_tar(output_tar(files), "s3://b/output.tar.gz")


def test_gate_decisions():
    assert evaluation.decide(0.9, None, threshold=0.8, max_drop=0.0).deploy
    assert evaluation.decide(0.9, 0.9, threshold=0.8, max_drop=0.0).deploy
    below = evaluation.decide(0.7, None, threshold=0.8, max_drop=0.0)
    assert not below.deploy and "below the threshold 0.8000" in below.reason
    worse = evaluation.decide(0.85, 0.95, threshold=0.8, max_drop=0.05)
    assert not worse.deploy and "worse than the serving model's 0.9500" in worse.reason
    assert evaluation.decide(0.91, 0.95, threshold=0.8, max_drop=0.05).deploy


def test_smoke_answers_are_checked():
    good = [{"label": "Zero", "probability": 0.8}, {"label": "One", "probability": 0.1}]
    assert smoke.check_answer(good, "img") == "Zero"
    for bad, message in [([], "non-empty list"), ({"label": "x"}, "non-empty list"),
                         ([{"label": "x", "probability": 1.5}], "probability: 0..1"),
                         (list(reversed(good)), "not sorted"),
                         ([{"label": "a", "probability": 0.7}, {"label": "b", "probability": 0.6}], "add up to")]:
        with pytest.raises(SmokeTestError, match=message):
            smoke.check_answer(bad, "img")


def test_smoke_images_are_spread_over_the_test_split_with_their_labels():
    files = [{"path": f"{split}/00{c}.C{c}/{i}.jpg"} for split in ("train", "test") for c in range(3) for i in range(4)]
    picked = smoke.pick_test_images(files, 3)
    assert [label for _, label in picked] == ["C0", "C1", "C2"]
    assert all(path.startswith("test/") for path, _ in picked)
    assert smoke.label_of("001.Affenpinscher") == "Affenpinscher" and smoke.label_of("plain") == "plain"


def test_smoke_accuracy_must_agree_with_the_evaluation():
    assert smoke.check_accuracy(9, 10, 0.9) == 0.9
    with pytest.raises(SmokeTestError, match="inconsistent with the evaluated test accuracy 0.950"):
        smoke.check_accuracy(2, 10, 0.95)


def test_report_renders_every_section_and_never_guesses_a_price():
    assert report.job_cost("ml.m5.xlarge", 2, 1800) == pytest.approx(0.23)
    assert report.job_cost("ml.x99.huge", 1, 60) is None
    assert report.total_cost([0.1, None]) is None
    summary = {
        "run_id": "manual__1", "decision": {"deploy": True, "reason": "good"}, "tuning_job": "t", "training_job": "j",
        "best_hyperparameters": {"learning_rate": "0.01"},
        "trials": [{"name": "t-001", "status": "Completed", "objective": 0.9, "hyperparameters": {"epochs": "2"},
                    "billable_seconds": 60, "cost": None}],
        "metrics": {"test_accuracy": 0.9}, "timings": [{"name": "training", "seconds": 60, "cost": 0.01}],
        "training_cost": None,
        "endpoint": {"name": "e", "status": "InService", "model": "j", "replaced_model": "i", "smoke_accuracy": 0.9,
                     "smoke_images": 10, "hourly_cost": 0.115},
    }
    markdown = report.render(summary)
    for text in ("**Outcome:** deployed: good", "| learning_rate | 0.01 |", "| t-001 | Completed | 0.9 | epochs=2 | 60 | unknown |",
                 "| test_accuracy | 0.9 |", "`e` (InService), model `j`: updated blue/green from `i`", "$0.1150 per hour", "**Estimated training cost:** unknown"):
        assert text in markdown


def test_the_summary_is_built_from_the_descriptions_the_tasks_returned():
    tuning_job = {"HyperParameterTuningJobName": "t", "ConsumedResources": {"RuntimeInSeconds": 300}}
    training_job = {"TrainingJobName": "j-2", "BillableTimeInSeconds": 1800, "TrainingTimeInSeconds": 1800,
                    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2},
                    "HyperParameters": {"sagemaker_program": "train.py", "learning_rate": "0.01"}}
    trials = [report.trial({"TrainingJobName": name, "TrainingJobStatus": "Completed",
                            "FinalHyperParameterTuningJobObjectiveMetric": {"Value": 0.8},
                            "TunedHyperParameters": {"epochs": "2"}},
                           {"BillableTimeInSeconds": 3600, "ResourceConfig": {"InstanceType": "ml.m5.large",
                                                                                "InstanceCount": 1}})
              for name in ("t-002", "t-001")]
    evaluation = {"decision": {"deploy": True, "reason": "good"}, "training_job": "j-2",
                  "metrics": {"test_accuracy": 0.9, "confusion": [[1]]}, "serving": {"model_name": "i"}}
    smoke_result = {"accuracy": 0.91234, "images": 10, "example": {"image": "x"}}
    endpoint = {"EndpointName": "e", "EndpointStatus": "InService"}

    summary = report.summarize(run_id="r", tuning_job=tuning_job, training_job=training_job, trials=trials,
                               evaluation=evaluation, smoke=smoke_result, endpoint=endpoint,
                               endpoint_instance=("ml.m5.large", 1), report_uri="s3://b/p/reports/x.md")

    assert [row["name"] for row in summary["trials"]] == ["t-001", "t-002"]
    assert summary["trials"][0]["cost"] == pytest.approx(0.115)
    assert summary["best_hyperparameters"] == {"learning_rate": "0.01"}
    assert summary["metrics"] == {"test_accuracy": 0.9}
    assert summary["timings"] == [{"name": "tuning", "seconds": 300, "cost": pytest.approx(0.23)},
                                  {"name": "training", "seconds": 1800, "cost": pytest.approx(0.23)}]
    assert summary["training_cost"] == pytest.approx(0.46)
    assert summary["endpoint"] == {"name": "e", "status": "InService", "model": "j-2", "replaced_model": "i",
                                   "smoke_accuracy": 0.9123, "smoke_images": 10, "example": {"image": "x"},
                                   "hourly_cost": pytest.approx(0.115)}

    kept_out = report.summarize(run_id="r", tuning_job=tuning_job, training_job=training_job, trials=[],
                                evaluation={**evaluation, "serving": None}, smoke=None, endpoint=None,
                                endpoint_instance=("ml.m5.large", 1), report_uri="s3://b/p/reports/x.md")
    assert kept_out["endpoint"] is None


def test_an_ec2_run_is_priced_against_the_same_seconds_on_sagemaker_and_the_second_half_is_reported():
    training_job = {"TrainingJobName": "p-ec2-1", "Backend": "ec2", "InstanceId": "i-0abc", "BillableTimeInSeconds": 3600,
                    "TrainingTimeInSeconds": 3600, "HyperParameters": {"epochs": "2"},
                    "ResourceConfig": {"InstanceType": "t2.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 100}}
    evaluation = {"decision": {"deploy": True, "reason": "good"}, "training_job": "p-ec2-1",
                  "metrics": {"test_accuracy": 0.9}, "serving": None}
    scaling = {"ResourceId": "endpoint/e/variant/AllTraffic", "ScalableTarget": {"MinCapacity": 1, "MaxCapacity": 3},
               "ScalingPolicy": {"PolicyName": "e-AllTraffic-invocations-per-instance",
                                 "TargetTrackingScalingPolicyConfiguration": {
                                     "TargetValue": 100.0, "ScaleInCooldown": 30, "ScaleOutCooldown": 30,
                                     "PredefinedMetricSpecification": {
                                         "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}}
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
                                                      "Resource": "arn:aws:sagemaker:us-east-1:1:endpoint/e"}]}
    front_door = {"FunctionName": "f", "Version": "4", "Alias": "live", "Configuration": {"MemorySize": 512},
                  "ReservedConcurrentExecutions": 3, "FunctionUrl": None, "RoleArn": "arn:aws:iam::1:role/f-role",
                  "ProvisionedConcurrency": {"AllocatedProvisionedConcurrentExecutions": 3, "Status": "READY"},
                  "RolePolicy": policy}
    checked = {"events": {"image": 3, "url": 3}, "url_skipped": None}
    summary = report.summarize(run_id="r", tuning_job=None, training_job=training_job, trials=[],
                               evaluation=evaluation, smoke={"accuracy": 1.0, "images": 5, "example": {}},
                               endpoint={"EndpointName": "e", "EndpointStatus": "InService"},
                               endpoint_instance=("ml.m5.large", 1), report_uri="s3://b/r.md", scaling=scaling,
                               front_door=front_door, front_door_check=checked)
    assert summary["ec2"]["cost"] == pytest.approx(0.1856) and summary["ec2"]["sagemaker_cost"] == pytest.approx(0.23)
    assert summary["ec2"]["saving"] == pytest.approx(0.23 - 0.1856) and summary["training_backend"] == "ec2"
    assert [t["name"] for t in summary["timings"]] == ["training"], "no tuning on EC2"
    markdown = report.render(summary)
    for text in ("## Hyperparameters (given; trained on EC2)", "| SageMaker, the same seconds | ml.m5.xlarge | 3600 | $0.2300 |",
                 "| EC2 (i-0abc) | t2.xlarge | 3600 | $0.1856 |", "Saving on EC2: $0.0444",
                 "`endpoint/e/variant/AllTraffic`: 1 to 3 instances", "target tracking, 100.0 SageMakerVariantInvocationsPerInstance",
                 "`f` version 4 behind alias `live`", "3 reserved, 3 provisioned on `live` (READY)",
                 "3 image events and 3 URL events agreed", '"Action": "sagemaker:InvokeEndpoint"'):
        assert text in markdown, text
    assert "## Trials of" not in markdown
    unknown = report.ec2_comparison({**training_job, "ResourceConfig": {"InstanceType": "x9.huge", "InstanceCount": 1}})
    assert (unknown["cost"], unknown["sagemaker_cost"], unknown["saving"]) == (None, None, None)


def test_the_front_door_check_sends_url_events_only_to_allowed_https_hosts_and_compares_with_the_endpoint():
    from dog_breed import front_door_check

    assert front_door_check.url_event("https://s3.amazonaws.com/b/k.jpg?X-Amz-Signature=1", ["s3.amazonaws.com"]) == (
        {"url": "https://s3.amazonaws.com/b/k.jpg?X-Amz-Signature=1"}, None)
    event, why = front_door_check.url_event("http://127.0.0.1:4566/b/k.jpg", ["s3.amazonaws.com"])
    assert event is None and "http://127.0.0.1, not an https host the function may fetch from (s3.amazonaws.com)" in why
    answer = [{"label": "Zero", "probability": 0.9}, {"label": "One", "probability": 0.05}]

    def invocation(payload, **extra):
        return {"Payload": io.BytesIO(json.dumps(payload).encode()), **extra}

    ok = invocation({"statusCode": 200, "body": json.dumps({"predictions": answer})})
    assert front_door_check.check_agrees(front_door_check.predictions(ok, "x"), answer + answer, "x") == "Zero"
    with pytest.raises(SmokeTestError, match="the front door answered \\['One', 'Zero'\\], the endpoint \\['Zero', 'One'\\]"):
        front_door_check.check_agrees(answer[::-1], answer, "x")
    with pytest.raises(SmokeTestError, match="answered 503"):
        front_door_check.predictions(invocation({"statusCode": 503, "body": "{}"}), "x")
    with pytest.raises(SmokeTestError, match="the function failed \\(Unhandled\\)"):
        front_door_check.predictions(invocation({"errorMessage": "boom"}, FunctionError="Unhandled"), "x")


def test_an_update_releases_only_the_variants_whose_instance_type_changes_or_which_it_removes():
    from dog_breed.autoscaling_requests import variants_to_release

    current = [{"VariantName": "AllTraffic", "InstanceType": "ml.m5.large"},
               {"VariantName": "Canary", "InstanceType": "ml.m5.large"}]
    assert variants_to_release(current, [{"VariantName": "AllTraffic", "InstanceType": "ml.m5.large"},
                                         {"VariantName": "Canary", "InstanceType": "ml.m5.large"}]) == []
    assert variants_to_release(current, [{"VariantName": "AllTraffic", "InstanceType": "ml.m5.xlarge"}]) == [
        "AllTraffic", "Canary"]
