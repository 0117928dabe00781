"""The life of one replica process: launch, health check, stop.

A replica is one "instance" of a production variant: a ``replica_server`` process started by the
edge's supervisor in its own process group (so stopping it, or the edge, also stops anything the
model code spawned), a loopback port bound
here before launch, and a keep-alive connection pool the edge forwards requests through.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from local_aws.access.credentials import without_credentials
from local_aws.containers.log_streams import LogStream
from local_aws.hosting.container_connections import (
    ContainerBroken,
    ContainerConnections,
    ContainerSilent,
    ContainerUnreachable,
)
from local_aws.hosting.replica_logs import ship_output
from local_aws.sandbox import unavailable_reason
from local_aws.supervisor import Supervisor

HEALTH_POLL_SECONDS = 0.05
STOP_GRACE_SECONDS = 5.0
# Concurrent requests the edge keeps a connection open for; more are served on short-lived ones.
POOL_CONNECTIONS = 32
# Where `-m local_aws.hosting.replica_server` is found, whatever directory runs local AWS in-process.
PACKAGE_PARENT = Path(__file__).resolve().parents[2]


class ReplicaStartError(Exception):
    """A replica did not become healthy; the message says why (the model's load error if known)."""


@dataclass(eq=False)
class Replica:
    instance_id: str
    port: int
    process: subprocess.Popen
    log_path: Path
    failure_file: Path
    pool: ContainerConnections
    log_shipper: threading.Thread
    in_flight: int = field(default=0)
    missed_pings: int = field(default=0)  # health checks missed in a row

    def exit_reason(self) -> str:
        """Why the process ended: its failure file, else the tail of its log."""
        self.log_shipper.join(timeout=STOP_GRACE_SECONDS)
        if self.failure_file.exists():
            return self.failure_file.read_text().strip()
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        tail = " | ".join(lines[-3:]) or "no output"
        return f"the model server exited with status {self.process.returncode}: {tail}"


def launch_replica(
    supervisor: Supervisor,
    instance_id: str,
    model_dir: Path,
    work_dir: Path,
    environment: dict[str, str],
    threads: int,
    log_stream: LogStream | None,
    network_isolation: bool = False,
) -> Replica:
    """Start a replica process serving ``model_dir``; it is not healthy yet. With ``network_isolation`` it runs
    in a network namespace of its own, with no interface up: it can open no connection to anything, while its
    listening socket, made here in the host's namespace, still takes the edge's requests."""
    work_dir.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    log_path = work_dir / f"{instance_id}.log"
    failure_file = work_dir / f"{instance_id}.failure"
    failure_file.unlink(missing_ok=True)
    # The model's OMP_NUM_THREADS is how a SageMaker user sizes a container's intra-op threads; torch
    # lets MKL_NUM_THREADS override it, so both follow it unless the model sets MKL_NUM_THREADS too.
    intra_op_threads = environment.get("OMP_NUM_THREADS", str(threads))
    env = {
        # No credentials of the user who started local AWS, nor local AWS's own key pair.
        **without_credentials(os.environ),
        # Replicas share the machine's cores with each other, the edge and its clients; idle OpenMP
        # threads sleep instead of spinning (spinning threads of one process starve the others and
        # turn milliseconds into seconds).
        "OMP_NUM_THREADS": intra_op_threads,
        "MKL_NUM_THREADS": intra_op_threads,
        "OMP_WAIT_POLICY": "PASSIVE",
        # The model's container environment wins, as in a SageMaker container.
        **environment,
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        *(isolated_network_prefix() if network_isolation else []),
        sys.executable, "-m", "local_aws.hosting.replica_server",
        "--model-dir", str(model_dir),
        "--listen-fd", str(listener.fileno()),
        "--failure-file", str(failure_file),
    ]
    try:
        process = supervisor.spawn(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=PACKAGE_PARENT,
            pass_fds=(listener.fileno(),),
        )
    finally:
        listener.close()
    shipper = ship_output(process.stdout, log_path, log_stream)
    pool = ContainerConnections("127.0.0.1", port, max_idle=POOL_CONNECTIONS)
    return Replica(instance_id, port, process, log_path, failure_file, pool, shipper)


def isolated_network_prefix() -> list[str]:
    """The command prefix that starts a program in a new, empty network namespace (as an unprivileged user
    too); NetworkIsolationUnavailable where this machine cannot make one."""
    reason = unavailable_reason()  # it names a missing unshare too
    if reason is not None:
        raise NetworkIsolationUnavailable(f"EnableNetworkIsolation needs a network namespace: {reason}")
    return [shutil.which("unshare"), "--user", "--map-root-user", "--net", "--"]


class NetworkIsolationUnavailable(ReplicaStartError):
    """The model asks for network isolation and this machine cannot give it: the variant does not start."""


def answers_ping(replica: Replica, timeout: float = 2.0) -> bool:
    """Whether the container answers ``GET /ping`` with 200 within ``timeout`` (SageMaker's is 2 s)."""
    try:
        return replica.pool.request("GET", "/ping", timeout=timeout).status == 200
    except (ContainerUnreachable, ContainerBroken, ContainerSilent):
        return False


def wait_until_healthy(replica: Replica, deadline: float) -> None:
    """Poll ``/ping`` until it answers 200, the process exits or ``deadline`` (monotonic) passes."""
    while True:
        if replica.process.poll() is not None:
            raise ReplicaStartError(replica.exit_reason())
        if answers_ping(replica):
            return
        if time.monotonic() > deadline:
            raise ReplicaStartError("the model server did not pass the ping health check in time")
        time.sleep(HEALTH_POLL_SECONDS)


def stop_replica(supervisor: Supervisor, replica: Replica) -> None:
    """Stop the replica's whole process group: SIGTERM, then SIGKILL after a grace period."""
    replica.pool.close()
    supervisor.stop(replica.process, STOP_GRACE_SECONDS)


def kill_replica(supervisor: Supervisor, replica: Replica) -> None:
    """Kill an unhealthy replica's process group at once: its in-flight requests see their connections
    close instead of waiting for an answer that will not come."""
    supervisor.kill(replica.process)
    replica.pool.close()


def has_died(replica: Replica, within: float = 1.0) -> bool:
    """Whether the replica's process has ended or ends within ``within`` seconds (a killed process closes
    its sockets a moment before it can be reaped)."""
    try:
        replica.process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        return False
    return True
