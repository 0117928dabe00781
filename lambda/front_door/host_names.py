"""What counts as an IP address when it appears where a host name should be."""

from __future__ import annotations

import ipaddress
import socket


def is_ip_literal(host: str) -> bool:
    """True for any spelling the C resolver would read as an address: 2130706433, 0x7f.1, 0177.0.0.1, ::1."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
        return True
    except OSError:
        return False
