"""An execution environment's log lines on their way to CloudWatch Logs, shipped by a thread of their own
so that no invocation waits for PutLogEvents (Lambda ships logs asynchronously too), in one call per
`SHIP_SECONDS` at most however many invocations a busy function serves."""

import logging
import queue
import threading
import time

from local_aws.containers.log_streams import LogStream

logger = logging.getLogger(__name__)
SHIP_SECONDS = 0.5


class LogShipper:
    def __init__(self, stream: LogStream, name: str):
        self._stream = stream
        self._lines: queue.Queue[list[str] | None] = queue.Queue()
        threading.Thread(target=self._ship_until_closed, name=f"lambda-logs-{name}", daemon=True).start()

    def ship(self, lines: list[str]) -> None:
        self._lines.put(lines)

    def close(self) -> None:
        """Ship what is queued, then stop."""
        self._lines.put(None)

    def _ship_until_closed(self) -> None:
        while (lines := self._lines.get()) is not None:
            time.sleep(SHIP_SECONDS)  # let the lines of the next invocations join this call
            batch = list(lines)
            while not self._lines.empty():  # whatever else arrived meanwhile goes in the same call
                more = self._lines.get()
                if more is None:
                    self._lines.put(None)
                    break
                batch += more
            try:
                for line in batch:
                    self._stream.write(line)
                self._stream.flush()
            except Exception:
                logger.warning("shipping Lambda log lines to CloudWatch Logs failed; they stay in the local file",
                               exc_info=True)
