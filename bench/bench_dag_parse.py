"""Parse time of this project's dags/ against a trivial one-task DAG, each in a fresh interpreter.

Each round starts a new Python, imports Airflow, then times `DagBag(dag_folder=...)` alone (what the DAG
processor pays per parse, module imports of the DAG files included). A third folder holds a one-task DAG
that only imports the Amazon provider's SageMaker operator: the floor any DAG built on the provider pays
(boto3 and botocore load on import). Rounds alternate between the folders so that machine load hits all
alike; the medians and the ratios are printed.

    .venv/bin/python bench/bench_dag_parse.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.airflow_env import airflow_env  # noqa: E402

TRIVIAL_DAG = '''
from datetime import datetime
from airflow.sdk import dag, task

@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def trivial():
    @task
    def hello():
        return 1
    hello()

trivial()
'''

PROVIDER_DAG = TRIVIAL_DAG.replace(
    "from airflow.sdk import dag, task",
    "from airflow.sdk import dag, task\nfrom airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator",
)

MEASURE = '''
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - start
assert not bag.import_errors, bag.import_errors
print(json.dumps({"ms": elapsed * 1000, "dags": len(bag.dag_ids),
                  "tasks": sum(len(d.tasks) for d in bag.dags.values())}))
'''


def parse(folder: Path, env: dict[str, str]) -> dict:
    """`{"ms", "dags", "tasks"}` of one DagBag fill of `folder` in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(folder)], env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        trivial, provider = Path(home) / "trivial_dags", Path(home) / "provider_dags"
        for folder, text in ((trivial, TRIVIAL_DAG), (provider, PROVIDER_DAG)):
            folder.mkdir()
            (folder / "dag.py").write_text(text)
        env = airflow_env(home, "aws")
        ours, base, floor = [], [], []
        for _ in range(args.rounds):
            shape = parse(REPO / "dags", env)
            ours.append(shape["ms"])
            base.append(parse(trivial, env)["ms"])
            floor.append(parse(provider, env)["ms"])
    label = f"dags/ ({shape['dags']} DAGs, {shape['tasks']} tasks):"
    for name, times in ((label, ours), ("trivial one-task DAG:", base), ("one task + provider import:", floor)):
        print(f"{name:<30} median {statistics.median(times):5.0f} ms  (min {min(times):.0f}, max {max(times):.0f})")
    project = statistics.median(ours)
    print(f"{'ratio dags/ / trivial:':<30} {project / statistics.median(base):.2f}x")
    print(f"{'ratio dags/ / provider floor:':<30} {project / statistics.median(floor):.2f}x "
          f"(over {args.rounds} interleaved rounds)")


if __name__ == "__main__":
    main()
