"""The project's real model_code/train.py as a SageMaker training job: two hosts, real DDP."""

import io
import json
import tarfile

import pytest
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID

from local_aws_testing import train_py_request, unique_name, wait_for

METRIC_NAMES = ["train:loss", "train:accuracy", "valid:loss", "valid:accuracy", "test:loss", "test:accuracy"]


def members(s3, bucket: str, key: str) -> dict[str, bytes]:
    archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


@pytest.mark.slow
def test_two_instance_job_trains_train_py_with_ddp(local_aws, sm, s3, logs, bucket, model_code_in_s3):
    name = unique_name("ddp")
    sm.create_training_job(**train_py_request(name, bucket, *model_code_in_s3, instance_count=2))
    described = wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus", timeout=600)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")

    model = members(s3, bucket, f"model-code-output/{name}/output/model.tar.gz")
    assert {"model.pth", "classes.json", "metadata.json", "code/inference.py", "code/requirements.txt"} <= set(model)
    assert json.loads(model["classes.json"])[0] == "001.Zero"
    metrics = json.loads(members(s3, bucket, f"model-code-output/{name}/output/output.tar.gz")["metrics.json"])
    assert {"test_accuracy", "test_loss", "valid_accuracy", "valid_loss", "best_epoch"} <= set(metrics)
    assert sorted(m["MetricName"] for m in described["FinalMetricDataList"]) == sorted(METRIC_NAMES)
    final = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert final["test:accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-5)

    # Two ranks of one process group: algo-2 joined the rendezvous (algo-1 would wait for it forever
    # otherwise) and, not being rank 0, wrote no model of its own.
    job_dir = local_aws.platform.files(ACCOUNT_ID, "us-east-1") / "training" / name
    assert (job_dir / "algo-1" / "model" / "model.pth").is_file()
    assert list((job_dir / "algo-2" / "model").iterdir()) == []
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix=f"{name}/")["logStreams"]
    assert len(streams) == 2
    checkpoints = s3.list_objects_v2(Bucket=bucket, Prefix=f"model-code-checkpoints/{name}/")["Contents"]
    assert [c["Key"].rsplit("/", 1)[1] for c in checkpoints] == ["checkpoint-0001.pth"]
