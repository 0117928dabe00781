"""Keep-alive HTTP/1.1 connections from the edge to one replica's container.

This hop is internal: both ends belong to local_aws, and the replica server frames every response
with ``Content-Length``, so the client here speaks just that much HTTP. A general-purpose client
(urllib3 over http.client) parses each response's headers through the email package, writes a
request's header block and body separately and re-arms socket timeouts on every use; on a small
model that came to about half a millisecond of the edge's CPU per invocation, a sixth of the
model's own time. A request here is one write and buffered reads.

Failures are told apart the way the router needs them: :class:`ContainerUnreachable` (nothing was
sent: the replica is gone and another one may take the request), :class:`ContainerSilent` (no
answer within the read timeout) and :class:`ContainerBroken` (the connection failed mid-exchange).
"""

import select
import socket
import threading
from collections import deque
from dataclasses import dataclass

MAX_HEADER_LINES = 100
MAX_LINE_BYTES = 65536


class ContainerUnreachable(Exception):
    """No connection could be made; the request was not sent."""


class ContainerSilent(Exception):
    """The container did not answer within the read timeout."""


class ContainerBroken(Exception):
    """The connection failed after the request was (partly) sent."""


@dataclass(frozen=True)
class ContainerAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def _status_code(status_line: bytes) -> int:
    """The code of ``HTTP/1.x CODE [reason]``."""
    fields = status_line.decode("latin-1").split(None, 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/1.") or not fields[1].isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    return int(fields[1])


class _Connection:
    def __init__(self, address: tuple[str, int], connect_timeout: float):
        try:
            self.sock = socket.create_connection(address, timeout=connect_timeout)
        except OSError as error:
            raise ContainerUnreachable(f"cannot connect to {address[0]}:{address[1]}: {error}") from error
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")
        self.timeout = connect_timeout
        self._poll = select.poll()
        self._poll.register(self.sock, select.POLLIN)

    def dropped(self) -> bool:
        """An idle connection with something to read has been closed (or broken) by the server."""
        return bool(self._poll.poll(0))

    def exchange(self, request: bytes, timeout: float) -> ContainerAnswer:
        if timeout != self.timeout:
            self.sock.settimeout(timeout)
            self.timeout = timeout
        self.sock.sendall(request)
        status_line = self.reader.readline(MAX_LINE_BYTES + 1)
        if not status_line:
            raise ConnectionResetError("the container closed the connection without answering")
        status = _status_code(status_line)
        headers = {}
        for _ in range(MAX_HEADER_LINES):
            line = self.reader.readline(MAX_LINE_BYTES + 1)
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise ConnectionResetError("the container closed the connection inside the headers")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        else:
            raise ValueError(f"more than {MAX_HEADER_LINES} header lines")
        length = headers.get("content-length")
        if length is None:
            body = self.reader.read()
            headers["connection"] = "close"
        else:
            body = self.reader.read(int(length))
            if len(body) < int(length):
                raise ConnectionResetError(f"the container sent {len(body)} of {length} body bytes")
        return ContainerAnswer(status, headers, body)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class ContainerConnections:
    """A pool of keep-alive connections to one container at ``host:port``, safe across threads."""

    def __init__(self, host: str, port: int, connect_timeout: float = 2.0, max_idle: int = 32):
        self.address = (host, port)
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self.opened = 0  # connections made so far
        self._idle: deque[_Connection] = deque()
        self._lock = threading.Lock()
        self._closed = False

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                timeout: float = 60.0) -> ContainerAnswer:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.address[0]}:{self.address[1]}",
                f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        connection = self._checkout()
        try:
            answer = connection.exchange(request, timeout)
        except TimeoutError as error:
            connection.close()
            raise ContainerSilent(f"no answer from {self._where()} within {timeout} s") from error
        except (OSError, ValueError) as error:
            connection.close()
            raise ContainerBroken(f"{self._where()}: {error}") from error
        if answer.headers.get("connection", "").lower() == "close":
            connection.close()
        else:
            self._checkin(connection)
        return answer

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = list(self._idle), deque()
        for connection in idle:
            connection.close()

    def _checkout(self) -> _Connection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                break
            if not connection.dropped():
                return connection
            connection.close()
        connection = _Connection(self.address, self.connect_timeout)
        with self._lock:
            self.opened += 1
        return connection

    def _checkin(self, connection: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def _where(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"
