"""LambdaDeploymentOperator (issue 16): the project's front door deployed to local AWS's Lambda with its
least-privilege role, a version behind alias `live`, reserved and provisioned concurrency READY and a
function URL; a re-run changes nothing, a changed setting publishes a new version; bad settings are refused
naming them."""

import base64
import json
import sys

import pytest

from local_aws_testing import run_deferring, unique_name

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="functions run in Linux namespace sandboxes")


@pytest.mark.slow
def test_the_front_door_is_deployed_once_then_left_alone_then_updated(aws_env, aws_client):
    from dog_breed.front_door_operator import LambdaDeploymentOperator

    name = unique_name("front-door")

    def deploy(**settings) -> dict:
        return LambdaDeploymentOperator(task_id="deploy_lambda", function_name=name, endpoint_name="dog-breed",
                                        aws_conn_id=None, reserved_concurrency=2, provisioned_concurrency=1,
                                        function_url_auth="AWS_IAM", **settings).execute(context={})

    first = deploy()
    assert first["Changed"] and (first["Version"], first["Alias"]) == ("1", "live")
    assert first["ProvisionedConcurrency"]["Status"] == "READY"
    assert first["FunctionUrl"] and first["Configuration"]["Runtime"] == "python3.11"
    assert first["Configuration"]["Environment"]["Variables"]["ALLOWED_IMAGE_HOSTS"] == "s3.amazonaws.com"
    statements = first["RolePolicy"]["Statement"]
    assert [s["Action"] for s in statements][0] == "sagemaker:InvokeEndpoint"
    assert statements[0]["Resource"] == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/dog-breed"
    lam = aws_client("lambda")
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 2
    answer = lam.invoke(FunctionName=f"{name}:live", Payload=json.dumps({"image": "aGVsbG8="}).encode())
    assert "FunctionError" not in answer  # the front door answers (its endpoint does not exist: a 503 body)
    assert json.loads(answer["Payload"].read())["statusCode"] in (400, 415, 503)

    again = deploy()
    assert (again["Changed"], again["Version"]) == (False, "1")  # a re-run changes nothing
    assert deploy(memory_mb="1024")["Version"] == "2"  # as Jinja renders it
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"


def test_deferred_the_wait_for_provisioned_concurrency_runs_in_the_triggerer(aws_env, aws_client):
    from dog_breed.front_door_operator import LambdaDeploymentOperator

    name = unique_name("front-door-deferred")
    task = LambdaDeploymentOperator(task_id="deploy_lambda", function_name=name, endpoint_name="dog-breed",
                                    aws_conn_id=None, reserved_concurrency=2, provisioned_concurrency=1,
                                    waiter_delay=1, deferrable=True)
    result, triggers = run_deferring(task, {})
    assert triggers == ["ProvisionedConcurrencyReadyTrigger"]
    assert result["ProvisionedConcurrency"]["Status"] == "READY" and result["Version"] == "1"
    assert result["Changed"] and result["FunctionUrl"] is None  # what execute knew, carried through the trigger
    lam = aws_client("lambda")
    assert lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")["Status"] == "READY"

    unprovisioned = LambdaDeploymentOperator(task_id="deploy_lambda", function_name=name, endpoint_name="dog-breed",
                                             aws_conn_id=None, provisioned_concurrency=0, deferrable=True)
    result, triggers = run_deferring(unprovisioned, {})
    assert triggers == [] and result["ProvisionedConcurrency"] is None  # nothing to wait for: no deferral


def test_deferred_a_provisioned_concurrency_that_fails_fails_the_task_with_its_reason(aws_env, tmp_path):
    """A function whose code fails at import: its provisioned concurrency goes FAILED, and the resumed task
    says so."""
    from airflow.providers.common.compat.sdk import AirflowException

    from dog_breed.front_door_operator import LambdaDeploymentOperator

    (tmp_path / "handler.py").write_text("raise RuntimeError('this front door cannot start')\n")
    (tmp_path / "requirements.txt").write_text("")
    task = LambdaDeploymentOperator(task_id="deploy_lambda", function_name=unique_name("front-door-failing"),
                                    endpoint_name="dog-breed", aws_conn_id=None, provisioned_concurrency=1,
                                    waiter_delay=1, deferrable=True, source_dir=tmp_path)
    with pytest.raises(AirflowException, match="live failed: FAILED - FUNCTION_ERROR_INIT_FAILURE.*cannot start"):
        run_deferring(task, {})


@pytest.mark.parametrize("settings, named", [({"provisioned_concurrency": 5, "reserved_concurrency": 3},
                                              "provisioned_concurrency"),
                                             ({"memory_mb": 64}, "memory_mb"),
                                             ({"function_url_auth": "OPEN"}, "function_url_auth"),
                                             ({"timeout_seconds": "soon"}, "whole numbers")])
def test_bad_settings_are_refused_naming_them(aws_env, settings, named):
    from airflow.providers.common.compat.sdk import AirflowException

    from dog_breed.front_door_operator import LambdaDeploymentOperator

    with pytest.raises(AirflowException, match=named):
        LambdaDeploymentOperator(task_id="deploy_lambda", function_name="f", endpoint_name="e", aws_conn_id=None,
                                 **settings).execute(context={})


@pytest.mark.slow
def test_the_functions_role_may_invoke_its_endpoint_and_is_refused_on_another(aws_env, aws_client):
    """Local AWS evaluates the execution role's policy: the front door pointed at another endpoint than the one
    its role names is refused by IAM; pointed at its own, IAM lets it through (to a missing endpoint: 503)."""
    import io

    from PIL import Image

    from dog_breed.front_door_operator import LambdaDeploymentOperator

    png = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(png, format="PNG")
    event = json.dumps({"image": base64.b64encode(png.getvalue()).decode()}).encode()
    lam = aws_client("lambda")

    def answer(name: str, **settings) -> dict:
        LambdaDeploymentOperator(task_id="deploy_lambda", function_name=name, endpoint_name="its-endpoint",
                                 aws_conn_id=None, reserved_concurrency=1, provisioned_concurrency=0,
                                 **settings).execute(context={})
        payload = json.loads(lam.invoke(FunctionName=f"{name}:live", Payload=event)["Payload"].read())
        return {"status": payload["statusCode"], **json.loads(payload["body"])["error"]}

    refused = answer(unique_name("elsewhere"), extra_environment={"ENDPOINT_NAME": "another-endpoint"})
    assert (refused["status"], refused["code"]) == (502, "EndpointError") and "AccessDenied" in refused["message"]
    allowed = answer(unique_name("its-own"))
    assert (allowed["status"], allowed["code"]) == (503, "EndpointNotFound"), allowed
