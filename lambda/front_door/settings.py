"""The function's configuration, read from environment variables and validated as a whole.

`load_settings` is pure over the mapping it is given, so a bad value is reported on the first request as a
ConfigurationError naming the variable and the fix, never as a stack trace at import time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from front_door.errors import ConfigurationError
from front_door.host_names import is_ip_literal

MODEL_TOP_K = 5
# InvokeEndpoint refuses bodies over 6 MB, so a larger limit could only produce endpoint errors.
INVOKE_ENDPOINT_MAX_BODY = 6 * 1024 * 1024
DEFAULT_MAX_IMAGE_BYTES = 4 * 1024 * 1024
DEFAULT_FETCH_TIMEOUT_SECONDS = 5.0
# With the runtime client's worst case (about 21 s) this stays under API Gateway's 29 s limit.
MAX_FETCH_TIMEOUT_SECONDS = 7.0

_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    top_k: int
    max_image_bytes: int
    allowed_image_hosts: frozenset[str]
    allowed_origins: tuple[str, ...]
    allow_http_image_urls: bool
    allow_loopback_for_tests: bool
    image_fetch_timeout_seconds: float


def load_settings(environ: Mapping[str, str]) -> Settings:
    return Settings(
        endpoint_name=_endpoint_name(environ.get("ENDPOINT_NAME", "")),
        top_k=_integer(environ, "TOP_K", default=MODEL_TOP_K, low=1, high=MODEL_TOP_K),
        max_image_bytes=_integer(
            environ, "MAX_IMAGE_BYTES", default=DEFAULT_MAX_IMAGE_BYTES, low=1, high=INVOKE_ENDPOINT_MAX_BODY
        ),
        allowed_image_hosts=frozenset(_host(name) for name in _items(environ.get("ALLOWED_IMAGE_HOSTS", ""))),
        allowed_origins=tuple(_origin(origin) for origin in _items(environ.get("ALLOWED_ORIGINS", ""))),
        allow_http_image_urls=_flag(environ, "ALLOW_HTTP_IMAGE_URLS"),
        allow_loopback_for_tests=_flag(environ, "ALLOW_LOOPBACK_FOR_TESTS"),
        image_fetch_timeout_seconds=_seconds(environ, "IMAGE_FETCH_TIMEOUT_SECONDS"),
    )


def _endpoint_name(value: str) -> str:
    if not value.strip():
        raise ConfigurationError(
            "ENDPOINT_NAME is not set: set it to the name of the SageMaker endpoint this function invokes"
        )
    if not _ENDPOINT_NAME.match(value):
        raise ConfigurationError(
            f"ENDPOINT_NAME {value!r} is not a SageMaker endpoint name: use 1-63 letters, digits and hyphens"
        )
    return value


def _integer(environ: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]+", raw) or not low <= int(raw) <= high:
        raise ConfigurationError(f"{name} is {raw!r}: set it to a whole number from {low} to {high}")
    return int(raw)


def _seconds(environ: Mapping[str, str], name: str) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return DEFAULT_FETCH_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= MAX_FETCH_TIMEOUT_SECONDS:
        raise ConfigurationError(
            f"{name} is {raw!r}: set it to a number of seconds above 0 and at most {MAX_FETCH_TIMEOUT_SECONDS:g}"
        )
    return seconds


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw not in ("", "true", "false"):
        raise ConfigurationError(f"{name} is {raw!r}: set it to true or false (default false)")
    return raw == "true"


def _items(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _host(name: str) -> str:
    host = name.lower().rstrip(".")
    labels = host.split(".")
    if is_ip_literal(host) or not all(_HOST_LABEL.match(label) for label in labels):
        raise ConfigurationError(
            f"ALLOWED_IMAGE_HOSTS entry {name!r} is not a host name: list bare DNS names such as "
            "images.example.com (no scheme, port, path or IP address)"
        )
    return host


def _origin(origin: str) -> str:
    if not _ORIGIN.match(origin):
        raise ConfigurationError(
            f"ALLOWED_ORIGINS entry {origin!r} is not an origin: list exact origins such as "
            "https://app.example.com (no wildcard, path or trailing slash)"
        )
    return origin
