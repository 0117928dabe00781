"""
### Dog-breed classifier: from `dogImages.zip` to a served SageMaker endpoint behind a Lambda front door

Validates the parameters, stages the dataset and the training code in S3, then trains on the backend
`training_backend` names: `sagemaker` tunes the PyTorch model (SageMaker hyperparameter tuning, Bayesian by
default) and trains it with the best trial's hyperparameters; `ec2` trains it on one EC2 instance through
SSM Run Command with the `ec2_*` hyperparameters. Either way the model is evaluated against a threshold and
the model currently serving, and, when the gate passes, registered, deployed blue/green, registered with
Application Auto Scaling, smoke-tested, put behind the Lambda front door (alias `live`, reserved and
provisioned concurrency), checked through the front door, and reported. A model that fails the gate stops
the run before deployment; the endpoint keeps serving its model, and the report says why.

The same DAG runs against AWS and against the project's local AWS endpoint: only configuration
(`AWS_ENDPOINT_URL`, the `aws_default` connection and the parameters in the table below) differs.

**A short run** (on local AWS's sample dataset, as the project's end-to-end test does): trigger with
`{"tuning_max_jobs": 1, "epochs_min": 1, "epochs_max": 2}` (in the trigger form, or `make run CONF='...'`):
one tuning trial of one or two epochs instead of the profile's several trials; tuning and training are nearly
all of a run's time. With `training_backend` `ec2`, `{"ec2_epochs": 1}`.

**The report**: the run's note, on the run's page (outcome and the gate's reason, test metrics, endpoint,
scaling, front door, cost), set by the `report` task through Airflow's REST API as the `airflow_api`
connection names it (`make up` and the compose stack define it; `airflow dags test`, which `make run` uses,
has no API server, so there the log says no note was set); the same lines in the `report` task's log; the
full report in Markdown (hyperparameters, every tuning trial, timings) at
`s3://<bucket>/<s3_prefix>/reports/<run>.md`; the summary as the task's return value (its XCom
`return_value`, which `make run` prints).

**More**: `docs/pipeline.md` in the project's repository (beside the `dags/` folder) describes each task,
setting it up on AWS, and the tests.

#### Parameters

The trigger form's fields, section by section, with this deployment's defaults; `validate_config` checks
every one again, and the rules between them (for example `epochs_min` below `epochs_max`), when a run starts.

"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, chain, dag, task

from dog_breed import steps
from dog_breed.autoscaling_operator import EndpointAutoscalingOperator
from dog_breed.config import param_specs
from dog_breed.dag_docs import parameter_table
from dog_breed.ec2_training_operator import Ec2SsmTrainingOperator
from dog_breed.environment import DeploymentSettings
from dog_breed.front_door_operator import LambdaDeploymentOperator
from dog_breed.operator_settings import FromXCom
from dog_breed.operators import (
    BestTrialTrainingOperator,
    BlueGreenEndpointOperator,
    ResumableTuningOperator,
    ReusableModelOperator,
)

# Every DOG_BREED_* variable, read once: the profile, its changed defaults, the schedule ("none", what
# `make up` uses, leaves only manual runs).
DEPLOYMENT = DeploymentSettings.from_environment()
PROFILE = DEPLOYMENT.profile
# The local endpoint finishes jobs in seconds to minutes; AWS in many minutes, and throttles describes.
POLL_SECONDS = 5 if PROFILE == "local" else 30
PARAM_SPECS = param_specs(DEPLOYMENT.defaults())

# AWS calls fail transiently (throttling, capacity); locally a failure is a bug to see at once.
AWS_TASK = ({"retries": 1, "retry_delay": timedelta(seconds=5)} if PROFILE == "local" else
            {"retries": 3, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True})
LOCAL_TASK = {"retries": 0}
AWS_OPERATOR = {**AWS_TASK, "aws_conn_id": steps.AWS_CONN_ID, "region_name": "{{ params.region }}"}
JOB_TASK = {**AWS_OPERATOR, "deferrable": True, "check_interval": POLL_SECONDS}

validate_config = task(steps.validate_config, multiple_outputs=True, execution_timeout=timedelta(minutes=5),
                       **LOCAL_TASK)
choose_training_backend = task.branch(steps.choose_training_backend, execution_timeout=timedelta(minutes=1),
                                      **LOCAL_TASK)
stage_dataset = task(steps.stage_dataset, execution_timeout=timedelta(hours=2), **AWS_TASK)
package_model_code = task(steps.package_model_code, execution_timeout=timedelta(minutes=10), **AWS_TASK)
# Evaluates whichever backend trained; the other one was skipped.
evaluate = task(steps.evaluate, trigger_rule="none_failed_min_one_success", execution_timeout=timedelta(minutes=15),
                **AWS_TASK)
gate = task.branch(steps.gate, execution_timeout=timedelta(minutes=1), **LOCAL_TASK)
plan_deployment = task(steps.plan_deployment, multiple_outputs=True, execution_timeout=timedelta(minutes=1),
                       **LOCAL_TASK)
register_model = task(steps.register_model, execution_timeout=timedelta(minutes=15), **AWS_TASK)
smoke_test = task(steps.smoke_test, execution_timeout=timedelta(minutes=15), **AWS_TASK)
check_front_door = task(steps.check_front_door, execution_timeout=timedelta(minutes=15), **AWS_TASK)
# The report runs after a deployment and after a closed gate alike.
report = task(steps.build_report, task_id="report", trigger_rule="none_failed_min_one_success",
              execution_timeout=timedelta(minutes=15), **AWS_TASK)


@dag(
    dag_id="dog_breed_pipeline",
    schedule=DEPLOYMENT.schedule,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # Runs share the endpoint: one at a time, so a gate compares against what really serves.
    max_active_runs=1,
    default_args={"owner": "ml-platform"},
    tags=["dog-breed", "sagemaker", "ml", "pytorch"],
    doc_md=__doc__ + parameter_table(PARAM_SPECS),
    params={name: Param(**spec) for name, spec in PARAM_SPECS.items()},
)
def dog_breed_pipeline():
    # Each task takes the results of the tasks just before it; results from further up the chain (the plan
    # above all) it reads from XCom by task id (FromXCom, steps._pulled), so the graph draws the pipeline's
    # own edges.
    plan = validate_config()
    staged = stage_dataset()
    code = package_model_code()

    backend = choose_training_backend(sagemaker="tune", ec2="train_on_ec2")

    tune = ResumableTuningOperator(task_id="tune", config=FromXCom("validate_config", "tuning"),
                                   execution_timeout=timedelta(hours=24), max_ingestion_time=24 * 3600, **JOB_TASK)
    # The job's status transitions and log lines come from the project's wait and trigger (job_progress),
    # deferred or not; the provider's print_log would log the first lines once more before deferring.
    train = BestTrialTrainingOperator(task_id="train", config=FromXCom("validate_config", "training"),
                                      tuning_result=tune.output, execution_timeout=timedelta(hours=12),
                                      max_ingestion_time=12 * 3600, print_log=False, **JOB_TASK)
    train_on_ec2 = Ec2SsmTrainingOperator(task_id="train_on_ec2", config=FromXCom("validate_config", "ec2_training"),
                                          execution_timeout=timedelta(hours=12), waiter_delay=POLL_SECONDS,
                                          deferrable=True, **AWS_OPERATOR)
    evaluation = evaluate(train.output, train_on_ec2.output)
    decision = gate(evaluation, deploy="plan_deployment", skip="report")
    deployment = plan_deployment()
    registered = register_model(deployment["model"])
    model = ReusableModelOperator(task_id="create_model", config=FromXCom("plan_deployment", "model"),
                                  execution_timeout=timedelta(minutes=10), **AWS_OPERATOR)
    endpoint = BlueGreenEndpointOperator(task_id="deploy_endpoint", config=FromXCom("plan_deployment", "endpoint"),
                                         rollback_alarm=FromXCom("plan_deployment", "rollback_alarm"),
                                         execution_timeout=timedelta(hours=2), max_ingestion_time=2 * 3600,
                                         **JOB_TASK)
    scaling = EndpointAutoscalingOperator(
        task_id="autoscale_endpoint", endpoint_name="{{ params.endpoint_name }}",
        min_capacity="{{ params.autoscaling_min_capacity }}", max_capacity="{{ params.autoscaling_max_capacity }}",
        target_value="{{ params.autoscaling_target_value }}",
        scale_in_cooldown="{{ params.autoscaling_scale_in_cooldown }}",
        scale_out_cooldown="{{ params.autoscaling_scale_out_cooldown }}",
        execution_timeout=timedelta(minutes=10), **AWS_OPERATOR)
    smoke = smoke_test()
    front_door = LambdaDeploymentOperator(
        task_id="deploy_front_door", function_name="{{ params.lambda_function_name }}",
        endpoint_name="{{ params.endpoint_name }}", memory_mb="{{ params.lambda_memory_mb }}",
        timeout_seconds="{{ params.lambda_timeout_seconds }}",
        reserved_concurrency="{{ params.lambda_reserved_concurrency }}",
        provisioned_concurrency="{{ params.lambda_provisioned_concurrency }}",
        function_url_auth="{{ params.lambda_function_url_auth }}", execution_timeout=timedelta(minutes=30),
        deferrable=True, waiter_delay=POLL_SECONDS, **AWS_OPERATOR)
    front_door_result = check_front_door(front_door.output)
    summary = report(front_door_result)

    chain(plan, [staged, code], backend, [tune, train_on_ec2])
    chain(tune, train, evaluation)
    chain(train_on_ec2, evaluation)
    chain(evaluation, decision, [deployment, summary])
    chain(
        deployment,
        registered,
        model,
        endpoint,
        scaling,
        smoke,
        front_door,
        front_door_result,
        summary,
    )


dog_breed_pipeline()
