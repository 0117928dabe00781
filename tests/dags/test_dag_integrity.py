"""The DAG files as the DAG processor sees them: they import, have the expected shape and settings,
and do nothing at parse time."""

import subprocess
import sys
import textwrap

from scripts.airflow_env import DAGS, airflow_env

# A fresh interpreter's environment: no PYTHONPATH, credentials or settings of the machine running the tests.
BARE = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

PIPELINE_EDGES = {
    ("validate_config", "stage_dataset"),
    ("validate_config", "package_model_code"),
    ("stage_dataset", "choose_training_backend"),
    ("package_model_code", "choose_training_backend"),
    ("choose_training_backend", "tune"),
    ("choose_training_backend", "train_on_ec2"),
    ("tune", "train"),
    ("train", "evaluate"),
    ("train_on_ec2", "evaluate"),
    ("evaluate", "gate"),
    ("gate", "plan_deployment"),
    ("gate", "report"),
    ("plan_deployment", "register_model"),
    ("register_model", "create_model"),
    ("create_model", "deploy_endpoint"),
    ("deploy_endpoint", "autoscale_endpoint"),
    ("autoscale_endpoint", "smoke_test"),
    ("smoke_test", "deploy_front_door"),
    ("deploy_front_door", "check_front_door"),
    ("check_front_door", "report"),
}
AWS_TASKS = {"stage_dataset", "package_model_code", "tune", "train", "train_on_ec2", "evaluate", "register_model",
             "create_model", "deploy_endpoint", "autoscale_endpoint", "smoke_test", "deploy_front_door",
             "check_front_door", "report"}


def edges(dag):
    return {(task.task_id, down) for task in dag.tasks for down in task.downstream_task_ids}


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"dog_breed_pipeline", "dog_breed_teardown"}


def test_pipeline_tasks_and_edges(pipeline):
    assert {t.task_id for t in pipeline.tasks} == {task for edge in PIPELINE_EDGES for task in edge}
    # Data dependencies add shortcuts (e.g. validate_config -> report); the pipeline's path must be there.
    assert PIPELINE_EDGES <= edges(pipeline)
    assert pipeline.get_task("gate").downstream_task_ids == {"plan_deployment", "report"}
    assert pipeline.get_task("choose_training_backend").downstream_task_ids == {"tune", "train_on_ec2"}


def test_no_cycles(dagbag):
    for dag in dagbag.dags.values():
        remaining = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
        while remaining:
            ready = [task for task, upstream in remaining.items() if not upstream]
            assert ready, f"{dag.dag_id} has a cycle among {sorted(remaining)}"
            for task in ready:
                del remaining[task]
            for upstream in remaining.values():
                upstream.difference_update(ready)


def test_dag_settings(dagbag):
    for dag in dagbag.dags.values():
        assert dag.doc_md and "dog-breed" in dag.tags and not dag.catchup and dag.max_active_runs == 1
        assert {t.owner for t in dag.tasks} == {"ml-platform"}
        assert all(t.execution_timeout is not None for t in dag.tasks), "every task needs a timeout"
    assert dagbag.dags["dog_breed_pipeline"].schedule == "@weekly"
    assert dagbag.dags["dog_breed_teardown"].schedule is None


def test_aws_tasks_retry_and_local_checks_do_not(pipeline):
    for task in pipeline.tasks:
        assert (task.retries >= 1) == (task.task_id in AWS_TASKS), task.task_id


def test_long_waits_defer_to_the_triggerer(pipeline):
    for task_id in ("tune", "train", "train_on_ec2", "deploy_endpoint", "deploy_front_door"):
        assert pipeline.get_task(task_id).deferrable is True


def test_report_runs_after_a_closed_gate_and_evaluate_after_either_backend(pipeline):
    assert pipeline.get_task("report").trigger_rule == "none_failed_min_one_success"
    assert pipeline.get_task("evaluate").trigger_rule == "none_failed_min_one_success"


def test_every_parameter_is_a_form_field_with_the_profile_default(pipeline):
    from dog_breed.config import PipelineConfig
    from dog_breed.environment import profile_defaults

    params = pipeline.params
    assert set(params.keys()) == set(PipelineConfig.__dataclass_fields__)
    assert {name: params[name] for name in params.keys()} == profile_defaults("local")
    PipelineConfig.from_mapping({name: params[name] for name in params.keys()})


PARSE_WITHOUT_NETWORK = textwrap.dedent("""
    import socket, sys
    import botocore.client

    def refuse(*args, **kwargs):
        raise RuntimeError("network or AWS client used at parse time")

    botocore.client.BaseClient.__init__ = refuse
    socket.socket.connect = refuse
    socket.create_connection = refuse

    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1])
    print(sorted(bag.dag_ids), bag.import_errors)
    assert not bag.import_errors, bag.import_errors
    assert sorted(bag.dag_ids) == ["dog_breed_pipeline", "dog_breed_teardown"]
    # The SageMaker SDK takes seconds to import: image URIs are resolved when a task runs.
    assert "sagemaker.core.image_uris" not in sys.modules, "the SageMaker SDK was imported at parse time"
    # The guards work: creating a client now fails.
    import boto3
    try:
        boto3.client("s3", region_name="us-east-1")
    except RuntimeError:
        print("guard active")
""")


def test_parsing_creates_no_client_and_opens_no_connection(tmp_path):
    # A fresh interpreter: the modules the DAGs import run their top level under the guards.
    env = airflow_env(tmp_path, "aws", base=BARE)
    done = subprocess.run([sys.executable, "-c", PARSE_WITHOUT_NETWORK, str(DAGS)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "guard active" in done.stdout


def test_a_client_at_parse_time_would_be_caught(tmp_path):
    # The guard test above must be able to fail: a DAG file that makes a client at import is reported.
    bad = tmp_path / "dags"
    bad.mkdir()
    (bad / "bad_dag.py").write_text("import boto3\nfrom airflow.sdk import dag\n\n"
                                    "BUCKETS = boto3.client('s3', region_name='us-east-1').list_buckets()\n")
    env = airflow_env(tmp_path, "aws", base=BARE, dags_folder=bad)
    done = subprocess.run([sys.executable, "-c", PARSE_WITHOUT_NETWORK, str(bad)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    assert "network or AWS client used at parse time" in done.stdout + done.stderr


PARSE_WITH_DEPLOYMENT_SETTINGS = textwrap.dedent("""
    import sys
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1])
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["dog_breed_pipeline"]
    print(dag.schedule, dag.params["bucket"], dag.params["training_instance_count"])
""")


def test_schedule_and_form_defaults_come_from_the_deployment_environment(tmp_path):
    env = airflow_env(tmp_path, "aws", base={**BARE, "DOG_BREED_SCHEDULE": "0 3 * * 1",
                                             "DOG_BREED_DEFAULTS": '{"bucket": "my-ml-bucket", "training_instance_count": 3}'})
    done = subprocess.run([sys.executable, "-c", PARSE_WITH_DEPLOYMENT_SETTINGS, str(DAGS)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[-2] == "0 3 * * 1 my-ml-bucket 3"
