"""A Lambda execution environment: one sandbox (local_aws.sandbox) running AWS's runtime interface client
(`python -m awslambdaric <handler>`) against the environment's own Runtime API, as AWS's Python runtimes
run a function.

Inside: the function's code read-only at `/var/task` (also the working directory and `LAMBDA_TASK_ROOT`),
its layers at `/opt`, a private `/tmp` of its `EphemeralStorage` size, the documented environment
variables plus the function's own, and the Python local AWS runs on without its site-packages: a function
imports what it packaged and what AWS's runtimes provide (boto3), nothing else (runtime_packages). An environment serves one invocation at a time and is
reused while warm; a timed-out invocation ends it, as Lambda recycles such an environment. A runtime that
exits (killed, crashed, `sys.exit` in the handler) ends the environment at once: the invocation it held
fails with `Runtime.ExitError`, as Lambda answers, and `on_exit` is told (provisioned concurrency replaces
the environment).
"""

import contextlib
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import InvalidStateError
from dataclasses import dataclass, field
from pathlib import Path

from local_aws.awslambda.log_shipping import LogShipper
from local_aws.awslambda.runtime_api import Invocation, Outcome, RuntimeAPI
from local_aws.awslambda.runtime_packages import PYTHONPATH, RUNTIME_DIR
from local_aws.sandbox import Mount, Sandbox, SandboxSpec

TASK_ROOT = "/var/task"
INIT_TIMEOUT_SECONDS = 10.0  # AWS's limit on a function's init phase
DEFAULT_EPHEMERAL_MB = 512


@dataclass(frozen=True)
class FunctionSetup:
    """What an environment needs of a function's configuration."""

    name: str
    arn: str
    handler: str
    code_dir: Path  # the unpacked deployment package
    runtime_dir: Path  # what the runtime provides (runtime_packages.runtime_directory)
    region: str
    memory_mb: int = 128
    timeout_seconds: float = 3.0
    ephemeral_mb: int = DEFAULT_EPHEMERAL_MB
    version: str = "$LATEST"
    environment: dict[str, str] = field(default_factory=dict)
    opt_dir: Path | None = None  # the function's layers, merged (layers_api.layer_content)
    endpoint_url: str | None = None  # local AWS, for the function's own AWS calls
    credentials: dict[str, str] = field(default_factory=dict)  # the execution role's, as AWS_* variables


@dataclass(frozen=True)
class Result:
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed, as Invoke's X-Amz-Function-Error says
    duration_ms: float
    init_duration_ms: float | None  # set on the invocation that started the environment (a cold start)
    log: str = ""  # this invocation's log, START to REPORT, as Lambda writes it
    request_id: str | None = None
    provisioned: bool = False  # served by an environment of a provisioned-concurrency config


class InitFailed(Exception):
    """The function could not initialise: the payload is AWS's error object (errorMessage, errorType...)."""

    def __init__(self, payload: bytes):
        super().__init__(payload.decode(errors="replace"))
        self.payload = payload


class ExecutionEnvironment:
    def __init__(self, setup: FunctionSetup, state_dir: Path, log_path: Path,
                 logs: LogShipper | None = None):
        """`log_path` keeps the environment's whole log; `logs` ships each part of it once written to
        CloudWatch Logs, and is closed with the environment."""
        self.setup = setup
        self._state_dir = state_dir
        self._log_path = log_path
        self._logs = logs
        self._shipped = 0  # bytes of the log already shipped
        self._api: RuntimeAPI | None = None
        self._sandbox: Sandbox | None = None
        self._init_duration_ms: float | None = None
        self._runtime_pid: int | None = None
        self._lock = threading.Lock()  # one invocation at a time, as Lambda gives an environment
        self._closing = threading.Lock()
        self._current: Invocation | None = None  # the invocation the runtime holds, if any
        self.runtime_exit: str | None = None  # how the runtime ended, if it ended by itself
        self.on_exit: Callable[[], None] | None = None  # told once the runtime ended by itself
        self.closed = False

    def start(self) -> None:
        """Start the runtime and wait for the function's init phase to end; InitFailed if it fails."""
        setup = self.setup
        self._api = RuntimeAPI()
        mounts = (Mount(setup.code_dir, TASK_ROOT), Mount(setup.runtime_dir, RUNTIME_DIR)) + (
            (Mount(setup.opt_dir, "/opt"),) if setup.opt_dir is not None else ())
        spec = SandboxSpec(name=f"lambda-{setup.name}"[:64], root=self._state_dir / "root", mounts=mounts,
                           tmp_bytes=setup.ephemeral_mb * 1024 * 1024)
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self._log_path, "ab") as log:
            self._sandbox = Sandbox.start(spec, [sys.executable, "-S", "-m", "awslambdaric", setup.handler],
                                          self._environment(), cwd=TASK_ROOT, stdout=log, stderr=log)
        if not self._api.polled.wait(INIT_TIMEOUT_SECONDS) or self._sandbox.process.poll() is not None:
            self.close()
            raise InitFailed(_error_object("Runtime.InitError", f"The function did not initialise within "
                                           f"{INIT_TIMEOUT_SECONDS:.0f} seconds or its runtime exited."))
        if self._api.init_error is not None:
            payload = self._api.init_error.payload
            self.close()
            raise InitFailed(payload)
        self._init_duration_ms = (self._api.first_poll_at - started) * 1000
        self._runtime_pid = self._sandbox.program_pid()  # read once: a Lambda runtime is never restarted in place
        threading.Thread(target=self._watch_runtime, name=f"lambda-runtime-{setup.name}", daemon=True).start()

    def _watch_runtime(self) -> None:
        """Wait for the runtime to end; if nothing closed the environment, fail its invocation and end it."""
        status = self._sandbox.wait()
        if self.closed:
            return
        with self._closing:
            self.runtime_exit = _exit_description(status, sandboxed=not self._sandbox.plain)
            invocation = self._current
        if invocation is not None:
            with contextlib.suppress(InvalidStateError):  # it answered just before it ended
                invocation.outcome.set_result(_exit_outcome(invocation, self.runtime_exit))
        if self._lock.acquire(blocking=False):  # idle: nothing else will close it
            try:
                self.close()
            finally:
                self._lock.release()
        if self.on_exit is not None:
            self.on_exit()

    def initialised_ahead(self) -> None:
        """The environment was started before any invocation asked for it (provisioned concurrency): its
        first invocation is not a cold start and reports no Init Duration."""
        self._init_duration_ms = None

    def invoke(self, payload: bytes) -> Result:
        """Run one invocation; a timeout ends the environment (`closed`) and answers as Lambda does."""
        with self._lock:
            setup = self.setup
            deadline = time.time() + setup.timeout_seconds
            invocation = Invocation(payload, int(deadline * 1000), setup.arn)
            begins = self._append(f"START RequestId: {invocation.request_id} Version: {setup.version}")
            with self._closing:
                self._current, runtime_exit = invocation, self.runtime_exit
            if runtime_exit is None:
                self._api.submit(invocation)
            else:  # it ended before the invocation was handed over
                invocation.outcome.set_result(_exit_outcome(invocation, runtime_exit))
            started = time.monotonic()
            timed_out = False
            try:
                outcome = invocation.outcome.result(timeout=setup.timeout_seconds)
            except TimeoutError:
                timed_out = True
                outcome = Outcome(_error_object(
                    "Sandbox.Timedout", f"Task timed out after {setup.timeout_seconds:.2f} seconds"), "Sandbox.Timedout")
            with self._closing:
                self._current = None
            duration_ms = (time.monotonic() - started) * 1000
            memory_mb = self._max_memory_used_mb()
            exited = outcome.error_type == "Runtime.ExitError"
            if timed_out or exited:
                self.close()
            init_ms, self._init_duration_ms = self._init_duration_ms, None
            self._append(f"END RequestId: {invocation.request_id}")
            self._append(_report(invocation.request_id, duration_ms, setup.memory_mb, memory_mb, init_ms, timed_out,
                                 "Runtime.ExitError" if exited else None))
            return Result(outcome.payload, None if outcome.error_type is None else "Unhandled", duration_ms, init_ms,
                          self._since(begins), invocation.request_id)

    def _append(self, line: str) -> int:
        """Write a line of Lambda's own to the log (the runtime appends to the same file); the log's size
        before it."""
        with open(self._log_path, "ab") as log:
            at = log.tell()
            log.write(line.encode() + b"\n")
        return at

    def _since(self, offset: int) -> str:
        """The log from `offset` on; what was not shipped yet (the init's output too) goes to `ship` now."""
        start = min(offset, self._shipped)
        with open(self._log_path, "rb") as log:
            log.seek(start)
            data = log.read()
        unshipped = data[self._shipped - start:]
        self._shipped = start + len(data)
        if unshipped and self._logs is not None:
            self._logs.ship(unshipped.decode(errors="replace").splitlines())
        return data[offset - start:].decode(errors="replace")

    def _max_memory_used_mb(self) -> int | None:
        """The runtime process's peak resident memory (VmHWM), as REPORT's Max Memory Used."""
        try:
            status = Path(f"/proc/{self._runtime_pid}/status").read_text() if self._runtime_pid else ""
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return max(1, round(int(line.split()[1]) / 1024))
        return None

    def close(self) -> None:
        with self._closing:
            if self.closed:
                return
            self.closed = True
        if self._logs is not None:
            self._logs.close()
        if self._sandbox is not None:
            self._sandbox.close()
        if self._api is not None:
            self._api.close()

    def _environment(self) -> dict[str, str]:
        setup = self.setup
        variables = {
            **setup.environment,
            "PATH": "/usr/local/bin:/usr/bin:/bin:/opt/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "_HANDLER": setup.handler,
            "LAMBDA_TASK_ROOT": TASK_ROOT,
            "LAMBDA_RUNTIME_DIR": RUNTIME_DIR,
            "PYTHONPATH": PYTHONPATH,
            "PYTHONUNBUFFERED": "1",  # the function's output lands in its log before the invocation's END
            "AWS_LAMBDA_RUNTIME_API": self._api.address,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            "AWS_LAMBDA_FUNCTION_NAME": setup.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(setup.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": setup.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{setup.name}",
            "AWS_REGION": setup.region,
            "AWS_DEFAULT_REGION": setup.region,
            **setup.credentials,
        }
        if setup.endpoint_url:
            variables["AWS_ENDPOINT_URL"] = setup.endpoint_url
        return variables


def _report(request_id: str, duration_ms: float, memory_mb: int, used_mb: int | None, init_ms: float | None,
            timed_out: bool, error_type: str | None = None) -> str:
    """Lambda's REPORT line (billed in whole milliseconds, the init phase not billed on-demand)."""
    fields = [f"REPORT RequestId: {request_id}", f"Duration: {duration_ms:.2f} ms",
              f"Billed Duration: {math.ceil(duration_ms)} ms", f"Memory Size: {memory_mb} MB"]
    if used_mb is not None:
        fields.append(f"Max Memory Used: {used_mb} MB")
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    if timed_out:
        fields.append("Status: timeout")
    elif error_type is not None:
        fields += ["Status: error", f"Error Type: {error_type}"]
    return "\t".join(fields)


# How Lambda words a runtime's end (Go's names of the signals).
_SIGNAL_WORDS = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGSEGV: "segmentation fault",
                 signal.SIGABRT: "aborted", signal.SIGBUS: "bus error", signal.SIGINT: "interrupt"}


def _exit_description(status: int, sandboxed: bool) -> str:
    """`exit status N` or `signal: killed`, from the sandbox's status (128 + N for a signal, as its init
    reports a program's end) or a plain process's (-N)."""
    number = -status if status < 0 else status - 128 if sandboxed and status > 128 else None
    if number is None:
        return f"exit status {status}"
    try:
        return f"signal: {_SIGNAL_WORDS.get(signal.Signals(number), signal.Signals(number).name.lower())}"
    except ValueError:
        return f"signal: {number}"


def _exit_outcome(invocation: Invocation, runtime_exit: str) -> Outcome:
    return Outcome(_error_object("Runtime.ExitError", f"RequestId: {invocation.request_id} Error: Runtime exited "
                                 f"with error: {runtime_exit}"), "Runtime.ExitError")


def _error_object(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
