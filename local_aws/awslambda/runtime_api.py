"""The Lambda Runtime API of one execution environment, served on the loopback interface: the runtime
client in the environment (`awslambdaric`) long-polls `GET /2018-06-01/runtime/invocation/next` for its
next event and posts the result to `.../invocation/<request id>/response` or `.../error`; an error while
the function initialises goes to `.../init/error`. Local AWS is the Runtime API server, not the runtime.
"""

import json
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


@dataclass
class Invocation:
    payload: bytes
    deadline_ms: int
    function_arn: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    outcome: Future = field(default_factory=Future)  # an Outcome once the runtime answers


@dataclass(frozen=True)
class Outcome:
    payload: bytes
    error_type: str | None = None  # set when the function failed: the payload is AWS's error object


class RuntimeAPI:
    """One environment's Runtime API: `invoke` hands an event to the runtime and waits for its outcome."""

    def __init__(self):
        self._pending: queue.Queue[Invocation] = queue.Queue()
        self._in_flight: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self.polled = threading.Event()  # the runtime asked for its first event: its init is done
        self.first_poll_at: float | None = None
        self.init_error: Outcome | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="lambda-runtime-api", daemon=True).start()

    @property
    def address(self) -> str:
        """`AWS_LAMBDA_RUNTIME_API` for the runtime: host:port."""
        host, port = self._server.server_address
        return f"{host}:{port}"

    def submit(self, invocation: Invocation) -> Invocation:
        self._pending.put(invocation)
        return invocation

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # What the runtime calls.
    def next_invocation(self) -> Invocation:
        if not self.polled.is_set():
            self.first_poll_at = time.monotonic()
            self.polled.set()
        invocation = self._pending.get()
        with self._lock:
            self._in_flight[invocation.request_id] = invocation
        return invocation

    def answer(self, request_id: str, outcome: Outcome) -> bool:
        with self._lock:
            invocation = self._in_flight.pop(request_id, None)
        if invocation is None or invocation.outcome.done():
            return False
        invocation.outcome.set_result(outcome)
        return True

    def fail_init(self, outcome: Outcome) -> None:
        self.init_error = outcome
        self.polled.set()


def _handler_for(api: RuntimeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart (delayed ACKs)

        def do_GET(self):
            if self.path != f"{PREFIX}/invocation/next":
                return self._reply(HTTPStatus.NOT_FOUND, {"errorMessage": f"unknown path {self.path}"})
            invocation = api.next_invocation()
            self._reply(HTTPStatus.OK, invocation.payload, {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
                "Content-Type": "application/json",
            })

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            error_type = self.headers.get(ERROR_TYPE_HEADER)
            parts = self.path.removeprefix(PREFIX + "/").split("/")
            if parts == ["init", "error"]:
                api.fail_init(Outcome(body, error_type or "Runtime.Unknown"))
                return self._reply(HTTPStatus.ACCEPTED, {"status": "OK"})
            if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                outcome = Outcome(body, (error_type or "Runtime.Unknown") if parts[2] == "error" else None)
                if api.answer(parts[1], outcome):
                    return self._reply(HTTPStatus.ACCEPTED, {"status": "OK"})
                return self._reply(HTTPStatus.BAD_REQUEST, {"errorMessage": f"no invocation {parts[1]} is waiting"})
            self._reply(HTTPStatus.NOT_FOUND, {"errorMessage": f"unknown path {self.path}"})

        def _reply(self, status: HTTPStatus, body, headers: dict[str, str] | None = None) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {"Content-Type": "application/json"}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass  # the environment's own log says what ran

    return Handler
