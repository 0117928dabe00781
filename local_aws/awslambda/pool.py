"""The execution environments of one account and region's functions: reused while warm, made when none
is free (a cold start), recycled when the function's code or configuration changes, closed once idle for
`LOCAL_AWS_LAMBDA_IDLE_SECONDS` (default 600; provisioned ones are kept), and all closed when local AWS
stops."""

import dataclasses
import threading
import time
from collections.abc import Callable

from local_aws.awslambda.environment import ExecutionEnvironment, InitFailed, Result
from local_aws.settings import positive_setting

IDLE_SECONDS_VARIABLE = "LOCAL_AWS_LAMBDA_IDLE_SECONDS"
DEFAULT_IDLE_SECONDS = 600.0  # AWS does not document how long it keeps an idle environment


class EnvironmentPool:
    def __init__(self, account_id: str, region: str):
        self._lock = threading.Lock()
        self._idle: dict[str, list[tuple[str, ExecutionEnvironment]]] = {}  # function -> (revision, environment)
        self._busy: set[ExecutionEnvironment] = set()
        self._retired: set[ExecutionEnvironment] = set()  # closed when their invocation ends
        self._provisioned: set[ExecutionEnvironment] = set()  # started ahead (prewarm); taken first
        self._idle_since: dict[ExecutionEnvironment, float] = {}  # when each idle environment last answered
        self._closes_with_local_aws = False

    def close_with(self, supervisor) -> None:
        """Close every environment when local AWS stops (the sandboxes would end with its process anyway)."""
        with self._lock:
            if self._closes_with_local_aws:
                return
            self._closes_with_local_aws = True
        supervisor.on_shutdown(self.close_all)
        threading.Thread(target=self._reap_while_running, args=(supervisor.stopping,), daemon=True,
                         name="lambda-idle-reaper").start()

    def reap_idle(self, now: float) -> None:
        """Close the on-demand environments that have been idle for longer than the setting allows."""
        limit = positive_setting(IDLE_SECONDS_VARIABLE, DEFAULT_IDLE_SECONDS)
        expired = []
        with self._lock:
            for function_name, idle in self._idle.items():
                kept = []
                for revision, environment in idle:
                    too_long = now - self._idle_since.get(environment, now) > limit
                    (expired if too_long and environment not in self._provisioned else kept).append(
                        (revision, environment))
                self._idle[function_name] = kept
            still_idle = {environment for idle in self._idle.values() for _, environment in idle}
            self._idle_since = {env: since for env, since in self._idle_since.items() if env in still_idle}
        for _, environment in expired:  # each in the background: closing one (its sandbox's grace) takes a while,
            threading.Thread(target=environment.close, daemon=True,  # and the reaper keeps its cadence
                             name="lambda-idle-close").start()

    def _reap_while_running(self, stopping: threading.Event) -> None:
        while not stopping.wait(min(1.0, positive_setting(IDLE_SECONDS_VARIABLE, DEFAULT_IDLE_SECONDS) / 4)):
            self.reap_idle(time.monotonic())

    def invoke(self, function_name: str, revision: str, make: Callable[[], ExecutionEnvironment],
               payload: bytes, on_environment: Callable[[bool], None] = lambda provisioned: None) -> Result:
        """Run `payload` in a warm environment of `function_name` at `revision` (a provisioned one first), or in
        a new one from `make`; `on_environment(provisioned)` is told which kind serves it before it runs."""
        environment = self._take(function_name, revision)
        if environment is None:
            environment = make()
            try:
                environment.start()
            except InitFailed as failure:
                return Result(failure.payload, "Unhandled", 0.0, None)
        with self._lock:
            self._busy.add(environment)
            provisioned = environment in self._provisioned
        try:
            on_environment(provisioned)
            return dataclasses.replace(environment.invoke(payload), provisioned=provisioned)
        finally:
            with self._lock:
                self._busy.discard(environment)
                retired = environment in self._retired
                self._retired.discard(environment)
                if not environment.closed and not retired:
                    self._idle.setdefault(function_name, []).append((revision, environment))
                    self._idle_since[environment] = time.monotonic()
                elif environment.closed:
                    self._provisioned.discard(environment)
            if retired:
                environment.close()

    def prewarm(self, function_name: str, revision: str, make: Callable[[], ExecutionEnvironment]
                ) -> ExecutionEnvironment:
        """Start an environment ahead of any invocation (provisioned concurrency); InitFailed if it fails."""
        environment = make()
        environment.start()
        environment.initialised_ahead()
        with self._lock:
            self._provisioned.add(environment)
            self._idle.setdefault(function_name, []).append((revision, environment))
        return environment

    def retire(self, function_name: str, environments: list[ExecutionEnvironment]) -> None:
        """Close these environments: at once if idle, after their invocation if busy."""
        with self._lock:
            idle = self._idle.get(function_name, [])
            closing = [env for _, env in idle if env in environments]
            self._idle[function_name] = [(rev, env) for rev, env in idle if env not in environments]
            self._retired |= {env for env in environments if env in self._busy}
            self._provisioned -= set(environments)
        for environment in closing:
            environment.close()

    def forget(self, function_name: str) -> None:
        """Close the function's idle environments (it was deleted); busy ones close after their invocation."""
        with self._lock:
            idle = self._idle.pop(function_name, [])
        for _, environment in idle:
            environment.close()

    def close_all(self) -> None:
        with self._lock:
            environments = [env for idle in self._idle.values() for _, env in idle] + list(self._busy)
            self._idle.clear()
        for environment in environments:
            environment.close()

    def _take(self, function_name: str, revision: str) -> ExecutionEnvironment | None:
        stale = []
        with self._lock:
            idle = self._idle.get(function_name, [])
            stale = [env for rev, env in idle if rev != revision or env.closed]
            usable = [env for rev, env in idle if rev == revision and not env.closed]
            # the most recently used, provisioned ones before on-demand ones
            found = max(reversed(usable), key=lambda env: env in self._provisioned, default=None)
            self._idle[function_name] = [(rev, env) for rev, env in idle if env in usable and env is not found]
            for environment in [found, *stale]:
                self._idle_since.pop(environment, None)
            self._provisioned -= set(stale)
        for environment in stale:
            environment.close()
        return found
