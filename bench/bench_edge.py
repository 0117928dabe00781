"""What the edge itself costs per InvokeEndpoint, against another revision of it in the same run.

    .venv/bin/python bench/bench_edge.py [--against REV] [--rounds 4] [--seconds 8]

One keep-alive boto3 client sends the small model's JPEG (bench_hosting's "small" case: MobileNetV3-small
at 32 px, one replica) through ``python -m local_aws`` for ``--seconds`` per round, and the edge
process's CPU time per request (user + system, all its threads; the replica is a child process and not
counted) and the p50 latency are printed per round. With ``--against REV`` (a commit, e.g. the one before
a change to the edge), each round also runs the same against a git worktree of REV, the two alternating
so that this machine's drifting speed falls on both alike; the per-round ratios this/REV are the figures
to quote.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

import bench_hosting
from bench_hosting import (BUCKET, CASES, LocalEndpoint, build_model_dir, cpu_seconds, create_sagemaker_role,
                           local_aws_edge, photo_jpeg)

REPO = bench_hosting.REPO
WARM_UP_REQUESTS = 200


def measure(repo: Path, model_dir: Path, jpeg: bytes, seconds: float, work: Path) -> tuple[float, float, int]:
    """p50 seconds, edge CPU seconds per request, and requests, through the edge of the checkout `repo`."""
    case = CASES["small"]
    with local_aws_edge(work / "state", repo) as (client_kwargs, edge):
        boto3.client("s3", **client_kwargs).create_bucket(Bucket=BUCKET)
        create_sagemaker_role(client_kwargs)  # local AWS, as SageMaker, refuses a model whose role it cannot assume
        endpoint = LocalEndpoint(client_kwargs, model_dir, "bench-edge", case.model_environment)
        endpoint.deploy(instances=1)
        for _ in range(WARM_UP_REQUESTS):
            endpoint.invoke(jpeg)
        latencies = []
        cpu_before = cpu_seconds([edge])
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            sent = time.perf_counter()
            endpoint.invoke(jpeg)
            latencies.append(time.perf_counter() - sent)
        edge_cpu = cpu_seconds([edge]) - cpu_before
    return statistics.median(latencies), edge_cpu / len(latencies), len(latencies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a git revision whose edge runs alternately with this checkout's")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0, help="of requests per edge per round")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
        work = Path(tmp)
        checkouts = {"this": REPO}
        if args.against:
            other = work / "against"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(other), args.against],
                           check=True, capture_output=True)
            checkouts[args.against] = other
        try:
            model_dir = build_model_dir(CASES["small"], work / "model")
            jpeg = photo_jpeg(CASES["small"].photo_size)
            print(f"{'round':<7}{'edge':<14}{'p50 ms':>8}{'edge CPU ms/req':>17}{'n':>7}")
            figures = {name: [] for name in checkouts}
            for round_number in range(1, args.rounds + 1):
                # Alternate the order from round to round as well.
                order = list(checkouts.items()) if round_number % 2 else list(checkouts.items())[::-1]
                for name, repo in order:
                    p50, cpu, count = measure(repo, model_dir, jpeg, args.seconds, work / f"{name}-{round_number}")
                    figures[name].append((p50, cpu))
                    print(f"{round_number:<7}{name:<14}{p50 * 1e3:>8.2f}{cpu * 1e3:>17.3f}{count:>7}", flush=True)
            if args.against:
                p50_ratios = [this[0] / other[0] for this, other in zip(figures["this"], figures[args.against])]
                cpu_ratios = [this[1] / other[1] for this, other in zip(figures["this"], figures[args.against])]
                print(f"this / {args.against}, per round: p50 " + " ".join(f"{r:.2f}" for r in p50_ratios)
                      + f" (median {statistics.median(p50_ratios):.2f}); edge CPU "
                      + " ".join(f"{r:.2f}" for r in cpu_ratios) + f" (median {statistics.median(cpu_ratios):.2f})")
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(checkouts[args.against])],
                               check=False, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
