"""The edge's keep-alive client for the replica hop, against a scripted loopback server: one write
per request, connections reused and dropped ones replaced, and each failure told apart."""

import socket
import threading
import time

import pytest

from local_aws.hosting.container_connections import (
    ContainerBroken,
    ContainerConnections,
    ContainerSilent,
    ContainerUnreachable,
)


class ScriptedServer:
    """Answers each request it reads with the next scripted step, whatever connection it came on:
    ``("answer", bytes)``, ``("answer and close", bytes)``, ``("close",)`` or ``("ignore",)``.
    Records what each connection received, one entry per read."""

    def __init__(self, steps: list[tuple]):
        self.steps = list(steps)
        self.reads: list[list[bytes]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket):
        reads = []
        self.reads.append(reads)
        with connection:
            while True:
                data = connection.recv(1 << 20)
                if not data or not self.steps:
                    return
                reads.append(data)
                step = self.steps.pop(0)
                if step[0].startswith("answer"):
                    connection.sendall(step[1])
                if step[0].endswith("close"):
                    return

    def close(self):
        self.listener.close()


def ok(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.fixture
def serve():
    servers = []

    def start(replies):
        server = ScriptedServer(replies)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def test_a_request_is_one_write_and_the_connection_is_kept(serve):
    server = serve([("answer", ok(b'{"a": 1}', "X-Amzn-SageMaker-Custom-Attributes: k=v")), ("answer", ok(b"2"))])
    pool = ContainerConnections("127.0.0.1", server.port)
    first = pool.request("POST", "/invocations", b"body", {"Content-Type": "image/jpeg"}, timeout=5)
    second = pool.request("POST", "/invocations", b"more", timeout=5)
    assert (first.status, first.body, first.headers["content-type"]) == (200, b'{"a": 1}', "application/json")
    assert first.headers["x-amzn-sagemaker-custom-attributes"] == "k=v"
    assert second.body == b"2"
    assert pool.opened == 1 and len(server.reads) == 1
    request = server.reads[0][0]
    assert request.startswith(b"POST /invocations HTTP/1.1\r\n") and request.endswith(b"\r\n\r\nbody")
    assert b"Content-Length: 4\r\n" in request and b"Content-Type: image/jpeg\r\n" in request
    pool.close()


def test_a_connection_the_server_closed_while_idle_is_replaced_before_use(serve):
    server = serve([("answer and close", ok(b"1")), ("answer", ok(b"2"))])
    pool = ContainerConnections("127.0.0.1", server.port)
    assert pool.request("GET", "/ping", timeout=5).body == b"1"
    idle = pool._idle[0]
    deadline = time.monotonic() + 5
    while not idle.dropped():
        assert time.monotonic() < deadline, "the closed connection never showed as dropped"
        time.sleep(0.01)
    assert pool.request("GET", "/ping", timeout=5).body == b"2"
    assert pool.opened == 2


def test_a_status_line_without_a_reason_is_read(serve):
    server = serve([("answer", b"HTTP/1.1 204\r\nContent-Length: 0\r\n\r\n")])
    answer = ContainerConnections("127.0.0.1", server.port).request("GET", "/ping", timeout=5)
    assert (answer.status, answer.body) == (204, b"")


def test_connection_close_and_a_body_without_length_end_the_connection(serve):
    server = serve([("answer", ok(b"1", "Connection: close")),
                    ("answer and close", b"HTTP/1.1 500 Oops\r\n\r\nto the end")])
    pool = ContainerConnections("127.0.0.1", server.port)
    assert pool.request("GET", "/ping", timeout=5).body == b"1"
    assert not pool._idle
    answer = pool.request("GET", "/ping", timeout=5)
    assert (answer.status, answer.body) == (500, b"to the end")
    assert pool.opened == 2 and not pool._idle


def test_nothing_listening_is_unreachable():
    with socket.socket() as bound_not_listening:
        bound_not_listening.bind(("127.0.0.1", 0))
        port = bound_not_listening.getsockname()[1]
        with pytest.raises(ContainerUnreachable):
            ContainerConnections("127.0.0.1", port).request("GET", "/ping", timeout=5)


def test_no_answer_in_time_is_silent_and_the_connection_is_dropped(serve):
    server = serve([("ignore",)])
    pool = ContainerConnections("127.0.0.1", server.port)
    with pytest.raises(ContainerSilent):
        pool.request("POST", "/invocations", b"x", timeout=0.3)
    assert not pool._idle


@pytest.mark.parametrize(
    "step",
    [("close",), ("answer and close", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
     ("answer and close", b"garbage\r\n\r\n")],
    ids=["closed-without-answer", "short-body", "not-http"],
)
def test_a_broken_exchange_is_broken(serve, step):
    server = serve([step])
    pool = ContainerConnections("127.0.0.1", server.port)
    with pytest.raises(ContainerBroken):
        pool.request("POST", "/invocations", b"x", timeout=5)
    assert not pool._idle
