"""Training containers as SageMaker lays them out: each host a sandbox named like it, its `/opt/ml` the real
path, and `ContainerEntrypoint + ContainerArguments` run as a container runs its command."""

import io
import json
import tarfile
import textwrap

import pytest
from botocore.exceptions import ClientError

from local_aws import sandbox
from local_aws_testing import REPO, probe_training_request, tarball, unique_name, wait_for

pytestmark = pytest.mark.skipif(sandbox.mode() == sandbox.NONE or sandbox.unavailable_reason() is not None,
                                reason="training containers are sandboxes")

LAYOUT_SCRIPT = textwrap.dedent('''
    import json, os, socket
    config = "/opt/ml/input/config"
    seen = {
        "hyperparameters": json.load(open(f"{config}/hyperparameters.json")),
        "current_host": json.load(open(f"{config}/resourceconfig.json"))["current_host"],
        "channels": sorted(json.load(open(f"{config}/inputdataconfig.json"))),
        "training": sorted(os.listdir("/opt/ml/input/data/training")),
        "dirs": [d for d in ("/opt/ml/checkpoints", "/opt/ml/code", "/opt/ml/model", "/opt/ml/output",
                             "/opt/ml/output/data") if os.path.isdir(d)],
        "cwd": os.getcwd(),
        "hostname": socket.gethostname(),
        "peer": socket.gethostbyname("algo-2"),
        "visible": [path for path in os.environ["HIDDEN"].split("|") if os.path.exists(path)],
        "shm": os.path.isdir("/dev/shm"),
    }
    print("layout " + json.dumps(seen), flush=True)
    if seen["current_host"] == "algo-1":
        with open("/opt/ml/model/layout.json", "w") as out:
            json.dump(seen, out)
''')


def run_job(sm, request: dict) -> dict:
    sm.create_training_job(**request)
    return wait_for(lambda: sm.describe_training_job(TrainingJobName=request["TrainingJobName"]), "TrainingJobStatus")


def model_members(s3, described: dict) -> dict[str, bytes]:
    bucket, key = described["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        return {member.name: tar.extractfile(member).read() for member in tar.getmembers() if member.isfile()}


def log_lines(logs, name: str) -> dict[str, list[str]]:
    """Each host's log stream's lines, by host."""
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix=name + "/")["logStreams"]
    return {stream["logStreamName"].removeprefix(name + "/").rsplit("-", 1)[0]: [
        event["message"] for event in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                                         logStreamName=stream["logStreamName"])["events"]]
        for stream in streams}


@pytest.fixture(scope="module")
def layout_job(local_aws, bucket, aws_client_module):
    """A completed two-host job whose script reports what it sees of its container."""
    s3, sm = aws_client_module("s3"), aws_client_module("sagemaker")
    s3.put_object(Bucket=bucket, Key="layout/sourcedir.tar.gz", Body=tarball({"train.py": LAYOUT_SCRIPT}))
    name = unique_name("layout")
    hidden = [str(local_aws.state_dir), str(REPO / "local_aws"), str(REPO / "README.md")]
    request = probe_training_request(bucket, name, {"epochs": "3"}, instance_count=2,
                                     Environment={"HIDDEN": "|".join(hidden)})
    request["HyperParameters"]["sagemaker_submit_directory"] = f'"s3://{bucket}/layout/sourcedir.tar.gz"'
    return run_job(sm, request)


@pytest.fixture(scope="module")
def aws_client_module(local_aws):
    import boto3

    return lambda service: boto3.client(service, **local_aws.client_kwargs)


def test_the_script_sees_sagemakers_paths_for_real(layout_job, aws_client_module):
    assert layout_job["TrainingJobStatus"] == "Completed", layout_job.get("FailureReason")
    seen = json.loads(model_members(aws_client_module("s3"), layout_job)["layout.json"])
    assert seen["hyperparameters"]["epochs"] == "3"  # the strings as CreateTrainingJob got them
    assert seen["channels"] == ["training"] and seen["training"] == ["train", "valid"]
    assert seen["dirs"] == ["/opt/ml/checkpoints", "/opt/ml/code", "/opt/ml/model", "/opt/ml/output",
                            "/opt/ml/output/data"]
    assert seen["cwd"] == "/opt/ml/code"
    assert seen["hostname"] == "algo-1" and seen["peer"] == "127.0.0.1"
    assert seen["shm"]


def test_neither_local_awss_state_nor_the_checkout_is_visible(layout_job, aws_client_module):
    seen = json.loads(model_members(aws_client_module("s3"), layout_job)["layout.json"])
    assert seen["visible"] == []


def test_each_host_sees_its_own_opt_ml(layout_job, aws_client_module):
    lines = log_lines(aws_client_module("logs"), layout_job["TrainingJobName"])
    seen = {host: json.loads(next(line for line in host_lines if line.startswith("layout "))[len("layout "):])
            for host, host_lines in lines.items()}
    assert {host: (s["current_host"], s["hostname"]) for host, s in seen.items()} == {
        "algo-1": ("algo-1", "algo-1"), "algo-2": ("algo-2", "algo-2")}


def entrypoint_request(bucket: str, name: str, script: str, entrypoint: list[str] | None = None) -> dict:
    """A job whose command is `/bin/bash -c script`, as the SageMaker SDK 3's ModelTrainer sends one: no
    script-mode hyperparameters."""
    request = probe_training_request(bucket, name)
    request["AlgorithmSpecification"] = {**request["AlgorithmSpecification"],
                                         "ContainerEntrypoint": entrypoint or ["/bin/bash"],
                                         "ContainerArguments": ["-c", script]}
    request["HyperParameters"] = {"epochs": "2"}
    return request


def test_a_container_entrypoint_runs_as_the_containers_command(sm, s3, logs, bucket):
    name = unique_name("entrypoint")
    script = ('echo "cwd=$(pwd) model=$SM_MODEL_DIR python=$(command -v python3)"; '
              'python3 -c "import torch" && echo made > /opt/ml/model/x && echo "valid:loss=0.25"')
    described = run_job(sm, entrypoint_request(bucket, name, script))
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert model_members(s3, described) == {"x": b"made\n"}
    lines = log_lines(logs, name)["algo-1"]
    assert lines[0].startswith("cwd=/ model=/opt/ml/model python=/") and lines[0].endswith("/bin/python3")
    assert "valid:loss=0.25" in lines
    assert {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]} == {"valid:loss": 0.25}


@pytest.mark.parametrize("script, reason", [
    ("echo 'the data was not there' > /opt/ml/output/failure; exit 3", "AlgorithmError: the data was not there"),
    ("exit 4", "AlgorithmError: , exit code: 4"),
], ids=["failure-file", "exit-status"])
def test_a_failing_container_entrypoint_fails_the_job(sm, bucket, script, reason):
    described = run_job(sm, entrypoint_request(bucket, unique_name("entrypoint-fails"), script))
    assert (described["TrainingJobStatus"], described["FailureReason"]) == ("Failed", reason)


def test_an_entrypoint_program_the_container_lacks_fails_the_job_by_name(sm, bucket):
    described = run_job(sm, entrypoint_request(bucket, unique_name("no-program"), "", ["/usr/bin/no-such-program"]))
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"] == ("ClientError: The training container on algo-1 could not start: "
                                          "ContainerEntrypoint: cannot run /usr/bin/no-such-program: No such file or "
                                          "directory")


def test_container_arguments_alone_are_refused(sm, bucket):
    request = entrypoint_request(bucket, unique_name("arguments"), "true")
    del request["AlgorithmSpecification"]["ContainerEntrypoint"]
    with pytest.raises(ClientError, match="ContainerArguments without ContainerEntrypoint"):
        sm.create_training_job(**request)


def test_without_a_sandbox_script_mode_runs_on_the_hosts_paths_and_an_entrypoint_is_refused(
        sm, s3, bucket, monkeypatch):
    monkeypatch.setenv(sandbox.MODE_VARIABLE, sandbox.NONE)
    with pytest.raises(ClientError, match="ContainerEntrypoint with LOCAL_AWS_SANDBOX=none"):
        sm.create_training_job(**entrypoint_request(bucket, unique_name("plain-entrypoint"), "true"))
    script = ('import json, os\n'
              'json.dump({"model": os.environ["SM_MODEL_DIR"], "cwd": os.getcwd(), '
              '"data": sorted(os.listdir(os.environ["SM_CHANNEL_TRAINING"]))}, '
              'open(os.path.join(os.environ["SM_MODEL_DIR"], "plain.json"), "w"))\n')
    s3.put_object(Bucket=bucket, Key="plain/sourcedir.tar.gz", Body=tarball({"train.py": script}))
    request = probe_training_request(bucket, unique_name("plain"))
    request["HyperParameters"]["sagemaker_submit_directory"] = f'"s3://{bucket}/plain/sourcedir.tar.gz"'
    described = run_job(sm, request)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    seen = json.loads(model_members(s3, described)["plain.json"])
    assert seen["model"].endswith("/algo-1/model") and seen["cwd"].endswith("/algo-1/code")
    assert seen["data"] == ["train", "valid"]

