"""Helpers shared by the hosting tests (fixtures live in conftest.py)."""

import itertools
import os
import textwrap
import time
from pathlib import Path

from local_aws.compute.s3 import tar_directory

REPO = Path(__file__).resolve().parents[2]
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5.1-cpu-py311"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "hosting-tests"
VARIANT = "AllTraffic"
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def write_model_dir(directory: Path, inference_source: str) -> Path:
    """A model dir holding only ``code/inference.py``: models whose behaviour a test controls."""
    (directory / "code").mkdir(parents=True)
    (directory / "code" / "inference.py").write_text(textwrap.dedent(inference_source))
    return directory


def archive(model_dir: Path) -> Path:
    tarball = model_dir.parent / f"{model_dir.name}.tar.gz"
    tar_directory(model_dir, tarball)
    return tarball


def wait_while(sagemaker, endpoint_name: str, statuses: set[str], timeout: float = 180) -> dict:
    """DescribeEndpoint once the status has left ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        described = sagemaker.describe_endpoint(EndpointName=endpoint_name)
        if described["EndpointStatus"] not in statuses:
            return described
        assert time.monotonic() < deadline, f"{endpoint_name} still {described['EndpointStatus']}"
        time.sleep(0.2)
