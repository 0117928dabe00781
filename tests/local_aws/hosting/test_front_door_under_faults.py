"""The serving path as a client meets it, under load and faults: the project's front door (lambda/handler.py,
deployed by LambdaDeploymentOperator behind alias `live` with reserved and provisioned concurrency) called
through its SigV4-signed function URL, in front of an endpoint serving a model trained by model_code/train.py.
A blue/green update loses no request; an endpoint with no healthy replica, or deleted, answers 503 with
Retry-After (never a stack trace or a hang) and serves again once it is back."""

import base64
import json
import os
import signal
import sys
import threading
import time

import psutil
import pytest
import requests

from hosting_helpers import wait_while
from load_generation import Load
from local_aws_testing import unique_name
from signed_requests import signed_request

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="functions run in Linux namespace sandboxes")

# The front door's own bound: two endpoint attempts of at most 8 s each, plus backoff, under API Gateway's 29 s.
ANSWERED_WITHIN_SECONDS = 29


def replica_pids(endpoint_name: str) -> list[int]:
    """The endpoint's replica processes, by the model directory local AWS gave them."""
    return [process.pid for process in psutil.process_iter(["cmdline"])
            if "local_aws.hosting.replica_server" in (process.info["cmdline"] or [])
            and any(f"/endpoints/{endpoint_name}/" in part for part in process.info["cmdline"])]


def outcome_kind(response: requests.Response) -> str:
    """`200`, or the status with the front door's error code and Retry-After: what a client acts on."""
    if response.status_code == 200:
        return "200"
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = f"not the front door's JSON: {response.text[:200]!r}"
    return f"{response.status_code} {code} Retry-After={response.headers.get('Retry-After')}"


def wait_for_answers(load: Load, count: int = 5, timeout: float = 120) -> None:
    since = time.monotonic()
    deadline = since + timeout
    while load.answered_since(since) < count or not all(
            o.answer == "200" for o in load.outcomes[-3:] if o.started >= since and o.error is None):
        assert time.monotonic() < deadline, "the front door did not serve again"
        time.sleep(0.2)


@pytest.mark.slow
def test_the_front_door_under_load_through_blue_green_a_lost_replica_and_a_deleted_endpoint(
    aws_env, local_aws, sagemaker, create_model, create_config, trained_model_archive, digit_jpeg
):
    from dog_breed.front_door_operator import LambdaDeploymentOperator

    model = create_model(trained_model_archive)
    endpoint_name = unique_name("front-door-endpoint")
    sagemaker.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=create_config(model))
    assert wait_while(sagemaker, endpoint_name, {"Creating"})["EndpointStatus"] == "InService"
    deployed = LambdaDeploymentOperator(
        task_id="deploy_lambda", function_name=unique_name("front-door"), endpoint_name=endpoint_name,
        aws_conn_id=None, reserved_concurrency=6, provisioned_concurrency=3, function_url_auth="AWS_IAM",
        waiter_delay=1).execute(context={})
    keys = local_aws.credentials
    body = json.dumps({"image": base64.b64encode(digit_jpeg).decode()}).encode()

    sessions = threading.local()

    def call() -> requests.Response:
        return signed_request("POST", deployed["FunctionUrl"] + "predict", "lambda", keys.access_key_id,
                              keys.secret_access_key, body, {"Content-Type": "application/json"}, timeout=60,
                              session=sessions.__dict__.setdefault("session", requests.Session()))

    def predict() -> str:
        # Each client keeps its connection alive, as a client under load does (a connection per request, each
        # freed only when Python's cycle collector runs, filled the edge's 512 connections in 10 s).
        return outcome_kind(call())

    first = call()
    assert first.status_code == 200, first.text
    assert first.json()["predictions"] and first.json()["endpoint"] == endpoint_name

    phases = {}
    try:
        with Load(predict, clients=3) as load:
            wait_for_answers(load)
            mark = len(load.outcomes)
            # Blue/green: a new config with two instances replaces the running one while clients call.
            sagemaker.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=create_config(model, count=2))
            assert wait_while(sagemaker, endpoint_name, {"Updating"})["EndpointStatus"] == "InService"
            wait_for_answers(load)
            phases["blue/green"], mark = load.outcomes[mark:], len(load.outcomes)

            # No healthy replica: both killed, their replacements load the model for a moment.
            for pid in replica_pids(endpoint_name):
                os.kill(pid, signal.SIGKILL)
            wait_for_answers(load)
            phases["replicas killed"], mark = load.outcomes[mark:], len(load.outcomes)

            # Deleted, then created again under the same name.
            sagemaker.delete_endpoint(EndpointName=endpoint_name)
            sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=endpoint_name,
                                                         WaiterConfig={"Delay": 0.5, "MaxAttempts": 120})
            time.sleep(1.0)
            sagemaker.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=create_config(model))
            assert wait_while(sagemaker, endpoint_name, {"Creating"})["EndpointStatus"] == "InService"
            wait_for_answers(load)
            phases["deleted and recreated"] = load.outcomes[mark:]
    finally:
        sagemaker.delete_endpoint(EndpointName=endpoint_name)

    kinds = {phase: {} for phase in phases}
    for phase, outcomes in phases.items():
        for outcome in outcomes:
            kind = f"client error {outcome.error!r}" if outcome.error else outcome.answer
            kinds[phase][kind] = kinds[phase].get(kind, 0) + 1
    longest = max(o.seconds for outcomes in phases.values() for o in outcomes)
    print(f"front door under faults: {kinds}; longest {longest:.1f} s")
    assert set(kinds["blue/green"]) == {"200"}, kinds["blue/green"]
    unavailable = "503 EndpointUnavailable Retry-After=5"
    assert set(kinds["replicas killed"]) <= {"200", unavailable}, kinds["replicas killed"]
    assert set(kinds["deleted and recreated"]) <= {"200", "503 EndpointNotFound Retry-After=60", unavailable}, \
        kinds["deleted and recreated"]
    assert kinds["deleted and recreated"].get("503 EndpointNotFound Retry-After=60"), "the deletion was not seen"
    assert longest < ANSWERED_WITHIN_SECONDS
