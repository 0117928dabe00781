"""Raw HTTP requests signed as an SDK signs them (botocore's SigV4 signer), with the clock and the
credentials under the test's control: for probes no boto3 client can make."""

import datetime

import requests
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def _signed_at(signer, request: AWSRequest, at: datetime.datetime | None) -> AWSRequest:
    """What `signer.add_auth(request)` does, with the signing time `at` instead of now."""
    request.context["timestamp"] = (at or datetime.datetime.now(datetime.timezone.utc)).strftime(TIMESTAMP_FORMAT)
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    return request


def signed_headers(method: str, url: str, service: str, access_key: str, secret_key: str, body: bytes = b"",
                   headers: dict[str, str] | None = None, at: datetime.datetime | None = None,
                   token: str | None = None, region: str = "us-east-1") -> dict[str, str]:
    """`headers` plus the signature headers of that request."""
    signer_class = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = signer_class(Credentials(access_key, secret_key, token), service, region)
    request = _signed_at(signer, AWSRequest(method=method, url=url, data=body, headers=dict(headers or {})), at)
    return dict(request.headers.items())


def signed_request(method: str, url: str, service: str, access_key: str, secret_key: str, body: bytes = b"",
                   headers: dict[str, str] | None = None, at: datetime.datetime | None = None,
                   token: str | None = None, region: str = "us-east-1", timeout: float = 10,
                   session: requests.Session | None = None) -> requests.Response:
    """With `session`, over its keep-alive connections (a client under load); else on a connection of its own."""
    signed = signed_headers(method, url, service, access_key, secret_key, body, headers, at, token, region)
    return (session or requests).request(method, url, data=body, headers=signed, timeout=timeout)


def presigned_s3_url(url: str, access_key: str, secret_key: str, expires: int,
                     at: datetime.datetime | None = None, method: str = "GET") -> str:
    signer = S3SigV4QueryAuth(Credentials(access_key, secret_key), "s3", "us-east-1", expires=expires)
    return _signed_at(signer, AWSRequest(method=method, url=url), at).url
