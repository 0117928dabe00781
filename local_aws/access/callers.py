"""Which hosts and browser origins local AWS answers: pure functions over request headers.

A browser sends `Origin` (or, on some requests, only `Referer`) with every cross-site request; local
AWS refuses any origin not listed in `LOCAL_AWS_CORS_ORIGINS`, which is empty by default, so no web
page can call it. A `Host` that is not a name of local AWS means the request came through a name an
attacker controls (DNS rebinding) and is refused too.
"""

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

ORIGINS_VARIABLE = "LOCAL_AWS_CORS_ORIGINS"
HOSTNAMES_VARIABLE = "LOCAL_AWS_HOSTNAMES"
# The loopback names, and the service name of local AWS in docker-compose.yaml.
DEFAULT_HOSTNAMES = ("127.0.0.1", "localhost", "[::1]", "local-aws")


def normalise_origin(origin: str) -> str | None:
    """`scheme://host[:port]` in lower case with default ports dropped, or None if it is not one."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def allowed_origins(environ: dict[str, str] | None = None) -> frozenset[str]:
    value = (os.environ if environ is None else environ).get(ORIGINS_VARIABLE, "")
    origins = set()
    for item in filter(None, (part.strip() for part in value.split(","))):
        origin = normalise_origin(item)
        if origin is None:
            raise ValueError(f"{ORIGINS_VARIABLE}: {item!r} is not an origin like http://localhost:3000")
        origins.add(origin)
    return frozenset(origins)


def request_origin(origin_header: str | None, referer_header: str | None) -> str | None:
    """The origin a browser says the request comes from: `Origin`, else the origin of `Referer`.
    None for a request no browser page made (no such header). An unparseable value (`null`, from
    sandboxed frames and file:// pages) is returned as it is, so it is never on the list."""
    if origin_header is not None:
        return normalise_origin(origin_header) or origin_header
    if referer_header:
        return normalise_origin(referer_header) or referer_header
    return None


@dataclass(frozen=True)
class HostPolicy:
    """The names local AWS answers to: each name in `names` with the port it serves on, or an entry
    `name:port` with exactly that port (a name behind a proxy or a remapped container port)."""

    port: int
    names: frozenset[str]

    @classmethod
    def serving(cls, port: int, environ: dict[str, str] | None = None) -> "HostPolicy":
        extra = (os.environ if environ is None else environ).get(HOSTNAMES_VARIABLE, "")
        names = {name.lower() for name in DEFAULT_HOSTNAMES}
        names.update(name.strip().lower() for name in extra.split(",") if name.strip())
        return cls(port, frozenset(names))

    def allows(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        host, port = _split_host(host_header.strip().lower())
        if host is None:
            return False
        if f"{host}:{port}" in self.names:
            return True
        if port != self.port:
            return False
        # S3 virtual-hosted names (bucket.localhost, bucket.s3.local-aws) sit under a served name;
        # never under an address.
        return host in self.names or any(
            host.endswith("." + name) for name in self.names if not _is_address(name))


def _split_host(value: str) -> tuple[str | None, int | None]:
    if value.startswith("["):
        host, _, rest = value.partition("]")
        host += "]"
        port_text = rest[1:] if rest.startswith(":") else ("" if not rest else None)
    else:
        host, _, port_text = value.partition(":")
    if port_text is None or not host:
        return None, None
    if port_text == "":
        return host, 80
    if not port_text.isdigit():
        return None, None
    return host, int(port_text)


def _is_address(name: str) -> bool:
    return name.startswith("[") or name.replace(".", "").isdigit()
