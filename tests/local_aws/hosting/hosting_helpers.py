"""Helpers of the hosting tests, beside those of every local_aws test (local_aws_testing.py); fixtures
live in conftest.py."""

import textwrap
from pathlib import Path

from local_aws_testing import poll

from local_aws.containers.s3_files import tar_directory

BUCKET = "hosting-tests"
VARIANT = "AllTraffic"


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
    return poll(lambda: sagemaker.describe_endpoint(EndpointName=endpoint_name), "EndpointStatus",
                lambda status: status not in statuses, timeout)
