"""What a Lambda invocation through local AWS costs, measured against one InvokeEndpoint hop in the same run.

Warm paths, in turn per round so that load from other processes falls on each alike:

  no-op, sandboxed   a no-op function's `Invoke` (boto3, one keep-alive client) through `python -m local_aws`,
                     its environment in a sandbox (the default)
  no-op, plain       the same through a second local AWS with LOCAL_AWS_SANDBOX=none
  no-op, in-process  the no-op handler called in this process
  (b) handler        bench_hosting's (b): the small model's input_fn -> predict_fn -> output_fn, in-process
  (e) container      bench_hosting's (e): InvokeEndpoint with boto3 straight to a replica of that model

Target (issue 14): the warm no-op overhead, sandboxed - in-process, is at most 2x the cost of one
InvokeEndpoint hop, (e) - (b): a warm Invoke needs one client hop and one Runtime API delivery.

Then cold starts: the project's front door (lambda/ zipped with its pinned requirements by
plugins/dog_breed/lambda_package.py) and the no-op, each made cold again by a configuration change, their
`Init Duration` read from the REPORT line, against importing the front door's handler in a fresh Python.

    .venv/bin/python bench/bench_lambda_invoke.py [--seconds 20 --rounds 5 --cold-starts 5]
"""

import argparse
import base64
import contextlib
import io
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_hosting import (  # noqa: E402
    CASES,
    REPO,
    ServingPath,
    build_model_dir,
    direct_container,
    interleaved,
    latency,
    local_aws_edge,
    path_latency,
    photo_jpeg,
)

sys.path.insert(0, str(REPO / "plugins"))
from dog_breed.lambda_package import build as front_door_zip  # noqa: E402
from local_aws.hosting.inference_handler import InferenceHandler  # noqa: E402

NOOP_SOURCE = "def handler(event, context):\n    return event\n"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
FRESH_IMPORT = "front door's import, fresh python -I"
INIT_DURATION = re.compile(r"Init Duration: ([0-9.]+) ms")
TARGET_RATIO = 2.0


def noop_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", NOOP_SOURCE)
    return buffer.getvalue()


def make_function(client_kwargs: dict, name: str, code: bytes, handler: str, environment: dict | None = None):
    """A function on that local AWS, Active; returns its Lambda client."""
    iam = boto3.client("iam", **client_kwargs)
    lam = boto3.client("lambda", **client_kwargs)
    role = iam.create_role(RoleName=f"bench-{name}", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler=handler, Code={"ZipFile": code},
                        MemorySize=512, Timeout=30, Environment={"Variables": environment or {}})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
    return lam


def init_durations(lam, name: str, environment: dict, count: int) -> list[float]:
    """`Init Duration` (ms) of `count` cold starts: each configuration change retires the warm environment."""
    durations = []
    for index in range(count):
        lam.update_function_configuration(FunctionName=name, Environment={
            "Variables": {**environment, "BENCH_COLD_START": str(index)}})
        lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
        answer = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
        answer["Payload"].read()
        found = INIT_DURATION.search(base64.b64decode(answer["LogResult"]).decode())
        if found is None:
            raise RuntimeError(f"{name}'s invocation after a configuration change reported no Init Duration")
        durations.append(float(found.group(1)))
    return durations


def fresh_import_ms(count: int) -> list[float]:
    """Importing the front door's handler module in a new Python, as its init does (interpreter start included)."""
    code = ("import sys, time; started = time.perf_counter(); sys.path.insert(0, sys.argv[1]); import handler; "
            "print((time.perf_counter() - started) * 1e3)")
    with tempfile.TemporaryDirectory() as unpacked:
        with zipfile.ZipFile(io.BytesIO(front_door_zip(REPO / "lambda", REPO / "lambda" / "requirements.txt"))) as z:
            z.extractall(unpacked)
        times = []
        for _ in range(count):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-I", "-c", code, unpacked], check=True, capture_output=True,
                           env={"ENDPOINT_NAME": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                                "POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_METRICS_NAMESPACE": "Bench"})
            times.append((time.perf_counter() - started) * 1e3)
        return times


def describe(label: str, p50: float, high: float, high_name: str = "p99") -> None:
    print(f"  {label:<40} p50 {p50:9.3f} ms   {high_name} {high:9.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per warm path, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold-starts", type=int, default=5)
    args = parser.parse_args()
    case = CASES["small"]
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-lambda-")))
        sandboxed, _ = stack.enter_context(local_aws_edge(work / "sandboxed"))
        plain, _ = stack.enter_context(local_aws_edge(work / "plain", environment={"LOCAL_AWS_SANDBOX": "none"}))
        noop = {"sandboxed": make_function(sandboxed, "noop", noop_zip(), "app.handler"),
                "plain": make_function(plain, "noop", noop_zip(), "app.handler")}
        namespace: dict = {}
        exec(NOOP_SOURCE, namespace)

        model_dir = build_model_dir(case, work / "model")
        jpeg = photo_jpeg(case.photo_size)
        handler = InferenceHandler(model_dir)
        to_container = stack.enter_context(direct_container(sandboxed, model_dir, case, work / "direct"))
        paths = {
            "noop-sandboxed": ServingPath(lambda: noop["sandboxed"].invoke(
                FunctionName="noop", Payload=b'{"n": 1}')["Payload"].read(), 1),
            "noop-plain": ServingPath(lambda: noop["plain"].invoke(
                FunctionName="noop", Payload=b'{"n": 1}')["Payload"].read(), 1),
            "noop-in-process": ServingPath(lambda: namespace["handler"]({"n": 1}, None), 1),
            "handler": ServingPath(lambda: handler.invoke(jpeg, "image/jpeg", "application/json"), case.threads),
            "container": ServingPath(lambda: to_container(jpeg), 1),
        }
        warm = {name: latency(samples) for name, samples in
                interleaved(paths, args.seconds, args.rounds, path_latency).items()}

        front_door_environment = {"ENDPOINT_NAME": "bench", "POWERTOOLS_SERVICE_NAME": "bench",
                                  "POWERTOOLS_METRICS_NAMESPACE": "Bench"}
        front_door = make_function(sandboxed, "front-door", front_door_zip(REPO / "lambda", REPO / "lambda" /
                                                                           "requirements.txt"),
                                   "handler.lambda_handler", front_door_environment)
        cold = {"front door, sandboxed": init_durations(front_door, "front-door", front_door_environment,
                                                        args.cold_starts),
                "no-op, sandboxed": init_durations(noop["sandboxed"], "noop", {}, args.cold_starts),
                FRESH_IMPORT: fresh_import_ms(args.cold_starts)}

    labels = {"noop-sandboxed": "warm Invoke, no-op, sandboxed", "noop-plain": "warm Invoke, no-op, plain process",
              "noop-in-process": "no-op handler, in-process", "handler": "(b) model handler, in-process",
              "container": "(e) InvokeEndpoint to the replica"}
    print(f"warm paths ({args.rounds} rounds, {args.seconds:.0f} s per path in all):")
    for name, measured in warm.items():
        describe(f"{labels[name]} ({measured.count})", measured.p50 * 1e3, measured.p99 * 1e3)
    print(f"cold starts ({args.cold_starts} each):")
    for label, values in cold.items():
        describe(label, statistics.median(values), max(values), "max")
    overhead = warm["noop-sandboxed"].p50 - warm["noop-in-process"].p50
    hop = warm["container"].p50 - warm["handler"].p50
    ratio = overhead / hop
    print(f"sandboxed / plain warm Invoke (p50): {warm['noop-sandboxed'].p50 / warm['noop-plain'].p50:.3f}")
    print(f"front door Init Duration / fresh import (p50): "
          f"{statistics.median(cold['front door, sandboxed']) / statistics.median(cold[FRESH_IMPORT]):.2f}")
    print(f"warm no-op overhead {overhead * 1e3:.3f} ms / one InvokeEndpoint hop (e)-(b) {hop * 1e3:.3f} ms = "
          f"{ratio:.2f} (target <= {TARGET_RATIO}): {'met' if ratio <= TARGET_RATIO else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
