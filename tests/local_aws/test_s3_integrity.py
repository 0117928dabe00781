"""S3's integrity headers, checked as S3 checks them (finding 4): a body that does not match its
Content-MD5, x-amz-checksum-* (header or aws-chunked trailer) or x-amz-content-sha256 is refused with
S3's code, and nothing is stored."""

import base64
import hashlib
import uuid
import zlib

import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from signed_requests import signed_headers


@pytest.fixture(scope="module")
def bucket(local_aws):
    import boto3

    name = f"integrity-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", **local_aws.client_kwargs).create_bucket(Bucket=name)
    return name


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _stored(s3, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchKey"
        return None


def _error_code(response: requests.Response) -> str:
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def _put(local_aws, bucket: str, key: str, body: bytes, headers: dict[str, str], signed_body: bytes | None = None):
    url = f"{local_aws.url}/{bucket}/{key}"
    signed = signed_headers("PUT", url, "s3", local_aws.credentials.access_key_id,
                            local_aws.credentials.secret_access_key, body if signed_body is None else signed_body,
                            headers)
    return requests.put(url, data=body, headers=signed, timeout=10)


@pytest.mark.parametrize("header, value, status, code", [
    ("Content-MD5", _md5(b"other body"), 400, "BadDigest"),
    ("Content-MD5", "not-base64!", 400, "InvalidDigest"),
    ("Content-MD5", base64.b64encode(b"short").decode(), 400, "InvalidDigest"),
    ("x-amz-checksum-crc32", _crc32(b"other body"), 400, "BadDigest"),
    ("x-amz-checksum-crc32", "nonsense", 400, "InvalidRequest"),
    ("x-amz-checksum-sha256", base64.b64encode(hashlib.sha256(b"x").digest()).decode(), 400, "BadDigest"),
    ("x-amz-checksum-crc32c", "AAAAAA==", 501, "NotImplemented"),
], ids=lambda value: value if isinstance(value, str) and len(value) < 24 else None)
def test_a_body_that_does_not_match_its_digest_header_is_refused_and_not_stored(local_aws, s3, bucket, header, value,
                                                                                  status, code):
    key = f"digest-{uuid.uuid4().hex[:6]}"
    response = _put(local_aws, bucket, key, b"the body", {header: value})
    assert (response.status_code, _error_code(response)) == (status, code)
    assert _stored(s3, bucket, key) is None


def test_matching_digest_headers_store_the_body(local_aws, s3, bucket):
    body = b"the body"
    response = _put(local_aws, bucket, "digest-ok", body, {"Content-MD5": _md5(body), "x-amz-checksum-crc32": _crc32(body)})
    assert response.status_code == 200, response.text
    assert _stored(s3, bucket, "digest-ok") == body


def test_a_body_that_does_not_match_its_signed_x_amz_content_sha256_is_refused(local_aws, s3, bucket):
    response = _put(local_aws, bucket, "sha-mismatch", b"the body", {}, signed_body=b"an other")
    assert (response.status_code, _error_code(response)) == (400, "XAmzContentSHA256Mismatch")
    assert _stored(s3, bucket, "sha-mismatch") is None


def _trailer_put(local_aws, bucket: str, key: str, payload: bytes, trailer_checksum: str) -> requests.Response:
    """A PUT as an SDK streams one over HTTPS: aws-chunked, unsigned payload, the CRC32 in a trailer."""
    body = b"%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % (len(payload), payload, trailer_checksum.encode())
    url = f"{local_aws.url}/{bucket}/{key}"
    request = AWSRequest(method="PUT", url=url, data=body, headers={
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(payload)),
        "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm": "CRC32"})
    request.context["checksum"] = {"request_algorithm": {"in": "trailer", "algorithm": "crc32",
                                                          "name": "x-amz-checksum-crc32"}}
    S3SigV4Auth(Credentials(local_aws.credentials.access_key_id, local_aws.credentials.secret_access_key),
                "s3", "us-east-1").add_auth(request)
    assert request.headers["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    return requests.put(url, data=body, headers=dict(request.headers.items()), timeout=10)


def test_an_aws_chunked_trailer_checksum_is_checked(local_aws, s3, bucket):
    payload = b"streamed payload"
    wrong = _trailer_put(local_aws, bucket, "trailer-wrong", payload, _crc32(b"something else"))
    assert (wrong.status_code, _error_code(wrong)) == (400, "BadDigest")
    assert _stored(s3, bucket, "trailer-wrong") is None
    right = _trailer_put(local_aws, bucket, "trailer-right", payload, _crc32(payload))
    assert right.status_code == 200, right.text
    assert _stored(s3, bucket, "trailer-right") == payload
