"""SSM Run Command's state and execution: commands and their invocations, and each instance's agent,
which runs its invocations one at a time, in order, as the SSM agent's `aws:runShellScript` plugin does.

An invocation waits (`Pending`) until its instance is running, at most the command's `TimeoutSeconds`
(then `TimedOut`, `Delivery Timed Out`). It runs under bash in its own process group, as root, in
`workingDirectory` (default: the agent's orchestration directory,
`/var/lib/amazon/ssm/<instance>/document/orchestration/<command>/awsrunShellScript/0.awsrunShellScript`),
with the instance role's fresh temporary credentials and `AWS_ENDPOINT_URL`. Its exit status is its
`ResponseCode`; past `executionTimeout` its process group is killed (`TimedOut`, `Execution Timed Out`);
`CancelCommand` kills it (`Cancelled`). The full output stays in the orchestration directory, goes to
CloudWatch Logs as it is written (once a second) and to S3 when it ends, when the command asks; the answers
hold its first 24,000 (stdout) and 8,000 (stderr) characters.
"""

import logging
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from local_aws.ec2.machines import SSM_DIRECTORY
from local_aws.sandbox import SandboxError

logger = logging.getLogger(__name__)

PLUGIN = "aws:runShellScript"
PLUGIN_DIRECTORY = "awsrunShellScript/0.awsrunShellScript"
STDOUT_CHARACTERS = 24_000
STDERR_CHARACTERS = 8_000
TERMINAL = {"Success", "Failed", "TimedOut", "Cancelled"}
DELIVERY_POLL_SECONDS = 0.2


@dataclass
class Invocation:
    command_id: str
    instance_id: str
    status: str = "Pending"
    details: str = "Pending"
    response_code: int = -1
    started: float | None = None
    ended: float | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_url: str = ""
    stderr_url: str = ""
    process: subprocess.Popen | None = None
    cancelled: bool = False

    def finish(self, status: str, details: str) -> None:
        self.status, self.details = status, details
        self.ended = time.time()


@dataclass
class Command:
    command_id: str
    document_name: str
    parameters: dict[str, list[str]]
    instance_ids: list[str]
    targets: list[dict]
    comment: str
    timeout_seconds: int
    execution_timeout: int
    output_bucket: str | None
    output_prefix: str | None
    cloudwatch: dict
    requested: float = field(default_factory=time.time)
    invocations: dict[str, Invocation] = field(default_factory=dict)

    @property
    def status(self) -> str:
        statuses = [invocation.status for invocation in self.invocations.values()]
        if not all(status in TERMINAL for status in statuses):
            return "Pending" if all(status == "Pending" for status in statuses) else "InProgress"
        for final in ("Failed", "TimedOut", "Cancelled"):
            if final in statuses:
                return final
        return "Success"

    def shape(self) -> dict:
        invocations = list(self.invocations.values())
        shape = {"CommandId": self.command_id, "DocumentName": self.document_name, "DocumentVersion": "$DEFAULT",
                 "Comment": self.comment, "ExpiresAfter": self.requested + self.timeout_seconds,
                 "Parameters": self.parameters, "InstanceIds": self.instance_ids, "Targets": self.targets,
                 "RequestedDateTime": self.requested, "Status": self.status, "StatusDetails": self.status,
                 "MaxConcurrency": "50", "MaxErrors": "0", "TargetCount": len(invocations),
                 "CompletedCount": sum(i.status in TERMINAL for i in invocations),
                 "ErrorCount": sum(i.status in ("Failed", "TimedOut") and i.details != "DeliveryTimedOut"
                                   for i in invocations),
                 "DeliveryTimedOutCount": sum(i.details == "DeliveryTimedOut" for i in invocations),
                 "TimeoutSeconds": self.timeout_seconds,
                 "CloudWatchOutputConfig": self.cloudwatch or {"CloudWatchOutputEnabled": False}}
        if self.output_bucket:
            shape["OutputS3BucketName"] = self.output_bucket
            shape["OutputS3KeyPrefix"] = self.output_prefix or ""
        return shape


class Commands:
    """One account and region's commands (kept as SSM keeps them, for listing) and its instances' agents."""

    def __init__(self, account_id: str, region: str):
        self.lock = threading.Lock()
        self.commands: dict[str, Command] = {}
        self.agents: dict[str, "Agent"] = {}

    def agent(self, instance_id: str, make: Callable[[], "Agent"]) -> "Agent":
        with self.lock:
            if instance_id not in self.agents:
                self.agents[instance_id] = make()
            return self.agents[instance_id]


@dataclass(frozen=True)
class Delivery:
    """What an agent needs to run one invocation."""
    command: Command
    invocation: Invocation
    environment: Callable[[], dict[str, str]]  # the role's fresh credentials and the endpoint, at start
    keep_output: Callable[[Command, Invocation, Path, Path], None]  # to S3, if asked, once it ends
    # CloudWatch Logs while it runs, if asked: started with the streams' files, returns what ends it
    stream_output: Callable[[Command, Invocation, Path, Path], Callable[[], None]]


class Agent:
    """An instance's SSM agent: a thread running its invocations one at a time, in the order sent."""

    def __init__(self, machine):
        self.machine = machine
        self.ssm_directory = machine.ssm_directory
        self._queue: queue.Queue[Delivery] = queue.Queue()
        threading.Thread(target=self._run_forever, daemon=True, name=f"ssm-agent-{machine.setup.instance_id}").start()

    def deliver(self, delivery: Delivery) -> None:
        self._queue.put(delivery)

    def _run_forever(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                self._run(delivery)
            except Exception:
                logger.exception("SSM invocation %s on %s failed to run", delivery.command.command_id,
                                 self.machine.setup.instance_id)
                delivery.invocation.finish("Failed", "Failed")

    def _run(self, delivery: Delivery) -> None:
        command, invocation = delivery.command, delivery.invocation
        deadline = command.requested + command.timeout_seconds
        while self.machine.state != "running" and not invocation.cancelled:
            if time.time() > deadline:
                return invocation.finish("TimedOut", "DeliveryTimedOut")
            time.sleep(DELIVERY_POLL_SECONDS)
        if invocation.cancelled:
            return
        instance_id = self.machine.setup.instance_id
        relative = Path(instance_id, "document", "orchestration", command.command_id, PLUGIN_DIRECTORY)
        host_directory = self.ssm_directory / relative
        host_directory.mkdir(parents=True, exist_ok=True)
        (host_directory / "_script.sh").write_text("\n".join(command.parameters["commands"]) + "\n")
        inside = f"{SSM_DIRECTORY}/{relative.as_posix()}"
        working = (command.parameters.get("workingDirectory") or [""])[0] or inside
        stdout_path, stderr_path = host_directory / "stdout", host_directory / "stderr"
        with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
            try:
                process = self.machine.run(["/bin/bash", f"{inside}/_script.sh"], delivery.environment(), working,
                                           stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
            except SandboxError:
                return invocation.finish("TimedOut", "DeliveryTimedOut")
        invocation.process = process
        end_streaming = delivery.stream_output(command, invocation, stdout_path, stderr_path)
        invocation.status = invocation.details = "InProgress"
        invocation.started = time.time()
        if invocation.cancelled:  # cancelled while it was being started
            _kill_group(process)
        try:
            code = process.wait(timeout=command.execution_timeout)
            outcome = None
        except subprocess.TimeoutExpired:
            _kill_group(process)
            code, outcome = -1, ("TimedOut", "ExecutionTimedOut")
        if invocation.cancelled:
            code, outcome = -1, ("Cancelled", "Cancelled")
        end_streaming()
        invocation.response_code = code if outcome is None else -1
        invocation.stdout = _head(stdout_path, STDOUT_CHARACTERS)
        invocation.stderr = _head(stderr_path, STDERR_CHARACTERS)
        delivery.keep_output(command, invocation, stdout_path, stderr_path)
        if outcome is None:
            outcome = ("Success", "Success") if code == 0 else ("Failed", "Failed")
        invocation.finish(*outcome)


def cancel(invocation: Invocation) -> None:
    """Stop an invocation: a pending one never runs, a running one's process group is killed."""
    invocation.cancelled = True
    if invocation.status == "Pending":
        invocation.finish("Cancelled", "Cancelled")
    elif invocation.process is not None:
        _kill_group(invocation.process)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _head(path: Path, characters: int) -> str:
    with open(path, "rb") as stream:
        return stream.read(characters * 4).decode("utf-8", "replace")[:characters]
