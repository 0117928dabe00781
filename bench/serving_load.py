"""A bounded load generator for bench_serving: phases of concurrent clients, each paced or flat out, every call's
outcome and duration kept, with the CPU this process and local AWS spent meanwhile.

A client calls ``call()`` (which returns an HTTP status) in a loop for the phase's length: at ``rate`` calls a
second when paced, else back to back. A throttled call (429) is followed by a short pause, as a polite client
backs off, so that throttled clients do not spin on the cores the served ones need.
"""

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

BACKOFF_AFTER_THROTTLE_SECONDS = 0.05


@dataclass(frozen=True)
class Phase:
    name: str
    clients: int
    seconds: float
    rate: float | None = None  # calls a second per client; None: back to back

    @property
    def load(self) -> str:
        return f"{self.clients} x {self.rate:g}/s" if self.rate else f"{self.clients} flat out"


@dataclass(frozen=True)
class Outcome:
    started: float  # time.time(), to match log timestamps
    seconds: float
    status: str  # "200", "429", "503", ..., or "client error: ..."


@dataclass
class PhaseResult:
    phase: Phase
    started: float  # time.time()
    ended: float
    outcomes: list[Outcome] = field(default_factory=list)
    generator_cpu: float = 0.0  # seconds of this process's CPU
    local_aws_cpu: float = 0.0  # seconds of the edge's and its children's (replicas, function environments)

    @property
    def elapsed(self) -> float:
        return self.ended - self.started

    @property
    def statuses(self) -> Counter:
        return Counter(outcome.status for outcome in self.outcomes)

    def latencies(self, status: str = "200") -> list[float]:
        return sorted(outcome.seconds for outcome in self.outcomes if outcome.status == status)

    def percentile(self, fraction: float, status: str = "200") -> float:
        values = self.latencies(status)
        if not values:
            return float("nan")
        return statistics.median(values) if fraction == 0.5 else values[min(len(values) - 1, int(len(values) * fraction))]

    @property
    def served_per_second(self) -> float:
        return self.statuses["200"] / self.elapsed

    def count(self, predicate: Callable[[str], bool]) -> int:
        return sum(number for status, number in self.statuses.items() if predicate(status))


def is_5xx(status: str) -> bool:
    return status[:1] == "5"


def is_other_failure(status: str) -> bool:
    """Neither served, throttled nor a 5xx: another 4xx, or no HTTP answer at all."""
    return status not in ("200", "429") and not is_5xx(status)


def cpu_by_process(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds so far of each process still running, by pid."""
    found = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        found[process.pid] = times.user + times.system
    return found


def cpu_since(before: dict[int, float], processes: list[psutil.Process]) -> float:
    """CPU seconds spent since ``before`` by the processes running now (one that started meanwhile from its
    start; one that ended meanwhile is not counted, so this is a lower bound)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in cpu_by_process(processes).items())


def process_tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def run_phase(phase: Phase, call: Callable[[], str], edge: psutil.Process) -> PhaseResult:
    """``phase.clients`` threads calling ``call`` for ``phase.seconds``."""
    this_process = psutil.Process()
    generator_before, local_aws_before = cpu_by_process([this_process]), cpu_by_process(process_tree(edge))
    result = PhaseResult(phase, time.time(), 0.0)
    lock = threading.Lock()
    deadline = time.monotonic() + phase.seconds

    def client(offset: float) -> None:
        interval = 1 / phase.rate if phase.rate else 0.0
        next_call = time.monotonic() + offset * interval
        while True:
            if interval:
                time.sleep(max(0.0, next_call - time.monotonic()))
                next_call += interval
            if time.monotonic() >= deadline:
                return
            started, clock = time.time(), time.perf_counter()
            try:
                status = call()
            except Exception as error:  # no HTTP answer: counted, never hidden
                status = f"client error: {type(error).__name__}"
            with lock:
                result.outcomes.append(Outcome(started, time.perf_counter() - clock, status))
            if status == "429":
                time.sleep(BACKOFF_AFTER_THROTTLE_SECONDS)

    threads = [threading.Thread(target=client, args=(index / phase.clients,)) for index in range(phase.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.ended = time.time()
    result.generator_cpu = cpu_since(generator_before, [this_process])
    result.local_aws_cpu = cpu_since(local_aws_before, process_tree(edge))
    return result


class InstanceCounts:
    """The endpoint's (CurrentInstanceCount, DesiredInstanceCount) sampled every ``interval`` seconds, in the
    background, for as long as the ``with`` block runs."""

    def __init__(self, sagemaker, endpoint_name: str, interval: float = 0.25):
        self._sagemaker, self._name, self._interval = sagemaker, endpoint_name, interval
        self._stop = threading.Event()
        self.samples: list[tuple[float, int, int]] = []  # (time.time(), current, desired)

    def __enter__(self) -> "InstanceCounts":
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                [variant] = self._sagemaker.describe_endpoint(EndpointName=self._name)["ProductionVariants"]
            except Exception:  # an endpoint mid-update may answer without variants for a moment
                continue
            self.samples.append((time.time(), variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]))

    def during(self, started: float, ended: float) -> list[tuple[float, int, int]]:
        return [sample for sample in self.samples if started <= sample[0] <= ended]

    def first_time(self, after: float, reached: Callable[[int, int], bool]) -> float | None:
        """When (time.time()) a sample after ``after`` first satisfied ``reached(current, desired)``."""
        return next((at for at, current, desired in self.samples if at >= after and reached(current, desired)), None)
