"""The execution-environment pool's idle reaper on its own, with environments that only record what is done
to them: closing one that takes a while never stalls the reaping of the others."""

import threading
import time

from local_aws.awslambda.environment import Result
from local_aws.awslambda.pool import IDLE_SECONDS_VARIABLE, EnvironmentPool


class SlowToClose:
    """An environment whose close() takes `close_seconds` (a sandbox given its grace to end)."""

    def __init__(self, close_seconds: float):
        self.close_seconds = close_seconds
        self.closed = False
        self.close_started = threading.Event()

    def start(self) -> None:
        pass

    def invoke(self, payload: bytes) -> Result:
        return Result(payload, None, 1.0, None)

    def close(self) -> None:
        self.close_started.set()
        time.sleep(self.close_seconds)
        self.closed = True


def test_reaping_does_not_wait_for_the_expired_environments_to_close(monkeypatch):
    monkeypatch.setenv(IDLE_SECONDS_VARIABLE, "1")
    pool = EnvironmentPool("123456789012", "us-east-1")
    slow = [SlowToClose(close_seconds=5.0) for _ in range(3)]
    for index, environment in enumerate(slow):
        pool.invoke(f"function-{index}", "1:rev", lambda environment=environment: environment, b"{}")

    reaped_at = time.monotonic() + 2
    pool.reap_idle(reaped_at)

    assert not any(environment.closed for environment in slow)  # still closing: the reaper did not wait
    assert all(environment.close_started.wait(2) for environment in slow)  # all three closing at once


def test_an_environment_idle_for_less_than_the_setting_is_kept_warm(monkeypatch):
    monkeypatch.setenv(IDLE_SECONDS_VARIABLE, "60")
    pool = EnvironmentPool("123456789012", "us-east-1")
    environment = SlowToClose(close_seconds=0.0)
    pool.invoke("function", "1:rev", lambda: environment, b"{}")

    pool.reap_idle(time.monotonic() + 30)

    made = []
    pool.invoke("function", "1:rev", lambda: made.append(1) or SlowToClose(0.0), b"{}")
    assert not made and not environment.close_started.is_set()
