"""
### Dog-breed teardown: stop paying for the served model

Deregisters the endpoint from Application Auto Scaling (its scaling policy goes with it), deletes the
endpoint (and waits until it is gone), then every endpoint config and model whose name starts with the
project prefix, and the endpoint's rollback alarm; deletes the Lambda front door (its versions, alias `live`,
function URL and concurrency settings go with it) and its role; terminates any EC2 training instance the
pipeline launched that is still there. Keeps the model registry and the data in S3, so a later
`dog_breed_pipeline` run can deploy again. Triggered by hand only; give it the values the pipeline's runs
used, or it looks for resources of other names and finds nothing to remove.

**More**: `docs/pipeline.md` in the project's repository (beside the `dags/` folder).

#### Parameters

The resources it removes are named by these, with this deployment's defaults:

"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.sdk import Param, chain, dag, task

from dog_breed import teardown
from dog_breed.config import param_specs
from dog_breed.dag_docs import parameter_table
from dog_breed.ec2_training_hook import JOB_TAG
from dog_breed.environment import DeploymentSettings
from dog_breed.front_door_deployment import FrontDoor
from dog_breed.sagemaker_requests import rollback_alarm_name
from dog_breed.steps import AWS_CONN_ID

TARGET_PARAMS = ("project", "region", "endpoint_name", "lambda_function_name")
PARAM_SPECS = {name: spec for name, spec in param_specs(DeploymentSettings.from_environment().defaults()).items()
               if name in TARGET_PARAMS}
AWS_TASK = {"retries": 3, "retry_delay": timedelta(minutes=1), "execution_timeout": timedelta(hours=1)}


def _sagemaker(params: dict) -> object:
    return SageMakerHook(aws_conn_id=AWS_CONN_ID, region_name=params["region"]).get_conn()


def _client(params: dict, service: str) -> object:
    return AwsBaseHook(aws_conn_id=AWS_CONN_ID, region_name=params["region"], client_type=service).get_conn()


@task(**AWS_TASK)
def deregister_autoscaling(params: dict | None = None) -> list[str]:
    return teardown.deregister_scaling(_client(params, "application-autoscaling"), params["endpoint_name"])


@task(**AWS_TASK)
def delete_endpoint(params: dict | None = None) -> bool:
    return teardown.delete_endpoint(_sagemaker(params), params["endpoint_name"])


@task(**AWS_TASK)
def delete_endpoint_configs(params: dict | None = None) -> list[str]:
    return teardown.delete_endpoint_configs(_sagemaker(params), params["project"])


@task(**AWS_TASK)
def delete_models(params: dict | None = None) -> list[str]:
    return teardown.delete_models(_sagemaker(params), params["project"])


@task(**AWS_TASK)
def delete_rollback_alarm(params: dict | None = None) -> None:
    teardown.delete_alarm(_client(params, "cloudwatch"), rollback_alarm_name(params["endpoint_name"]))


@task(**AWS_TASK)
def delete_front_door(params: dict | None = None) -> dict[str, bool]:
    role_name = FrontDoor(params["lambda_function_name"], params["endpoint_name"]).role_name
    return {"function": teardown.delete_function(_client(params, "lambda"), params["lambda_function_name"]),
            "role": teardown.delete_role(_client(params, "iam"), role_name)}


@task(**AWS_TASK)
def terminate_training_instances(params: dict | None = None) -> list[str]:
    return teardown.terminate_training_instances(_client(params, "ec2"), params["project"], JOB_TAG)


@dag(
    dag_id="dog_breed_teardown",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "ml-platform"},
    tags=["dog-breed", "sagemaker", "teardown"],
    doc_md=__doc__ + parameter_table(PARAM_SPECS),
    params={name: Param(**spec) for name, spec in PARAM_SPECS.items()},
)
def dog_breed_teardown():
    chain(deregister_autoscaling(), delete_endpoint(), [delete_endpoint_configs(), delete_models(),
                                                        delete_rollback_alarm()])
    delete_front_door()
    terminate_training_instances()


dog_breed_teardown()
