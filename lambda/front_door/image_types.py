"""What kind of image a byte string is, judged by its magic bytes rather than by what anyone claims."""

from __future__ import annotations

from front_door.errors import UnsupportedMediaType

_SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}


def sniff_image_type(data: bytes) -> str:
    for signature, content_type in _SIGNATURES.items():
        if data.startswith(signature):
            return content_type
    raise UnsupportedMediaType("NotAnImage", "the image is neither a JPEG nor a PNG (checked by its magic bytes)")
