"""How much a local SageMaker training job costs over running train.py directly, and how fast the
edge answers.

    .venv/bin/python bench/bench_local_aws.py [--epochs 2] [--image-size 32] [--rounds 3] [--requests 500]

Prints the wall time of `model_code/train.py` run directly and as a one-instance training job with the
same data and hyperparameters (job time is CreateTrainingJob until DescribeTrainingJob says Completed,
so it includes the S3 transfers, the log shipping and the artifact upload), their ratio (target <= 1.15
for a job of about a minute), and the p50/p99 latency of DescribeTrainingJob through the edge.

The two kinds run interleaved in rounds, the order alternating from round to round, so that a shared
machine's changing load falls on both alike; the ratio quoted is the median of the rounds' ratios.
The job's wall time over its own Training phase (the host process's life, plus at most one 0.2 s
poll) isolates what local_aws adds around the script within one run. Wall time is the target; CPU
time (user + system, of train.py, or of the job's processes plus the edge) is printed too: it counts
the edge's own work, but on a loaded machine OpenMP threads spinning for a core inflate it as well.
"""

import argparse
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sample_dataset  # noqa: E402
from local_aws import LocalAWS  # noqa: E402
from model_code.metric_definitions import METRIC_DEFINITIONS  # noqa: E402

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5.1-cpu-py311"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "bench-local-aws"


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of one direct run and one job each")
    parser.add_argument("--requests", type=int, default=500, help="DescribeTrainingJob calls for the latency figures")
    return parser


def hyperparameters(args) -> dict[str, str]:
    return {"arch": args.arch, "image_size": str(args.image_size), "epochs": str(args.epochs), "batch_size": "64",
            "workers": "0", "augment": "false", "learning_rate": "0.001"}


def run_direct(args, dataset: Path, work: Path) -> float:
    run = Path(tempfile.mkdtemp(dir=work))
    command = [sys.executable, "train.py"]
    for name, value in hyperparameters(args).items():
        command += [f"--{name}", value]
    command += ["--data_dir", str(dataset), "--model_dir", str(run / "model"), "--output_data_dir",
                str(run / "output"), "--checkpoint_dir", str(run / "checkpoints")]
    # The same threads a one-instance job gets.
    env = {**os.environ, "OMP_NUM_THREADS": str(os.cpu_count()), "PYTHONUNBUFFERED": "1"}
    subprocess.run(command, cwd=REPO / "model_code", env=env, check=True, stdout=subprocess.DEVNULL)


def run_job(args, sm, name: str, source_uri: str) -> dict:
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                   "MetricDefinitions": METRIC_DEFINITIONS},
        "RoleArn": ROLE,
        "HyperParameters": {"sagemaker_program": json.dumps("train.py"),
                            "sagemaker_submit_directory": json.dumps(source_uri), **hyperparameters(args)},
        "InputDataConfig": [{"ChannelName": "training", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/dogImages/"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    sm.create_training_job(**request)
    while (described := sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == "InProgress":
        time.sleep(0.1)
    if described["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"the job ended {described['TrainingJobStatus']}: {described.get('FailureReason')}")
    return described


def measured(call) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, result) of `call()`. The CPU time is this process's (the edge runs in
    it) plus its children's (train.py, or the job's host processes, which local_aws has reaped by the
    time the job reports an end)."""
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = call()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before))
    return wall, cpu, result


def upload(s3, dataset: Path, work: Path) -> str:
    s3.create_bucket(Bucket=BUCKET)
    for path in sorted(dataset.rglob("*.jpg")):
        s3.upload_file(str(path), BUCKET, f"dogImages/{path.relative_to(dataset).as_posix()}")
    archive = work / "sourcedir.tar.gz"
    files = [p.name for p in (REPO / "model_code").iterdir() if p.suffix in (".py", ".txt")]
    subprocess.run(["tar", "-czf", str(archive), *sorted(files)], cwd=REPO / "model_code", check=True)
    s3.upload_file(str(archive), BUCKET, "code/sourcedir.tar.gz")
    return f"s3://{BUCKET}/code/sourcedir.tar.gz"


def latency_ms(sm, name: str, requests: int) -> list[float]:
    sm.describe_training_job(TrainingJobName=name)  # the connection and the client's first-call setup
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        sm.describe_training_job(TrainingJobName=name)
        samples.append((time.perf_counter() - started) * 1e3)
    return sorted(samples)


def main(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-local-aws-") as tmp, LocalAWS(port=0, state_dir=Path(tmp) / "state") as aws:
        boto3.client("iam", **aws.client_kwargs).create_role(RoleName=ROLE.rsplit("/", 1)[-1], AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
        work = Path(tmp)
        dataset = sample_dataset.build(work / "data", sample_dataset.DatasetSpec(image_size=args.image_size))
        kwargs = aws.client_kwargs
        s3, sm = boto3.client("s3", **kwargs), boto3.client("sagemaker", **kwargs)
        source_uri = upload(s3, dataset, work)
        direct, job, in_script, described = [], [], [], None
        for round_ in range(args.rounds):
            run_the_job = functools.partial(run_job, args, sm, f"bench-{round_}", source_uri)
            run_train_py = functools.partial(run_direct, args, dataset, work)
            if round_ % 2:
                wall, cpu, described = measured(run_the_job)
                direct.append(measured(run_train_py)[:2])
            else:
                direct.append(measured(run_train_py)[:2])
                wall, cpu, described = measured(run_the_job)
            job.append((wall, cpu))
            in_script.append(wall / _phase_seconds(described, "Training"))
        samples = latency_ms(sm, described["TrainingJobName"], args.requests)
    for unit, index in (("wall", 0), ("CPU", 1)):
        ours, theirs = [j[index] for j in job], [d[index] for d in direct]
        ratios = [o / t for o, t in zip(ours, theirs)]
        print(f"train.py directly, {unit:4}    : {statistics.median(theirs):7.2f} s  (runs: {_joined(theirs)})")
        print(f"local training job, {unit:4}   : {statistics.median(ours):7.2f} s  (runs: {_joined(ours)})")
        print(f"job / direct, {unit:4}         : {statistics.median(ratios):7.3f}   (target <= 1.15; "
              f"rounds: {_joined(ratios, 3)})")
    print(f"job / its Training phase    : {statistics.median(in_script):7.3f}   (the same run, so the same load; "
          f"rounds: {_joined(in_script, 3)})")
    phases = ", ".join(f"{t['Status']} {(t['EndTime'] - t['StartTime']).total_seconds():.2f} s"
                       for t in described["SecondaryStatusTransitions"] if "EndTime" in t)
    print(f"last job's phases           : {phases}")
    print(f"DescribeTrainingJob latency : p50 {samples[len(samples) // 2]:.2f} ms, "
          f"p99 {samples[int(len(samples) * 0.99) - 1]:.2f} ms over {len(samples)} calls")


def _phase_seconds(described: dict, status: str) -> float:
    """How long the job spent in one secondary status: for Training, the host process's life."""
    found = next(t for t in described["SecondaryStatusTransitions"] if t["Status"] == status)
    return (found["EndTime"] - found["StartTime"]).total_seconds()


def _joined(values: list[float], digits: int = 2) -> str:
    return ", ".join(f"{value:.{digits}f}" for value in values)


if __name__ == "__main__":
    main(get_args_parser().parse_args())
