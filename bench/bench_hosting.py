"""What serving through local AWS costs over running the model in-process.

For ResNet-50 at 224 px and a small model (MobileNetV3-small at 32 px), both randomly initialised
(no weights are downloaded) in model_code's model-dir layout, batch 1:

  (a) forward     the network's forward pass in this process: the limit
  (b) handler     input_fn -> predict_fn -> output_fn on a JPEG, in this process
  (c) endpoint    InvokeEndpoint with boto3 through ``python -m local_aws`` (one replica)
  (d) torchserve  TorchServe serving the same handler, if it is installed (else says why not)

then throughput: the best single process (the handler at 1 and 2 concurrent requests) against an
endpoint with 2 replicas under 4 concurrent clients. It prints p50/p99 latencies, throughputs, the
ratios the targets are about, and whether each target is met.

    .venv/bin/python bench/bench_hosting.py [--cases resnet50,small] [--seconds 15]
"""

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# The replicas' OpenMP settings (see local_aws/hosting/replica.py), for a like-for-like comparison;
# they must be set before torch starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import boto3  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "model_code"))

from local_aws.compute.s3 import tar_directory  # noqa: E402
from local_aws.hosting.inference_handler import InferenceHandler  # noqa: E402
from model_artifacts import write_model_dir  # noqa: E402
from networks import build_model  # noqa: E402
from preprocessing import IMAGENET_MEAN, IMAGENET_STD, normalize, to_model_input  # noqa: E402

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5.1-cpu-py311"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "bench-hosting"
NUM_CLASSES = 133  # dogImages' breeds


@dataclass(frozen=True)
class Case:
    arch: str
    image_size: int
    photo_size: int  # the JPEG a client sends, resized by input handling


CASES = {
    "resnet50": Case("resnet50", 224, 256),
    "small": Case("mobilenet_v3_small", 32, 48),
}


@dataclass(frozen=True)
class Latency:
    p50: float
    p99: float
    count: int


def build_model_dir(case: Case, directory: Path) -> Path:
    torch.manual_seed(0)
    network = build_model(case.arch, NUM_CLASSES)
    classes = [f"{index:03d}.Breed_{index}" for index in range(1, NUM_CLASSES + 1)]
    metadata = {"arch": case.arch, "image_size": case.image_size, "num_classes": NUM_CLASSES,
                "normalization": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}}
    write_model_dir(directory, network.state_dict(), classes, metadata)
    return directory


def photo_jpeg(size: int) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def latency_samples(call, seconds: float) -> list[float]:
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or not samples:
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def completed_per_second(call, concurrency: int, seconds: float) -> tuple[int, float]:
    """(requests completed, elapsed seconds) with ``concurrency`` callers looping for ``seconds``."""
    done = [0] * concurrency
    deadline = time.perf_counter() + seconds

    def loop(slot: int) -> None:
        while time.perf_counter() < deadline:
            call()
            done[slot] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(slot,)) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), time.perf_counter() - started


def interleaved(measures: dict, seconds: float, rounds: int, measure) -> dict:
    """Each measure in turn, ``rounds`` times, so that load from other processes on this shared
    machine falls on every path alike; returns each measure's pooled results."""
    for arguments in measures.values():
        measure(*arguments, seconds=0.2)  # warm up
    pooled = {name: [] for name in measures}
    for _ in range(rounds):
        for name, arguments in measures.items():
            pooled[name].append(measure(*arguments, seconds=seconds / rounds))
    return pooled


def latency(samples: list[list[float]]) -> Latency:
    flat = sorted(value for chunk in samples for value in chunk)
    return Latency(statistics.median(flat), flat[min(len(flat) - 1, int(len(flat) * 0.99))], len(flat))


def throughput(results: list[tuple[int, float]]) -> float:
    return sum(done for done, _ in results) / sum(elapsed for _, elapsed in results)


def wait_in_service(sagemaker, name: str) -> None:
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 600})


@contextlib.contextmanager
def local_aws_edge(state_dir: Path):
    """``python -m local_aws`` in its own process, as users run it: yields boto3 client kwargs."""
    edge = subprocess.Popen(
        [sys.executable, "-m", "local_aws", "--port", "0", "--state-dir", str(state_dir)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        exported = {}
        while "AWS_ENDPOINT_URL" not in exported or "AWS_SECRET_ACCESS_KEY" not in exported:
            line = edge.stdout.readline()
            if not line:
                raise RuntimeError(f"python -m local_aws exited with status {edge.wait()}")
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exported[name] = value
        yield {"endpoint_url": exported["AWS_ENDPOINT_URL"], "region_name": exported["AWS_DEFAULT_REGION"],
               "aws_access_key_id": exported["AWS_ACCESS_KEY_ID"],
               "aws_secret_access_key": exported["AWS_SECRET_ACCESS_KEY"]}
    finally:
        edge.send_signal(signal.SIGTERM)
        edge.wait(timeout=60)


class LocalEndpoint:
    """A model dir deployed on a local AWS edge; ``deploy`` again redeploys with another count."""

    def __init__(self, client_kwargs: dict, model_dir: Path, name: str):
        self.name = name
        self.sagemaker = boto3.client("sagemaker", **client_kwargs)
        self.runtime = boto3.client("sagemaker-runtime", **client_kwargs)
        s3 = boto3.client("s3", **client_kwargs)
        archive = model_dir.parent / f"{name}.tar.gz"
        tar_directory(model_dir, archive)
        s3.upload_file(str(archive), BUCKET, f"{name}/model.tar.gz")
        self.sagemaker.create_model(
            ModelName=name, ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{name}/model.tar.gz"},
        )
        self._configs = 0

    def deploy(self, instances: int) -> None:
        self._configs += 1
        config = f"{self.name}-{self._configs}"
        self.sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": self.name, "InitialInstanceCount": instances,
            "InstanceType": "ml.m5.large"}])
        if self._configs == 1:
            self.sagemaker.create_endpoint(EndpointName=self.name, EndpointConfigName=config)
        else:
            self.sagemaker.update_endpoint(EndpointName=self.name, EndpointConfigName=config)
            time.sleep(1)
        wait_in_service(self.sagemaker, self.name)

    def invoke(self, body: bytes) -> bytes:
        response = self.runtime.invoke_endpoint(
            EndpointName=self.name, Body=body, ContentType="image/jpeg", Accept="application/json"
        )
        return response["Body"].read()


def torchserve_unavailable_reason() -> str | None:
    if shutil.which("torchserve") is None or shutil.which("torch-model-archiver") is None:
        return ("torchserve and torch-model-archiver are not installed in this environment "
                "(pip install torchserve torch-model-archiver; they need Java 17)")
    return None


def run_case(label: str, case: Case, client_kwargs: dict, work: Path, seconds: float, rounds: int) -> dict:
    model_dir = build_model_dir(case, work / label / "model")
    jpeg = photo_jpeg(case.photo_size)
    handler = InferenceHandler(model_dir)
    loaded = handler.model
    batch = normalize(to_model_input(Image.open(io.BytesIO(jpeg)).convert("RGB"), case.image_size).unsqueeze(0),
                      loaded.mean, loaded.std)

    def forward():
        with torch.inference_mode():
            loaded.network(batch)

    def handle():
        handler.invoke(jpeg, "image/jpeg", "application/json")

    endpoint = LocalEndpoint(client_kwargs, model_dir, f"bench-{label}")
    endpoint.deploy(instances=1)
    assert json.loads(endpoint.invoke(jpeg))
    pooled = interleaved(
        {"forward": (forward,), "handler": (handle,), "endpoint": (lambda: endpoint.invoke(jpeg),)},
        seconds, rounds, latency_samples,
    )
    results = {name: latency(samples) for name, samples in pooled.items()}
    endpoint.deploy(instances=2)
    pooled = interleaved(
        {"single-1": (handle, 1), "single-2": (handle, 2), "two-replicas": (lambda: endpoint.invoke(jpeg), 4)},
        seconds, rounds, completed_per_second,
    )
    endpoint.sagemaker.delete_endpoint(EndpointName=endpoint.name)
    return {
        "latency": results,
        "single_process_rps": max(throughput(pooled["single-1"]), throughput(pooled["single-2"])),
        "two_replicas_rps": throughput(pooled["two-replicas"]),
    }


def report(label: str, case: Case, measured: dict) -> list[tuple[str, float, str, bool]]:
    latency = measured["latency"]
    print(f"\n{label}: {case.arch} at {case.image_size} px, batch 1, JPEG {case.photo_size} px")
    print(f"  {'path':<34}{'p50 ms':>10}{'p99 ms':>10}{'n':>7}")
    names = {"forward": "(a) forward pass, in-process", "handler": "(b) handler functions, in-process",
             "endpoint": "(c) InvokeEndpoint via edge"}
    for key, name in names.items():
        print(f"  {name:<34}{latency[key].p50 * 1e3:>10.2f}{latency[key].p99 * 1e3:>10.2f}{latency[key].count:>7}")
    reason = torchserve_unavailable_reason()
    print(f"  (d) TorchServe: skipped: {reason}" if reason else "  (d) TorchServe: not measured by this script")
    print(f"  throughput: best single process {measured['single_process_rps']:.1f} req/s, "
          f"endpoint with 2 replicas {measured['two_replicas_rps']:.1f} req/s")
    ratio = latency["endpoint"].p50 / latency["forward"].p50
    overhead_ms = (latency["endpoint"].p50 - latency["handler"].p50) * 1e3
    scaling = measured["two_replicas_rps"] / measured["single_process_rps"]
    print(f"  (c)/(a) p50 = {ratio:.3f}; (c)-(b) p50 = {overhead_ms:.2f} ms; "
          f"2 replicas / best single process = {scaling:.3f}")
    checks = [("throughput 2 replicas / single process", scaling, ">= 0.9", scaling >= 0.9)]
    if label == "resnet50":
        checks.append(("(c)/(a) p50 on ResNet-50", ratio, "<= 1.15", ratio <= 1.15))
    if label == "small":
        checks.append(("(c)-(b) p50 ms on the small model", overhead_ms, "<= 3", overhead_ms <= 3))
    return [(f"{label}: {name}", value, target, met) for name, value, target, met in checks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="resnet50,small", help=f"comma-separated, from {sorted(CASES)}")
    parser.add_argument("--seconds", type=float, default=20.0, help="per path, for latency and for throughput")
    parser.add_argument("--rounds", type=int, default=5, help="the paths are measured in turn this many times")
    args = parser.parse_args(argv)
    labels = args.cases.split(",")
    unknown = sorted(set(labels) - set(CASES))
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {sorted(CASES)}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads in-process, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    checks = []
    with tempfile.TemporaryDirectory(prefix="bench-hosting-") as tmp, local_aws_edge(Path(tmp) / "state") as aws:
        boto3.client("s3", **aws).create_bucket(Bucket=BUCKET)
        for label in labels:
            checks += report(label, CASES[label], run_case(label, CASES[label], aws, Path(tmp), args.seconds, args.rounds))
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (other processes share these cores)")
    print("targets:")
    for name, value, target, met in checks:
        print(f"  {'met ' if met else 'MISSED'} {name}: {value:.3f} (target {target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
