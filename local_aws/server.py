"""`LocalAWS`: the edge served by a threaded WSGI server, started and stopped in-process."""

import io
import logging
import tempfile
import threading
from pathlib import Path

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import make_server

from local_aws import registry
from local_aws.access import callers, credentials
from local_aws.access.gate import Gate
from local_aws.edge import DEFAULT_REGION, Edge
from local_aws.platform import Platform
from local_aws.supervisor import Supervisor

logger = logging.getLogger(__name__)


class _RequestBody(io.RawIOBase):
    """A request's body and not a byte past it, so the next request on the connection stays unread."""

    def __init__(self, stream, length: int):
        self._stream = stream
        self.remaining = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.remaining <= 0:
            return 0
        count = self._stream.readinto(memoryview(buffer)[: self.remaining]) or 0
        self.remaining -= count
        return count

    def read(self, size: int | None = -1) -> bytes:
        # Never allocate past the body: werkzeug drains with read(10_000_000) after each response.
        limit = self.remaining if size is None or size < 0 else min(size, self.remaining)
        return super().read(limit)


class _QuietRequestHandler(MotoRequestHandler):
    """Werkzeug's handler with HTTP/1.1 keep-alive restored.

    Werkzeug's development server closes every connection, because it cannot tell where a body
    ends before the next request begins; a new connection and thread per request cost about a
    millisecond of CPU, which an endpoint invocation pays on top of the model. Requests whose body
    length is known are served with keep-alive: the body is read through :class:`_RequestBody`,
    and whatever the application left unread is discarded before the next request. Chunked
    requests, HTTP/1.0 and ``Connection: close`` keep werkzeug's close-after-response behaviour.
    """

    protocol_version = "HTTP/1.1"
    # No Nagle delay on a connection that stays open (a second write would wait for the client's
    # delayed ACK, 40 ms); and a response's header block and body leave in one write, werkzeug
    # flushing once per body chunk, so the client is woken once per response.
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    _keep_alive = False

    def run_wsgi(self) -> None:
        self._keep_alive = (
            self.request_version == "HTTP/1.1"
            and not self.close_connection
            and "chunked" not in self.headers.get("Transfer-Encoding", "").lower()
        )
        if not self._keep_alive:
            return super().run_wsgi()
        connection_stream = self.rfile
        body = self.rfile = _RequestBody(connection_stream, int(self.headers.get("Content-Length") or 0))
        try:
            super().run_wsgi()
            while body.remaining > 0 and body.read(1 << 20):
                pass
        finally:
            self.rfile = connection_stream
        if body.remaining > 0:
            self.close_connection = True

    def make_environ(self):
        # Werkzeug has just written the interim "100 Continue" (if the client asked for one) and
        # does not flush it; the client waits for it (botocore a second, on every S3 upload)
        # before sending the body.
        self.wfile.flush()
        return super().make_environ()

    def send_header(self, keyword: str, value: str) -> None:
        if self._keep_alive and keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)

    # The edge logs one line per request itself, with the service and action.
    def log_request(self, code="-", size="-"):
        pass


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
        return {
            "endpoint_url": self.url,
            "region_name": DEFAULT_REGION,
            "aws_access_key_id": self.credentials.access_key_id,
            "aws_secret_access_key": self.credentials.secret_access_key,
        }

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
        self._server = make_server(
            self.host, self.port, app=None, threaded=True, request_handler=_QuietRequestHandler
        )
        self._server.daemon_threads = True
        self.platform = Platform(self.url, state_dir, self.supervisor, self.credentials)
        self._server.app = Gate(Edge(self.platform), self.credentials,
                                callers.HostPolicy.serving(self._server.server_port), origins, registry.is_route)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-aws-edge", daemon=True)
        self._thread.start()
        logger.info("local_aws serving on %s (state in %s)", self.url, state_dir)
        return self

    def stop(self) -> None:
        """Stop every child process, then the server."""
        if self._server is None:
            return
        self.supervisor.shutdown()
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> "LocalAWS":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
