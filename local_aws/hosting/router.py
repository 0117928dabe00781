"""Forward one invocation to a replica: choose the variant, take the least-loaded replica, relay.

The router knows nothing of AWS wire formats; it reports what the container answered (or why no
container could answer) and how long the container took, which becomes ``ModelLatency``.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from local_aws.hosting.container_connections import ContainerBroken, ContainerSilent, ContainerUnreachable
from local_aws.hosting.deployment import Deployment
from local_aws.hosting.replica import has_died

# SageMaker gives a container 60 s to answer an invocation.
INVOCATION_TIMEOUT_SECONDS = 60.0
# A replica can vanish between being chosen and being reached (a blue/green switch closing its
# fleet, a scale-in, a crash): the request then goes to the endpoint's current replicas instead.
ATTEMPTS = 4
# A replica whose process ends while it holds the request (killed, crashed, or replaced by the health
# checks because it hung) takes the request with it: it is sent once more, to another replica. Only
# once, so a request that itself kills its container ends no more than two.
RETRIES_AFTER_A_LOST_REPLICA = 1
CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"


@dataclass(frozen=True)
class Invocation:
    body: bytes
    content_type: str | None = None
    accept: str | None = None
    custom_attributes: str | None = None
    target_variant: str | None = None


@dataclass(frozen=True)
class ContainerResponse:
    variant_name: str
    instance_id: str
    status: int
    body: bytes
    content_type: str | None
    custom_attributes: str | None
    model_latency: float  # seconds


class NoHealthyReplica(Exception):
    pass


class ContainerTimeout(Exception):
    def __init__(self, variant_name: str, instance_id: str):
        super().__init__(f"{variant_name}/{instance_id} did not answer in time")
        self.variant_name = variant_name
        self.instance_id = instance_id


class ReplicaLost(Exception):
    """The replica's process ended while it held the request, and no other replica could take it."""

    def __init__(self, variant_name: str, instance_id: str):
        super().__init__(f"{variant_name}/{instance_id} ended while serving the request")
        self.variant_name = variant_name
        self.instance_id = instance_id


class ContainerFailure(Exception):
    """The container broke the connection while answering (it crashed mid-request)."""

    def __init__(self, variant_name: str, instance_id: str, cause: Exception):
        super().__init__(f"{variant_name}/{instance_id}: {cause}")
        self.variant_name = variant_name
        self.instance_id = instance_id


def forward(
    current_deployment: Callable[[], Deployment | None],
    invocation: Invocation,
    timeout: float = INVOCATION_TIMEOUT_SECONDS,
) -> ContainerResponse:
    headers = {
        name: value
        for name, value in (
            ("Content-Type", invocation.content_type),
            ("Accept", invocation.accept),
            (CUSTOM_ATTRIBUTES_HEADER, invocation.custom_attributes),
        )
        if value is not None
    }
    lost: ReplicaLost | None = None
    retries = RETRIES_AFTER_A_LOST_REPLICA
    for _ in range(ATTEMPTS):
        deployment = current_deployment()
        if deployment is None:
            break
        fleet = deployment.choose_fleet(invocation.target_variant)
        replica = fleet.acquire()
        if replica is None:
            continue
        started = time.perf_counter()
        try:
            response = replica.pool.request("POST", "/invocations", invocation.body, headers, timeout)
        except ContainerSilent:
            raise ContainerTimeout(fleet.variant_name, replica.instance_id)
        except ContainerUnreachable:
            # Nothing was sent: the replica is gone, another one can take the request.
            fleet.remove_unreachable(replica)
            continue
        except ContainerBroken as error:
            if not has_died(replica):
                raise ContainerFailure(fleet.variant_name, replica.instance_id, error)
            fleet.remove_exited()
            lost = ReplicaLost(fleet.variant_name, replica.instance_id)
            if retries == 0:
                raise lost
            retries -= 1
            continue
        finally:
            fleet.release(replica)
        return ContainerResponse(
            variant_name=fleet.variant_name,
            instance_id=replica.instance_id,
            status=response.status,
            body=response.body,
            content_type=response.headers.get("content-type"),
            custom_attributes=response.headers.get(CUSTOM_ATTRIBUTES_HEADER.lower()),
            model_latency=time.perf_counter() - started,
        )
    raise lost or NoHealthyReplica()
