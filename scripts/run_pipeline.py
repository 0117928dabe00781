"""`make run`: the whole `dog_breed_pipeline` DAG on this machine, against local AWS.

Builds the sample dataset zip, makes sure a local AWS endpoint is serving, runs the DAG once with
`airflow dags test` on the `local` profile, then prints the run summary (best hyperparameters, test
accuracy, endpoint, one prediction through the endpoint) and each task's wall time. Exits non-zero when
anything failed.

Local AWS keeps its state (S3, registry, the endpoint and its model servers) in memory, so it is started
once, in the background, and left serving: the next `make run` finds it and its deployment updates the
endpoint blue/green instead of creating it. `--stop` ends it (and the model servers it runs).

    python scripts/run_pipeline.py [--conf '{"tuning_max_jobs": 3}']
    python scripts/run_pipeline.py --stop
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from local_aws.access.credentials import without_credentials  # noqa: E402
from scripts import local_account  # noqa: E402
from scripts.airflow_env import SAMPLE_ZIP, airflow_env as project_airflow_env  # noqa: E402
BUILD = REPO / "build"
SAMPLE_DIR = SAMPLE_ZIP.parent
AIRFLOW_HOME = BUILD / "airflow_home"
LOCAL_AWS_STATE = BUILD / "local_aws_state"
LOCAL_AWS_FILE = BUILD / "local_aws.json"
LOCAL_AWS_LOG = BUILD / "local_aws.log"
LOCAL_AWS_START_SECONDS = 120
LOCAL_AWS_STOP_SECONDS = 300
DAG_ID = "dog_breed_pipeline"


def airflow_env(aws_env: dict[str, str], airflow_home: Path) -> dict[str, str]:
    """The environment of every Airflow command: the project's Airflow settings and the local profile
    (scripts/airflow_env.py), signing with local AWS's own key pair, through the `aws_default` connection."""
    # Local AWS's credentials file and profile are in aws_env; keys or a profile of the user's must not
    # take their place, nor a connection of the user's.
    env = without_credentials(os.environ)
    env.update(aws_env)
    env["AIRFLOW_CONN_AWS_DEFAULT"] = aws_connection(aws_env)
    return project_airflow_env(airflow_home, "local", base=env)


def aws_connection(aws_env: dict[str, str]) -> str:
    """Airflow's `aws_default` in the JSON form of AIRFLOW_CONN_AWS_DEFAULT, as the Amazon provider documents a
    connection to another endpoint: local AWS's endpoint and region, and its credentials by profile name, so
    the secret stays in the shared credentials file that AWS_SHARED_CREDENTIALS_FILE names."""
    return json.dumps({"conn_type": "aws", "extra": {"endpoint_url": aws_env["AWS_ENDPOINT_URL"],
                                                     "region_name": aws_env["AWS_DEFAULT_REGION"],
                                                     "profile_name": aws_env["AWS_PROFILE"]}})


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


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def print_summary(results: dict[str, Any], wall_seconds: float) -> None:
    report = results["report"]
    print(f"\nRun {results.get('run_id')}: {results['state']}")
    if report:
        print(f"  outcome:              {report['decision']['reason']}")
        print(f"  trained on:           {report.get('training_backend', 'sagemaker')}")
        label = "best hyperparameters" if report.get("tuning_job") else "hyperparameters"
        print(f"  {label + ':':<21} {json.dumps(report['best_hyperparameters'], sort_keys=True)}")
        ec2 = report.get("ec2")
        if ec2:
            print(f"  EC2 training:         {ec2['instance_type']}, {ec2['seconds']} s, {_money(ec2['cost'])} "
                  f"(the same on SageMaker {ec2['sagemaker_instance_type']}: {_money(ec2['sagemaker_cost'])})")
        print(f"  test accuracy:        {report['metrics'].get('test_accuracy')}")
        endpoint = report.get("endpoint")
        if endpoint:
            change = f"updated from {endpoint['replaced_model']}" if endpoint.get("replaced_model") else "created"
            print(f"  endpoint:             {endpoint['name']} ({endpoint['status']}), model {endpoint['model']} "
                  f"({change})")
            example = endpoint["example"]
            print(f"  prediction:           {example['image']} (expected {example['expected']}) -> "
                  f"{json.dumps(example['top3'])}")
        scaling = report.get("scaling")
        if scaling:
            print(f"  autoscaling:          {scaling['resource_id']} {scaling['min']}-{scaling['max']} instances, "
                  f"target {scaling['target']} {scaling['metric']}")
        door = report.get("front_door")
        if door:
            events = door.get("events") or {}
            print(f"  Lambda front door:    {door['function']}:{door['alias']} (version {door['version']}), "
                  f"reserved {door['reserved_concurrency']}, provisioned {door['provisioned_concurrency']} "
                  f"({door['provisioned_status']}); {events.get('image', 0)} image events agreed with the endpoint")
            print(f"  function URL:         {door['url'] or 'none'}")
        print(f"  report:               {report['report_uri']}")
    print("\n  task                  state       seconds")
    for task in results["tasks"]:
        seconds = "" if task["seconds"] is None else f"{task['seconds']:8.1f}"
        print(f"  {task['task_id']:<24} {task['state']:<11} {seconds}")
    print(f"  {'(make run wall time)':<33} {wall_seconds:8.1f}")


def _answers(url: str) -> bool:
    try:
        # Any HTTP answer, error statuses included, means the edge is up.
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running_local_aws() -> dict[str, Any] | None:
    """The background local AWS an earlier run started, if it still serves."""
    if not LOCAL_AWS_FILE.is_file():
        return None
    known = json.loads(LOCAL_AWS_FILE.read_text())
    if _alive(known["pid"]) and _answers(known["env"]["AWS_ENDPOINT_URL"]):
        return known
    LOCAL_AWS_FILE.unlink()
    return None


def start_local_aws() -> dict[str, Any]:
    """`python -m local_aws` in its own session (Ctrl-C on make leaves it alone), on a free port."""
    LOCAL_AWS_STATE.mkdir(parents=True, exist_ok=True)
    out = BUILD / "local_aws.env"
    with out.open("w") as stdout, LOCAL_AWS_LOG.open("a") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "local_aws", "--port", "0", "--state-dir",
                                    str(LOCAL_AWS_STATE)], cwd=REPO, stdout=stdout, stderr=stderr,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + LOCAL_AWS_START_SECONDS
    while time.monotonic() < deadline:
        # It prints `export NAME=value` lines once it serves.
        env = dict(line[len("export "):].split("=", 1) for line in out.read_text().splitlines()
                   if line.startswith("export ") and "=" in line)
        if "AWS_ENDPOINT_URL" in env and "AWS_PROFILE" in env:
            known = {"pid": process.pid, "env": env}
            LOCAL_AWS_FILE.write_text(json.dumps(known))
            return known
        if process.poll() is not None:
            raise RuntimeError(f"local AWS exited with {process.returncode}: see {LOCAL_AWS_LOG}")
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"local AWS did not serve within {LOCAL_AWS_START_SECONDS} s: see {LOCAL_AWS_LOG}")


def stop_local_aws() -> int:
    known = running_local_aws()
    if known is None:
        print("No local AWS from make run is serving.")
        return 0
    os.kill(known["pid"], signal.SIGTERM)
    # It drains and stops its model servers and jobs first, which can take a minute or two.
    for _ in range(2 * LOCAL_AWS_STOP_SECONDS):
        if not _alive(known["pid"]):
            break
        time.sleep(0.5)
    else:
        print(f"local AWS (pid {known['pid']}) is still stopping its children", file=sys.stderr)
        return 1
    LOCAL_AWS_FILE.unlink(missing_ok=True)
    print(f"Stopped local AWS (pid {known['pid']}).")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conf", default="{}", help="JSON object of DAG params overriding the local profile")
    parser.add_argument("--stop", action="store_true", help="stop the background local AWS and exit")
    args = parser.parse_args(argv)
    if args.stop:
        return stop_local_aws()
    conf = json.loads(args.conf)
    if not isinstance(conf, dict):
        parser.error("--conf must be a JSON object")

    results = run_once(conf)
    if results["exit_code"] != 0 or results["state"] != "success":
        print(f"\nThe run failed: see {results['log']}", file=sys.stderr)
        return 1
    return 0


def run_once(conf: dict[str, Any]) -> dict[str, Any]:
    """One DAG run, its summary printed; `run_results` plus the exit code, wall time and log path."""
    started = time.monotonic()
    build_sample_dataset()
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    aws = running_local_aws()
    if aws is not None and "AWS_SHARED_CREDENTIALS_FILE" not in aws["env"]:
        # Started by a version of this project whose local AWS took unsigned requests: not reused.
        print(f"Stopping the local AWS from an earlier version (pid {aws['pid']}): it let in any caller", flush=True)
        if stop_local_aws() != 0:
            return {"state": "missing", "tasks": [], "report": None, "exit_code": 1, "log": LOCAL_AWS_LOG,
                    "wall_seconds": time.monotonic() - started}
        aws = None
    if aws is None:
        aws = start_local_aws()
        print(f"Started local AWS at {aws['env']['AWS_ENDPOINT_URL']} (pid {aws['pid']}, log "
              f"{LOCAL_AWS_LOG.relative_to(REPO)})", flush=True)
    else:
        print(f"Reusing local AWS at {aws['env']['AWS_ENDPOINT_URL']} (pid {aws['pid']}) from an earlier run",
              flush=True)
    local_account.prepare_from_environment(aws["env"])
    env = airflow_env(aws["env"], AIRFLOW_HOME)
    log_path = BUILD / "run_pipeline.log"
    if airflow(env, "db", "migrate") != 0:
        print("airflow db migrate failed", file=sys.stderr)
        return {"state": "missing", "tasks": [], "report": None, "exit_code": 1, "log": log_path,
                "wall_seconds": time.monotonic() - started}
    print(f"Running {DAG_ID} (log: {log_path.relative_to(REPO)})", flush=True)
    code = airflow(env, "dags", "test", DAG_ID, "--conf", json.dumps(conf), log_path=log_path)
    results = run_results(env)
    wall = time.monotonic() - started
    print_summary(results, wall)
    print(f"\nLocal AWS is still serving on {aws['env']['AWS_ENDPOINT_URL']} (pid {aws['pid']}, loopback only, "
          f"requests signed with the keys in {aws['env']['AWS_SHARED_CREDENTIALS_FILE']}), so the next make run "
          "updates the endpoint. Stop it with: make stop")
    return {**results, "exit_code": code, "log": log_path, "wall_seconds": wall}

if __name__ == "__main__":
    sys.exit(main())
