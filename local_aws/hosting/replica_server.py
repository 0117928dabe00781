"""One endpoint instance: a model served on the SageMaker container contract.

Run by the fleet manager as ``python -m local_aws.hosting.replica_server``. It serves on a
listening socket the manager already bound (so the port is known before the process starts and no
two replicas race for one), answers ``GET /ping`` with 503 while ``model_fn`` runs and 200 once the
model is loaded, and ``POST /invocations`` through :class:`InferenceHandler`. A load failure is
written to the failure file (as SageMaker containers write ``/opt/ml/output/failure``) and the
process exits with status 1.
"""

import argparse
import os
import socket
import sys
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from local_aws.hosting.inference_handler import (
    DEFAULT_ENTRY_POINT,
    InferenceHandler,
    InvocationError,
    ModelLoadError,
)

class ContainerRequestHandler(BaseHTTPRequestHandler):
    # Keep-alive connections from the edge's pool, and no Nagle delay between the header and the
    # body writes of a response (40 ms stalls against delayed ACKs otherwise).
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    # A response's header block and body leave in one write (flushed after each request), so the
    # edge's reading thread is woken once per response, not twice.
    wbufsize = 64 * 1024

    def handle_expect_100(self):
        # The interim response must leave before the client sends the body: flush it past wbufsize.
        answered = super().handle_expect_100()
        self.wfile.flush()
        return answered

    def do_GET(self):
        if self.path != "/ping":
            self._reply(HTTPStatus.NOT_FOUND, b"unknown path\n")
        elif self.server.handler is None:
            self._reply(HTTPStatus.SERVICE_UNAVAILABLE, b"model is loading\n")
        else:
            self._reply(HTTPStatus.OK, b"\n")

    def do_POST(self):
        if self.path != "/invocations":
            self._reply(HTTPStatus.NOT_FOUND, b"unknown path\n")
            return
        length = self.headers.get("Content-Length")
        if length is None:
            self._reply(HTTPStatus.LENGTH_REQUIRED, b"Content-Length is required\n")
            return
        body = self.rfile.read(int(length))
        handler = self.server.handler
        if handler is None:
            self._reply(HTTPStatus.SERVICE_UNAVAILABLE, b"model is loading\n")
            return
        try:
            response = handler.invoke(body, self.headers.get("Content-Type"), self.headers.get("Accept"))
        except InvocationError as error:
            traceback.print_exception(error.__cause__ or error, file=sys.stderr)
            self._reply(error.status_code, error.message.encode("utf-8"))
            return
        self._reply(HTTPStatus.OK, response.body, response.content_type)

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        # One access line per request would cost more than a small model's forward pass; failures
        # are logged with their traceback instead.
        pass


class ReplicaServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listening_socket: socket.socket):
        super().__init__(listening_socket.getsockname(), ContainerRequestHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = listening_socket
        self.handler: InferenceHandler | None = None


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="the extracted model.tar.gz")
    parser.add_argument("--listen-fd", type=int, required=True, help="an inherited listening socket")
    parser.add_argument("--failure-file", type=Path, required=True, help="where a load error is written")
    return parser


def main(args: argparse.Namespace) -> int:
    server = ReplicaServer(socket.socket(fileno=args.listen_fd))
    threading.Thread(target=server.serve_forever, name="container-http", daemon=True).start()
    try:
        server.handler = InferenceHandler(
            args.model_dir,
            entry_point=os.environ.get("SAGEMAKER_PROGRAM") or DEFAULT_ENTRY_POINT,
            default_accept=os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or "application/json",
        )
    except ModelLoadError as error:
        traceback.print_exc()
        args.failure_file.write_text(str(error))
        return 1
    print(f"model loaded from {args.model_dir}, serving on port {server.server_address[1]}", file=sys.stderr)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
