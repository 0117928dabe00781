"""Helpers for the local_aws tests: a probe script for script mode, request pieces, waiting.

A module of its own (not conftest) so that test modules can import it by a name no other area uses."""

import io
import itertools
import json
import tarfile
import textwrap
import time
import uuid
import zipfile
from pathlib import Path

from model_code.metric_definitions import METRIC_DEFINITIONS as MODEL_CODE_METRIC_DEFINITIONS

REPO = Path(__file__).resolve().parents[2]
TRAINING_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5.1-cpu-py311"
INFERENCE_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5.1-cpu-py311"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
TERMINAL = {"Completed", "Failed", "Stopped"}

# A script-mode entry point that records what it was given and prints metric lines.
PROBE_SCRIPT = textwrap.dedent('''
    import argparse, json, os, sys, time
    parser = argparse.ArgumentParser()
    parser.add_argument("--learning_rate", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--mode", default="ok")
    parser.add_argument("--seconds", type=float, default=0)  # how long it runs before it ends
    parser.add_argument("--optimizer", choices=["adamw", "sgd"], default="adamw")
    parser.add_argument("--checkpoint_dir", default="/opt/ml/checkpoints")
    parser.add_argument("--_tuning_objective_metric")  # SageMaker adds it to every tuning trial
    args = parser.parse_args()
    checkpoints_at_start = sorted(os.listdir(args.checkpoint_dir))
    print("probe args " + json.dumps(sys.argv[1:]))
    for epoch in range(1, args.epochs + 1):
        # Best when learning_rate is 0.01: a known optimum for the tuning tests.
        accuracy = 1.0 - abs(args.learning_rate - 0.01) / epoch
        print(f"epoch={epoch} valid:loss={1 - accuracy:.6f} valid:accuracy={accuracy:.6f}")
    time.sleep(args.seconds)
    if args.mode == "fail":
        raise ValueError("the probe was told to fail")
    if args.mode == "sleep":
        time.sleep(600)
    identity = None
    if args.mode == "whoami":
        import boto3
        identity = boto3.client("sts").get_caller_identity()["Arn"]
    env = {k: v for k, v in os.environ.items() if k.startswith("SM_") or k in ("MASTER_ADDR", "MASTER_PORT", "PROBE_ENV", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    credential_names = sorted(k for k in os.environ if k.startswith(("AWS_", "LOCAL_AWS_")))
    files = sorted(os.path.relpath(os.path.join(d, f), os.environ["SM_CHANNEL_TRAINING"])
                   for d, _, fs in os.walk(os.environ["SM_CHANNEL_TRAINING"]) for f in fs)
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "probe.json"), "w") as out:
        json.dump({"env": env, "files": files, "argv": sys.argv[1:], "cwd": os.getcwd(),
                   "checkpoints_at_start": checkpoints_at_start, "identity": identity,
                   "credential_names": credential_names}, out)
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "metrics.json"), "w") as out:
        json.dump({"valid_accuracy": accuracy}, out)
    with open(os.path.join(args.checkpoint_dir, "checkpoint-0001.pth"), "w") as out:
        out.write("state")
''')
METRIC_DEFINITIONS = [
    {"Name": "valid:loss", "Regex": r"\bvalid:loss=([-+0-9.eE]+)"},
    {"Name": "valid:accuracy", "Regex": r"\bvalid:accuracy=([-+0-9.eE]+)"},
]
_names = itertools.count()


def unique_name(prefix: str) -> str:
    return f"{prefix}-{next(_names)}-{uuid.uuid4().hex[:6]}"


LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


SAGEMAKER_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def sagemaker_role(iam) -> str:
    """ROLE (`SageMakerRole`, trusting sagemaker.amazonaws.com) in the account `iam` acts in; idempotent."""
    try:
        return iam.create_role(RoleName="SageMakerRole", AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST))[
            "Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName="SageMakerRole")["Role"]["Arn"]


def instance_profile(iam, prefix: str) -> str:
    """An instance profile whose role (of the same name) trusts ec2.amazonaws.com; returns its name."""
    name = unique_name(prefix)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return name


def lambda_function(client_kwargs: dict, prefix: str, source: str, **create) -> str:
    """A python3.11 function whose app.py is `source` (handler `app.handler`), with a role of its own, Active."""
    import boto3

    role = boto3.client("iam", **client_kwargs).create_role(
        RoleName=unique_name(prefix), AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    name = unique_name(prefix)
    lam = boto3.client("lambda", **client_kwargs)
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                        Code={"ZipFile": buffer.getvalue()}, **create)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    return name


def tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def wait_for(describe, status_key: str, until: set[str] = TERMINAL, timeout: float = 300) -> dict:
    """Poll `describe()` until its `status_key` is one of `until`; its last answer."""
    return poll(describe, status_key, lambda status: status in until, timeout)


def poll(describe, status_key: str, done, timeout: float) -> dict:
    """Poll `describe()` until `done(its status_key)`; its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        described = describe()
        if done(described[status_key]):
            return described
        assert time.monotonic() < deadline, f"still {described[status_key]} after {timeout}s"
        time.sleep(0.2)


def probe_training_request(bucket: str, name: str, hyperparameters: dict | None = None, instance_count: int = 1,
                           **overrides) -> dict:
    """A CreateTrainingJob request running the probe script on the bucket's data."""
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": TRAINING_IMAGE, "TrainingInputMode": "File",
                                   "MetricDefinitions": METRIC_DEFINITIONS},
        "RoleArn": ROLE,
        "HyperParameters": {
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": f'"s3://{bucket}/probe/sourcedir.tar.gz"',
            **(hyperparameters or {}),
        },
        "InputDataConfig": [{"ChannelName": "training", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/data/"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": instance_count, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
    }
    request.update(overrides)
    return request


def probe_tuning_request(bucket: str, name: str, *, objective=("Maximize", "valid:accuracy"), strategy="Random",
                   ranges=None, max_jobs=3, **config_overrides) -> dict:
    """A tuning job of the probe script: one epoch per trial, `learning_rate` tuned unless `ranges` say otherwise."""
    trial = probe_training_request(bucket, "unused", {"epochs": "1"})
    definition = {
        "StaticHyperParameters": trial["HyperParameters"],
        **{k: trial[k] for k in ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig",
                                 "ResourceConfig", "StoppingCondition")},
    }
    config = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": objective[0], "MetricName": objective[1]},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": ranges or {"ContinuousParameterRanges": [
            {"Name": "learning_rate", "MinValue": "0.001", "MaxValue": "0.5", "ScalingType": "Logarithmic"}]},
        "RandomSeed": 7,
        **config_overrides,
    }
    return {"HyperParameterTuningJobName": name, "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": definition}


def source_tarball() -> bytes:
    """model_code/ packed as the SageMaker SDK packs a source_dir."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted((REPO / "model_code").iterdir()):
            if path.suffix in (".py", ".txt"):
                tar.add(path, arcname=path.name)
    return buffer.getvalue()


def train_py_request(name: str, bucket: str, data_uri: str, source_uri: str, instance_count: int) -> dict:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": TRAINING_IMAGE, "TrainingInputMode": "File",
                                   "MetricDefinitions": MODEL_CODE_METRIC_DEFINITIONS},
        "RoleArn": ROLE,
        # As the SageMaker Python SDK sends them: JSON-encoded values.
        "HyperParameters": {
            "sagemaker_program": json.dumps("train.py"), "sagemaker_submit_directory": json.dumps(source_uri),
            "arch": json.dumps("resnet18"), "image_size": "16", "batch_size": "8", "epochs": "1",
            "augment": json.dumps("false"), "workers": "0", "learning_rate": "0.001",
        },
        "InputDataConfig": [{"ChannelName": "training", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": data_uri, "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/model-code-output"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": instance_count, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "CheckpointConfig": {"S3Uri": f"s3://{bucket}/model-code-checkpoints/{name}"},
    }


def run_deferring(task, context: dict) -> tuple[dict, list[str]]:
    """What Airflow does with a deferrable task: run it; on each deferral, rebuild the trigger from what it
    serialised (as the triggerer does), run it to its event and resume the task with it. The result, and the
    triggers' class names in order."""
    import asyncio
    import importlib

    from airflow.providers.common.compat.sdk import TaskDeferred

    method, kwargs, triggers = task.execute, {}, []
    while True:
        try:
            return method(context=context, **kwargs), triggers
        except TaskDeferred as deferred:
            classpath, fields = deferred.trigger.serialize()
            module, _, name = classpath.rpartition(".")
            trigger = getattr(importlib.import_module(module), name)(**fields)
            triggers.append(name)
            method, kwargs = getattr(task, deferred.method_name), {"event": asyncio.run(first_event(trigger))}


async def first_event(trigger) -> dict:
    async for event in trigger.run():
        return event.payload
    raise AssertionError(f"{trigger!r} ended without an event")


def sdk_session(bucket: str):
    """The SageMaker SDK's session over a boto3 session of the environment (`aws_env`: local AWS); naming the
    default bucket spares the SDK its call to STS's public endpoint (docs/sagemaker_sdk.md)."""
    import boto3
    from sagemaker.core.helper.session_helper import Session

    return Session(boto_session=boto3.Session(), default_bucket=bucket)


def sdk_role(iam, s3_bucket: str, *kinds: str, account_id: str = "123456789012") -> str:
    """A new role trusting SageMaker with the SDK's own least-privilege policies for `kinds` (training,
    serving), scoped to `s3_bucket`: what the SDK's role check asks of a role."""
    from sagemaker.core.helper.iam_policies import IAM_POLICY_CONFIG
    from sagemaker.core.helper.iam_role_resolver import _replace_placeholders

    name = unique_name("sdk-role")[:64]
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST))["Role"]["Arn"]
    for kind in kinds:
        policies = _replace_placeholders(IAM_POLICY_CONFIG[kind]["policies"], s3_bucket, "*", "aws", account_id)
        for policy_name, document in policies.items():
            iam.put_role_policy(RoleName=name, PolicyName=f"{kind}-{policy_name}", PolicyDocument=json.dumps(document))
    return arn
