"""The DAG files as the DAG processor sees them: they import, have the expected shape and settings,
and do nothing at parse time."""

import json
import re
import subprocess
import sys
import textwrap

from scripts.airflow_env import DAGS, REPO, airflow_env

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
    # The graph draws the pipeline and nothing else: no shortcut from a task's data reaching past the chain.
    assert edges(pipeline) == PIPELINE_EDGES
    assert pipeline.get_task("gate").downstream_task_ids == {"plan_deployment", "report"}
    assert pipeline.get_task("choose_training_backend").downstream_task_ids == {"tune", "train_on_ec2"}


def test_the_diagram_in_the_docs_is_the_dags_graph(pipeline):
    text = (REPO / "docs" / "pipeline.md").read_text()
    diagram = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
    drawn = re.findall(r"^\s*(\w+) --> (\w+)\s*$", diagram, re.M)
    assert len(drawn) == diagram.count("-->")
    assert len(set(drawn)) == len(drawn)
    assert set(drawn) == edges(pipeline)


def test_what_tasks_read_from_xcom_comes_from_tasks_before_them(pipeline):
    from dog_breed import steps
    from dog_breed.operator_settings import FromXCom

    read_by_steps = {value for name, value in vars(steps).items() if name.isupper() and value in pipeline.task_ids}
    assert read_by_steps == {"validate_config", "stage_dataset", "tune", "train", "train_on_ec2", "evaluate",
                             "deploy_endpoint", "autoscale_endpoint", "smoke_test", "deploy_front_door"}
    pulled = {(task.task_id, getattr(task, field).task_id) for task in pipeline.tasks for field in task.template_fields
              if isinstance(getattr(task, field), FromXCom)}
    assert pulled == {("tune", "validate_config"), ("train", "validate_config"), ("train_on_ec2", "validate_config"),
                      ("create_model", "plan_deployment"), ("deploy_endpoint", "plan_deployment")}
    for reader, source in pulled:
        assert source in pipeline.get_task(reader).get_flat_relative_ids(upstream=True), (reader, source)


class RecordedXCom:
    """The `ti` of a task's context, for XCom reads only."""

    def __init__(self, values):
        self.values = values

    def xcom_pull(self, task_ids, key):
        return self.values[task_ids, key]


def test_from_xcom_fields_are_read_after_the_templates_render():
    from dog_breed.operator_settings import FromXCom
    from dog_breed.operators import BlueGreenEndpointOperator

    endpoint = {"Endpoint": {"EndpointName": "{{ params.region }}", "EndpointConfigName": "c"}}
    operator = BlueGreenEndpointOperator(task_id="deploy", config=FromXCom("plan", "endpoint"),
                                         rollback_alarm=FromXCom("plan", "rollback_alarm"),
                                         region_name="{{ params.region }}", aws_conn_id=None)
    ti = RecordedXCom({("plan", "endpoint"): endpoint, ("plan", "rollback_alarm"): None})
    operator.render_template_fields({"ti": ti, "params": {"region": "eu-west-1"}})
    assert operator.region_name == "eu-west-1"
    # XCom values are data: like an XComArg's, never rendered as Jinja.
    assert operator.config == endpoint and operator.rollback_alarm is None


def doc_rows(doc_md):
    return {row[0].strip("`"): row[1:] for row in
            ([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in doc_md.splitlines()
             if line.startswith("| `"))}


def test_each_dags_doc_has_its_parameter_table_from_the_params(dagbag):
    from dog_breed.config import param_specs
    from dog_breed.dag_docs import domain
    from dog_breed.environment import profile_defaults

    for dag in dagbag.dags.values():
        rows = doc_rows(dag.doc_md)
        assert list(rows) == list(dag.params.keys()), dag.dag_id
        for name, (section, default, allowed, description) in rows.items():
            param = dag.params.get_param(name)
            assert section == param.schema["section"]
            assert default == ("unset" if param.value == "" else f"`{json.dumps(param.value)}`")
            assert description.replace("&lt;", "<") == param.description.replace("|", "\\|")
            assert allowed, name
    rows = doc_rows(dagbag.dags["dog_breed_pipeline"].doc_md)
    assert rows["tuning_max_jobs"][2] == "≥ 1"
    assert rows["lambda_memory_mb"][2] == "128 to 10240"
    assert rows["tuning_strategy"][2] == 'one of `"Bayesian"`, `"Random"`, `"Hyperband"`'
    assert rows["use_spot_instances"][2] == "true or false"
    assert rows["endpoint_name"][2] == "at most 63 characters; matches `[a-zA-Z0-9](-*[a-zA-Z0-9])*`"
    assert rows["ec2_image"][2] == "matches `ami-[0-9a-f]{8,17}\\|/[A-Za-z0-9_.\\-/]{1,2047}`"
    # The aws profile leaves the bucket to the deployment.
    assert domain(param_specs(profile_defaults("aws"))["bucket"]).endswith("or unset (`\"\"`: the deployment sets it)")


def test_the_pipelines_doc_says_how_to_run_it_short_and_where_the_report_is(dagbag, pipeline):
    from dog_breed.config import PipelineConfig

    doc = pipeline.doc_md
    assert "the parameters in the table below" in doc and doc.index("#### Parameters") < doc.index("| `")
    short = json.loads(re.search(r"\*\*A short run\*\*.*?trigger with\s+`(\{.*?\})`", doc, re.S).group(1))
    assert short["tuning_max_jobs"] == 1 and short["epochs_max"] <= 2
    PipelineConfig.from_mapping({name: pipeline.params[name] for name in pipeline.params.keys()} | short)
    assert "`report` task's log" in doc and "return value" in doc and "/reports/<run>.md" in doc
    for dag in dagbag.dags.values():
        assert "`docs/pipeline.md` in the project's repository" in dag.doc_md, dag.dag_id


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
