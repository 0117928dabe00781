"""A replica's output, kept in a local file and shipped to CloudWatch Logs as SageMaker ships an
endpoint instance's container output: group ``/aws/sagemaker/Endpoints/<endpoint>``, stream
``<variant>/<instance>``."""

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from local_aws.containers.log_streams import LogStream, ensure_log_group

logger = logging.getLogger(__name__)

StreamFactory = Callable[[str], LogStream]


def endpoint_log_group(endpoint_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


def cloudwatch_streams(logs, endpoint_name: str, variant_name: str) -> StreamFactory:
    """``streams(instance_id)``: a new stream of the endpoint's group for one instance."""
    group = endpoint_log_group(endpoint_name)
    ensure_log_group(logs, group)
    return lambda instance_id: LogStream(logs, group, f"{variant_name}/{instance_id}")


def ship_output(output: IO[bytes], log_path: Path, stream: LogStream | None) -> threading.Thread:
    """Copy each line of ``output`` to ``log_path`` and ``stream`` until the process closes it."""

    def copy() -> None:
        shipping = stream
        with output, open(log_path, "ab") as log:
            for raw in output:
                log.write(raw)
                log.flush()
                if shipping is None:
                    continue
                try:
                    # Replicas log little (no access log), so each line goes out at once.
                    shipping.write(raw.decode("utf-8", errors="replace").rstrip("\n"))
                    shipping.flush()
                except Exception:
                    logger.warning("shipping %s to CloudWatch Logs failed; it stays in the local file", log_path,
                                   exc_info=True)
                    shipping = None

    thread = threading.Thread(target=copy, name=f"replica-log-{log_path.stem}", daemon=True)
    thread.start()
    return thread
