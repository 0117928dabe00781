"""Which URLs and which addresses the front door may fetch an image from: pure decisions, no I/O.

The rules keep a caller from turning the function into a proxy into its own network (SSRF): only
allowlisted host names, never IP literals in any spelling, and every address a name resolves to must be
publicly routable. Messages never echo resolved addresses, so a refusal cannot be used to map the network.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from front_door.errors import InvalidValue
from front_door.host_names import is_ip_literal
from front_door.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"https": 443, "http": 80}
# RFC 3986 reserved and unreserved characters plus "%", so an already encoded URL is sent unchanged.
_URL_SAFE = "%/:@!$&'()*+,;=?-._~"
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


@dataclass(frozen=True)
class FetchPolicy:
    allowed_hosts: frozenset[str]
    allowed_schemes: frozenset[str]
    allow_loopback: bool
    max_bytes: int
    timeout_seconds: float
    max_redirects: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            allowed_hosts=settings.allowed_image_hosts,
            allowed_schemes=frozenset({"https", "http"} if settings.allow_http_image_urls else {"https"}),
            allow_loopback=settings.allow_loopback_for_tests,
            max_bytes=settings.max_image_bytes,
            timeout_seconds=settings.image_fetch_timeout_seconds,
        )


@dataclass(frozen=True)
class Target:
    """A vetted URL split into what the connection needs: where to connect and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    request_path: str

    @property
    def host_header(self) -> str:
        default = _DEFAULT_PORTS[self.scheme] == self.port
        return self.host if default else f"{self.host}:{self.port}"


def parse_target(url: str, policy: FetchPolicy) -> Target:
    if not policy.allowed_hosts:
        raise InvalidValue(
            "UrlInputDisabled", "URL input is disabled (ALLOWED_IMAGE_HOSTS is empty): send the image itself"
        )
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise InvalidValue("InvalidUrl", "the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidValue("InvalidUrl", f"the URL cannot be parsed: {error}") from None
    if port == 0:
        raise InvalidValue("InvalidUrl", "port 0 cannot be connected to")
    scheme = parts.scheme.lower()
    if scheme not in policy.allowed_schemes:
        allowed = " or ".join(sorted(policy.allowed_schemes))
        raise InvalidValue("UrlSchemeNotAllowed", f"only {allowed} URLs are fetched, not {scheme or 'a relative URL'!r}")
    if parts.username is not None or parts.password is not None:
        raise InvalidValue("InvalidUrl", "URLs with credentials (user@host) are not accepted")
    host = _ascii_host(parts.hostname or "")
    if is_ip_literal(host):
        raise InvalidValue("HostNotAllowed", "IP address hosts are not accepted: use an allowlisted host name")
    if host not in policy.allowed_hosts:
        raise InvalidValue("HostNotAllowed", f"host {host!r} is not in ALLOWED_IMAGE_HOSTS")
    # http.client sends the request line as ASCII, so anything else is percent-encoded here.
    path = quote(parts.path or "/", safe=_URL_SAFE)
    query = quote(parts.query, safe=_URL_SAFE)
    return Target(
        url=url,
        scheme=scheme,
        host=host,
        port=_DEFAULT_PORTS[scheme] if port is None else port,
        request_path=f"{path}?{query}" if query else path,
    )


def _ascii_host(hostname: str) -> str:
    host = hostname.rstrip(".")
    if not host:
        raise InvalidValue("InvalidUrl", "the URL has no host")
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidValue("InvalidUrl", f"host {hostname!r} is not a valid host name") from None


def vet_addresses(host: str, addresses: list[IPAddress], policy: FetchPolicy) -> list[IPAddress]:
    """Refuses the whole name if any address is non-public: a resolver answer mixing public and private
    addresses is exactly what a rebinding attacker sends."""
    if not addresses:
        raise InvalidValue("ImageFetchFailed", f"host {host!r} has no addresses")
    for address in addresses:
        reason = refusal_reason(address, policy.allow_loopback)
        if reason:
            raise InvalidValue(
                "ForbiddenAddress", f"host {host!r} resolves to a {reason} address; only public addresses are fetched"
            )
    return addresses


def refusal_reason(address: IPAddress, allow_loopback: bool) -> str | None:
    """Why an address must not be contacted, or None when it is publicly routable."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL_USE:
            return "local-use NAT64"
        if address.sixtofour is not None or address.teredo is not None:
            return "tunnelled (6to4 or Teredo)"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal_reason(embedded, allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "loopback"
    checks = (
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-global", not address.is_global),
    )
    return next((reason for reason, applies in checks if applies), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # The host's kernel (IPv4-mapped) or a NAT64 gateway would deliver these to the IPv4 address inside.
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
