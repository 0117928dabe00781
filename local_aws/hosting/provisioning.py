"""The compute side of endpoints: builds deployments and moves endpoints through their statuses.

Each ``run_*`` function runs in a background thread started by an API call; whatever goes wrong
becomes data on the endpoint (``Failed`` with a ``FailureReason``, or a rolled-back update
reported in ``FailureReason``), never an exception through the API.
"""

import dataclasses
import itertools
import logging
import os
import threading
import time
from pathlib import Path

from local_aws.containers import s3_files
from local_aws.exceptions import AWSError
from local_aws.hosting.deployment import Deployment, VariantPlan, VariantStartError
from local_aws.hosting.fleet import ReplicaSpec
from local_aws.hosting.replica import ReplicaStartError
from local_aws.hosting.replica_logs import cloudwatch_streams
from local_aws.hosting.state import Endpoint, EndpointConfig, EndpointStore
from local_aws.hosting.time_scale import real_seconds
from local_aws.platform import RequestContext
from local_aws.sagemaker.models import ModelStore

logger = logging.getLogger(__name__)

DEFAULT_STARTUP_TIMEOUT_SECONDS = 600
ALARM_POLL_SECONDS = 0.2  # how often a baking update looks at its rollback alarms
_deployment_numbers = itertools.count(1)


class DeploymentError(Exception):
    """Why a deployment could not be built or started, worded for FailureReason."""


def in_background(work, *args) -> None:
    threading.Thread(target=work, args=args, name=work.__name__, daemon=True).start()


def initial_counts(config: EndpointConfig) -> dict[str, int]:
    return {variant["VariantName"]: variant["InitialInstanceCount"] for variant in config.production_variants}


def replica_threads() -> int:
    """Intra-op threads per replica unless its model's Environment sets OMP_NUM_THREADS: every core,
    as each instance has its own on SageMaker. Replicas' OpenMP threads wait passively, so
    oversubscribing the cores is cheap. Right for large models (2 ResNet-50 replicas reach 0.93 of
    the best single process on 2 cores, 0.78 with one thread each); a tiny model runs about 3x
    faster with one thread and says so in its Environment (docs/local_aws_hosting.md)."""
    return max(1, os.cpu_count() or 1)


def plan_deployment(
    ctx: RequestContext, endpoint_name: str, config: EndpointConfig, counts: dict[str, int], work_dir: Path
) -> list[VariantPlan]:
    """Fetch and extract each variant's model once; describe how to start its replicas."""
    threads = replica_threads()
    s3_client = ctx.client("s3")
    logs = ctx.client("logs")
    plans = []
    for variant in config.production_variants:
        name = variant["VariantName"]
        try:
            model = ctx.state(ModelStore).get(variant["ModelName"])
        except AWSError as error:
            raise DeploymentError(error.message)
        data_url = model.container["ModelDataUrl"]
        model_dir = work_dir / name / "model"
        archive = work_dir / name / "model.tar.gz"
        try:
            s3_files.download_uri(s3_client, data_url, archive)
            s3_files.extract_tarball(archive, model_dir)
        except Exception as error:
            raise DeploymentError(
                f'Failed to extract model data archive from URL "{data_url}" for production variant '
                f"{name}: {type(error).__name__}: {error}"
            )
        finally:
            archive.unlink(missing_ok=True)
        spec = ReplicaSpec(
            model_dir=model_dir,
            work_dir=work_dir / name / "instances",
            environment=dict(model.container.get("Environment", {})),
            threads=threads,
            startup_timeout=variant.get(
                "ContainerStartupHealthCheckTimeoutInSeconds", DEFAULT_STARTUP_TIMEOUT_SECONDS
            ),
            log_streams=cloudwatch_streams(logs, endpoint_name, name),
            network_isolation=model.enable_network_isolation or config.request.get("EnableNetworkIsolation", False),
        )
        plans.append(VariantPlan(name, variant.get("InitialVariantWeight", 1.0), counts[name], spec))
    return plans


def start_deployment(
    ctx: RequestContext, endpoint: Endpoint, config: EndpointConfig, counts: dict[str, int],
    startup_limit: float | None = None,
) -> Deployment:
    """Start the config's fleets and wait until they are healthy; each replica gets at most `startup_limit`
    seconds to become healthy when one is given (an update's MaximumExecutionTimeoutInSeconds)."""
    work_dir = ctx.files() / "endpoints" / endpoint.name / f"deployment-{next(_deployment_numbers)}"
    plans = plan_deployment(ctx, endpoint.name, config, counts, work_dir)
    if startup_limit is not None:
        plans = [dataclasses.replace(plan, spec=dataclasses.replace(
            plan.spec, startup_timeout=min(plan.spec.startup_timeout, startup_limit))) for plan in plans]
    deployment = Deployment(ctx.platform.supervisor, plans)
    try:
        deployment.start()
    except VariantStartError as error:
        raise DeploymentError(str(error))
    return deployment


def run_create(ctx: RequestContext, endpoints: EndpointStore, endpoint: Endpoint) -> None:
    counts = initial_counts(endpoint.config)
    try:
        deployment = start_deployment(ctx, endpoint, endpoint.config, counts)
    except DeploymentError as error:
        with endpoints.lock:
            endpoint.fail(str(error))
        return
    except Exception as error:
        logger.exception("creating endpoint %s failed", endpoint.name)
        with endpoints.lock:
            endpoint.fail(f"local_aws failed to start the endpoint: {error}")
        return
    with endpoints.lock:
        endpoint.serve(deployment, counts)


def run_update(ctx: RequestContext, endpoints: EndpointStore, endpoint: Endpoint,
               counts: dict[str, int], deployment_config: dict | None) -> None:
    """Blue/green, all at once: the new fleet takes all traffic only once healthy, the update bakes for
    `WaitIntervalInSeconds` (still Updating, the old fleet kept), the endpoint is then InService and the old
    fleet stops after `TerminationWaitInSeconds`. The waits follow LOCAL_AWS_TIME_SCALE.

    If the new fleet cannot start, or is not healthy within `MaximumExecutionTimeoutInSeconds` less the
    waits, traffic never leaves the old one and the endpoint returns to InService on its old configuration
    with the failure in FailureReason (SageMaker's rollback).
    """
    policy = (deployment_config or {}).get("BlueGreenUpdatePolicy", {})
    bake = policy.get("TrafficRoutingConfiguration", {}).get("WaitIntervalInSeconds", 0)
    termination_wait = policy.get("TerminationWaitInSeconds", 0)
    limit = policy.get("MaximumExecutionTimeoutInSeconds")
    startup_limit = None if limit is None else real_seconds(limit - bake - termination_wait)
    started = time.monotonic()
    try:
        deployment = start_deployment(ctx, endpoint, endpoint.pending_config, counts, startup_limit)
    except Exception as error:
        if not isinstance(error, DeploymentError):
            logger.exception("updating endpoint %s failed", endpoint.name)
        elif startup_limit is not None and time.monotonic() - started >= startup_limit:
            error = DeploymentError(f"{error}: the deployment exceeded its MaximumExecutionTimeoutInSeconds ({limit} s)")
        with endpoints.lock:
            endpoint.roll_back_update(error)
        return
    with endpoints.lock:
        replaced = endpoint.shift_traffic(deployment, counts)
    alarms = [alarm["AlarmName"] for alarm in
              (deployment_config or {}).get("AutoRollbackConfiguration", {}).get("Alarms", [])]
    fired = _alarm_while_baking(ctx, alarms, real_seconds(bake))
    if fired is not None:
        with endpoints.lock:
            rolled_back = endpoint.roll_back_bake(replaced, f"the alarm {fired} went into ALARM while the update baked")
        rolled_back.close()
        return
    with endpoints.lock:
        endpoint.finish_update(deployment_config)
    time.sleep(real_seconds(termination_wait))
    replaced.close()


def _alarm_while_baking(ctx: RequestContext, alarms: list[str], seconds: float) -> str | None:
    """Watch `alarms` for `seconds` (the bake period); the first one found in ALARM, or None."""
    deadline = time.monotonic() + seconds
    cloudwatch = ctx.client("cloudwatch") if alarms else None
    while True:
        if cloudwatch is not None:
            for alarm in cloudwatch.describe_alarms(AlarmNames=alarms)["MetricAlarms"]:
                if alarm["StateValue"] == "ALARM":
                    return alarm["AlarmName"]
        if time.monotonic() >= deadline:
            return None
        time.sleep(min(ALARM_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def run_scale(ctx: RequestContext, endpoints: EndpointStore, endpoint: Endpoint, counts: dict[str, int]) -> None:
    """Start or stop replicas of the current deployment to reach ``counts``."""
    failures = []
    for name, count in counts.items():
        try:
            endpoint.deployment.fleets[name].scale_to(count)
        except ReplicaStartError as error:
            failures.append(f"production variant {name} could not scale to {count} instances: {error}")
    with endpoints.lock:
        endpoint.finish_scale(failures)


def run_delete(ctx: RequestContext, endpoints: EndpointStore, endpoint: Endpoint) -> None:
    if endpoint.deployment is not None:
        endpoint.deployment.close()
    endpoints.remove(endpoint)
