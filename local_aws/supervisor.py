"""Child processes (model servers) and sandboxes (training hosts, EC2 instances) and what must happen
when the edge stops: every one still running ends before the edge does.

Every child runs in its own session, hence its own process group, so stopping one stops the
whole tree it started (a server's workers); a sandbox's end ends every process in it.
"""

import logging
import os
import signal
import subprocess
import threading
import weakref
from collections.abc import Callable

from local_aws.sandbox import Sandbox, SandboxSpec

logger = logging.getLogger(__name__)


class Supervisor:
    def __init__(self):
        self._lock = threading.Lock()
        self._children: set[subprocess.Popen] = set()
        self._sandboxes: weakref.WeakSet[Sandbox] = weakref.WeakSet()  # an owner that drops one has closed it
        self._shutdown_hooks: list[Callable[[], None]] = []
        self.stopping = threading.Event()

    def spawn(self, args: list[str], **popen_kwargs) -> subprocess.Popen:
        with self._lock:
            if self.stopping.is_set():
                raise RuntimeError("local_aws is shutting down; not starting new processes")
            process = subprocess.Popen(args, start_new_session=True, **popen_kwargs)
            self._children.add(process)
        return process

    def start_sandbox(self, spec: SandboxSpec, argv: list[str], env: dict[str, str], cwd: str = "/",
                      **start_kwargs) -> Sandbox:
        """`Sandbox.start`, for a sandbox that its owner ends (`terminate`, `close`) or, failing that, the
        edge's shutdown."""
        if self.stopping.is_set():
            raise RuntimeError("local_aws is shutting down; not starting new sandboxes")
        sandbox = Sandbox.start(spec, argv, env, cwd, **start_kwargs)
        with self._lock:
            self._sandboxes.add(sandbox)
        if self.stopping.is_set():  # the shutdown began while it started and may have missed it
            sandbox.close()
            raise RuntimeError("local_aws is shutting down; not starting new sandboxes")
        return sandbox

    def stop(self, process: subprocess.Popen, grace_seconds: float) -> None:
        """SIGTERM the process group, then SIGKILL it if still alive after the grace period."""
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
        # The leader may exit on SIGTERM before its children do.
        _signal_group(process, signal.SIGKILL)
        self.forget(process)

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the process group at once (a process that is hung or stopped cannot act on SIGTERM)."""
        _signal_group(process, signal.SIGKILL)
        process.wait()
        self.forget(process)

    def forget(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._children.discard(process)

    def on_shutdown(self, hook: Callable[[], None]) -> None:
        """Run `hook` when the edge stops, before remaining children are killed."""
        with self._lock:
            self._shutdown_hooks.append(hook)

    def shutdown(self, grace_seconds: float = 5.0) -> None:
        self.stopping.set()
        with self._lock:
            hooks = list(self._shutdown_hooks)
        for hook in hooks:
            try:
                hook()
            except Exception:
                logger.exception("shutdown hook %r failed", hook)
        with self._lock:
            children = list(self._children)
            sandboxes = list(self._sandboxes)
        enders = [threading.Thread(target=sandbox.terminate, args=(grace_seconds,), name=f"end-{sandbox.spec.name}")
                  for sandbox in sandboxes]
        for ender in enders:
            ender.start()
        for process in children:
            self.stop(process, grace_seconds)
        for ender in enders:
            ender.join()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
