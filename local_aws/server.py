"""`LocalAWS`: the edge served by local_aws.http_server, started and stopped in-process."""

import logging
import tempfile
import threading
from pathlib import Path

from local_aws import http_server, routing, sandbox
from local_aws.access import callers, credentials
from local_aws.access.gate import Gate
from local_aws.cloudwatch.alarm_evaluator import AlarmEvaluator
from local_aws.edge import DEFAULT_REGION, Edge
from local_aws.platform import Platform
from local_aws.supervisor import Supervisor

logger = logging.getLogger(__name__)
_STOP_SECONDS = 10
# The environment variables of `LocalAWS.env`, and the `boto3.client` arguments that say the same.
_CLIENT_ARGUMENTS = {"AWS_ENDPOINT_URL": "endpoint_url", "AWS_DEFAULT_REGION": "region_name",
                     "AWS_ACCESS_KEY_ID": "aws_access_key_id", "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key"}


class LocalAWS:
    """Every AWS service on one loopback URL.

        with LocalAWS(port=0, state_dir=tmp) as aws:
            boto3.client("sagemaker", **aws.client_kwargs)

    Every request must be signed with a key local AWS knows (its own key pair, `aws.credentials`, an
    IAM user's access key, or credentials its STS issued) and come from a host and origin it serves
    (`local_aws.access`). moto keeps its state in module globals, so two instances in one process
    share S3, IAM, logs...; SageMaker state and child processes belong to each instance.
    """

    def __init__(self, port: int = 4566, host: str = "127.0.0.1", state_dir: str | Path | None = None):
        self.host = host
        self.port = port
        # Absolute: jobs run in folders of their own, where a relative path would point elsewhere.
        self._given_state_dir = Path(state_dir).resolve() if state_dir is not None else None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self.supervisor = Supervisor()
        self.platform: Platform | None = None
        self.credentials: credentials.KeyPair | None = None
        self.state_dir: Path | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalAWS is not started")
        return f"http://{self.host}:{self._server.server_port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment a client needs to use this edge as AWS."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": DEFAULT_REGION,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
        }

    @property
    def profile_env(self) -> dict[str, str]:
        """The environment a client process needs, the secret left in the state dir's credentials file."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_DEFAULT_REGION": DEFAULT_REGION,
                **credentials.client_environment(self.state_dir)}

    @property
    def client_kwargs(self) -> dict[str, str]:
        """`env` as keyword arguments of `boto3.client`."""
        return {argument: self.env[variable] for variable, argument in _CLIENT_ARGUMENTS.items()}

    def start(self) -> "LocalAWS":
        if self._given_state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="local-aws-")
            state_dir = Path(self._tmp.name)
        else:
            state_dir = self._given_state_dir
            state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir = state_dir
        self.credentials = credentials.load_or_create(state_dir)
        origins = callers.allowed_origins()
        settings = http_server.ServerSettings.from_environment()
        # Bound first, so that the gate knows the port it serves; the application is set before serving.
        self._server = http_server.HTTPServer(None, self.host, self.port, settings)
        self.platform = Platform(self.url, state_dir, self.supervisor, self.credentials)
        edge = Edge(self.platform)
        gate = Gate(edge, self.credentials, callers.HostPolicy.serving(self._server.server_port),
                    origins, routing.is_route)
        self._server.application = gate
        self._server.screen = gate.screen
        self._server.body_limit = edge.body_limit
        self._server.body_limit_floor = routing.smallest_body_limit()
        self._thread = http_server.serve_in_thread(self._server)
        AlarmEvaluator(self.supervisor.stopping).start()
        logger.info("local_aws serving on %s (state in %s)", self.url, state_dir)
        logger.log(*sandbox.machine_report())
        return self

    def stop(self) -> None:
        """Stop every child process, then the server."""
        if self._server is None:
            return
        self.supervisor.shutdown()
        self._server.stop()
        self._thread.join(timeout=_STOP_SECONDS)
        if self._thread.is_alive():
            logger.warning("the HTTP server's loop did not end within %d s; leaving its daemon thread", _STOP_SECONDS)
        self._server.join_workers()
        self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> "LocalAWS":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
