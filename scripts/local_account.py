"""What the local profile expects to find in the account, made in local AWS as an administrator makes it once
in an AWS account: the pipeline's SageMaker execution role (plugins/dog_breed/sagemaker_role.py). `make run`
and `make up` call it once local AWS answers; it is idempotent.

    .venv/bin/python scripts/local_account.py   # with AWS_ENDPOINT_URL and the local AWS profile in the environment
"""

import sys
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "plugins"))

from dog_breed import sagemaker_role  # noqa: E402
from dog_breed.profiles import PROFILES  # noqa: E402
from local_aws.access import credentials  # noqa: E402


def prepare(session: boto3.session.Session, endpoint_url: str) -> str:
    """Make the local profile's SageMaker role; returns its ARN."""
    profile = PROFILES["local"]
    sagemaker_role.ensure(session.client("iam", endpoint_url=endpoint_url), profile["sagemaker_role_arn"],
                          profile["bucket"])
    return profile["sagemaker_role_arn"]


def prepare_from_environment(env: dict[str, str]) -> str:
    """As `prepare`, signed with the key pair local AWS wrote where `env`'s AWS_SHARED_CREDENTIALS_FILE says."""
    keys = credentials.read(Path(env["AWS_SHARED_CREDENTIALS_FILE"]))
    session = boto3.session.Session(aws_access_key_id=keys.access_key_id, aws_secret_access_key=keys.secret_access_key,
                                    region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"))
    return prepare(session, env["AWS_ENDPOINT_URL"])


if __name__ == "__main__":
    import os

    print(f"local account ready: {prepare_from_environment(dict(os.environ))}")
