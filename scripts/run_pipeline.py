"""`make run`: the whole `dog_breed_pipeline` DAG on this machine, against local AWS.

Builds the sample dataset zip, starts the local AWS endpoint, runs the DAG once with
`airflow dags test` on the `local` profile, then prints the run summary (best hyperparameters, test
accuracy, endpoint, one prediction through the endpoint) and each task's wall time. Exits non-zero when
anything failed. Every run is a new Airflow run (new jobs and model); each run's endpoint deployment
creates the endpoint or, when local AWS kept it from an earlier run, updates it.

    python scripts/run_pipeline.py [--conf '{"tuning_max_jobs": 3}']
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
SAMPLE_DIR = BUILD / "sample"
SAMPLE_ZIP = SAMPLE_DIR / "dogImages.zip"
AIRFLOW_HOME = BUILD / "airflow_home"
LOCAL_AWS_STATE = BUILD / "local_aws_state"
DAG_ID = "dog_breed_pipeline"


def airflow_env(aws_env: dict[str, str], airflow_home: Path) -> dict[str, str]:
    """The environment of every Airflow command: this project's DAGs and plugins, the local profile,
    and the repository root on PYTHONPATH so the DAGs import `model_code`."""
    env = {k: v for k, v in os.environ.items() if k != "AWS_PROFILE"}
    env.update(aws_env)
    env.update({
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "DOG_BREED_PROFILE": "local",
        "DOG_BREED_LOCAL_DATASET_URL": SAMPLE_ZIP.as_uri(),
    })
    return env


def build_sample_dataset() -> None:
    if SAMPLE_ZIP.is_file():
        return
    subprocess.run([sys.executable, "-m", "sample_dataset", "--out", str(SAMPLE_DIR), "--zip", str(SAMPLE_ZIP)],
                   cwd=REPO, check=True)


def airflow(env: dict[str, str], *args: str, log_path: Path | None = None) -> int:
    command = [str(Path(sys.executable).with_name("airflow")), *args]
    if log_path is None:
        return subprocess.run(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL).returncode
    with log_path.open("w") as log:
        return subprocess.run(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT).returncode


def run_results(env: dict[str, str]) -> dict[str, Any]:
    """The latest run's state, task wall times and report, read from the Airflow metadata database."""
    os.environ.update(env)
    from sqlalchemy import select

    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == DAG_ID).order_by(DagRun.id.desc())).first()
        if run is None:
            return {"state": "missing", "tasks": [], "report": None}
        tis = session.scalars(select(TaskInstance).where(TaskInstance.dag_id == DAG_ID,
                                                         TaskInstance.run_id == run.run_id)).all()
        xcom = session.scalars(select(XComModel).where(XComModel.dag_id == DAG_ID, XComModel.run_id == run.run_id,
                                                       XComModel.task_id == "report",
                                                       XComModel.key == "return_value")).first()
        return {
            "run_id": run.run_id,
            "state": str(run.state),
            "tasks": sorted(({"task_id": ti.task_id, "state": str(ti.state),
                              "start": ti.start_date, "seconds": ti.duration} for ti in tis),
                            key=lambda t: (t["start"] is None, t["start"])),
            "report": XComModel.deserialize_value(xcom) if xcom is not None else None,
        }


def print_summary(results: dict[str, Any], wall_seconds: float) -> None:
    report = results["report"]
    print(f"\nRun {results.get('run_id')}: {results['state']}")
    if report:
        print(f"  outcome:              {report['decision']['reason']}")
        print(f"  best hyperparameters: {json.dumps(report['best_hyperparameters'], sort_keys=True)}")
        print(f"  test accuracy:        {report['metrics'].get('test_accuracy')}")
        endpoint = report.get("endpoint")
        if endpoint:
            print(f"  endpoint:             {endpoint['name']} ({endpoint['status']}), model {endpoint['model']}")
            example = endpoint["example"]
            print(f"  prediction:           {example['image']} (expected {example['expected']}) -> "
                  f"{json.dumps(example['top3'])}")
        print(f"  report:               {report['report_uri']}")
    print("\n  task                  state       seconds")
    for task in results["tasks"]:
        seconds = "" if task["seconds"] is None else f"{task['seconds']:8.1f}"
        print(f"  {task['task_id']:<21} {task['state']:<11} {seconds}")
    print(f"  {'(make run wall time)':<33} {wall_seconds:8.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conf", default="{}", help="JSON object of DAG params overriding the local profile")
    args = parser.parse_args(argv)
    conf = json.loads(args.conf)
    if not isinstance(conf, dict):
        parser.error("--conf must be a JSON object")

    started = time.monotonic()
    build_sample_dataset()
    sys.path.insert(0, str(REPO))
    from local_aws import LocalAWS

    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    with LocalAWS(port=0, state_dir=LOCAL_AWS_STATE) as aws:
        env = airflow_env(aws.env, AIRFLOW_HOME)
        if airflow(env, "db", "migrate") != 0:
            print("airflow db migrate failed", file=sys.stderr)
            return 1
        log_path = BUILD / "run_pipeline.log"
        print(f"Running {DAG_ID} against local AWS at {aws.url} (log: {log_path.relative_to(REPO)})", flush=True)
        code = airflow(env, "dags", "test", DAG_ID, "--conf", json.dumps(conf), log_path=log_path)
        results = run_results(env)
    print_summary(results, time.monotonic() - started)
    if code != 0 or results["state"] != "success":
        print(f"\nThe run failed: see {log_path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
