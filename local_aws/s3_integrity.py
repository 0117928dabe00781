"""S3's integrity headers, checked as S3 checks them before anything is stored (moto stores the body
with `200` whatever they say): `Content-MD5`, `x-amz-checksum-<algorithm>` as a header or as an
aws-chunked trailer, a hex `x-amz-content-sha256`, and the chunk and trailer signatures of a signed
streaming body (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, chained from the request's signature
that the gate verified).

`refusal(environ)` reads the body once, in blocks, and leaves the stream at its start for the back end.
"""

import base64
import binascii
import hashlib

from botocore.compat import HAS_CRT
from botocore.httpchecksum import Crc32Checksum, CrtCrc32cChecksum, CrtCrc64NvmeChecksum, Sha1Checksum, Sha256Checksum

from local_aws.access import chunk_signing, refusals
from local_aws.access.chunk_signing import ChunkSigning
from local_aws.access.refusals import Refusal
from local_aws.access.sigv4 import MISMATCH

BLOCK_BYTES = 1024 * 1024
_MAX_LINE = 4096
CHECKSUMS = {"crc32": Crc32Checksum, "sha1": Sha1Checksum, "sha256": Sha256Checksum}
NEEDS_CRT = {"crc32c": CrtCrc32cChecksum, "crc64nvme": CrtCrc64NvmeChecksum}
if HAS_CRT:
    CHECKSUMS |= NEEDS_CRT
_HEX_SHA256 = frozenset("0123456789abcdef")
_NAMED_PAYLOADS = ("UNSIGNED-PAYLOAD", chunk_signing.UNSIGNED_PAYLOAD_TRAILER, *chunk_signing.SIGNED_STREAMING_PAYLOADS,
                   *chunk_signing.ECDSA_PAYLOADS)


class IntegrityFailure(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def refusal(environ) -> Refusal | None:
    """S3's answer when the body does not match what the request's headers say of it; None when it does."""
    try:
        _check(environ)
    except IntegrityFailure as failure:
        return refusals.answer(failure.status, failure.code, failure.message, refusals.S3)
    return None


def _check(environ) -> None:
    declared_sha256 = environ.get("HTTP_X_AMZ_CONTENT_SHA256", "")
    signing = _chunk_signing(environ, declared_sha256)
    aws_chunked = declared_sha256.startswith("STREAMING-") or "aws-chunked" in environ.get(
        "HTTP_CONTENT_ENCODING", "")
    expected = _declared(environ)
    if _is_hex_sha256(declared_sha256) and not aws_chunked:
        expected["x-amz-content-sha256"] = declared_sha256
    if not expected and not aws_chunked:
        return
    stream = environ["wsgi.input"]
    try:
        if aws_chunked:
            trailers: dict[str, str] = {}
            in_trailer = _trailer_algorithms(environ)
            computed = _digests(_aws_chunked(stream, environ, trailers, signing), {*expected, *in_trailer})
            expected |= _trailer_checksums(trailers, in_trailer)
        else:
            computed = _digests(_blocks(stream), set(expected))
        _compare(expected, computed)
    finally:
        stream.seek(0)


def _chunk_signing(environ, declared_sha256: str) -> ChunkSigning | None:
    """What checks the body's chunk signatures: the gate's, for a signed streaming body; None for any other."""
    if declared_sha256 and not _is_hex_sha256(declared_sha256) and declared_sha256 not in _NAMED_PAYLOADS:
        raise IntegrityFailure(400, "InvalidArgument", "x-amz-content-sha256 must be " + ", ".join(_NAMED_PAYLOADS)
                               + " or a valid sha256 value.")
    if declared_sha256 in chunk_signing.ECDSA_PAYLOADS:
        raise IntegrityFailure(501, "NotImplemented", f"local_aws does not verify SigV4a (ECDSA) signatures, so it "
                               f"refuses {declared_sha256}; sign with SigV4 (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).")
    signing = environ.get(chunk_signing.ENVIRON_KEY)
    if declared_sha256 in chunk_signing.SIGNED_STREAMING_PAYLOADS and signing is None:
        raise IntegrityFailure(400, "InvalidRequest", f"{declared_sha256} needs the request signed with SigV4 in its "
                               "Authorization header: the chunk signatures chain from that signature.")
    return signing


def _declared(environ) -> dict[str, str]:
    """What the headers say the payload hashes to: `content-md5` and each `x-amz-checksum-*`."""
    expected = {}
    md5 = environ.get("HTTP_CONTENT_MD5")
    if md5 is not None:
        if len(_decoded(md5)) != 16:
            raise IntegrityFailure(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        expected["content-md5"] = md5
    for algorithm in (*CHECKSUMS, *NEEDS_CRT):
        value = environ.get(f"HTTP_X_AMZ_CHECKSUM_{algorithm.upper()}")
        if value is not None:
            expected[algorithm] = value
    named = environ.get("HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM", "").lower()
    for algorithm in {*expected, named} & (NEEDS_CRT.keys() - CHECKSUMS.keys()):
        raise _needs_crt(algorithm)
    return expected


def _trailer_algorithms(environ) -> set[str]:
    """The checksum algorithms that `x-amz-trailer` says the body's trailer carries."""
    algorithms = set()
    for name in environ.get("HTTP_X_AMZ_TRAILER", "").split(","):
        algorithm = name.strip().lower().removeprefix("x-amz-checksum-")
        if algorithm in CHECKSUMS:
            algorithms.add(algorithm)
        elif algorithm in NEEDS_CRT:
            raise _needs_crt(algorithm)
        elif algorithm:
            raise IntegrityFailure(400, "InvalidRequest", f"The value specified in the x-amz-trailer header is not "
                                   f"supported: {name.strip()}")
    return algorithms


def _trailer_checksums(trailers: dict[str, str], algorithms: set[str]) -> dict[str, str]:
    found = {}
    for algorithm in algorithms:
        value = trailers.get(f"x-amz-checksum-{algorithm}")
        if value is None:
            raise IntegrityFailure(400, "MalformedTrailerError", "The request contained trailing data that was not "
                                   f"well-formed or did not conform to our published schema: x-amz-checksum-{algorithm} "
                                   "is declared in x-amz-trailer but not sent.")
        found[algorithm] = value
    return found


def _needs_crt(algorithm: str) -> IntegrityFailure:
    return IntegrityFailure(501, "NotImplemented", f"local_aws cannot compute {algorithm.upper()} checksums (they "
                            "need awscrt, which is not installed); use CRC32, SHA1 or SHA256.")


def _digests(payload, wanted: set[str]) -> dict[str, str]:
    """The payload's digests named in `wanted`, each in the encoding its header uses."""
    hashers = {}
    if "content-md5" in wanted:
        hashers["content-md5"] = hashlib.md5(usedforsecurity=False)
    if "x-amz-content-sha256" in wanted:
        hashers["x-amz-content-sha256"] = hashlib.sha256()
    checksums = {name: CHECKSUMS[name]() for name in wanted if name in CHECKSUMS}
    for block in payload:
        for hasher in hashers.values():
            hasher.update(block)
        for checksum in checksums.values():
            checksum.update(block)
    found = {name: base64.b64encode(checksum.digest()).decode() for name, checksum in checksums.items()}
    if "content-md5" in hashers:
        found["content-md5"] = base64.b64encode(hashers["content-md5"].digest()).decode()
    if "x-amz-content-sha256" in hashers:
        found["x-amz-content-sha256"] = hashers["x-amz-content-sha256"].hexdigest()
    return found


def _compare(expected: dict[str, str], computed: dict[str, str]) -> None:
    for name, value in expected.items():
        if name == "x-amz-content-sha256":
            if value != computed[name]:
                raise IntegrityFailure(400, "XAmzContentSHA256Mismatch",
                                       "The provided 'x-amz-content-sha256' header does not match what was computed.")
        elif name == "content-md5":
            if _decoded(value) != _decoded(computed[name]):
                raise IntegrityFailure(400, "BadDigest",
                                       "The Content-MD5 you specified did not match what we received.")
        else:
            if not _decoded(value) or len(_decoded(value)) != len(_decoded(computed[name])):
                raise IntegrityFailure(400, "InvalidRequest", f"Value for x-amz-checksum-{name} header is invalid.")
            if _decoded(value) != _decoded(computed[name]):
                raise IntegrityFailure(400, "BadDigest",
                                       f"The {name.upper()} you specified did not match the calculated checksum.")


def _decoded(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _is_hex_sha256(value: str) -> bool:
    return len(value) == 64 and set(value) <= _HEX_SHA256


def _blocks(stream):
    while block := stream.read(BLOCK_BYTES):
        yield block


def _aws_chunked(stream, environ, trailers: dict[str, str], signing: ChunkSigning | None):
    """The decoded payload of an aws-chunked body, block by block, its trailers put in `trailers`; raises
    IntegrityFailure when the body is not well-formed, its length is not `x-amz-decoded-content-length`,
    or (with `signing`) a chunk or the trailer does not carry its signature."""
    total = 0
    previous = signing.seed if signing is not None else ""
    while True:
        size, signature = _chunk_header(stream.readline(_MAX_LINE))
        digest = hashlib.sha256()
        remaining = size
        while remaining:
            block = stream.read(min(remaining, BLOCK_BYTES))
            if not block:
                raise IntegrityFailure(400, "IncompleteBody", "The request body terminated unexpectedly.")
            remaining -= len(block)
            if signing is not None:
                digest.update(block)
            yield block
        if signing is not None:
            previous = _verified(signing.chunk_signature(previous, digest.hexdigest()), signature)
        if size == 0:
            break
        if stream.read(2) != b"\r\n":
            raise IntegrityFailure(400, "IncompleteBody", "The request body terminated unexpectedly.")
        total += size
    received = []
    while (line := stream.readline(_MAX_LINE).strip()) != b"":
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise IntegrityFailure(400, "MalformedTrailerError", "The request contained trailing data that was "
                                   "not well-formed or did not conform to our published schema.")
        received.append((name.strip().lower(), value.strip()))
    trailers.update(received)
    if signing is not None and signing.signed_trailer:
        signed = [(name, value) for name, value in received if name != "x-amz-trailer-signature"]
        _verified(signing.trailer_signature(previous, signed), trailers.get("x-amz-trailer-signature"))
    decoded_length = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH")
    if decoded_length is not None and decoded_length.isdigit() and int(decoded_length) != total:
        raise IntegrityFailure(400, "IncompleteBody", "You did not provide the number of bytes specified by the "
                               "x-amz-decoded-content-length HTTP header.")


def _chunk_header(line: bytes) -> tuple[int, str | None]:
    """A chunk's size and its `chunk-signature` (None when it has none)."""
    size_field, _, extension = line.strip().partition(b";")
    try:
        size = int(size_field, 16)
    except ValueError:
        raise IntegrityFailure(400, "InvalidChunkSizeError", "Only the last chunk is allowed to have a size "
                               "less than 8192 bytes, and every chunk must begin with its size in hexadecimal.")
    name, _, signature = extension.decode("latin-1").partition("=")
    return size, signature if name == "chunk-signature" else None


def _verified(expected: str, given: str | None) -> str:
    """`expected`, the signature that chains on, when `given` is it; IntegrityFailure otherwise."""
    if given is None or not chunk_signing.matches(expected, given):
        raise IntegrityFailure(403, "SignatureDoesNotMatch", MISMATCH)
    return expected
