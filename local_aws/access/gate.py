"""`Gate`: the WSGI layer in front of the edge that lets in only local AWS's own callers.

In order, before anything reaches moto or the compute plane:
1. the `Host` must be a name local AWS serves (DNS rebinding is refused);
2. a browser's `Origin` (or `Referer`) must be on `LOCAL_AWS_CORS_ORIGINS`, empty by default;
3. a CORS preflight from an allowed origin is answered (S3's go to the bucket's own CORS rules);
4. every other request must carry a valid SigV4 signature by a key local AWS knows; a signed streaming
   body's chunk signatures are checked against it when the body is read (`chunk_signing`).
Refusals are answered in the service's own error shape and logged without secrets.
"""

import datetime
import hashlib
import io
import logging
from collections.abc import Callable

from local_aws.access import callers, principals, refusals, sigv4
from local_aws.access.chunk_signing import ENVIRON_KEY
from local_aws.access.credentials import KeyPair
from local_aws.access.sigv4 import AuthFailure, Failure

logger = logging.getLogger("local_aws.access")

# Response headers a browser page may read: what the SDKs look at.
_EXPOSED_HEADERS = ("x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, x-amz-request-id, x-amz-id-2, "
                    "ETag, Content-Type, Content-Length, x-amz-version-id, Date")
_PREFLIGHT_MAX_AGE = "600"


class Gate:
    def __init__(self, app: Callable, owner: KeyPair, hosts: callers.HostPolicy, origins: frozenset[str],
                 is_own_route: Callable[[str, str], bool] = lambda method, path: False,
                 clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc)):
        self.app = app
        self.owner = owner
        self.hosts = hosts
        self.origins = origins
        self.is_own_route = is_own_route
        self.clock = clock

    def __call__(self, environ, start_response):
        refused = self._foreign(environ)
        if refused is not None:
            return refusals.respond(start_response, refused)
        origin = callers.request_origin(environ.get("HTTP_ORIGIN"), environ.get("HTTP_REFERER"))
        if _is_preflight(environ):
            # Browsers never sign preflights; S3's are answered from the bucket's CORS rules.
            if self._is_s3_preflight(environ):
                return self.app(environ, start_response)
            return _answer_preflight(environ, start_response, origin)
        claim = None
        try:
            claim = sigv4.claim(environ)
            principal = self._principal(claim)
            chunk_signing = sigv4.check_signature(environ, claim, principal.secret_access_key,
                                                  _payload_hash(environ, claim))
        except AuthFailure as failure:
            return refusals.respond(start_response, self._refusal(environ, failure, claim))
        if chunk_signing is not None:
            environ[ENVIRON_KEY] = chunk_signing
        if not principal.is_owner:
            # Only the owner may name the account it acts for; anyone else acts for their key's account.
            environ.pop("HTTP_X_MOTO_ACCOUNT_ID", None)
        environ[sigv4.CLAIM_KEY] = claim
        environ[principals.PRINCIPAL_KEY] = principal
        if origin is None or claim.service == "s3":
            return self.app(environ, start_response)
        return self.app(environ, _with_cors_headers(start_response, origin))

    def screen(self, environ) -> refusals.Refusal | None:
        """The refusal of a request that its line and headers already decide, before its body is read:
        a foreign host or origin, or a claim that no body can make hold (unknown key, wrong token, skew)."""
        refused = self._foreign(environ)
        if refused is not None or _is_preflight(environ):
            return refused
        claim = None
        try:
            claim = sigv4.claim(environ)
            self._principal(claim)
        except AuthFailure as failure:
            return self._refusal(environ, failure, claim)
        return None

    def _foreign(self, environ) -> refusals.Refusal | None:
        host = environ.get("HTTP_HOST")
        if not self.hosts.allows(host):
            return self._refusal(environ, AuthFailure(
                refusals.DENIED, f"local_aws does not serve the host {host!r}: add it to LOCAL_AWS_HOSTNAMES if "
                "it is a name of this machine."), None)
        origin = callers.request_origin(environ.get("HTTP_ORIGIN"), environ.get("HTTP_REFERER"))
        if origin is not None and origin not in self.origins:
            return self._refusal(environ, AuthFailure(
                refusals.DENIED, f"local_aws refuses requests from the origin {origin[:200]!r}: it is not in "
                f"{callers.ORIGINS_VARIABLE}."), None)
        return None

    def _principal(self, claim: sigv4.Claim | None) -> principals.Principal:
        """Whose key signed the claim, if it is one local AWS knows, valid now; AuthFailure otherwise."""
        if claim is None:
            raise AuthFailure(Failure.MISSING, "Missing Authentication Token")
        principal = principals.find(claim.access_key_id, self.owner)
        if principal is None:
            raise AuthFailure(Failure.UNKNOWN_KEY, "The security token included in the request is invalid.")
        now = self.clock()
        if principal.session_token != claim.session_token:
            raise AuthFailure(Failure.INVALID_TOKEN, "The security token included in the request is invalid.")
        if principal.expiration is not None and now >= principal.expiration:
            raise AuthFailure(Failure.EXPIRED_TOKEN, "The security token included in the request is expired")
        sigv4.check_time(claim, now)
        return principal

    def _is_s3_preflight(self, environ) -> bool:
        path = environ.get("PATH_INFO", "/")
        method = environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"]
        return refusals.family(environ, None) == refusals.S3 and path != "/" and not self.is_own_route(method, path)

    def _refusal(self, environ, failure: AuthFailure, claim: sigv4.Claim | None) -> refusals.Refusal:
        service = claim.service if claim is not None else None
        logger.warning("refused %s %s (host %r): %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
                       environ.get("HTTP_HOST"), failure.message)
        return refusals.refusal(failure.failure, refusals.family(environ, service), failure.message)


def _is_preflight(environ) -> bool:
    # What a browser sends before a cross-origin call; without an Origin it is an ordinary request.
    return (environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ORIGIN" in environ
            and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ)


def _payload_hash(environ, claim: sigv4.Claim) -> str:
    declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
    if claim.service == "s3":
        if declared:
            return declared
        if claim.presigned:
            return "UNSIGNED-PAYLOAD"
        raise AuthFailure(Failure.INCOMPLETE, "Missing required header for this request: x-amz-content-sha256")
    body = _read_body(environ)
    return declared or hashlib.sha256(body).hexdigest()


def _read_body(environ) -> bytes:
    """The whole body, left readable again for the application."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _answer_preflight(environ, start_response, origin: str):
    headers = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"]),
        ("Access-Control-Max-Age", _PREFLIGHT_MAX_AGE),
        ("Vary", "Origin"),
        ("Content-Length", "0"),
    ]
    requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
    if requested:
        headers.append(("Access-Control-Allow-Headers", requested))
    start_response("200 OK", headers)
    return [b""]


def _with_cors_headers(start_response, origin: str):
    def start(status, headers, exc_info=None):
        kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
        kept += [("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", _EXPOSED_HEADERS),
                 ("Vary", "Origin")]
        return start_response(status, kept, exc_info)

    return start
