"""Every failure the front door reports, each carrying its HTTP status and a stable UpperCamelCase code.

The handler turns any of these into a proxy response in one place; raising one anywhere else is how a
function says "stop and tell the caller this".
"""

from __future__ import annotations

from typing import ClassVar


class FrontDoorError(Exception):
    status: ClassVar[int]

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(FrontDoorError):
    """The request cannot be read: malformed JSON, a missing or unexpected field."""

    status = 400


class RouteNotFound(FrontDoorError):
    status = 404


class PayloadTooLarge(FrontDoorError):
    status = 413


class UnsupportedMediaType(FrontDoorError):
    """Not an image we accept, by declared content type or by magic bytes."""

    status = 415


class InvalidValue(FrontDoorError):
    """A field is present but its value is unusable: bad URL, disallowed host, bad top_k, bad base64."""

    status = 422


class ConfigurationError(FrontDoorError):
    """The function's environment is wrong; only its operator can fix it."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__("ConfigurationError", message)


class InternalError(FrontDoorError):
    """A bug in the front door: reported without its trace, which stays in the log."""

    status = 500

    def __init__(self, correlation_id: str | None) -> None:
        super().__init__("InternalError", f"unexpected error; quote request id {correlation_id} when reporting it")


class UpstreamFailed(FrontDoorError):
    """The endpoint answered, but with an error or with something that is not a prediction list."""

    status = 502


class EndpointUnavailable(FrontDoorError):
    """Worth retrying later: throttled, scaling, or not deployed yet."""

    status = 503

    def __init__(self, code: str, message: str, retry_after_seconds: int) -> None:
        super().__init__(code, message)
        self.retry_after_seconds = retry_after_seconds


class EndpointTimeout(FrontDoorError):
    status = 504
