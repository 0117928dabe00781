"""Raw-socket probes of HTTP behaviour that clients cannot show (they hide interim responses)."""

import socket


def interim_response_before_body(host: str, port: int, head: bytes) -> bytes:
    """Send a request's head asking for ``100 Continue`` and return what comes back before the body
    is sent (nothing, if the server holds the interim response back)."""
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(head)
        connection.settimeout(0.5)
        try:
            return connection.recv(1024)
        except TimeoutError:
            return b""
