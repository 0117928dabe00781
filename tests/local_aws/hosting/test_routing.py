"""How invocations reach replicas: least-loaded choice, weighted variants, no healthy replica,
keep-alive connections and the container timeout, on a probe model that answers its process id."""

import json
import os
import shutil
import signal
import threading
import time
from collections import Counter

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_aws.hosting.deployment import Deployment, VariantPlan
from local_aws.hosting.fleet import ReplicaSpec
from local_aws.hosting.router import ContainerTimeout, Invocation, forward
from local_aws.supervisor import Supervisor

from hosting_helpers import VARIANT
from local_aws_testing import unique_name
from http_probes import interim_response_before_body


def ask(runtime, endpoint_name: str, command: str, **extra) -> tuple[int, dict]:
    """(the answering replica's process id, the InvokeEndpoint response)."""
    response = runtime.invoke_endpoint(EndpointName=endpoint_name, Body=command.encode(), ContentType="text/plain",
                                       **extra)
    return json.loads(response["Body"].read())["pid"], response


def wait_for(path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.mark.slow
def test_requests_go_to_the_least_loaded_replica(
    runtime, create_model, create_config, probe_model_archive, endpoint, tmp_path
):
    name, described = endpoint(create_config(create_model(probe_model_archive), count=2))
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    # Idle replicas tie; ties rotate, so sequential requests visit both.
    assert len({ask(runtime, name, "now")[0] for _ in range(4)}) == 2

    started = tmp_path / "slow-request-started"
    answer = {}
    slow = threading.Thread(target=lambda: answer.update(pid=ask(runtime, name, f"sleep 3 {started}")[0]))
    slow.start()
    try:
        wait_for(started)
        while_busy = {ask(runtime, name, "now")[0] for _ in range(6)}
    finally:
        slow.join()
    assert len(while_busy) == 1
    assert answer["pid"] not in while_busy


@pytest.mark.slow
def test_weighted_variants_split_traffic_and_target_variant_picks_one(
    sagemaker, runtime, create_model, probe_model_archive, endpoint
):
    model = create_model(probe_model_archive)
    config = unique_name("config")
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "Heavy", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large",
         "InitialVariantWeight": 3.0},
        {"VariantName": "Light", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large",
         "InitialVariantWeight": 1.0},
    ])
    name, described = endpoint(config)
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    assert [(v["VariantName"], v["CurrentWeight"], v["CurrentInstanceCount"], v["DesiredInstanceCount"])
            for v in described["ProductionVariants"]] == [("Heavy", 3.0, 1, 1), ("Light", 1.0, 1, 1)]

    served = Counter(ask(runtime, name, "now")[1]["InvokedProductionVariant"] for _ in range(300))
    # 3:1 weights; 0.75 +- 0.1 is four standard deviations of 300 draws.
    assert 0.65 <= served["Heavy"] / 300 <= 0.85, served
    targeted = {ask(runtime, name, "now", TargetVariant="Light")[1]["InvokedProductionVariant"] for _ in range(10)}
    assert targeted == {"Light"}


def instance_counts(sagemaker, name: str) -> tuple[int, int]:
    [variant] = sagemaker.describe_endpoint(EndpointName=name)["ProductionVariants"]
    return variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]


@pytest.mark.slow
def test_a_dead_replica_is_replaced_and_without_one_requests_get_service_unavailable(
    local_aws, sagemaker, create_model, create_config, probe_model_archive, endpoint, tmp_path
):
    # No retries: the test looks at what one request gets.
    runtime = boto3.client("sagemaker-runtime", config=Config(retries={"total_max_attempts": 1}),
                           **local_aws.client_kwargs)
    gate = tmp_path / "refuse-to-load"
    name, _ = endpoint(create_config(create_model(probe_model_archive, {"PROBE_REFUSE_TO_LOAD_IF": str(gate)})))
    first_pid, response = ask(runtime, name, "now")
    assert response["ResponseMetadata"]["RequestId"]

    def crash() -> None:
        # The replica ends holding the request and no other one can take its retry: a clean 503.
        with pytest.raises(ClientError) as raised:
            ask(runtime, name, "exit")
        assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert "stopped before answering" in raised.value.response["Error"]["Message"]

    crash()
    # The next request finds the port closed: the replica leaves routing and a new one starts.
    deadline = time.monotonic() + 60
    while True:
        try:
            replacement_pid, _ = ask(runtime, name, "now")
            break
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ServiceUnavailable"
            assert time.monotonic() < deadline, "no replacement replica"
            time.sleep(0.2)
    assert replacement_pid != first_pid
    assert instance_counts(sagemaker, name) == (1, 1)

    gate.touch()  # the next replacement cannot load
    crash()
    with pytest.raises(ClientError) as raised:
        ask(runtime, name, "now")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert instance_counts(sagemaker, name) == (0, 1)


@pytest.mark.slow
def test_a_replica_that_dies_without_traffic_is_replaced_before_the_next_request(
    local_aws, sagemaker, create_model, create_config, probe_model_archive, endpoint
):
    runtime = boto3.client("sagemaker-runtime", config=Config(retries={"total_max_attempts": 1}),
                           **local_aws.client_kwargs)
    logs = boto3.client("logs", **local_aws.client_kwargs)
    name, _ = endpoint(create_config(create_model(probe_model_archive)))
    group = f"/aws/sagemaker/Endpoints/{name}"

    def instance_streams() -> set[str]:
        return {stream["logStreamName"] for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]}

    first_pid, _ = ask(runtime, name, "now")
    [first_instance] = instance_streams()
    os.kill(first_pid, signal.SIGKILL)
    # No request is sent until a new instance serves, as SageMaker replaces a failed instance on its own.
    deadline = time.monotonic() + 60
    while not (len(instance_streams()) == 2 and instance_counts(sagemaker, name) == (1, 1)):
        assert time.monotonic() < deadline, f"no replacement: {instance_streams()}, {instance_counts(sagemaker, name)}"
        time.sleep(0.2)
    replacement_pid, response = ask(runtime, name, "now")
    assert replacement_pid != first_pid
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert first_instance in instance_streams()


@pytest.mark.slow
def test_the_router_keeps_one_connection_per_replica_and_times_out_a_silent_container(probe_model_dir, tmp_path):
    model_dir = shutil.copytree(probe_model_dir, tmp_path / "model")
    spec = ReplicaSpec(model_dir=model_dir, work_dir=tmp_path / "instances")
    supervisor = Supervisor()
    deployment = Deployment(supervisor, [VariantPlan(VARIANT, 1.0, 1, spec)])
    deployment.start()
    try:
        for _ in range(5):
            answer = forward(lambda: deployment, Invocation(b"now", "text/plain"))
            assert answer.status == 200 and answer.model_latency > 0
        fleet = deployment.fleets[VARIANT]
        replica = fleet.acquire()
        fleet.release(replica)
        assert replica.pool.opened == 1

        with pytest.raises(ContainerTimeout):
            forward(lambda: deployment, Invocation(b"sleep 3", "text/plain"), timeout=0.5)
    finally:
        deployment.close()
        supervisor.shutdown()


@pytest.mark.slow
def test_a_replica_answers_expect_100_continue_before_the_body_arrives(probe_model_dir, tmp_path):
    spec = ReplicaSpec(model_dir=shutil.copytree(probe_model_dir, tmp_path / "model"), work_dir=tmp_path / "instances")
    supervisor = Supervisor()
    deployment = Deployment(supervisor, [VariantPlan(VARIANT, 1.0, 1, spec)])
    deployment.start()
    try:
        replica = deployment.fleets[VARIANT].acquire()
        deployment.fleets[VARIANT].release(replica)
        head = b"POST /invocations HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
        assert interim_response_before_body("127.0.0.1", replica.port, head).startswith(b"HTTP/1.1 100 Continue\r\n")
    finally:
        deployment.close()
        supervisor.shutdown()
