"""The replicas of one production variant: least-loaded choice, scaling, draining.

Requests hold a replica between :meth:`VariantFleet.acquire` and :meth:`VariantFleet.release`; that
in-flight count drives routing (least loaded wins, ties rotate) and draining (a replica leaves the
routing set first and is stopped only once its in-flight requests are answered). A closed fleet
hands out no replica, which tells the router to look up the endpoint's current fleets again.
"""

import itertools
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from local_aws.hosting.replica import (
    Replica,
    ReplicaStartError,
    kill_replica,
    launch_replica,
    stop_replica,
    wait_until_healthy,
)
from local_aws.hosting.replica_logs import StreamFactory
from local_aws.supervisor import Supervisor

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class ReplicaSpec:
    """How to start a replica of a variant: the extracted model and its container settings."""

    model_dir: Path
    work_dir: Path
    environment: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    startup_timeout: float = 600.0
    # Where each new instance's output goes besides its local log file (CloudWatch Logs).
    log_streams: StreamFactory | None = None
    network_isolation: bool = False  # the model's EnableNetworkIsolation: no outbound connection at all


class VariantFleet:
    def __init__(self, supervisor: Supervisor, variant_name: str, spec: ReplicaSpec):
        self.supervisor = supervisor
        self.variant_name = variant_name
        self.spec = spec
        self._replicas: list[Replica] = []
        self._state = threading.Condition()
        self._scaling = threading.Lock()
        self._closed = False
        self._rotation = itertools.count()
        # The instance count last asked for: what replacing a dead replica restores.
        self._target = 0

    @property
    def instance_count(self) -> int:
        return len(self._replicas)

    def replicas(self) -> list[Replica]:
        """The replicas in routing now."""
        with self._state:
            return list(self._replicas)

    def acquire(self) -> Replica | None:
        with self._state:
            if self._closed or not self._replicas:
                return None
            start = next(self._rotation) % len(self._replicas)
            rotated = self._replicas[start:] + self._replicas[:start]
            replica = min(rotated, key=lambda candidate: candidate.in_flight)
            replica.in_flight += 1
            return replica

    def release(self, replica: Replica) -> None:
        with self._state:
            replica.in_flight -= 1
            self._state.notify_all()

    def scale_to(self, count: int) -> None:
        """Start or stop replicas until ``count`` serve; new ones join only once healthy.

        Raises :class:`ReplicaStartError` (having stopped what it started) if a new replica fails.
        """
        with self._scaling:
            self._target = count
            self._reach(count)

    def _reach(self, count: int) -> None:
        missing = count - len(self._replicas)
        if missing > 0:
            started = self._start(missing)
            with self._state:
                if self._closed:
                    self._stop_all(started)
                    return
                self._replicas.extend(started)
        elif missing < 0:
            with self._state:
                # Least busy first, so the drain is short.
                leaving = sorted(self._replicas, key=lambda replica: replica.in_flight)[:-missing]
                self._replicas = [r for r in self._replicas if r not in leaving]
            self._drain_and_stop(leaving)

    def close(self) -> None:
        """Take every replica out of routing, let in-flight requests finish, stop them."""
        with self._state:
            self._closed = True
            leaving, self._replicas = self._replicas, []
        self._drain_and_stop(leaving)

    def remove_exited(self) -> list[Replica]:
        """Drop replicas whose process died, so requests stop going to them."""
        with self._state:
            exited = [r for r in self._replicas if r.process.poll() is not None]
            self._replicas = [r for r in self._replicas if r not in exited]
        self._stop_all(exited)
        if exited:
            self._replace_lost()
        return exited

    def remove_unreachable(self, replica: Replica) -> None:
        """Drop a replica that refused a connection: nothing listens on its port any more (its
        process is dying, perhaps not yet reaped), so it is stopped in the background."""
        if self._leave_routing(replica):
            threading.Thread(target=self._stop_all, args=([replica],), name=f"stop-{replica.instance_id}",
                             daemon=True).start()
            self._replace_lost()

    def remove_unhealthy(self, replica: Replica) -> None:
        """Drop a replica that is alive but failed its health checks: it is killed at once (its in-flight
        requests see their connections close) and replaced."""
        if self._leave_routing(replica):
            kill_replica(self.supervisor, replica)
            self._replace_lost()

    def _leave_routing(self, replica: Replica) -> bool:
        """Take ``replica`` out of routing; False if it had left already (another path is ending it)."""
        with self._state:
            if replica not in self._replicas:
                return False
            self._replicas.remove(replica)
            return True

    def _replace_lost(self) -> None:
        """Start replicas in place of ones that died, as SageMaker replaces an unhealthy instance;
        one attempt each time (a model that cannot load again leaves the variant short)."""

        def replace() -> None:
            with self._scaling:
                if self._closed:
                    return
                try:
                    self._reach(self._target)
                except ReplicaStartError as error:
                    if not self._closed:  # else the fleet closed meanwhile (and took its model files with it)
                        logger.warning("replacing a replica of %s failed: %s", self.variant_name, error)

        threading.Thread(target=replace, name=f"replace-{self.variant_name}", daemon=True).start()

    def _start(self, count: int) -> list[Replica]:
        spec = self.spec
        # EC2-style ids, unique across deployments, as SageMaker names an endpoint's log streams.
        instance_ids = [f"i-{secrets.token_hex(9)[:17]}" for _ in range(count)]
        replicas = [
            launch_replica(
                self.supervisor,
                instance_id,
                spec.model_dir,
                spec.work_dir,
                spec.environment,
                spec.threads,
                spec.log_streams(instance_id) if spec.log_streams else None,
                network_isolation=spec.network_isolation,
            )
            for instance_id in instance_ids
        ]
        deadline = time.monotonic() + spec.startup_timeout
        with ThreadPoolExecutor(max_workers=count) as pool:
            outcomes = list(pool.map(lambda r: _health_error(r, deadline), replicas))
        errors = [error for error in outcomes if error is not None]
        if errors:
            self._stop_all(replicas)
            raise errors[0]
        return replicas

    def _drain_and_stop(self, replicas: list[Replica]) -> None:
        with self._state:
            self._state.wait_for(lambda: all(replica.in_flight == 0 for replica in replicas))
        self._stop_all(replicas)

    def _stop_all(self, replicas: list[Replica]) -> None:
        for replica in replicas:
            stop_replica(self.supervisor, replica)


def _health_error(replica: Replica, deadline: float) -> ReplicaStartError | None:
    try:
        wait_until_healthy(replica, deadline)
    except ReplicaStartError as error:
        return error
    return None
