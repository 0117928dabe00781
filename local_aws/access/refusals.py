"""A refused request answered as the service would answer it: the code AWS uses for that reason in
that service's protocol (JSON, CBOR, query XML, EC2 XML or S3 XML), with its status and request id."""

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

from local_aws.access.sigv4 import Failure, claimed

# The protocol families, as a request shows which one it speaks.
JSON, CBOR, QUERY, EC2, S3 = "json", "cbor", "query", "ec2", "s3"
EC2_API_VERSION = "2016-11-15"
# Signing names of the query-protocol services local AWS serves (through moto).
QUERY_SERVICES = frozenset({"iam", "sts", "sns", "sqs", "elasticloadbalancing", "autoscaling", "rds",
                            "cloudformation", "monitoring", "ses", "elasticache", "redshift"})

DENIED = "denied"  # a foreign Origin or Host: not an authentication failure

# (status, code) per family for each reason; AWS's documented answers.
_CODES: dict[object, dict[str, tuple[int, str]]] = {
    Failure.MISSING: {JSON: (403, "MissingAuthenticationTokenException"), QUERY: (403, "MissingAuthenticationToken"),
                      EC2: (401, "MissingAuthenticationToken"), S3: (403, "AccessDenied")},
    Failure.INCOMPLETE: {JSON: (400, "IncompleteSignatureException"), QUERY: (400, "IncompleteSignature"),
                         EC2: (400, "IncompleteSignature"), S3: (400, "AuthorizationHeaderMalformed")},
    Failure.UNKNOWN_KEY: {JSON: (403, "UnrecognizedClientException"), QUERY: (403, "InvalidClientTokenId"),
                          EC2: (401, "AuthFailure"), S3: (403, "InvalidAccessKeyId")},
    Failure.INVALID_TOKEN: {JSON: (403, "UnrecognizedClientException"), QUERY: (403, "InvalidClientTokenId"),
                            EC2: (401, "AuthFailure"), S3: (400, "InvalidToken")},
    Failure.EXPIRED_TOKEN: {JSON: (403, "ExpiredTokenException"), QUERY: (403, "ExpiredToken"),
                            EC2: (400, "RequestExpired"), S3: (400, "ExpiredToken")},
    Failure.SKEWED: {JSON: (403, "InvalidSignatureException"), QUERY: (403, "SignatureDoesNotMatch"),
                     EC2: (400, "RequestExpired"), S3: (403, "RequestTimeTooSkewed")},
    Failure.EXPIRED: {JSON: (403, "InvalidSignatureException"), QUERY: (403, "SignatureDoesNotMatch"),
                      EC2: (400, "RequestExpired"), S3: (403, "AccessDenied")},
    Failure.EXPIRES_TOO_LONG: {JSON: (400, "IncompleteSignatureException"), QUERY: (400, "IncompleteSignature"),
                               EC2: (400, "IncompleteSignature"), S3: (400, "AuthorizationQueryParametersError")},
    Failure.MISMATCH: {JSON: (403, "InvalidSignatureException"), QUERY: (403, "SignatureDoesNotMatch"),
                       EC2: (403, "SignatureDoesNotMatch"), S3: (403, "SignatureDoesNotMatch")},
    DENIED: {JSON: (403, "AccessDeniedException"), QUERY: (403, "AccessDenied"),
             EC2: (403, "UnauthorizedOperation"), S3: (403, "AccessDenied")},
}
_MESSAGES = {
    Failure.MISSING: {JSON: "Missing Authentication Token", QUERY: "Request is missing Authentication Token",
                      EC2: "The request must contain either a valid (registered) AWS access key ID or X.509 certificate.",
                      S3: "Access Denied"},
    Failure.UNKNOWN_KEY: {JSON: "The security token included in the request is invalid.",
                          QUERY: "The security token included in the request is invalid.",
                          EC2: "AWS was not able to validate the provided access credentials",
                          S3: "The AWS Access Key Id you provided does not exist in our records."},
    Failure.INVALID_TOKEN: {S3: "The provided token is malformed or otherwise invalid."},
    Failure.EXPIRED_TOKEN: {S3: "The provided token has expired."},
    Failure.SKEWED: {S3: "The difference between the request time and the current time is too large."},
}


def family(environ, service: str | None) -> str:
    """The protocol family a request speaks: its signing name when signed, its shape otherwise."""
    if service == "s3":
        return S3
    if environ.get("HTTP_SMITHY_PROTOCOL", "").lower() == "rpc-v2-cbor":
        return CBOR
    content_type = environ.get("CONTENT_TYPE", "").lower()
    if environ.get("HTTP_X_AMZ_TARGET") or content_type.startswith("application/x-amz-json"):
        return JSON
    if service == "ec2" or f"Version={EC2_API_VERSION}" in environ.get("QUERY_STRING", ""):
        return EC2
    is_form_post = environ.get("REQUEST_METHOD") == "POST" and content_type.startswith(
        "application/x-www-form-urlencoded")
    if service in QUERY_SERVICES or "Action=" in environ.get("QUERY_STRING", "") or (service is None and is_form_post):
        return QUERY
    # Any other signed service speaks JSON or REST-JSON; an unsigned REST request is S3's.
    return JSON if service is not None else S3


@dataclass(frozen=True)
class Refusal:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    code: str = ""
    request_id: str = ""


REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 413: "Request Entity Too Large",
           500: "Internal Server Error", 501: "Not Implemented"}


def respond(start_response, answer: Refusal) -> list[bytes]:
    """Answer a WSGI request with `answer`."""
    start_response(f"{answer.status} {REASONS.get(answer.status, 'Error')}",
                   [*answer.headers, ("Content-Length", str(len(answer.body)))])
    return [answer.body]


def refusal(reason: object, wire: str, message: str) -> Refusal:
    table = JSON if wire == CBOR else wire  # CBOR services answer with the JSON services' codes
    status, code = _CODES[reason][table]
    return answer(status, code, _MESSAGES.get(reason, {}).get(table, message), wire)


def request_timeout(environ) -> Refusal:
    """A request whose body stopped arriving, answered as S3 answers it (every service alike)."""
    return answer(400, "RequestTimeout", "Your socket connection to the server was not read from or written to "
                  "within the timeout period. Idle connections will be closed.", family(environ, _signing_name(environ)))


def _signing_name(environ) -> str | None:
    found = claimed(environ)
    return found.service if found is not None else None


def answer(status: int, code: str, message: str, wire: str) -> Refusal:
    """An error in `wire`'s shape."""
    request_id = str(uuid.uuid4())
    if wire in (JSON, CBOR):
        body = _cbor_map({"__type": code, "message": message}) if wire == CBOR else json.dumps(
            {"__type": code, "message": message}).encode()
        content_type = "application/cbor" if wire == CBOR else "application/x-amz-json-1.1"
        headers = [("Content-Type", content_type), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)]
        if wire == CBOR:
            headers.append(("Smithy-Protocol", "rpc-v2-cbor"))
        return Refusal(status, headers, body, code, request_id)
    text = f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
    if wire == QUERY:
        fault = "Sender" if status < 500 else "Receiver"
        xml = (f'<ErrorResponse><Error><Type>{fault}</Type>{text}</Error>'
               f"<RequestId>{request_id}</RequestId></ErrorResponse>")
    elif wire == EC2:
        xml = f"<Response><Errors><Error>{text}</Error></Errors><RequestID>{request_id}</RequestID></Response>"
    else:
        xml = f"<Error>{text}<RequestId>{request_id}</RequestId></Error>"
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml).encode()
    request_id_header = "x-amz-request-id" if wire == S3 else "x-amzn-RequestId"
    return Refusal(status, [("Content-Type", "application/xml" if wire == S3 else "text/xml"),
                            (request_id_header, request_id)], body, code, request_id)


def _cbor_map(items: dict[str, str]) -> bytes:
    """A CBOR map of text strings (RFC 8949): all an RPC v2 CBOR error body holds."""
    out = bytearray(_cbor_head(5, len(items)))
    for key, value in items.items():
        for text in (key, value):
            encoded = text.encode()
            out += _cbor_head(3, len(encoded)) + encoded
    return bytes(out)


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | extra]) + length.to_bytes(size, "big")
    raise ValueError("too long for CBOR")
