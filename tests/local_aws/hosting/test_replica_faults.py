"""Replicas that fail under load: killed, or alive but hung. Requests in flight on a lost replica are sent
once more to another one (or answered with a clean ServiceUnavailable), none waits for SageMaker's 60 s
invocation timeout, and the fleet is whole again within seconds."""

import json
import os
import shutil
import signal
import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_aws.hosting.deployment import Deployment, VariantPlan
from local_aws.hosting.fleet import ReplicaSpec
from local_aws.hosting.health_checks import HealthChecks
from local_aws.supervisor import Supervisor

from hosting_helpers import VARIANT
from load_generation import Load

# What "within seconds" means here: a replacement replica of the probe model starts in about a second on
# the fast machine kind; the slow one is about 3 times slower.
FLEET_WHOLE_WITHIN_SECONDS = 30
# Three missed pings of 2 s, one second apart, then a retry elsewhere: well under the 60 s timeout.
HUNG_REQUESTS_ANSWERED_WITHIN_SECONDS = 25


def error_code(error: Exception) -> str:
    return error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__


@pytest.fixture
def raw_runtime(local_aws):
    """A runtime client that does not retry, so each call shows what local AWS answered."""
    return boto3.client("sagemaker-runtime", config=Config(retries={"total_max_attempts": 1}, read_timeout=90),
                        **local_aws.client_kwargs)


def pid_of(runtime, name: str, command: str = "now") -> int:
    response = runtime.invoke_endpoint(EndpointName=name, Body=command.encode(), ContentType="text/plain")
    return json.loads(response["Body"].read())["pid"]


def serving_pids(runtime, name: str) -> set[int]:
    """The replicas' process ids (idle replicas tie and ties rotate, so a few calls visit each)."""
    return {pid_of(runtime, name) for _ in range(6)}


def wait_for_fleet(sagemaker, runtime, name: str, count: int, without: int) -> set[int]:
    deadline = time.monotonic() + FLEET_WHOLE_WITHIN_SECONDS
    while True:
        [variant] = sagemaker.describe_endpoint(EndpointName=name)["ProductionVariants"]
        pids = serving_pids(runtime, name) if variant["CurrentInstanceCount"] == count else set()
        if len(pids) == count and without not in pids:
            return pids
        assert time.monotonic() < deadline, f"the fleet was not whole again: {variant}, {pids}"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "answered_within"), [
    # killed: its connections close at once and its requests are sent to the other replica
    (signal.SIGKILL, 10),
    # alive but hung, holding its port and its requests: found by its missed pings, killed, replaced
    (signal.SIGSTOP, HUNG_REQUESTS_ANSWERED_WITHIN_SECONDS),
], ids=["killed", "hung"])
def test_a_replica_lost_under_load_loses_no_request_and_is_replaced(
    sagemaker, raw_runtime, create_model, create_config, probe_model_archive, endpoint, fault, answered_within
):
    name, described = endpoint(create_config(create_model(probe_model_archive), count=2))
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    victim = min(serving_pids(raw_runtime, name))

    # Each request holds its replica for 50 ms, so the lost one has requests in flight.
    with Load(lambda: pid_of(raw_runtime, name, "sleep 0.05"), clients=4) as load:
        time.sleep(1.0)
        os.kill(victim, fault)
        fault_at = time.monotonic()
        pids = wait_for_fleet(sagemaker, raw_runtime, name, 2, without=victim)
        time.sleep(0.5)
    print(f"{signal.Signals(fault).name}: {len(load.outcomes)} requests, {len(load.failures)} failed "
          f"{dict(load.failure_kinds(error_code))}, longest {load.longest:.1f} s, "
          f"fleet whole again after {time.monotonic() - fault_at - 0.5:.1f} s")
    assert load.failures == [], load.failure_kinds(error_code)
    assert load.longest < answered_within, f"a request took {load.longest:.1f} s"
    assert victim not in pids and len(pids) == 2
    with pytest.raises(ProcessLookupError):  # ended and reaped by local AWS, not left stopped
        os.kill(victim, 0)


@pytest.fixture
def two_replicas(probe_model_dir, tmp_path):
    spec = ReplicaSpec(model_dir=shutil.copytree(probe_model_dir, tmp_path / "model"), work_dir=tmp_path / "instances")
    supervisor = Supervisor()
    deployment = Deployment(supervisor, [VariantPlan(VARIANT, 1.0, 2, spec)])
    deployment.start()
    yield deployment.fleets[VARIANT]
    deployment.close()
    supervisor.shutdown()


@pytest.mark.slow
def test_only_a_replica_that_misses_its_pings_in_a_row_is_replaced_and_a_busy_one_answers_them(
    two_replicas, monkeypatch
):
    monkeypatch.setenv("LOCAL_AWS_PING_TIMEOUT_SECONDS", "0.5")
    fleet = two_replicas
    busy, hung = fleet.replicas()
    # The busy replica's model is in a 3 s request; the ping is answered beside it.
    request = threading.Thread(target=busy.pool.request, args=("POST", "/invocations", b"sleep 3", {}))
    request.start()
    os.kill(hung.process.pid, signal.SIGSTOP)
    checks = HealthChecks()
    try:
        assert checks.check([fleet]) == [] and checks.check([fleet]) == []
        assert (busy.missed_pings, hung.missed_pings) == (0, 2)
        assert checks.check([fleet]) == [hung]
    finally:
        request.join()
    assert hung.process.returncode == -signal.SIGKILL
    assert busy in fleet.replicas() and hung not in fleet.replicas()
    deadline = time.monotonic() + FLEET_WHOLE_WITHIN_SECONDS
    while fleet.instance_count < 2:  # the replacement joins once healthy
        assert time.monotonic() < deadline, "no replacement"
        time.sleep(0.1)
