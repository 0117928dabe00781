"""The edge: routing to moto or to local_aws, request validation, AWS-shaped errors, the CLI."""

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID

from local_aws.access import credentials
from local_aws_testing import PROBE_SCRIPT, probe_training_request, sagemaker_role, tarball, unique_name, wait_for
from signed_requests import signed_request

REPO = Path(__file__).resolve().parents[2]


def raw_sagemaker(local_aws, action: str, body: bytes) -> requests.Response:
    keys = local_aws.credentials
    return signed_request("POST", local_aws.url + "/", "sagemaker", keys.access_key_id, keys.secret_access_key, body,
                          {"X-Amz-Target": f"SageMaker.{action}", "Content-Type": "application/x-amz-json-1.1"})


def test_other_services_are_served_by_moto(aws_client):
    assert aws_client("sts").get_caller_identity()["Account"] == "123456789012"
    iam = aws_client("iam")
    iam.create_role(RoleName=unique_name("role"), AssumeRolePolicyDocument="{}")


def test_validation_errors_have_aws_shape_status_and_header(local_aws):
    response = raw_sagemaker(local_aws, "DescribeTrainingJob", b'{"TrainingJobName": "bad_name!"}')
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "ValidationException"
    assert response.json() == {"__type": "ValidationException", "message": (
        "1 validation error detected: Value 'bad_name!' at 'trainingJobName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")}


def test_missing_members_and_bad_json_are_refused(local_aws):
    missing = raw_sagemaker(local_aws, "DescribeTrainingJob", b"{}").json()
    assert missing["__type"] == "ValidationException"
    assert missing["message"] == ("1 validation error detected: Value null at 'trainingJobName' failed to satisfy "
                                  "constraint: Member must not be null")
    broken = raw_sagemaker(local_aws, "DescribeTrainingJob", b"{not json")
    assert (broken.status_code, broken.json()["__type"]) == (400, "SerializationException")


def test_sagemaker_actions_local_aws_does_not_run_are_refused(sm):
    with pytest.raises(ClientError) as raised:
        sm.list_processing_jobs()
    error = raised.value.response["Error"]
    assert error["Code"] == "UnknownOperationException"
    assert "does not implement sagemaker action ListProcessingJobs" in error["Message"]


def _as_account(client, account_id: str):
    # How moto (and so local_aws) is told the account.
    client.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", account_id))
    return client


def test_the_calling_account_owns_what_it_creates_and_the_script_acts_as_its_role(local_aws):
    account = "111122223333"
    s3 = _as_account(boto3.client("s3", **local_aws.client_kwargs), account)
    bucket = unique_name("other-account")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="data/train/x.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="probe/sourcedir.tar.gz", Body=tarball({"train.py": PROBE_SCRIPT}))
    sagemaker_role(_as_account(boto3.client("iam", **local_aws.client_kwargs), account))
    client = _as_account(boto3.client("sagemaker", **local_aws.client_kwargs), account)
    name = unique_name("other-account")
    request = probe_training_request(bucket, name, {"mode": "whoami"},
                                     RoleArn=f"arn:aws:iam::{account}:role/SageMakerRole")
    arn = client.create_training_job(**request)["TrainingJobArn"]
    assert arn.startswith(f"arn:aws:sagemaker:us-east-1:{account}:training-job/")
    described = wait_for(lambda: client.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    archive = s3.get_object(Bucket=bucket, Key=f"output/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        probe = json.load(tar.extractfile("probe.json"))
    assert probe["identity"].startswith(f"arn:aws:sts::{account}:assumed-role/SageMakerRole/SageMaker")
    default_account = boto3.client("sagemaker", **local_aws.client_kwargs)
    with pytest.raises(ClientError):
        default_account.describe_training_job(TrainingJobName=name)


def test_many_clients_poll_a_running_job(local_aws, bucket):
    name = unique_name("polled")
    boto3.client("sagemaker", **local_aws.client_kwargs).create_training_job(**probe_training_request(bucket, name))
    statuses, errors = [], []

    def poll():
        client = boto3.client("sagemaker", **local_aws.client_kwargs)
        try:
            statuses.append(wait_for(lambda: client.describe_training_job(TrainingJobName=name),
                                     "TrainingJobStatus")["TrainingJobStatus"])
        except Exception as error:  # collected: a thread's exception would otherwise be lost
            errors.append(error)

    threads = [threading.Thread(target=poll) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and statuses == ["Completed"] * 6


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_the_environment_logs_requests_and_a_signal_stops_every_child(tmp_path, bucket, stop_signal):
    # The session's moto state lives in this process; the CLI's edge has its own, so it gets its own data.
    state_dir = tmp_path / "state"
    log = tmp_path / "edge.log"
    with log.open("w") as stderr:
        # A relative --state-dir (resolved against the CLI's folder) must still reach the jobs' processes.
        cli = subprocess.Popen([sys.executable, "-m", "local_aws", "--port", "0", "--state-dir", "state"],
                               cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        env = dict(cli.stdout.readline().strip().removeprefix("export ").split("=", 1) for _ in range(4))
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        assert env["AWS_DEFAULT_REGION"] == "us-east-1"
        # The key pair is in the state dir's credentials file, never on the CLI's output.
        assert env["AWS_SHARED_CREDENTIALS_FILE"] == str(state_dir / "credentials") and env["AWS_PROFILE"] == "local"
        keys = credentials.read(state_dir / "credentials")
        assert keys.secret_access_key not in log.read_text()
        session = boto3.Session(profile_name=None, aws_access_key_id=keys.access_key_id,
                                aws_secret_access_key=keys.secret_access_key)
        kwargs = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": "us-east-1"}
        s3 = session.client("s3", **kwargs)
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="data/train/x.txt", Body=b"x")
        s3.put_object(Bucket=bucket, Key="probe/sourcedir.tar.gz", Body=tarball({"train.py": PROBE_SCRIPT}))
        sagemaker_role(session.client("iam", **kwargs))
        sm = session.client("sagemaker", **kwargs)
        name = unique_name("orphan")
        sm.create_training_job(**probe_training_request(bucket, name, {"mode": "sleep"}))
        wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "SecondaryStatus", until={"Training"})
        job_dir = str(state_dir / ACCOUNT_ID / "us-east-1" / "training" / name)
        wait_for(lambda: {"up": "yes" if _processes_mentioning(job_dir) else "no"}, "up", until={"yes"}, timeout=30)
        cli.send_signal(stop_signal)
        assert cli.wait(timeout=60) == 0
        assert _processes_mentioning(job_dir) == []
        lines = log.read_text().splitlines()
        # One line per request, naming the service and the action or path, with its status.
        assert sum("sagemaker SageMaker.CreateTrainingJob -> 200" in line for line in lines) == 1
        assert sum(f"s3 PUT /{bucket}/data/train/x.txt -> 200" in line for line in lines) == 1
        assert any("stopping: ending child processes" in line for line in lines)
    finally:
        if cli.poll() is None:
            cli.kill()
        cli.stdout.close()
