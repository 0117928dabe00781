"""SageMaker's periodic ``/ping`` of every serving instance: a replica that is alive but stops answering
(hung, stopped, deadlocked) is taken out of routing, killed and replaced, as SageMaker replaces an
unhealthy instance.

Every ``LOCAL_AWS_PING_INTERVAL_SECONDS`` (default 1) each replica in routing gets ``GET /ping`` with
``LOCAL_AWS_PING_TIMEOUT_SECONDS`` to answer (default 2: SageMaker's limit for a ping answer). A replica
that misses ``LOCAL_AWS_PING_MISSES`` checks in a row (default 3) — no answer in time, or not 200 — is
replaced. The ping is answered by the replica server's own thread, not by the model, so a replica busy
with inference still answers at once; three misses of two seconds leave a wide margin for a loaded
machine. Replicas are pinged in parallel, so one hung replica delays no other's check.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from local_aws.hosting.fleet import VariantFleet
from local_aws.hosting.replica import Replica, answers_ping
from local_aws.settings import positive_setting

logger = logging.getLogger(__name__)

INTERVAL_VARIABLE = "LOCAL_AWS_PING_INTERVAL_SECONDS"
TIMEOUT_VARIABLE = "LOCAL_AWS_PING_TIMEOUT_SECONDS"
MISSES_VARIABLE = "LOCAL_AWS_PING_MISSES"
DEFAULT_INTERVAL_SECONDS = 1.0
DEFAULT_TIMEOUT_SECONDS = 2.0
DEFAULT_MISSES = 3
MAX_PARALLEL_PINGS = 32


class HealthChecks:
    """Counts each replica's missed pings in a row and replaces the fleet's replicas that miss too many."""

    def __init__(self):
        self._pings = ThreadPoolExecutor(max_workers=MAX_PARALLEL_PINGS, thread_name_prefix="ping")

    def check(self, fleets: Iterable[VariantFleet]) -> list[Replica]:
        """One round over every replica in routing; returns the replicas replaced."""
        timeout = positive_setting(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT_SECONDS)
        allowed = positive_setting(MISSES_VARIABLE, DEFAULT_MISSES, int)
        serving = [(fleet, replica) for fleet in fleets for replica in fleet.replicas()]
        answered = list(self._pings.map(lambda pair: answers_ping(pair[1], timeout), serving))
        replaced = []
        for (fleet, replica), ok in zip(serving, answered):
            replica.missed_pings = 0 if ok else replica.missed_pings + 1
            if replica.missed_pings >= allowed:
                logger.warning("%s/%s missed %d pings of %.1f s in a row: replacing it", fleet.variant_name,
                               replica.instance_id, replica.missed_pings, timeout)
                fleet.remove_unhealthy(replica)
                replaced.append(replica)
        return replaced

    def run(self, fleets: Callable[[], Iterable[VariantFleet]], stopping: threading.Event) -> None:
        """Check every ping interval until ``stopping`` is set."""
        while not stopping.wait(positive_setting(INTERVAL_VARIABLE, DEFAULT_INTERVAL_SECONDS)):
            try:
                self.check(fleets())
            except Exception:
                logger.exception("hosting health checks failed")
