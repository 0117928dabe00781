"""Lambda's concurrency in one account and region: each invocation holds one unit while it runs; a function
with reserved concurrency never holds more than its reservation, the others share what is not reserved;
over the limit an invocation is throttled (429 TooManyRequestsException with AWS's Reason).

The account's limit is `LOCAL_AWS_LAMBDA_CONCURRENCY` (default: 10 per core; AWS's default is 1,000),
and, as AWS keeps 100 of its 1,000 unreserved, a reservation may not leave less than a tenth of it
(at least one) unreserved.
"""

import os
import threading

from local_aws.settings import positive_setting

LIMIT_VARIABLE = "LOCAL_AWS_LAMBDA_CONCURRENCY"
RESERVED_LIMIT_EXCEEDED = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT_EXCEEDED = "ConcurrentInvocationLimitExceeded"


class Throttled(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Concurrency:
    def __init__(self, account_id: str, region: str):
        self.limit = positive_setting(LIMIT_VARIABLE, 10 * (os.cpu_count() or 1), kind=int)
        self.minimum_unreserved = max(1, self.limit // 10)
        self._changed = threading.Condition()
        self._reserved: dict[str, int] = {}
        self._running: dict[str, int] = {}

    def reservation(self, function_name: str) -> int | None:
        with self._changed:
            return self._reserved.get(function_name)

    def reserve(self, function_name: str, count: int) -> None:
        """PutFunctionConcurrency; ValueError (worded as AWS words it) if it leaves too little unreserved."""
        with self._changed:
            others = sum(n for name, n in self._reserved.items() if name != function_name)
            if self.limit - others - count < self.minimum_unreserved:
                raise ValueError(
                    "Specified ReservedConcurrentExecutions for function decreases account's "
                    f"UnreservedConcurrentExecution below its minimum value of [{self.minimum_unreserved}].")
            self._reserved[function_name] = count
            self._changed.notify_all()

    def unreserve(self, function_name: str) -> None:
        with self._changed:
            self._reserved.pop(function_name, None)
            self._changed.notify_all()

    def acquire(self, function_name: str, wait: bool = False) -> None:
        """Hold a unit for one invocation; Throttled when none is free (with `wait`, as Lambda's queue does
        for an asynchronous invocation, wait until one is)."""
        with self._changed:
            while (reason := self._over_limit(function_name)) is not None:
                if not wait:
                    raise Throttled(reason)
                self._changed.wait()
            self._running[function_name] = self._running.get(function_name, 0) + 1

    def release(self, function_name: str) -> None:
        with self._changed:
            self._running[function_name] -= 1
            self._changed.notify_all()

    def _over_limit(self, function_name: str) -> str | None:
        reserved = self._reserved.get(function_name)
        if reserved is not None:
            return RESERVED_LIMIT_EXCEEDED if self._running.get(function_name, 0) >= reserved else None
        unreserved_running = sum(n for name, n in self._running.items() if name not in self._reserved)
        unreserved = self.limit - sum(self._reserved.values())
        return ACCOUNT_LIMIT_EXCEEDED if unreserved_running >= unreserved else None
