"""Training jobs through boto3: what the script receives, what the job reports, what it refuses."""

import io
import json
import os
import tarfile

import boto3
import pytest
from botocore.exceptions import ClientError

from local_aws_testing import TRAINING_IMAGE, probe_training_request, unique_name, wait_for


def run_job(sm, request: dict) -> dict:
    sm.create_training_job(**request)
    return wait_for(lambda: sm.describe_training_job(TrainingJobName=request["TrainingJobName"]), "TrainingJobStatus")


def read_tar_member(s3, uri: str, member: str) -> bytes:
    bucket, key = uri[len("s3://"):].split("/", 1)
    archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return tar.extractfile(member).read()


@pytest.fixture(scope="module")
def completed(local_aws, bucket):
    """One completed two-host probe job, shared by the tests that only read it."""
    name = unique_name("probe")
    # A checkpoint left by an earlier run of the job: SageMaker restores it before the script starts.
    s3 = boto3.client("s3", **local_aws.client_kwargs)
    s3.put_object(Bucket=bucket, Key=f"checkpoints/{name}/previous.pth", Body=b"earlier")
    request = probe_training_request(
        bucket, name, {"learning_rate": "0.02", "epochs": "2"}, instance_count=2,
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/output/"},
        CheckpointConfig={"S3Uri": f"s3://{bucket}/checkpoints/{name}"},
        Environment={"PROBE_ENV": "given"},
        Tags=[{"Key": "project", "Value": "dog-breeds"}],
    )
    return run_job(boto3.client("sagemaker", **local_aws.client_kwargs), request)


def test_a_job_completes_through_sagemakers_statuses(completed):
    assert completed["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in completed["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    transitions = completed["SecondaryStatusTransitions"]
    for earlier, later in zip(transitions, transitions[1:]):
        assert earlier["StartTime"] <= earlier["EndTime"] == later["StartTime"]
    assert transitions[-1]["EndTime"] == transitions[-1]["StartTime"] == completed["TrainingEndTime"]
    assert completed["TrainingStartTime"] <= completed["TrainingEndTime"]
    assert completed["TrainingTimeInSeconds"] >= 0


def test_artifacts_land_where_sagemaker_puts_them(completed, s3, bucket):
    name = completed["TrainingJobName"]
    model_uri = f"s3://{bucket}/output/{name}/output/model.tar.gz"
    assert completed["ModelArtifacts"]["S3ModelArtifacts"] == model_uri
    probe = json.loads(read_tar_member(s3, model_uri, "probe.json"))
    assert probe["files"] == ["train/001.Zero/0.txt", "train/001.Zero/1.txt",
                              "valid/001.Zero/0.txt", "valid/001.Zero/1.txt"]
    output = json.loads(read_tar_member(s3, f"s3://{bucket}/output/{name}/output/output.tar.gz", "metrics.json"))
    assert output["valid_accuracy"] == pytest.approx(1 - 0.01 / 2)
    checkpoint = s3.get_object(Bucket=bucket, Key=f"checkpoints/{name}/checkpoint-0001.pth")["Body"].read()
    assert checkpoint == b"state"


def test_checkpoints_in_s3_are_restored_before_the_script_starts(completed, s3):
    probe = json.loads(read_tar_member(s3, completed["ModelArtifacts"]["S3ModelArtifacts"], "probe.json"))
    assert probe["checkpoints_at_start"] == ["previous.pth"]


def test_script_gets_hyperparameters_and_environment_as_the_toolkit_gives_them(completed, s3):
    probe = json.loads(read_tar_member(s3, completed["ModelArtifacts"]["S3ModelArtifacts"], "probe.json"))
    argv = probe["argv"]
    # sagemaker_* parameters are the toolkit's own; user hyperparameters come sorted by name.
    assert argv == ["--epochs", "2", "--learning_rate", "0.02"]  # and nothing local AWS would add
    env = probe["env"]
    assert json.loads(env["SM_HOSTS"]) == ["algo-1", "algo-2"]
    assert env["SM_CURRENT_HOST"] == "algo-1"
    assert json.loads(env["SM_HPS"]) == {"epochs": 2, "learning_rate": 0.02}
    assert json.loads(env["SM_CHANNELS"]) == ["training"]
    assert env["SM_CHANNEL_TRAINING"] == "/opt/ml/input/data/training"
    assert env["SM_MODEL_DIR"] == "/opt/ml/model"
    assert env["SM_OUTPUT_DATA_DIR"] == "/opt/ml/output/data"
    assert env["SM_INPUT_CONFIG_DIR"] == "/opt/ml/input/config"
    assert env["SM_USER_ENTRY_POINT"] == "train.py"
    assert json.loads(env["SM_USER_ARGS"]) == ["--epochs", "2", "--learning_rate", "0.02"]
    assert env["SM_NUM_GPUS"] == "0"
    assert json.loads(env["SM_TRAINING_ENV"])["job_name"] == completed["TrainingJobName"]
    assert env["MASTER_ADDR"] == "127.0.0.1" and int(env["MASTER_PORT"]) > 0
    assert env["PROBE_ENV"] == "given"  # the job's Environment
    assert probe["cwd"] == "/opt/ml/code"


@pytest.mark.parametrize("environment", [{}, {"MKL_NUM_THREADS": "3"}], ids=["default", "job-sets-mkl"])
def test_intra_op_threads_follow_the_job_not_the_edges_environment(sm, s3, probe_request, monkeypatch, environment):
    # torch lets MKL_NUM_THREADS win over OMP_NUM_THREADS; the edge's own one must not reach the job.
    monkeypatch.setenv("MKL_NUM_THREADS", "7")
    # Two hosts on the machine's cores: one thread each on a 2-core machine.
    request = probe_request(unique_name("threads"), instance_count=2, Environment=environment)
    cores_per_host = str(max(1, (os.cpu_count() or 1) // 2))
    described = run_job(sm, request)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    env = json.loads(read_tar_member(s3, described["ModelArtifacts"]["S3ModelArtifacts"], "probe.json"))["env"]
    assert env["OMP_NUM_THREADS"] == cores_per_host
    assert env["MKL_NUM_THREADS"] == environment.get("MKL_NUM_THREADS", cores_per_host)


def test_the_script_gets_its_roles_credentials_and_none_of_the_edges(sm, s3, probe_request, monkeypatch, tmp_path):
    # Whatever the user who started local AWS had (their keys, a profile, local AWS's own pair) stays out.
    users_own = tmp_path / "credentials"
    users_own.write_text("[users-own]\naws_access_key_id = AKIAUSERSOWNKEY00000\naws_secret_access_key = x\n")
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(users_own))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "users-own")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "LOCAL_AWS_ACCESS_KEY_ID", "LOCAL_AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "users-own")
    described = run_job(sm, probe_request(unique_name("creds"), {"mode": "whoami"}))
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    probe = json.loads(read_tar_member(s3, described["ModelArtifacts"]["S3ModelArtifacts"], "probe.json"))
    assert probe["identity"].endswith(":assumed-role/SageMakerRole/SageMaker")
    names = set(probe["credential_names"])
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"} <= names
    assert not names & {"AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "LOCAL_AWS_ACCESS_KEY_ID",
                        "LOCAL_AWS_SECRET_ACCESS_KEY"}


def test_jobs_of_one_name_in_two_regions_share_no_files(local_aws, bucket, s3):
    name = unique_name("twin")
    described = {}
    for region in ("us-east-1", "us-west-2"):
        s3.put_object(Bucket=bucket, Key=f"twins/{region}/only-{region}.txt", Body=region.encode())
        request = probe_training_request(bucket, name, OutputDataConfig={"S3OutputPath": f"s3://{bucket}/twins-out/{region}"})
        request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{bucket}/twins/{region}/"
        client = boto3.client("sagemaker", **{**local_aws.client_kwargs, "region_name": region})
        described[region] = run_job(client, request)
    for region, job in described.items():
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        probe = json.loads(read_tar_member(s3, job["ModelArtifacts"]["S3ModelArtifacts"], "probe.json"))
        assert probe["files"] == [f"only-{region}.txt"]


def test_final_metrics_are_the_last_values_in_the_log(completed):
    metrics = {m["MetricName"]: m["Value"] for m in completed["FinalMetricDataList"]}
    assert metrics["valid:accuracy"] == pytest.approx(1 - 0.01 / 2)
    assert metrics["valid:loss"] == pytest.approx(0.01 / 2)


def test_each_host_logs_to_its_own_stream(completed, logs):
    name = completed["TrainingJobName"]
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix=name + "/")["logStreams"]
    assert [s["logStreamName"].rsplit("-", 1)[0] for s in streams] == [f"{name}/algo-1", f"{name}/algo-2"]
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                 logStreamName=streams[1]["logStreamName"])["events"]
    assert any(e["message"].startswith("probe args") for e in events)


def test_jobs_are_listed_and_tagged(completed, sm):
    listed = sm.list_training_jobs(NameContains=completed["TrainingJobName"])["TrainingJobSummaries"]
    assert [j["TrainingJobName"] for j in listed] == [completed["TrainingJobName"]]
    assert listed[0]["TrainingJobStatus"] == "Completed"
    assert sm.list_training_jobs(NameContains=completed["TrainingJobName"], StatusEquals="Failed")[
        "TrainingJobSummaries"] == []
    tags = sm.list_tags(ResourceArn=completed["TrainingJobArn"])["Tags"]
    assert tags == [{"Key": "project", "Value": "dog-breeds"}]


def test_a_failing_script_fails_the_job_quoting_its_log(sm, s3, probe_request):
    request = probe_request(unique_name("fails"), {"mode": "fail"})
    described = run_job(sm, request)
    assert described["TrainingJobStatus"] == "Failed"
    assert described["SecondaryStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:\nExitCode 1")
    assert "ValueError: the probe was told to fail" in reason
    # The configured location, as AWS names it for every job; nothing was uploaded there.
    configured = f"{request['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{request['TrainingJobName']}/output/model.tar.gz"
    assert described["ModelArtifacts"] == {"S3ModelArtifacts": configured}
    bucket, key = configured.removeprefix("s3://").split("/", 1)
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key)["KeyCount"] == 0


def test_a_job_names_its_model_artifacts_location_from_the_start(sm, probe_request):
    """The SageMaker SDK's TrainingJob.get(), called right after CreateTrainingJob, needs ModelArtifacts whole."""
    request = probe_request(unique_name("early"), {})
    sm.create_training_job(**request)
    described = sm.describe_training_job(TrainingJobName=request["TrainingJobName"])
    assert described["TrainingJobStatus"] == "InProgress"
    assert described["ModelArtifacts"]["S3ModelArtifacts"].endswith(f"/{request['TrainingJobName']}/output/model.tar.gz")
    wait_for(lambda: sm.describe_training_job(TrainingJobName=request["TrainingJobName"]), "TrainingJobStatus")


def test_max_runtime_stops_the_job(sm, probe_request):
    request = probe_request(unique_name("too-long"), {"mode": "sleep"},
                            StoppingCondition={"MaxRuntimeInSeconds": 2})
    described = run_job(sm, request)
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert described["TrainingEndTime"] > described["TrainingStartTime"]


def test_stop_training_job_stops_it(sm, probe_request):
    name = unique_name("stopped")
    sm.create_training_job(**probe_request(name, {"mode": "sleep"}))
    wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "SecondaryStatus", until={"Training"})
    sm.stop_training_job(TrainingJobName=name)
    described = wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert "Stopping" in [t["Status"] for t in described["SecondaryStatusTransitions"]]
    with pytest.raises(ClientError, match="training job is in status Stopped"):
        sm.stop_training_job(TrainingJobName=name)


def test_missing_input_data_fails_the_job_as_sagemaker_words_it(sm, probe_request, bucket):
    request = probe_request(unique_name("no-data"), InputDataConfig=[{"ChannelName": "training", "DataSource": {
        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/nothing-here/"}}}])
    described = run_job(sm, request)
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(f'ClientError: No S3 objects found under S3 URL "s3://{bucket}/nothing-here/"')


@pytest.mark.parametrize("call", ["describe_training_job", "stop_training_job"])
def test_unknown_job_is_a_validation_exception(sm, call):
    with pytest.raises(ClientError) as raised:
        getattr(sm, call)(TrainingJobName="never-created")
    assert raised.value.response["Error"] == {"Code": "ValidationException", "Message": "Requested resource not found."}


def test_listing_pages_through_jobs_in_creation_order(sm, completed):
    first = sm.list_training_jobs(MaxResults=1, SortBy="CreationTime", SortOrder="Ascending")
    second = sm.list_training_jobs(MaxResults=1, SortBy="CreationTime", SortOrder="Ascending",
                                   NextToken=first["NextToken"])
    one, two = first["TrainingJobSummaries"][0], second["TrainingJobSummaries"][0]
    assert one["TrainingJobName"] != two["TrainingJobName"]
    assert one["CreationTime"] <= two["CreationTime"]
    with pytest.raises(ClientError, match="Invalid pagination token"):
        sm.list_training_jobs(NextToken="not-a-token")


def test_duplicate_name_is_resource_in_use(sm, completed, probe_request):
    with pytest.raises(ClientError) as raised:
        sm.create_training_job(**probe_request(completed["TrainingJobName"]))
    assert raised.value.response["Error"]["Code"] == "ResourceInUse"


@pytest.mark.parametrize("change, refused", [
    ({"AlgorithmSpecification": {"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
                                 "TrainingInputMode": "File"}}, "pytorch-training"),
    ({"AlgorithmSpecification": {"TrainingImage": TRAINING_IMAGE, "TrainingInputMode": "Pipe"}},
     "TrainingInputMode Pipe"),
    ({"ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5}},
     "no GPU"),
    ({"VpcConfig": {"SecurityGroupIds": ["sg-12345678"], "Subnets": ["subnet-12345678"]}}, "VpcConfig"),
    ({"EnableManagedSpotTraining": True}, "MaxWaitTimeInSeconds must be specified"),
    ({"AlgorithmSpecification": {"TrainingImage": TRAINING_IMAGE, "TrainingInputMode": "File",
                                 "MetricDefinitions": [{"Name": "valid:loss", "Regex": "valid:loss=[0-9.]+"}]}},
     "must capture the value in a group"),
    ({"AlgorithmSpecification": {"TrainingImage": TRAINING_IMAGE, "TrainingInputMode": "File",
                                 "MetricDefinitions": [{"Name": "valid:loss", "Regex": "loss=(["}]}},
     "invalid Regex"),
    ({"CheckpointConfig": {"S3Uri": "s3://bucket/checkpoints", "LocalPath": "/tmp/checkpoints"}},
     "CheckpointConfig.LocalPath"),
])
def test_what_cannot_run_locally_is_refused(sm, probe_request, change, refused):
    request = probe_request(unique_name("refused"), **change)
    with pytest.raises(ClientError) as raised:
        sm.create_training_job(**request)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert refused in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="Requested resource not found"):  # nothing half-created
        sm.describe_training_job(TrainingJobName=request["TrainingJobName"])


def test_a_kms_key_must_exist_and_be_enabled_in_local_kms(sm, probe_request, aws_client, bucket):
    kms = aws_client("kms")
    key = kms.create_key(Description="training output")["KeyMetadata"]
    disabled = kms.create_key(Description="disabled")["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=disabled)
    for member, key_id, refused in (("OutputDataConfig", "1234abcd-12ab-34cd-56ef-1234567890ab", "does not exist"),
                                    ("ResourceConfig", disabled, "is Disabled")):
        request = probe_request(unique_name("kms"))
        place = "KmsKeyId" if member == "OutputDataConfig" else "VolumeKmsKeyId"
        request[member] = {**request[member], place: key_id}
        with pytest.raises(ClientError) as raised:
            sm.create_training_job(**request)
        assert f"{member}.{place}" in raised.value.response["Error"]["Message"]
        assert refused in raised.value.response["Error"]["Message"]
        with pytest.raises(ClientError, match="Requested resource not found"):  # nothing half-created
            sm.describe_training_job(TrainingJobName=request["TrainingJobName"])
    request = probe_request(unique_name("kms"))
    request["OutputDataConfig"] = {**request["OutputDataConfig"], "KmsKeyId": key["Arn"]}
    sm.create_training_job(**request)
    described = wait_for(lambda: sm.describe_training_job(TrainingJobName=request["TrainingJobName"]),
                         "TrainingJobStatus")
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    bucket_name, _, key_name = described["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").partition("/")
    stored = aws_client("s3").head_object(Bucket=bucket_name, Key=key_name)
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])  # written with it


SPOT_SCRIPT = '''
import argparse, os, time
parser = argparse.ArgumentParser()
parser.add_argument("--checkpoint_dir", default="/opt/ml/checkpoints")
args = parser.parse_args()
progress = os.path.join(args.checkpoint_dir, "progress")
step = int(open(progress).read()) if os.path.exists(progress) else 0
print(f"resumed from step {step}", flush=True)
while step < 15:
    time.sleep(0.2)
    step += 1
    with open(progress + ".tmp", "w") as out:
        out.write(str(step))
    os.replace(progress + ".tmp", progress)
'''


def test_a_spot_job_is_interrupted_when_asked_and_resumes_from_its_checkpoints(sm, probe_request, aws_client, bucket,
                                                                                monkeypatch):
    from local_aws_testing import tarball

    monkeypatch.setenv("LOCAL_AWS_SPOT_INTERRUPTION_SECONDS", "1.5")
    aws_client("s3").put_object(Bucket=bucket, Key="spot/sourcedir.tar.gz", Body=tarball({"train.py": SPOT_SCRIPT}))
    name = unique_name("spot")
    request = probe_request(name, EnableManagedSpotTraining=True,
                            StoppingCondition={"MaxRuntimeInSeconds": 120, "MaxWaitTimeInSeconds": 240},
                            CheckpointConfig={"S3Uri": f"s3://{bucket}/spot-checkpoints/{name}"})
    request["HyperParameters"]["sagemaker_submit_directory"] = f'"s3://{bucket}/spot/sourcedir.tar.gz"'
    sm.create_training_job(**request)
    described = wait_for(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    statuses = [t["Status"] for t in described["SecondaryStatusTransitions"]]
    assert statuses.count("Interrupted") == 1 and statuses.index("Interrupted") < len(statuses) - 1
    events = aws_client("logs").filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                                  logStreamNamePrefix=f"{name}/")["events"]
    resumed = [int(e["message"].split()[-1]) for e in events if e["message"].startswith("resumed from step")]
    assert resumed[0] == 0 and resumed[1] > 0  # the second start read the checkpoint the first one wrote
    assert described["BillableTimeInSeconds"] <= described["TrainingTimeInSeconds"]
