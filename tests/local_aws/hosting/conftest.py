"""Fixtures for hosting tests: a model really trained by model_code/train.py, models that fail on
purpose, and helpers that create SageMaker models and endpoints through the edge."""

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import sample_dataset
from hosting_helpers import BUCKET, VARIANT, archive, wait_while, write_model_dir
from local_aws_testing import INFERENCE_IMAGE, REPO, ROLE, unique_name


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    return sample_dataset.build(
        tmp_path_factory.mktemp("hosting-data"), sample_dataset.DatasetSpec(image_size=16, per_class_limit=4)
    )


@pytest.fixture(scope="session")
def trained_model_archive(tiny_dataset, tmp_path_factory) -> Path:
    """model.tar.gz of one epoch of model_code/train.py on 16 px digits."""
    run_dir = tmp_path_factory.mktemp("hosting-run")
    command = [
        sys.executable, str(REPO / "model_code" / "train.py"),
        "--arch", "mobilenet_v3_small", "--image_size", "16", "--epochs", "1", "--batch_size", "16",
        "--augment", "false", "--workers", "0", "--data_dir", str(tiny_dataset),
        "--model_dir", str(run_dir / "model"), "--output_data_dir", str(run_dir / "output"),
        "--checkpoint_dir", str(run_dir / "checkpoints"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    return archive(run_dir / "model")


@pytest.fixture(scope="session")
def digit_jpeg(tiny_dataset) -> bytes:
    return next((tiny_dataset / "test" / "004.Three").glob("*.jpg")).read_bytes()


@pytest.fixture(scope="session")
def broken_model_archive(tmp_path_factory) -> Path:
    """A model whose model_fn fails, as a model with a missing weights file does."""
    model_dir = write_model_dir(tmp_path_factory.mktemp("broken") / "model", """
        def model_fn(model_dir):
            raise FileNotFoundError("model.pth is missing from the archive")

        def transform_fn(model, body, content_type, accept):
            return body
    """)
    return archive(model_dir)


# Answers its process id; "sleep SECONDS MARKER" touches MARKER then sleeps, "exit" kills the process.
# It refuses to load while the file named by PROBE_REFUSE_TO_LOAD_IF (its container environment) exists.
PROBE_MODEL = """
    import json
    import os
    import pathlib
    import time

    def model_fn(model_dir):
        gate = os.environ.get("PROBE_REFUSE_TO_LOAD_IF")
        if gate and os.path.exists(gate):
            raise RuntimeError("refusing to load: " + gate + " exists")
        return None

    def transform_fn(model, body, content_type, accept):
        command = body.decode().split()
        if command[0] == "sleep":
            if len(command) > 2:
                pathlib.Path(command[2]).touch()
            time.sleep(float(command[1]))
        elif command[0] == "exit":
            os._exit(3)
        return json.dumps({"pid": os.getpid()}), "application/json"
"""


@pytest.fixture(scope="session")
def probe_model_dir(tmp_path_factory) -> Path:
    """A model without torch that starts in a moment and does what each request says."""
    return write_model_dir(tmp_path_factory.mktemp("probe") / "model", PROBE_MODEL)


@pytest.fixture(scope="session")
def probe_model_archive(probe_model_dir) -> Path:
    return archive(probe_model_dir)


@pytest.fixture(scope="session")
def sagemaker(local_aws):
    return boto3.client("sagemaker", **local_aws.client_kwargs)


@pytest.fixture(scope="session")
def runtime(local_aws):
    return boto3.client("sagemaker-runtime", **local_aws.client_kwargs)


@pytest.fixture(scope="session")
def s3(local_aws):
    client = boto3.client("s3", **local_aws.client_kwargs)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="session")
def create_model(sagemaker, s3):
    """``create_model(archive, environment=None) -> model name``: uploads the archive, CreateModel."""

    def create(model_archive: Path, environment: dict[str, str] | None = None) -> str:
        name = unique_name("model")
        key = f"{name}/model.tar.gz"
        s3.upload_file(str(model_archive), BUCKET, key)
        sagemaker.create_model(
            ModelName=name,
            PrimaryContainer={"Image": INFERENCE_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{key}", "Environment": environment or {}},
            ExecutionRoleArn=ROLE,
        )
        return name

    return create


@pytest.fixture(scope="session")
def create_config(sagemaker):
    """``create_config(model, count=1, variant=VARIANT) -> endpoint config name``."""

    def create(model_name: str, count: int = 1, variant: str = VARIANT) -> str:
        name = unique_name("config")
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[{
                "VariantName": variant, "ModelName": model_name,
                "InitialInstanceCount": count, "InstanceType": "ml.m5.large",
            }],
        )
        return name

    return create


@pytest.fixture
def endpoint(sagemaker):
    """``endpoint(config) -> name``: creates an endpoint, waits for it, deletes it after the test."""
    created = []

    def create(config_name: str) -> tuple[str, dict]:
        name = unique_name("endpoint")
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config_name)
        created.append(name)
        return name, wait_while(sagemaker, name, {"Creating"})

    yield create
    for name in created:
        described = wait_while(sagemaker, name, {"Creating", "Updating"})
        if described["EndpointStatus"] != "Deleting":
            sagemaker.delete_endpoint(EndpointName=name)
