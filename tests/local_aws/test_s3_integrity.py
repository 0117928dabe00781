"""S3's integrity headers, checked as S3 checks them (finding 4): a body that does not match its
Content-MD5, x-amz-checksum-* (header or aws-chunked trailer) or x-amz-content-sha256 is refused with
S3's code, and nothing is stored."""

import base64
import hashlib
import hmac
import io
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


# AWS's published signed streaming upload ("Example: PUT Object" of S3's "Transferring Payload in Multiple
# Chunks"): 66,560 bytes of "a" in chunks of 65,536, 1,024 and 0 bytes, signed with AWS's example key.
AWS_EXAMPLE_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
AWS_EXAMPLE_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
AWS_EXAMPLE_CHUNKS = [
    (65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
    (1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
    (0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
]
SCOPE_SUFFIX = "us-east-1/s3/aws4_request"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _signing_key(secret: str, date: str) -> bytes:
    """SigV4's signing key, computed here as AWS's documentation spells it (not with local_aws's code)."""
    key = ("AWS4" + secret).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _sign(key: bytes, *lines: str) -> str:
    return hmac.new(key, "\n".join(lines).encode(), hashlib.sha256).hexdigest()


def _signed_body(chunks: list[bytes], key: bytes, timestamp: str, seed: str,
                 trailers: list[tuple[str, str]] | None = None, tamper=lambda index, data: data,
                 trailer_signature=lambda signature: signature) -> bytes:
    """An aws-chunked body whose chunks (and trailers) are signed in a chain from `seed`; `tamper` may
    change a chunk's data after it was signed, `trailer_signature` the trailer's signature (None: left out)."""
    scope = f"{timestamp[:8]}/{SCOPE_SUFFIX}"
    body, previous = b"", seed
    for index, data in enumerate([*chunks, b""]):
        previous = _sign(key, "AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous, EMPTY_SHA256,
                         hashlib.sha256(data).hexdigest())
        body += b"%x;chunk-signature=%s\r\n%s" % (len(data), previous.encode(), tamper(index, data))
        body += b"\r\n" if data else b""
    if trailers is not None:
        canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
        signature = trailer_signature(_sign(key, "AWS4-HMAC-SHA256-TRAILER", timestamp, scope, previous,
                                            hashlib.sha256(canonical.encode()).hexdigest()))
        body += canonical.replace("\n", "\r\n").encode()
        body += b"" if signature is None else b"x-amz-trailer-signature:%s\r\n" % signature.encode()
    return body + b"\r\n"


def test_the_chunk_signatures_of_aws_published_example_are_reproduced():
    from local_aws.access.chunk_signing import ChunkSigning

    key = _signing_key(AWS_EXAMPLE_KEY[1], "20130524")
    ours = ChunkSigning.for_request(AWS_EXAMPLE_KEY[1], "20130524T000000Z", "20130524", "us-east-1", "s3",
                                    AWS_EXAMPLE_SEED, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    previous = AWS_EXAMPLE_SEED
    for size, published in AWS_EXAMPLE_CHUNKS:
        data_hash = hashlib.sha256(b"a" * size).hexdigest()
        assert ours.chunk_signature(previous, data_hash) == published
        assert _sign(key, "AWS4-HMAC-SHA256-PAYLOAD", "20130524T000000Z", f"20130524/{SCOPE_SUFFIX}", previous,
                     EMPTY_SHA256, data_hash) == published  # this test's own signer, used below, agrees
        previous = published


def _example_environ(body: bytes) -> dict:
    return {
        "REQUEST_METHOD": "PUT", "RAW_URI": "/examplebucket/chunkObject.txt", "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": "66824",  # the published body's length, which the seed signature signs
        "HTTP_HOST": "s3.amazonaws.com", "HTTP_X_AMZ_DATE": "20130524T000000Z",
        "HTTP_X_AMZ_STORAGE_CLASS": "REDUCED_REDUNDANCY", "HTTP_CONTENT_ENCODING": "aws-chunked",
        "HTTP_X_AMZ_CONTENT_SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "HTTP_X_AMZ_DECODED_CONTENT_LENGTH": "66560",
        "HTTP_AUTHORIZATION": (
            f"AWS4-HMAC-SHA256 Credential={AWS_EXAMPLE_KEY[0]}/20130524/{SCOPE_SUFFIX},SignedHeaders=content-encoding;"
            "content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"
            f"Signature={AWS_EXAMPLE_SEED}"),
    }


@pytest.mark.parametrize("change, code", [
    (None, None),
    ("a byte of the second chunk", "SignatureDoesNotMatch"),
    ("the chunks' signatures swapped", "SignatureDoesNotMatch"),
    ("no signature on the last chunk", "SignatureDoesNotMatch"),
])
def test_aws_published_streaming_upload_is_verified_chunk_by_chunk(change, code):
    from local_aws import s3_integrity
    from local_aws.access import chunk_signing, sigv4

    chunks = [(b"%x;chunk-signature=%s\r\n" % (size, signature.encode()), b"a" * size) for size, signature in
              AWS_EXAMPLE_CHUNKS]
    if change == "a byte of the second chunk":
        chunks[1] = (chunks[1][0], b"b" + chunks[1][1][1:])
    elif change == "the chunks' signatures swapped":
        chunks[0], chunks[1] = (chunks[1][0].replace(b"400", b"10000"), chunks[0][1]), (
            chunks[0][0].replace(b"10000", b"400"), chunks[1][1])
    elif change == "no signature on the last chunk":
        chunks[2] = (b"0\r\n", b"")
    body = b"".join(header + data + (b"\r\n" if data else b"") for header, data in chunks) + b"\r\n"
    environ = _example_environ(body)
    found = sigv4.claim(environ)
    signing = sigv4.check_signature(environ, found, AWS_EXAMPLE_KEY[1], "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    assert signing.seed == AWS_EXAMPLE_SEED  # the header signature AWS published verifies
    environ[chunk_signing.ENVIRON_KEY] = signing
    refused = s3_integrity.refusal(environ)
    assert (refused and refused.code) == code
    if refused is not None:
        assert refused.status == 403


def _streaming_put(local_aws, bucket: str, key: str, chunks: list[bytes], payload_hash: str,
                   trailers: list[tuple[str, str]] | None = None, **body_options) -> requests.Response:
    """A signed streaming PUT as the Java and Go SDKs send one over HTTP, signed at the current time."""

    class StreamingSigner(S3SigV4Auth):
        def payload(self, request):
            return payload_hash

    url = f"{local_aws.url}/{bucket}/{key}"
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(sum(map(len, chunks)))}
    if trailers is not None:
        headers["x-amz-trailer"] = ",".join(name for name, _ in trailers)
    request = AWSRequest(method="PUT", url=url, headers=headers)
    secret = local_aws.credentials.secret_access_key
    StreamingSigner(Credentials(local_aws.credentials.access_key_id, secret), "s3", "us-east-1").add_auth(request)
    timestamp = request.headers["X-Amz-Date"]
    seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    body = _signed_body(chunks, _signing_key(secret, timestamp[:8]), timestamp, seed, trailers, **body_options)
    return requests.put(url, data=body, headers=dict(request.headers.items()), timeout=10)


def test_a_signed_streaming_upload_is_stored_only_when_every_chunk_carries_its_signature(local_aws, s3, bucket):
    chunks = [b"x" * 8192, b"y" * 100]
    right = _streaming_put(local_aws, bucket, "streamed-right", chunks, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    assert right.status_code == 200, right.text
    assert _stored(s3, bucket, "streamed-right") == b"".join(chunks)
    tampered = _streaming_put(local_aws, bucket, "streamed-tampered", chunks, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                              tamper=lambda index, data: data.replace(b"y", b"z") if index == 1 else data)
    assert (tampered.status_code, _error_code(tampered)) == (403, "SignatureDoesNotMatch")
    assert _stored(s3, bucket, "streamed-tampered") is None


def test_a_signed_trailer_is_checked_with_the_chunks(local_aws, s3, bucket):
    payload_hash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    chunks = [b"trailed payload"]

    def put(key, checksum=_crc32(chunks[0]), **options):
        return _streaming_put(local_aws, bucket, key, chunks, payload_hash, [("x-amz-checksum-crc32", checksum)],
                              **options)

    right = put("trailer-signed")
    assert right.status_code == 200, right.text
    assert _stored(s3, bucket, "trailer-signed") == chunks[0]
    for key, response, status, code in [
        ("trailer-bad-crc", put("trailer-bad-crc", _crc32(b"other")), 400, "BadDigest"),
        ("trailer-forged", put("trailer-forged", trailer_signature=lambda signature: "0" * 64), 403,
         "SignatureDoesNotMatch"),
        ("trailer-unsigned", put("trailer-unsigned", trailer_signature=lambda signature: None), 403,
         "SignatureDoesNotMatch"),
    ]:
        assert (response.status_code, _error_code(response)) == (status, code), key
        assert _stored(s3, bucket, key) is None


@pytest.mark.parametrize("declared, status, code", [
    ("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", 501, "NotImplemented"),
    ("not-a-hash", 400, "InvalidArgument"),
])
def test_a_payload_hash_local_aws_cannot_check_is_refused_by_name(local_aws, s3, bucket, declared, status, code):
    response = _streaming_put(local_aws, bucket, "refused-hash", [b"data"], declared)
    assert (response.status_code, _error_code(response)) == (status, code)
    assert _stored(s3, bucket, "refused-hash") is None
