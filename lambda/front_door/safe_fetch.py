"""Fetches an image URL under the rules of `url_policy`: the I/O half of SSRF protection.

Each hop (the URL and up to `max_redirects` redirects) is parsed and vetted, its host resolved once by
`resolve_addresses` and every address checked; the connection then goes to a vetted address while the
Host header, TLS SNI and certificate check use the host name, so DNS is never asked a second time (no
rebinding window). One deadline covers every hop, connect, send and read, including a server that drips
bytes; the size cap is enforced while streaming.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
from urllib.parse import urljoin

from front_door.errors import InvalidValue, PayloadTooLarge
from front_door.url_policy import FetchPolicy, IPAddress, Target, parse_target, vet_addresses

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_USER_AGENT = "dog-breed-front-door/1"
# Built once per container: loading the CA bundle costs milliseconds.
TLS_CONTEXT = ssl.create_default_context()


class FetchTimeout(InvalidValue):
    def __init__(self, timeout_seconds: float) -> None:
        super().__init__("ImageFetchTimeout", f"fetching the image URL took longer than {timeout_seconds:g} s")


def resolve_addresses(host: str, port: int) -> list[IPAddress]:
    """The one DNS lookup per hop; tests replace this function to simulate hostile resolvers."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InvalidValue("ImageFetchFailed", f"host {host!r} cannot be resolved") from None
    # A scope suffix (fe80::1%eth0) is not part of the address; the address itself is still vetted.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))


def fetch_image(url: str, policy: FetchPolicy) -> bytes:
    deadline = time.monotonic() + policy.timeout_seconds
    for _ in range(policy.max_redirects + 1):
        target = parse_target(url, policy)
        addresses = vet_addresses(target.host, resolve_addresses(target.host, target.port), policy)
        status, location, body = _get(target, addresses, policy, deadline)
        if status not in _REDIRECTS:
            return body
        url = urljoin(target.url, location)
    raise InvalidValue("TooManyRedirects", f"the image URL redirected more than {policy.max_redirects} times")


def _get(
    target: Target, addresses: list[IPAddress], policy: FetchPolicy, deadline: float
) -> tuple[int, str, bytes]:
    connection = None
    try:
        connection = _connect(target, addresses, deadline)
        connection.request(
            "GET",
            target.request_path,
            headers={
                "Host": target.host_header,
                "User-Agent": _USER_AGENT,
                "Accept": "image/jpeg, image/png",
                "Accept-Encoding": "identity",
            },
        )
        response = connection.getresponse()
        if response.status in _REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise InvalidValue("ImageFetchFailed", f"the image URL answered HTTP {response.status} without Location")
            return response.status, location, b""
        if response.status != 200:
            raise InvalidValue("ImageFetchFailed", f"the image URL answered HTTP {response.status}, not 200")
        return response.status, "", _read_capped(response, policy.max_bytes)
    except TimeoutError:
        raise FetchTimeout(policy.timeout_seconds) from None
    except ssl.SSLError as error:
        raise InvalidValue("ImageFetchFailed", f"TLS with {target.host!r} failed: {error.reason}") from None
    except (OSError, http.client.HTTPException) as error:
        raise InvalidValue("ImageFetchFailed", f"reading from {target.host!r} failed: {type(error).__name__}") from None
    finally:
        if connection is not None:
            connection.close()


def _read_capped(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    too_large = PayloadTooLarge("ImageTooLarge", f"the image URL serves more than {max_bytes} bytes (MAX_IMAGE_BYTES)")
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    received = bytearray()
    while chunk := response.read(min(_CHUNK, max_bytes + 1 - len(received))):
        received += chunk
        if len(received) > max_bytes:
            raise too_large
    return bytes(received)


def _connect(target: Target, addresses: list[IPAddress], deadline: float) -> http.client.HTTPConnection:
    """The first vetted address that accepts; a timeout or a TLS failure ends the fetch rather than
    moving on, since the deadline is spent or the host name is not who it claims to be."""
    failures = []
    for address in addresses:
        connection = _PinnedConnection(target, address, deadline)
        try:
            connection.connect()
            return connection
        except (TimeoutError, ssl.SSLError):
            raise
        except OSError as error:
            failures.append(type(error).__name__)
    raise InvalidValue("ImageFetchFailed", f"could not connect to {target.host!r} ({', '.join(failures)})")


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to one vetted address that still presents the host name to the server."""

    def __init__(self, target: Target, address: IPAddress, deadline: float) -> None:
        super().__init__(target.host, target.port)
        self._target = target
        self._address = address
        self._deadline = deadline

    def connect(self) -> None:
        raw = socket.create_connection((str(self._address), self.port), timeout=_remaining(self._deadline))
        try:
            sock = TLS_CONTEXT.wrap_socket(raw, server_hostname=self._target.host) if self._target.scheme == "https" else raw
        except BaseException:
            raw.close()
            raise
        self.sock = _DeadlineSocket(sock, self._deadline)


class _DeadlineSocket:
    """Re-arms the socket timeout to the time left before every operation, so the deadline is total
    rather than per read (a server sending one byte a second would otherwise never time out).

    Like a real socket, it stays open while a response still reads from it: http.client closes the
    connection's socket right after the headers when the server will close the connection."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._open_readers = 0
        self._closed = False

    def arm(self) -> socket.socket:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock

    def sendall(self, data: bytes) -> None:
        self.arm().sendall(data)

    def makefile(self, mode: str) -> io.BufferedReader:
        self._open_readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def reader_closed(self) -> None:
        self._open_readers -= 1
        self._release()

    def close(self) -> None:
        self._closed = True
        self._release()

    def _release(self) -> None:
        if self._closed and not self._open_readers:
            self._sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._sock.arm().recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._sock.reader_closed()
        super().close()


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the fetch deadline has passed")
    return remaining
