"""How much a local SageMaker training job costs over running train.py directly, and how fast the
edge answers.

    .venv/bin/python bench/bench_local_aws.py [--epochs 2] [--image-size 32] [--rounds 3] [--requests 500]

Prints the wall time of `model_code/train.py` run directly and as a one-instance training job with the
same data and hyperparameters (job time is CreateTrainingJob until DescribeTrainingJob says Completed,
so it includes the S3 transfers, the log shipping and the artifact upload), their ratio (target <= 1.15
for a job of about a minute), and the p50/p99 latency of DescribeTrainingJob through the edge.

The two kinds run interleaved in rounds, the order alternating from round to round, so that a shared
machine's changing load falls on both alike; the ratio quoted is the median of the rounds' ratios.
"""

import argparse
import json
import os
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
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO / "model_code", env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_job(args, sm, name: str, source_uri: str) -> tuple[float, dict]:
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
    started = time.perf_counter()
    sm.create_training_job(**request)
    while (described := sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == "InProgress":
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    if described["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"the job ended {described['TrainingJobStatus']}: {described.get('FailureReason')}")
    return elapsed, described


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
        work = Path(tmp)
        dataset = sample_dataset.build(work / "data", sample_dataset.DatasetSpec(image_size=args.image_size))
        kwargs = aws.client_kwargs
        s3, sm = boto3.client("s3", **kwargs), boto3.client("sagemaker", **kwargs)
        source_uri = upload(s3, dataset, work)
        direct, job, described = [], [], None
        for round_ in range(args.rounds):
            if round_ % 2:
                seconds, described = run_job(args, sm, f"bench-{round_}", source_uri)
                direct.append(run_direct(args, dataset, work))
            else:
                direct.append(run_direct(args, dataset, work))
                seconds, described = run_job(args, sm, f"bench-{round_}", source_uri)
            job.append(seconds)
        samples = latency_ms(sm, described["TrainingJobName"], args.requests)
    ratios = [j / d for j, d in zip(job, direct)]
    print(f"train.py directly          : {statistics.median(direct):7.2f} s  (runs: {_joined(direct)})")
    print(f"as a local training job    : {statistics.median(job):7.2f} s  (runs: {_joined(job)})")
    print(f"job / direct               : {statistics.median(ratios):7.3f}   (target <= 1.15; rounds: {_joined(ratios, 3)})")
    print(f"job overhead               : {statistics.median(j - d for j, d in zip(job, direct)):7.2f} s")
    phases = ", ".join(f"{t['Status']} {(t['EndTime'] - t['StartTime']).total_seconds():.2f} s"
                       for t in described["SecondaryStatusTransitions"] if "EndTime" in t)
    print(f"last job's phases          : {phases}")
    print(f"DescribeTrainingJob latency: p50 {samples[len(samples) // 2]:.2f} ms, "
          f"p99 {samples[int(len(samples) * 0.99) - 1]:.2f} ms over {len(samples)} calls")


def _joined(values: list[float], digits: int = 2) -> str:
    return ", ".join(f"{value:.{digits}f}" for value in values)


if __name__ == "__main__":
    main(get_args_parser().parse_args())
