"""Container output shipped to CloudWatch Logs the way SageMaker's agents ship it."""

import threading
import time

from botocore.exceptions import ClientError

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
_MAX_BATCH = 1000


def ensure_log_group(logs, group: str) -> None:
    try:
        logs.create_log_group(logGroupName=group)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise


class LogStream:
    """Buffers lines and puts them as events of one stream; `flush` may be called from any thread."""

    def __init__(self, logs, group: str, stream: str):
        self._logs = logs
        self._group = group
        self._stream = stream
        self._lock = threading.Lock()
        self._pending: list[dict] = []
        logs.create_log_stream(logGroupName=group, logStreamName=stream)

    def write(self, message: str) -> None:
        if not message:  # CloudWatch Logs holds no empty event (PutLogEvents refuses one): a blank line is skipped
            return
        with self._lock:
            self._pending.append({"timestamp": int(time.time() * 1000), "message": message})
            full = len(self._pending) >= _MAX_BATCH
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
            if events:
                self._logs.put_log_events(logGroupName=self._group, logStreamName=self._stream, logEvents=events)
