"""The signatures of an aws-chunked body (S3's signed streaming uploads), chained from the request's seed
signature as S3 chains them: each chunk's signature signs the chunk and the signature before it, so
no chunk can be changed, dropped, reordered or added, and the trailer's signature closes the chain.

The gate verifies the seed signature (the Authorization header's, over the payload hash
`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`) and leaves a `ChunkSigning` in the request's environ
under `ENVIRON_KEY`; `local_aws.s3_integrity` checks every chunk with it as the body is read.
"""

import hashlib
import hmac
from dataclasses import dataclass

ENVIRON_KEY = "local_aws.chunk_signing"
SIGNED_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
SIGNED_STREAMING_PAYLOADS = (SIGNED_PAYLOAD, SIGNED_PAYLOAD_TRAILER)
UNSIGNED_PAYLOAD_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
# SigV4a: signed with an ECDSA key that local AWS does not derive; refused by name.
ECDSA_PAYLOADS = ("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER")
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class ChunkSigning:
    key: bytes  # the request's SigV4 signing key
    timestamp: str  # its x-amz-date
    scope: str  # date/region/service/aws4_request
    seed: str  # the Authorization header's signature
    signed_trailer: bool  # whether the body ends with an x-amz-trailer-signature

    @classmethod
    def for_request(cls, secret_access_key: str, timestamp: str, scope_date: str, region: str, service: str,
                    seed: str, payload_hash: str) -> "ChunkSigning":
        key = ("AWS4" + secret_access_key).encode()
        for part in (scope_date, region, service, "aws4_request"):
            key = _hmac(key, part)
        return cls(key, timestamp, f"{scope_date}/{region}/{service}/aws4_request", seed,
                   payload_hash == SIGNED_PAYLOAD_TRAILER)

    def chunk_signature(self, previous: str, chunk_sha256: str) -> str:
        """The signature of a chunk whose data hashes to `chunk_sha256`, following the signature `previous`."""
        return _hmac(self.key, "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", self.timestamp, self.scope, previous,
                                          _EMPTY_SHA256, chunk_sha256))).hex()

    def trailer_signature(self, previous: str, trailers: list[tuple[str, str]]) -> str:
        """The signature of the trailing headers `trailers` (name, value), following the last chunk's `previous`."""
        canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
        return _hmac(self.key, "\n".join(("AWS4-HMAC-SHA256-TRAILER", self.timestamp, self.scope, previous,
                                          hashlib.sha256(canonical.encode()).hexdigest()))).hex()


def matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()
