"""AWS request signatures, checked as AWS checks them: the request is rebuilt from what the client
says it signed and signed again with botocore's own signer and the secret of the key it names.

Signature Version 4 in the `Authorization` header or the query string (presigned URLs); for S3 also
the Signature Version 2 presigned URLs that boto3 still makes by default (`AWSAccessKeyId`,
`Signature`, `Expires`). `claim(environ)` reads what a request carries; `check_time` and
`check_signature` raise `AuthFailure` naming AWS's reason when it does not hold.
"""

import datetime
import enum
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

from botocore.auth import HmacV1Auth, S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from local_aws.access.chunk_signing import SIGNED_STREAMING_PAYLOADS, ChunkSigning

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW = datetime.timedelta(minutes=15)
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600
_QUERY_FIELDS = ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")


class Failure(enum.Enum):
    MISSING = "missing"                  # no signature at all
    INCOMPLETE = "incomplete"            # a signature without the parts SigV4 needs
    UNKNOWN_KEY = "unknown key"          # no active key of that id
    INVALID_TOKEN = "invalid token"      # a session token that is not the key's
    EXPIRED_TOKEN = "expired token"      # temporary credentials past their expiration
    SKEWED = "skewed"                    # signed more than 15 minutes from now
    EXPIRED = "expired"                  # a presigned URL past X-Amz-Expires
    EXPIRES_TOO_LONG = "expires too long"
    MISMATCH = "mismatch"                # the signature is not the one the secret gives


class AuthFailure(Exception):
    def __init__(self, failure: Failure, message: str):
        super().__init__(message)
        self.failure = failure
        self.message = message


@dataclass(frozen=True)
class Claim:
    """What a request says about its signature."""

    access_key_id: str
    region: str
    service: str
    scope_date: str
    timestamp: str
    signed_headers: tuple[str, ...]
    signature: str
    session_token: str | None
    expires: int | None  # SigV4 presigned URLs: seconds after `timestamp`
    expires_at: int | None = None  # SigV2 presigned URLs: epoch seconds

    @property
    def presigned(self) -> bool:
        return self.expires is not None or self.expires_at is not None

    @property
    def is_v2(self) -> bool:
        return self.expires_at is not None


CLAIM_KEY = "local_aws.claim"  # where the gate leaves a claim it accepted, for the edge


def claimed(environ) -> Claim | None:
    """The claim the gate accepted, or, before the gate has seen the request, what it reads as (None if
    it does not read as one)."""
    if CLAIM_KEY in environ:
        return environ[CLAIM_KEY]
    try:
        return claim(environ)
    except AuthFailure:
        return None


def claim(environ) -> Claim | None:
    """The request's SigV4 claim; None when it is not signed at all."""
    authorization = environ.get("HTTP_AUTHORIZATION")
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if authorization is not None:
        return _header_claim(authorization, environ)
    if "X-Amz-Signature" in query or "X-Amz-Credential" in query or "X-Amz-Algorithm" in query:
        return _query_claim(query)
    if "AWSAccessKeyId" in query or "Signature" in query:
        return _v2_query_claim(query)
    return None


def _v2_query_claim(query: dict[str, str]) -> Claim:
    missing = [name for name in ("AWSAccessKeyId", "Signature", "Expires") if not query.get(name)]
    if missing:
        raise AuthFailure(Failure.INCOMPLETE, f"Query-string authentication requires the {', '.join(missing)} "
                                              "parameters.")
    if not query["Expires"].isdigit():
        raise AuthFailure(Failure.INCOMPLETE, "Invalid date (should be seconds since epoch): " + query["Expires"][:64])
    return Claim(query["AWSAccessKeyId"], "us-east-1", "s3", "", "", (), query["Signature"],
                 query.get("x-amz-security-token"), None, int(query["Expires"]))


def _header_claim(authorization: str, environ) -> Claim:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthFailure(Failure.INCOMPLETE, f"Unsupported Authorization Type: only {ALGORITHM} (SigV4) is accepted.")
    fields = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise AuthFailure(Failure.INCOMPLETE, "Authorization header requires " + ", ".join(
            f"'{name}' parameter" for name in missing) + f". Authorization={authorization[:256]}")
    timestamp = environ.get("HTTP_X_AMZ_DATE")
    if not timestamp:
        raise AuthFailure(Failure.INCOMPLETE,
                          "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    return _claim(fields["Credential"], timestamp, fields["SignedHeaders"], fields["Signature"],
                  environ.get("HTTP_X_AMZ_SECURITY_TOKEN"), None)


def _query_claim(query: dict[str, str]) -> Claim:
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise AuthFailure(Failure.INCOMPLETE, f"X-Amz-Algorithm only supports \"{ALGORITHM}\".")
    missing = [name for name in (*_QUERY_FIELDS, "X-Amz-Expires") if not query.get(name)]
    if missing:
        raise AuthFailure(Failure.INCOMPLETE, f"Query-string authentication requires the {', '.join(missing)} "
                                              "parameters.")
    expires = query["X-Amz-Expires"]
    if not expires.isdigit():
        raise AuthFailure(Failure.INCOMPLETE, "X-Amz-Expires should be a number.")
    return _claim(query["X-Amz-Credential"], query["X-Amz-Date"], query["X-Amz-SignedHeaders"],
                  query["X-Amz-Signature"], query.get("X-Amz-Security-Token"), int(expires))


def _claim(credential: str, timestamp: str, signed_headers: str, signature: str, token: str | None,
           expires: int | None) -> Claim:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise AuthFailure(Failure.INCOMPLETE, f"Credential should be scoped to a valid region. "
                                              f"Credential={credential[:256]}")
    access_key_id, scope_date, region, service, _ = parts
    return Claim(access_key_id, region, service, scope_date, timestamp,
                 tuple(signed_headers.lower().split(";")), signature, token, expires)


def check_time(found: Claim, now: datetime.datetime) -> None:
    """Raise unless the request was signed within AWS's 15 minutes, and a presigned one is unexpired."""
    if found.is_v2:
        if now.timestamp() > found.expires_at:
            raise AuthFailure(Failure.EXPIRED, "Request has expired")
        return
    try:
        signed_at = datetime.datetime.strptime(found.timestamp, TIMESTAMP_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise AuthFailure(Failure.INCOMPLETE, f"X-Amz-Date must be in the ISO8601 Long Format "
                                              f"\"yyyyMMdd'T'HHmmss'Z'\"; got {found.timestamp[:64]!r}.")
    if found.presigned:
        if found.expires > MAX_PRESIGNED_EXPIRES:
            raise AuthFailure(Failure.EXPIRES_TOO_LONG, "X-Amz-Expires must be less than a week (in seconds) that is, "
                                                        f"the given X-Amz-Expires must be less than "
                                                        f"{MAX_PRESIGNED_EXPIRES} seconds")
        if now > signed_at + datetime.timedelta(seconds=found.expires):
            raise AuthFailure(Failure.EXPIRED, "Request has expired")
        if signed_at - now > MAX_SKEW:
            raise AuthFailure(Failure.SKEWED, _skew_message(found.timestamp, signed_at, now))
        return
    if abs(now - signed_at) > MAX_SKEW:
        raise AuthFailure(Failure.SKEWED, _skew_message(found.timestamp, signed_at, now))


def _skew_message(timestamp: str, signed_at: datetime.datetime, now: datetime.datetime) -> str:
    return (f"Signature expired: {timestamp} is now earlier than "
            f"{(now - MAX_SKEW).strftime(TIMESTAMP_FORMAT)} ({now.strftime(TIMESTAMP_FORMAT)} - 15 min.)"
            if signed_at < now
            else f"Signature not yet current: {timestamp} is still later than "
                 f"{(now + MAX_SKEW).strftime(TIMESTAMP_FORMAT)} ({now.strftime(TIMESTAMP_FORMAT)} + 15 min.)")


def check_signature(environ, found: Claim, secret_access_key: str, payload_hash: str) -> ChunkSigning | None:
    """Raise unless `found.signature` is what signing this request with `secret_access_key` gives.

    `payload_hash` is the canonical request's last line: for S3, the request's own
    `x-amz-content-sha256` (UNSIGNED-PAYLOAD in presigned URLs); for every other service, the
    SHA-256 of the body. For a signed streaming body (S3's `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`),
    returns what checks its chunks' signatures, chained from this one."""
    if found.is_v2:
        _check_v2_signature(environ, found, secret_access_key)
        return None
    signer_class = _S3_SIGNER if found.service == "s3" else _SIGNER
    signer = signer_class(Credentials(found.access_key_id, secret_access_key), found.service, found.region,
                          payload_hash)
    request = AWSRequest(method=environ["REQUEST_METHOD"], url=_url(environ, found),
                         headers={name: _header(environ, name) for name in found.signed_headers})
    request.context["timestamp"] = found.timestamp
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if found.scope_date != found.timestamp[:8] or not hmac.compare_digest(expected, found.signature):
        raise AuthFailure(Failure.MISMATCH, MISMATCH)
    if found.presigned or payload_hash not in SIGNED_STREAMING_PAYLOADS:
        return None
    return ChunkSigning.for_request(secret_access_key, found.timestamp, found.scope_date, found.region,
                                    found.service, found.signature, payload_hash)


MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
             "Secret Access Key and signing method. Consult the service documentation for details.")


class _V2Recomputing(HmacV1Auth):
    """botocore's S3 SigV2 signer with the URL's `Expires` where a header signature has its Date."""

    def __init__(self, credentials, expires_at: int):
        super().__init__(credentials)
        self._expires_at = expires_at

    def _get_date(self):
        return str(self._expires_at)


def _check_v2_signature(environ, found: Claim, secret_access_key: str) -> None:
    url = _url(environ, found)
    path, _, query = url.partition("?")
    pairs = [pair for pair in query.split("&") if pair.split("=", 1)[0] not in ("AWSAccessKeyId", "Signature", "Expires")]
    headers = HTTPHeaders()
    for name in ("content-md5", "content-type"):
        if _header(environ, name):
            headers[name] = _header(environ, name)
    # x-amz-* values signed as headers travel in the query string of a presigned URL.
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.lower().startswith("x-amz-"):
            headers[key.lower()] = value
    signer = _V2Recomputing(Credentials(found.access_key_id, secret_access_key), found.expires_at)
    expected = signer.sign_string(signer.canonical_string(environ["REQUEST_METHOD"], urlsplit(
        path + ("?" + "&".join(pairs) if pairs else "")), headers))
    if not hmac.compare_digest(expected, found.signature):
        raise AuthFailure(Failure.MISMATCH, MISMATCH)


def _recomputing(base: type[SigV4Auth]) -> type[SigV4Auth]:
    class Recomputing(base):
        """botocore's signer over exactly the headers the client signed and the payload hash it used."""

        def __init__(self, credentials, service_name, region_name, payload_hash):
            super().__init__(credentials, service_name, region_name)
            self._payload_hash = payload_hash

        def headers_to_sign(self, request):
            return request.headers

        def payload(self, request):
            return self._payload_hash

    return Recomputing


_SIGNER = _recomputing(SigV4Auth)
_S3_SIGNER = _recomputing(S3SigV4Auth)


def _url(environ, found: Claim) -> str:
    """The URL as the client sent it (still percent-encoded), without the signature parameter."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path, _, query = raw.partition("?")
    else:
        path, query = quote(environ.get("PATH_INFO", "/"), safe="/~!$&'()*+,;=:@"), environ.get("QUERY_STRING", "")
    if found.presigned:
        query = "&".join(pair for pair in query.split("&") if not pair.startswith("X-Amz-Signature="))
    # Never the Host header: botocore keeps a URL's netloc only to fill a missing host header.
    return f"http://local{path}" + (f"?{query}" if query else "")


def _header(environ, name: str) -> str:
    if name == "content-type":
        return environ.get("CONTENT_TYPE", "")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH", "")
    return environ.get("HTTP_" + name.upper().replace("-", "_"), "")
