"""What a warm Lambda invocation through local AWS costs: a no-op function's `Invoke` (boto3, one keep-alive
client) with its environment in a sandbox and as a plain process (LOCAL_AWS_SANDBOX=none), alternating
per round, against calling the handler in-process, in one run.

    .venv/bin/python bench/bench_lambda_invoke.py [--rounds 5 --calls 200]
"""

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local_aws import LocalAWS  # noqa: E402
from local_aws.sandbox import MODE_VARIABLE  # noqa: E402

SOURCE = "def handler(event, context):\n    return event\n"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", SOURCE)
    return buffer.getvalue()


def make_function(lam, role: str, name: str, mode: str) -> None:
    """Create `name` and make its (one) environment while LOCAL_AWS_SANDBOX is `mode`."""
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                        Code={"ZipFile": package()})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    previous = os.environ.get(MODE_VARIABLE)
    os.environ[MODE_VARIABLE] = mode
    try:
        lam.invoke(FunctionName=name, Payload=b"{}")  # the cold start: the environment is made now
    finally:
        if previous is None:
            os.environ.pop(MODE_VARIABLE)
        else:
            os.environ[MODE_VARIABLE] = previous


def timings(call, count: int) -> list[float]:
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def describe(label: str, seconds: list[float]) -> float:
    p50 = statistics.median(seconds)
    p99 = sorted(seconds)[int(len(seconds) * 0.99) - 1]
    print(f"{label:<34} p50 {p50 * 1e3:7.3f} ms   p99 {p99 * 1e3:7.3f} ms")
    return p50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state, LocalAWS(port=0, state_dir=state) as aws:
        role = boto3.client("iam", **aws.client_kwargs).create_role(
            RoleName="bench", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        lam = boto3.client("lambda", **aws.client_kwargs)
        make_function(lam, role, "sandboxed", "namespaces")
        make_function(lam, role, "plain", "none")
        namespace: dict = {}
        exec(SOURCE, namespace)
        results = {"sandboxed": [], "plain": [], "in-process": []}
        for _ in range(args.rounds):
            for name in ("sandboxed", "plain"):
                results[name] += timings(lambda: lam.invoke(FunctionName=name, Payload=b'{"n": 1}')["Payload"].read(),
                                         args.calls)
            results["in-process"] += timings(lambda: namespace["handler"]({"n": 1}, None), args.calls)
    labels = {"sandboxed": "warm Invoke, sandboxed environment", "plain": "warm Invoke, plain process",
              "in-process": "handler called in-process"}
    p50 = {name: describe(labels[name], seconds) for name, seconds in results.items()}
    print(f"sandboxed / plain (p50): {p50['sandboxed'] / p50['plain']:.3f}; warm Invoke overhead (p50): "
          f"{(p50['sandboxed'] - p50['in-process']) * 1e3:.3f} ms ({args.rounds} rounds x {args.calls} calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
