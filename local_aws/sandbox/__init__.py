"""Sandboxes for the code local AWS runs in AWS's stead (an EC2 instance's user data and commands, a
Lambda function's runtime): Linux namespaces made with util-linux's `unshare`, no container engine.

A sandbox has its own user namespace (its root is the user who runs local AWS, nothing more), mount
namespace, PID namespace (its processes see only each other; its first process ending ends them all)
and hostname. Its file system is a fresh tmpfs: the host's system directories (and the Python local AWS
runs on, which stands in for what an AMI or a Lambda runtime provides) read-only, a private `/tmp`, and
the directories its owner mounts; nothing else of the host, the user's home and the project checkout
included, is visible or writable. It shares the host's network, so it reaches local AWS at
`AWS_ENDPOINT_URL` on the loopback interface.

    sandbox = Sandbox.start(SandboxSpec(name="i-0abc", root=state / "root", tmp_bytes=512 << 20),
                            ["/bin/sh", "-c", "echo hi > /tmp/x"], env={"PATH": "/usr/bin:/bin"})
    sandbox.wait()
    sandbox.close()

Where namespaces cannot be made, `Sandbox.start` raises `SandboxUnavailable` naming what is missing.
`LOCAL_AWS_SANDBOX=none` runs the same programs as plain processes of the user instead, with a warning
at every start: for a machine without user namespaces, at the user's own risk.

This module imports nothing but the standard library, so that any Python can use it.
"""

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

MODE_VARIABLE = "LOCAL_AWS_SANDBOX"
NAMESPACES, NONE = "namespaces", "none"
SYSTEM_DIRECTORIES = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
INIT = Path(__file__).with_name("init.py")
READY_SECONDS = 30
CHILD_SECONDS = 2.0  # how long a sandbox's first process may take to show as its parent's child
DEFAULT_TMP_BYTES = 512 * 1024 * 1024


class SandboxUnavailable(Exception):
    """A sandbox cannot be made on this machine: the message says what is missing and how to enable it."""


class SandboxError(Exception):
    """A sandbox could be made here but this one could not be built (a mount refused, a path missing)."""


class ProgramNotRunnable(SandboxError):
    """The sandbox was built but its program could not be started in it (no such file, not executable, no
    such working directory), as a container whose entrypoint cannot be executed never starts."""


@dataclass(frozen=True)
class Mount:
    source: Path  # a directory or file of the host
    target: str  # where the sandbox sees it
    writable: bool = False


@dataclass(frozen=True)
class SandboxSpec:
    name: str  # the sandbox's hostname, and its name in logs
    root: Path  # an empty directory of local AWS's state for the sandbox's root file system
    mounts: tuple[Mount, ...] = ()
    tmp_bytes: int = DEFAULT_TMP_BYTES  # a private tmpfs /tmp of this size, unless `tmp_dir` is given
    tmp_dir: Path | None = None  # a host directory as /tmp (it outlives the sandbox: an instance's /tmp)
    shm_bytes: int | None = None  # a tmpfs /dev/shm of this size (POSIX shared memory, semaphores); None: none
    cpus: int | None = None  # cores the sandbox may use (the first of those local AWS may use); None: all
    host_python: bool = True  # the interpreter local AWS runs on, with its packages, read-only
    power: bool = False  # shutdown, poweroff, halt, reboot and systemctl act on the sandbox (an instance)
    minute_seconds: float = 60.0  # what `shutdown +N` counts as a minute (LOCAL_AWS_TIME_SCALE compresses it)
    extra: dict = field(default_factory=dict, compare=False)  # what the owner keeps with it


def host_python_path() -> str:
    """A `PATH` whose first directory is that of the interpreter local AWS runs on (its `python3`, `python`,
    `pip3`, `pip`), as an image or an AMI puts its own Python first, then the system's directories."""
    return f"{Path(sys.executable).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def mode() -> str:
    """How local AWS runs sandboxed code, from `LOCAL_AWS_SANDBOX`: namespaces (default) or none."""
    value = os.environ.get(MODE_VARIABLE, NAMESPACES)
    if value not in (NAMESPACES, NONE):
        raise ValueError(f"{MODE_VARIABLE} must be {NAMESPACES!r} or {NONE!r}, got {value!r}")
    return value


def unavailable_reason() -> str | None:
    """Why this machine cannot make a sandbox, and how to enable it; None when it can."""
    if sys.platform != "linux":
        return (f"sandboxes need Linux namespaces, and this is {sys.platform}; set {MODE_VARIABLE}={NONE} to run "
                "instances and functions as plain processes at your own risk")
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return "sandboxes need util-linux's unshare and nsenter on PATH (Debian: apt-get install util-linux)"
    try:
        limit = int(Path("/proc/sys/user/max_user_namespaces").read_text())
    except (OSError, ValueError):
        limit = 1
    if limit == 0:
        return ("user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0): enable them with "
                "`sysctl -w user.max_user_namespaces=15000`")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return (f"unshare cannot make a user, mount and PID namespace here: {probe.stderr.strip()[:300]} "
                "(Debian/Ubuntu: `sysctl -w kernel.unprivileged_userns_clone=1`; Ubuntu 24.04+: "
                "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`)")
    return None


def machine_report() -> tuple[int, str]:
    """What this machine's sandboxes enforce and what they cannot, for local AWS's start-up log: a
    logging level and the line."""
    if mode() == NONE:
        return logging.WARNING, (f"sandboxes are off ({MODE_VARIABLE}={NONE}): EC2 instances, Lambda functions and "
                                 "training hosts will run as plain processes of this machine's user")
    reason = unavailable_reason()
    if reason is not None:
        return logging.WARNING, (f"sandboxes cannot be made here, so EC2 instances and Lambda functions are refused "
                                 f"and training jobs fail: {reason}")
    controllers = Path("/sys/fs/cgroup/cgroup.controllers")
    memory = ("no cgroup v2 hierarchy is mounted at /sys/fs/cgroup" if not controllers.exists()
              else "local AWS does not set cgroup v2 memory limits yet")
    return logging.INFO, (f"sandboxes: Linux namespaces (unshare); cores held by CPU affinity; memory not limited "
                          f"({memory})")


class Sandbox:
    """One sandbox and its first process; `run` starts more processes inside it."""

    def __init__(self, spec: SandboxSpec, process: subprocess.Popen, lifeline: int | None, init_pid: int | None):
        self.spec = spec
        self.process = process  # unshare (or, with LOCAL_AWS_SANDBOX=none, the program itself)
        self._lifeline = lifeline
        self._init_pid = init_pid  # the host's PID of the sandbox's PID 1
        self.plain = lifeline is None and init_pid is None  # LOCAL_AWS_SANDBOX=none: no sandbox at all
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def start(cls, spec: SandboxSpec, argv: list[str], env: dict[str, str], cwd: str = "/",
              on_power: Callable[[str], None] = lambda event: None, **popen_kwargs) -> "Sandbox":
        """Build the sandbox and start `argv` in it as its root user, in `cwd`, with exactly `env`.
        `popen_kwargs` (stdout, stderr, stdin) go to the process that carries it. With `spec.power`,
        `on_power` hears what the power commands did, from another thread: `poweroff` (the sandbox has
        ended), `reboot` (its processes were killed and the program started again), `scheduled <action>
        <when>`, `cancelled`."""
        if mode() == NONE:
            return cls._plain(spec, argv, env, cwd, popen_kwargs)
        reason = unavailable_reason()
        if reason is not None:
            raise SandboxUnavailable(f"local AWS cannot make a sandbox for {spec.name}: {reason}")
        spec.root.mkdir(parents=True, exist_ok=True)
        status_read, status_write = os.pipe()
        lifeline_read, lifeline_write = os.pipe()
        init_spec = {
            "root": str(spec.root), "hostname": spec.name[:64], "argv": argv, "env": env, "cwd": cwd,
            "read_only": _read_only_mounts(spec), "writable": [[str(m.source), m.target] for m in spec.mounts
                                                               if m.writable],
            "tmp_dir": None if spec.tmp_dir is None else str(spec.tmp_dir), "tmp_bytes": spec.tmp_bytes,
            "shm_bytes": spec.shm_bytes,
            "cpus": _cpus(spec.cpus), "status_fd": status_write, "lifeline_fd": lifeline_read,
            "power": spec.power, "minute_seconds": spec.minute_seconds,
        }
        try:
            process = subprocess.Popen(
                [shutil.which("unshare"), "--user", "--map-root-user", "--mount", "--pid", "--uts", "--fork", "--kill-child",
                 sys.executable, "-I", "-S", str(INIT), json.dumps(init_spec)],
                pass_fds=(status_write, lifeline_read), start_new_session=True, env={}, **popen_kwargs)
        finally:
            os.close(status_write)
            os.close(lifeline_read)
        sandbox = cls(spec, process, lifeline_write, None)
        status = os.fdopen(status_read)
        report = status.readline().strip()
        if report != "ready":
            status.close()
            sandbox.close()
            if report.startswith("unrunnable "):
                raise ProgramNotRunnable(report.removeprefix("unrunnable "))
            raise SandboxError(f"the sandbox of {spec.name} could not be built: "
                               f"{report.removeprefix('error ') or 'its first process ended before it was ready'}")
        # CI twice saw unshare with no child at all for a moment after `ready`, two sandboxes starting at once.
        sandbox._init_pid = _child_of(process.pid, wait_seconds=CHILD_SECONDS)
        threading.Thread(target=_relay_power_events, args=(status, spec.name, on_power), daemon=True,
                         name=f"sandbox-{spec.name}").start()
        return sandbox

    @classmethod
    def _plain(cls, spec, argv, env, cwd, popen_kwargs) -> "Sandbox":
        logger.warning("%s=%s: running %s as a plain process of this machine's user, outside any sandbox: "
                       "it can read and write everything that user can", MODE_VARIABLE, NONE, spec.name)
        try:
            return cls(spec, _plain_process(spec, argv, env, cwd, popen_kwargs), None, None)
        except OSError as error:
            raise ProgramNotRunnable(f"cannot run {argv[0]}: {error.strerror}") from error

    def run(self, argv: list[str], env: dict[str, str], cwd: str = "/", **popen_kwargs) -> subprocess.Popen:
        """Start `argv` inside the running sandbox, as its root user, in `cwd`, with exactly `env`."""
        if self.plain:
            logger.warning("%s=%s: running a command of %s as a plain process", MODE_VARIABLE, NONE, self.spec.name)
            return _plain_process(self.spec, argv, env, cwd, popen_kwargs)
        if self._init_pid is None:
            raise SandboxError(f"the sandbox of {self.spec.name} has ended")
        cpus = _cpus(self.spec.cpus)
        pinned = [shutil.which("taskset"), "--cpu-list", ",".join(map(str, cpus))] if cpus else []
        return subprocess.Popen(
            [*pinned, shutil.which("nsenter"), "--target", str(self._init_pid), "--user", "--mount", "--pid", "--uts", "--root",
             "--wd", "--", "/bin/sh", "-c", 'cd "$1" && shift && exec "$@"', "sandbox", cwd, *argv],
            env=env, start_new_session=True, **popen_kwargs)

    def program_pid(self) -> int | None:
        """The host's PID of the sandbox's program (its init's child); None once the sandbox has ended."""
        if self._init_pid is None:
            return self.process.pid if self.plain and self.process.poll() is None else None
        try:
            return _child_of(self._init_pid)
        except (OSError, SandboxError, ValueError):
            return None

    def wait(self, timeout: float | None = None) -> int:
        """The first process's exit status (the sandbox has ended once it returns)."""
        return self.process.wait(timeout)

    def terminate(self, grace_seconds: float) -> None:
        """Stop the sandbox as `docker stop` stops a container: SIGTERM to its program, then, if the program
        has not ended within the grace, SIGKILL to every process (`close`)."""
        with self._lock:
            init_pid = self._init_pid
        with contextlib.suppress(ProcessLookupError):
            if init_pid is not None:
                os.kill(init_pid, signal.SIGTERM)  # its init relays it to the program
            elif self.plain:
                os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace_seconds)
        self.close()

    def close(self) -> None:
        """End the sandbox: every process in it is killed; its root's mounts vanish with its namespace.
        Closing it again only waits for that end and touches nothing (its root may be a new sandbox's by then)."""
        with self._lock:
            first, self._closed = not self._closed, True
            lifeline, self._lifeline = self._lifeline, None
            self._init_pid = None
        if lifeline is not None:
            os.close(lifeline)
        if self.plain and first:  # no init to end the others: the program's session is what there is of it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if first and self.spec.root.exists():
            shutil.rmtree(self.spec.root, ignore_errors=True)


def _relay_power_events(status, name: str, on_power: Callable[[str], None]) -> None:
    with status:
        for line in status:
            if line.startswith("power "):
                event = line.removeprefix("power ").strip()
                logger.info("sandbox %s: %s", name, event)
                on_power(event)


def _plain_process(spec: SandboxSpec, argv: list[str], env: dict[str, str], cwd: str,
                   popen_kwargs: dict) -> subprocess.Popen:
    argv = [_host_path_list(spec, argument) for argument in argv]
    env = {name: _host_path_list(spec, value) for name, value in env.items()}
    return subprocess.Popen(argv, env=env, cwd=_host_directory(spec, cwd), start_new_session=True, **popen_kwargs)


def _host_path_list(spec: SandboxSpec, value: str) -> str:
    """Without a sandbox, an argument or environment value that is a list of absolute paths (`PYTHONPATH`,
    `PATH`, `LAMBDA_TASK_ROOT`) with each path under a mount's target named by the mount's source; others
    unchanged."""
    paths = value.split(":")
    if not all(path.startswith("/") for path in paths):
        return value
    return ":".join(_mounted_source(spec, path) or path for path in paths)


def _mounted_source(spec: SandboxSpec, path: str) -> str | None:
    for mount in spec.mounts:
        if path == mount.target or path.startswith(mount.target + "/"):
            return str(mount.source) + path[len(mount.target):]
    return None


def _host_directory(spec: SandboxSpec, path: str) -> str | None:
    """Without a sandbox, the host directory a sandbox path names: a mount's source for its target (a
    function's /var/task is its unpacked code), the path itself if the host has it, else None."""
    return _mounted_source(spec, path) or (path if os.path.isdir(path) else None)


def _read_only_mounts(spec: SandboxSpec) -> list[list[str]]:
    mounts = [[directory, directory] for directory in SYSTEM_DIRECTORIES]
    if spec.host_python:
        python_dirs = {sys.prefix, sys.base_prefix, sysconfig.get_paths()["stdlib"]}
        # A virtualenv reached through a symlink stays a symlink inside, to its real directory, which its
        # scripts' #! lines name.
        python_dirs |= {os.path.realpath(directory) for directory in python_dirs}
        mounts += [[directory, directory] for directory in sorted(python_dirs)
                   if not any(directory.startswith(system + "/") for system in SYSTEM_DIRECTORIES)]
    return mounts + [[str(m.source), m.target] for m in spec.mounts if not m.writable]


def _cpus(count: int | None) -> list[int]:
    if count is None:
        return []
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[:max(1, count)]


def _child_of(pid: int, wait_seconds: float = 0) -> int:
    """The PID (as the host sees it) of the one child of `pid` (unshare's: the sandbox's PID 1; its init's:
    the program), looked for again for up to `wait_seconds` while it is not there."""
    deadline = time.monotonic() + wait_seconds
    while True:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(children) != 1:
            # The kernel keeps that list only while the children are stopped (proc(5)); under load it can miss
            # one. Every process's stat names its parent.
            children = [str(child) for child in _children_by_stat(pid)]
        if len(children) == 1:
            return int(children[0])
        if time.monotonic() >= deadline:
            raise SandboxError(f"expected one child of {pid}, found {children}")
        time.sleep(0.02)


def _children_by_stat(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:  # after the command's name: state, ppid
                found.append(int(entry.name))
    return found
