"""A bounded load of concurrent clients for fault tests: each client calls ``request()`` in a loop until
the load stops, and every call's outcome and duration is kept, so a test can count what failed, how, and
whether anything took too long."""

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    started: float  # monotonic
    seconds: float
    answer: object = None  # what request() returned
    error: Exception | None = None


class Load:
    """``with Load(request, clients=3) as load: ...``; ``load.outcomes`` once the block ends."""

    def __init__(self, request: Callable[[], object], clients: int = 3):
        self._request = request
        self._clients = clients
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> "Load":
        self._pool = ThreadPoolExecutor(max_workers=self._clients, thread_name_prefix="load")
        self._futures = [self._pool.submit(self._client) for _ in range(self._clients)]
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for future in self._futures:
            future.result()
        self._pool.shutdown()

    def _client(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                outcome = Outcome(started, 0.0, answer=self._request())
            except Exception as error:  # every failure is data: the test judges it
                outcome = Outcome(started, 0.0, error=error)
            with self._lock:
                self.outcomes.append(Outcome(outcome.started, time.monotonic() - started, outcome.answer,
                                             outcome.error))

    def answered_since(self, moment: float) -> int:
        """Calls started after ``moment`` (monotonic) that succeeded."""
        with self._lock:
            return sum(1 for o in self.outcomes if o.started >= moment and o.error is None)

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.error is not None]

    def failure_kinds(self, kind: Callable[[Exception], str]) -> Counter:
        return Counter(kind(outcome.error) for outcome in self.failures)

    @property
    def longest(self) -> float:
        return max((outcome.seconds for outcome in self.outcomes), default=0.0)
