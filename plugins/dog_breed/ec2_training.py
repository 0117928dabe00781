"""What training on an EC2 instance through SSM is, as plain data and pure builders: the run's settings
(validated, each problem naming the setting), the instance's least-privilege role, and the
`AWS-RunShellScript` commands that copy the code and the staged dataset from S3 onto the instance's volume,
run `model_code/train.py` as a plain script and upload `model.tar.gz` and `output.tar.gz` in SageMaker's
layout (`<output>/<job>/output/`). Every value that reaches the shell is quoted (`shlex.quote`) and every
hyperparameter name must be an identifier, so a hostile value is inert data, never executed.
"""

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
IMAGE_ID = re.compile(r"^ami-[0-9a-f]{8,17}$")
SSM_PARAMETER = re.compile(r"^/[A-Za-z0-9_.\-/]{1,2047}$")
# An EC2 type (family, generation, options "." size), never a SageMaker one (ml.*).
INSTANCE_TYPE = re.compile(r"^(?!ml\.)[a-z][a-z0-9-]*\.[a-z0-9]+$")
S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\x00-\x1f]*)?$")
EC2_PRINCIPAL = "ec2.amazonaws.com"
LOG_GROUP = "/dog-breed/ec2-training"  # where the command's output streams while it runs
COMMAND_ENDED = {"Success", "Failed", "TimedOut", "Cancelled"}  # a command invocation's terminal statuses

# Copies from and to S3 with boto3, which the Deep Learning AMI has (as local AWS's instances do).
S3_COPY = """
import sys, boto3
def split(uri):
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key
s3 = boto3.client("s3")
action, uri, path = sys.argv[1:4]
bucket, key = split(uri)
if action == "get":
    s3.download_file(bucket, key, path)
elif action == "sync":
    import os
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for item in page.get("Contents", []):
            target = os.path.join(path, item["Key"][len(key):].lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            s3.download_file(bucket, item["Key"], target)
else:
    s3.upload_file(path, bucket, key)
"""


@dataclass(frozen=True)
class Ec2Training:
    job_name: str
    code_uri: str  # model_code/ as sourcedir.tar.gz
    data_uri: str  # the staged dataset prefix (train/ valid/ test/)
    output_uri: str  # SageMaker's S3OutputPath: <output>/<job>/output/model.tar.gz
    image_id: str
    instance_type: str = "t2.xlarge"
    volume_gb: int = 50
    interpreter: str = "python3"
    work_dir: str = "/opt/dog-breed"
    hyperparameters: dict[str, str] = field(default_factory=dict)
    execution_timeout_seconds: int = 7200

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with these settings as (setting, problem); empty when they are usable."""
        found = []
        if not JOB_NAME.match(self.job_name):
            found.append(("job_name", f"{self.job_name!r} must be 1 to 63 letters, digits and hyphens"))
        for setting in ("code_uri", "data_uri", "output_uri"):
            if not S3_URI.match(getattr(self, setting)):
                found.append((setting, f"{getattr(self, setting)!r} is not an s3:// URI"))
        if not (IMAGE_ID.match(self.image_id) or SSM_PARAMETER.match(self.image_id)):
            found.append(("image_id", f"{self.image_id!r} must be an AMI id (ami-...) or the name of an SSM "
                                      "parameter holding one (/aws/service/...)"))
        if not INSTANCE_TYPE.match(self.instance_type):
            found.append(("instance_type", f"{self.instance_type!r} is not an EC2 instance type like t2.xlarge"))
        for name in self.hyperparameters:
            if not NAME.match(name):
                found.append(("hyperparameters", f"name {name!r} must be a letter then letters, digits or underscores"))
        if not 8 <= self.volume_gb <= 16384:
            found.append(("volume_gb", f"must be from 8 to 16384, got {self.volume_gb}"))
        if not 1 <= self.execution_timeout_seconds <= 172_800:
            found.append(("execution_timeout_seconds",
                          f"must be from 1 to 172800, got {self.execution_timeout_seconds}"))
        for setting in ("interpreter", "work_dir"):
            value = getattr(self, setting)
            if not value or "\n" in value or "\x00" in value:
                found.append((setting, "must be one non-empty line"))
        return found

    @property
    def artifact_prefix(self) -> str:
        return f"{self.output_uri.rstrip('/')}/{self.job_name}/output"

    @property
    def model_uri(self) -> str:
        return f"{self.artifact_prefix}/model.tar.gz"

    @property
    def role_name(self) -> str:
        return "dog-breed-ec2-training"


def commands(training: Ec2Training) -> list[str]:
    """The AWS-RunShellScript commands of the run; every value quoted."""
    q = shlex.quote
    work = f"{training.work_dir.rstrip('/')}/{training.job_name}"
    copy = f"{q(training.interpreter)} -c {q(S3_COPY)}"
    arguments = " ".join(f"--{name} {q(str(value))}" for name, value in sorted(training.hyperparameters.items()))
    return [
        "set -euo pipefail",
        f"WORK={q(work)}",
        'rm -rf "$WORK" && mkdir -p "$WORK/code" "$WORK/data" "$WORK/model" "$WORK/output" "$WORK/checkpoints"',
        f'{copy} get {q(training.code_uri)} "$WORK/sourcedir.tar.gz"',
        'tar -xzf "$WORK/sourcedir.tar.gz" -C "$WORK/code"',
        f'{copy} sync {q(training.data_uri)} "$WORK/data"',
        'echo "dog-breed: training on $(hostname) with $(nproc) cores"',
        f'cd "$WORK/code" && {q(training.interpreter)} train.py --data_dir "$WORK/data" --model_dir "$WORK/model" '
        f'--output_data_dir "$WORK/output" --checkpoint_dir "$WORK/checkpoints" {arguments}'.rstrip(),
        'tar -czf "$WORK/model.tar.gz" -C "$WORK/model" . && tar -czf "$WORK/output.tar.gz" -C "$WORK/output" .',
        f'{copy} put {q(training.artifact_prefix + "/output.tar.gz")} "$WORK/output.tar.gz"',
        f'{copy} put {q(training.model_uri)} "$WORK/model.tar.gz"',
        f'echo "dog-breed: uploaded {training.model_uri}"',
    ]


def role_policy(training: Ec2Training) -> dict[str, Any]:
    """Read the run's code and data, write its output prefix; nothing else."""
    def arn(uri: str) -> str:
        return "arn:aws:s3:::" + uri[len("s3://"):]

    bucket_arns = sorted({arn(uri).split("/", 1)[0] for uri in (training.code_uri, training.data_uri,
                                                                 training.output_uri)})
    data_prefix = training.data_uri[len("s3://"):].partition("/")[2]
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": [arn(training.code_uri),
                                                                   arn(training.data_uri.rstrip("/")) + "/*"]},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arns,
         "Condition": {"StringLike": {"s3:prefix": [data_prefix + "*"]}}},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": arn(training.artifact_prefix) + "/*"},
        # The agent streams the command's output to the run's log group with the instance's role.
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                                       "logs:DescribeLogStreams"],
         "Resource": [f"arn:aws:logs:*:*:log-group:{LOG_GROUP}", f"arn:aws:logs:*:*:log-group:{LOG_GROUP}:*"]},
        # What the SSM agent needs to register and take commands (AmazonSSMManagedInstanceCore's core).
        {"Effect": "Allow", "Action": ["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel",
                                       "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
                                       "ssmmessages:OpenDataChannel", "ec2messages:AcknowledgeMessage",
                                       "ec2messages:DeleteMessage", "ec2messages:FailMessage",
                                       "ec2messages:GetEndpoint", "ec2messages:GetMessages",
                                       "ec2messages:SendReply"], "Resource": "*"},
    ]}


def trust_policy() -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": EC2_PRINCIPAL}, "Action": "sts:AssumeRole"}]}


def self_termination_user_data(lifetime_minutes: int) -> str:
    """User data that ends the instance `lifetime_minutes` after boot whatever happens to Airflow (its worker
    killed outright, its triggerer down): launched with shutdown behaviour `terminate`, a shutdown is a
    termination."""
    if not isinstance(lifetime_minutes, int) or lifetime_minutes < 1:
        raise ValueError(f"lifetime_minutes must be a whole number of minutes from 1, got {lifetime_minutes!r}")
    return ("#!/bin/sh\n"
            f"# dog-breed: this training instance ends itself {lifetime_minutes} minutes after boot at the latest\n"
            f"shutdown -h +{lifetime_minutes}\n")


def command_failure(training: Ec2Training, instance_id: str, invocation: dict[str, Any], tail_lines: int) -> str | None:
    """Why the command's invocation (GetCommandInvocation's answer) failed, naming its exit code and the last
    lines of its stderr; None when it succeeded."""
    if invocation["Status"] == "Success":
        return None
    stderr = "\n".join(invocation.get("StandardErrorContent", "").splitlines()[-tail_lines:])
    return (f"training {training.job_name} on {instance_id} ended {invocation['Status']} "
            f"({invocation.get('StatusDetails', '')}) with exit code {invocation.get('ResponseCode')}; "
            f"the last lines of stderr:\n{stderr}\nthe whole output: {invocation.get('StandardErrorUrl') or 's3'}")


def stdout_stream(command_id: str, instance_id: str) -> str:
    """The log stream (in LOG_GROUP) the agent ships the command's stdout to."""
    return f"{command_id}/{instance_id}/aws-runShellScript/stdout"
