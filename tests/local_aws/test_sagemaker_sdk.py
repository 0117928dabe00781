"""The SageMaker Python SDK 3 as a user writes it, against local AWS, with no workaround and no monkeypatching:
`ModelTrainer` with `SourceCode` on 1 and on 2 instances (its role check on, its `sm_train.sh` command and its
`code`/`sm_drivers` channels), then `ModelBuilder` build, deploy, invoke and delete. What a user sets is what
docs/sagemaker_sdk.md says: the environment pointing at local AWS, the SDK's config file opting out of
telemetry, a default bucket."""

import io
import json
import tarfile
import textwrap

import boto3
import pytest
import torch

from local_aws_testing import INFERENCE_IMAGE, TRAINING_IMAGE, sdk_role, sdk_session, unique_name

TRAIN_SCRIPT = textwrap.dedent('''
    """Fits y = x1 + x2 + 0.5 with a linear layer; on several hosts, one gloo group averaging the gradients."""
    import argparse, json, os, socket
    import torch
    import torch.distributed as dist

    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--learning_rate", type=float, default=0.1)
    args = parser.parse_args()
    hosts, host = json.loads(os.environ["SM_HOSTS"]), os.environ["SM_CURRENT_HOST"]
    if len(hosts) > 1:
        address = f"tcp://{os.environ.get('MASTER_ADDR', hosts[0])}:{os.environ.get('MASTER_PORT', '29500')}"
        dist.init_process_group("gloo", init_method=address, rank=hosts.index(host), world_size=len(hosts))
    data = torch.load(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "data.pt"))
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate)
    for epoch in range(args.epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(data["x"]), data["y"])
        loss.backward()
        if dist.is_initialized():
            for parameter in model.parameters():
                dist.all_reduce(parameter.grad)
                parameter.grad /= dist.get_world_size()
        optimizer.step()
    world = dist.get_world_size() if dist.is_initialized() else 1
    print(f"host {host} on {socket.gethostname()} of {world}: train_loss={loss.item():.6f}")
    if host == hosts[0]:
        torch.save(model.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pth"))
''')

INFERENCE_SCRIPT = textwrap.dedent('''
    import json, os
    import torch

    def model_fn(model_dir):
        model = torch.nn.Linear(2, 1)
        model.load_state_dict(torch.load(os.path.join(model_dir, "model.pth")))
        return model.eval()

    def input_fn(body, content_type):
        return torch.tensor(json.loads(body), dtype=torch.float32)

    def predict_fn(data, model):
        with torch.inference_mode():
            return model(data)

    def output_fn(prediction, accept):
        return json.dumps(prediction.tolist())
''')


@pytest.fixture
def sdk(aws_env, aws_client, bucket, tmp_path, monkeypatch):
    """What docs/sagemaker_sdk.md tells a user to set: local AWS in the environment (aws_env), telemetry off in
    the SDK's own config file; the training data in S3; a role with the SDK's own training and serving policies."""
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    x = torch.rand(64, 2)
    buffer = io.BytesIO()
    torch.save({"x": x, "y": x.sum(dim=1, keepdim=True) + 0.5}, buffer)
    prefix = unique_name("sdk-data")
    aws_client("s3").put_object(Bucket=bucket, Key=f"{prefix}/data.pt", Body=buffer.getvalue())
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text(TRAIN_SCRIPT)
    (tmp_path / "serve").mkdir()
    (tmp_path / "serve" / "inference.py").write_text(INFERENCE_SCRIPT)
    return {"session": sdk_session(bucket), "role": sdk_role(aws_client("iam"), bucket, "training", "serving"),
            "data": f"s3://{bucket}/{prefix}", "code": tmp_path / "code", "serve": tmp_path / "serve",
            "bucket": bucket}


def train(sdk, instance_count: int):
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, SourceCode

    trainer = ModelTrainer(training_image=TRAINING_IMAGE, role=sdk["role"], sagemaker_session=sdk["session"],
                           source_code=SourceCode(source_dir=str(sdk["code"]), entry_script="train.py"),
                           compute=Compute(instance_type="ml.m5.large", instance_count=instance_count),
                           hyperparameters={"epochs": 300, "learning_rate": 0.3}, base_job_name=f"sdk-{instance_count}-hosts")
    trainer.train(input_data_config=[InputData(channel_name="train", data_source=sdk["data"])], wait=True, logs=False)
    return trainer._latest_training_job.training_job_name


def job_log(logs, job_name: str) -> dict[str, str]:
    """Each host's log stream of the job: its name's host part, its text."""
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix=f"{job_name}/")["logStreams"]
    return {stream["logStreamName"].split("/")[1].rsplit("-", 1)[0]: "\n".join(
        event["message"] for event in logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"])["events"])
        for stream in streams}


def test_model_trainer_on_two_instances_trains_one_gloo_group(sdk, aws_client):
    name = train(sdk, 2)
    described = aws_client("sagemaker").describe_training_job(TrainingJobName=name)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert described["AlgorithmSpecification"]["ContainerEntrypoint"] == ["/bin/bash"]
    logs = job_log(aws_client("logs"), name)
    assert sorted(logs) == ["algo-1", "algo-2"]
    for host, text in logs.items():
        assert f"host {host} on {host} of 2: train_loss=" in text, text[-2000:]


def test_model_trainer_then_model_builder_serve_what_was_trained(sdk, aws_client):
    from sagemaker.core.training.configs import SourceCode
    from sagemaker.serve.mode.function_pointers import Mode
    from sagemaker.serve.model_builder import ModelBuilder

    sagemaker = aws_client("sagemaker")
    name = train(sdk, 1)
    described = sagemaker.describe_training_job(TrainingJobName=name)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    trained = described["ModelArtifacts"]["S3ModelArtifacts"]
    bucket, key = trained.removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(aws_client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        weights = torch.load(io.BytesIO(tar.extractfile("model.pth").read()))
    inputs = [[1.0, 2.0], [0.0, 0.0]]
    expected = (torch.tensor(inputs) @ weights["weight"].T + weights["bias"]).tolist()  # what was trained

    builder = ModelBuilder(s3_model_data_url=trained, image_uri=INFERENCE_IMAGE, role_arn=sdk["role"],
                           source_code=SourceCode(source_dir=str(sdk["serve"]), entry_script="inference.py"),
                           sagemaker_session=sdk["session"], instance_type="ml.m5.large", mode=Mode.SAGEMAKER_ENDPOINT)
    model = builder.build()
    endpoint = builder.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    try:
        assert sagemaker.describe_endpoint(EndpointName=endpoint.endpoint_name)["EndpointStatus"] == "InService"
        answer = endpoint.invoke(body=json.dumps(inputs), content_type="application/json")
        predictions = json.loads(answer.body.read())
        assert predictions == [[pytest.approx(value, rel=1e-5)] for [value] in expected]
        assert predictions == [[pytest.approx(3.5, abs=0.1)], [pytest.approx(0.5, abs=0.1)]]  # and it learned
    finally:
        endpoint.delete()
    gone = boto3.client("sagemaker").list_endpoints(NameContains=endpoint.endpoint_name)["Endpoints"]
    assert gone == [] or gone[0]["EndpointStatus"] == "Deleting"
    model.delete()
    assert sagemaker.list_models(NameContains=model.model_name)["Models"] == []
