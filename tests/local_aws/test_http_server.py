"""The HTTP server on its own, with an application that takes its time: a keep-alive connection's next
request is read while one is served, answers keep their order, a client that shuts its sending side
still gets its answer, and a worker that answered never leaves the next request unread (the loop would
otherwise only notice it on its one-second timeout)."""

import http.client
import socket
import threading
import time

import pytest

from local_aws.http_server import HTTPServer, ServerSettings, serve_in_thread

SERVICE_SECONDS = 0.3


def application(environ, start_response):
    """Answers with the request's path after `?sleep=` seconds (0 if not given)."""
    query = environ["QUERY_STRING"]
    if query.startswith("sleep="):
        time.sleep(float(query.removeprefix("sleep=")))
    body = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def server():
    served = HTTPServer(application, "127.0.0.1", 0, ServerSettings(threads=4))
    thread = serve_in_thread(served)
    yield served
    served.stop()
    thread.join(timeout=10)
    served.join_workers()


def _connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.server_port), timeout=10)


def _request(path: str, sleep: float = 0.0) -> bytes:
    return f"GET {path}?sleep={sleep} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def _answers(connection: socket.socket, count: int) -> list[bytes]:
    """The bodies of the next `count` answers, each a 200 with a Content-Length."""
    reader = connection.makefile("rb")
    bodies = []
    for _ in range(count):
        status = reader.readline()
        assert status.startswith(b"HTTP/1.1 200 "), status
        headers = http.client.parse_headers(reader)
        bodies.append(reader.read(int(headers["Content-Length"])))
    return bodies


def test_a_client_that_shuts_its_sending_side_while_served_still_gets_its_answer(server):
    with _connect(server) as connection:
        connection.sendall(_request("/half-closed", SERVICE_SECONDS))
        connection.shutdown(socket.SHUT_WR)
        assert _answers(connection, 1) == [b"/half-closed"]
        answered = time.monotonic()
        connection.settimeout(5)
        assert connection.recv(1) == b"", "the connection closes once the answer is sent"
    # The worker that answered woke the loop to close it, not the loop's own one-second timeout.
    assert time.monotonic() - answered < 0.5


def test_requests_sent_while_one_is_served_are_answered_in_order(server):
    with _connect(server) as connection:
        connection.sendall(_request("/first", SERVICE_SECONDS))
        time.sleep(SERVICE_SECONDS / 3)  # the first is being served when the others arrive
        connection.sendall(_request("/second", SERVICE_SECONDS) + _request("/third") + _request("/fourth"))
        assert _answers(connection, 4) == [b"/first", b"/second", b"/third", b"/fourth"]


def test_a_keep_alive_clients_requests_are_each_read_at_once(server):
    with _connect(server) as connection:
        slowest = 0.0
        for index in range(200):
            started = time.monotonic()
            connection.sendall(_request(f"/{index}"))
            assert _answers(connection, 1) == [f"/{index}".encode()]
            slowest = max(slowest, time.monotonic() - started)
    # A request left unread until the loop's own timeout would take a second.
    assert slowest < 0.9, slowest


def test_clients_on_many_connections_at_once_are_all_answered(server):
    failures = []

    def client(number: int) -> None:
        try:
            with _connect(server) as connection:
                for index in range(20):
                    connection.sendall(_request(f"/{number}/{index}"))
                    assert _answers(connection, 1) == [f"/{number}/{index}".encode()]
        except Exception as error:  # noqa: BLE001 - reported below with its client
            failures.append((number, error))

    threads = [threading.Thread(target=client, args=(number,)) for number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures


def test_an_empty_body_sent_with_expect_continue_is_answered_at_once(server):
    # boto3 sends PutObject of b"" so: `Expect: 100-continue` and `Content-Length: 0`. Waitress 3.0.2
    # would send `100 Continue` and then wait for a body that was complete before it started.
    with _connect(server) as connection:
        connection.sendall(b"PUT /empty HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                           b"Content-Length: 0\r\n\r\n")
        assert _answers(connection, 1) == [b"/empty"]
        connection.sendall(b"PUT /then HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                           b"Content-Length: 4\r\n\r\n")
        reader = connection.makefile("rb")
        assert reader.readline() == b"HTTP/1.1 100 Continue\r\n" and reader.readline() == b"\r\n"
        connection.sendall(b"body")
        assert _answers(connection, 1) == [b"/then"]
