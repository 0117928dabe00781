"""Turns what a caller sent (a JSON document or a raw image body) into one validated PredictionRequest.

Sizes are checked before anything is decoded, so a hostile body costs a length comparison, not a parse.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from front_door.errors import BadRequest, InvalidValue, PayloadTooLarge, UnsupportedMediaType
from front_door.settings import MODEL_TOP_K

JSON_TYPE = "application/json"
RAW_IMAGE_TYPES = ("image/jpeg", "image/png")
_MAX_URL_LENGTH = 2048
# Room in a JSON body for the field names, a URL and top_k next to the base64 image.
_JSON_OVERHEAD = 4096
_FIELDS = {"image", "url", "top_k"}


@dataclass(frozen=True)
class PredictionRequest:
    """Exactly one of image and url is set."""

    top_k: int
    image: bytes | None = None
    url: str | None = None


def base64_length(size: int) -> int:
    return (size + 2) // 3 * 4


def parse_http_request(
    body: str | None,
    is_base64_encoded: bool,
    content_type: str | None,
    query_top_k: str | None,
    default_top_k: int,
    max_image_bytes: int,
) -> PredictionRequest:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in RAW_IMAGE_TYPES:
        image = _body_bytes(body, is_base64_encoded, max_image_bytes)
        top_k = default_top_k if query_top_k is None else _top_k_from_query(query_top_k)
        return PredictionRequest(top_k=top_k, image=_checked_image(image, max_image_bytes))
    if media_type == JSON_TYPE:
        limit = base64_length(max_image_bytes) + _JSON_OVERHEAD
        document = _json_document(_body_bytes(body, is_base64_encoded, limit))
        return parse_document(document, default_top_k, max_image_bytes)
    raise UnsupportedMediaType(
        "UnsupportedContentType",
        f"Content-Type {media_type or '(none)'!r} is not accepted: send application/json "
        '({"image": "<base64>"} or {"url": "https://..."}) or the raw image as image/jpeg or image/png',
    )


def parse_document(document: object, default_top_k: int, max_image_bytes: int) -> PredictionRequest:
    """Validates the decoded JSON body (a direct invocation's event arrives here as that body)."""
    if not isinstance(document, dict):
        raise BadRequest(
            "MalformedRequest", 'the request must be a JSON object such as {"image": "<base64>"} or {"url": "..."}'
        )
    unknown = sorted(set(document) - _FIELDS)
    if unknown:
        raise BadRequest("UnknownField", f"unknown field(s) {unknown}: the accepted fields are image, url and top_k")
    top_k = default_top_k if document.get("top_k") is None else _top_k(document["top_k"])
    has_image, has_url = document.get("image") is not None, document.get("url") is not None
    if has_image and has_url:
        raise BadRequest("ConflictingFields", "send either image or url, not both")
    if has_image:
        return PredictionRequest(top_k=top_k, image=_image_from_base64(document["image"], max_image_bytes))
    if has_url:
        return PredictionRequest(top_k=top_k, url=_url(document["url"]))
    raise BadRequest("MissingField", 'the request needs an "image" (base64 string) or a "url" field')


def _body_bytes(body: str | None, is_base64_encoded: bool, limit: int) -> bytes:
    if not body:
        raise BadRequest("EmptyBody", "the request body is empty: send a JSON object or an image")
    if is_base64_encoded:
        if len(body) > base64_length(limit):
            raise _body_too_large(limit)
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise BadRequest("MalformedBody", "the body is flagged isBase64Encoded but is not valid base64") from None
    # Lone surrogates pass through to the JSON parser, which refuses them as invalid UTF-8.
    data = body.encode("utf-8", errors="surrogatepass")
    if len(data) > limit:
        raise _body_too_large(limit)
    return data


def _json_document(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError as error:
        raise BadRequest("MalformedJson", f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise BadRequest("MalformedJson", "the body nests JSON arrays or objects too deeply") from None


def _image_from_base64(value: object, max_image_bytes: int) -> bytes:
    if not isinstance(value, str):
        raise InvalidValue("InvalidImage", f'"image" must be a base64 string, not {type(value).__name__}')
    if len(value) > base64_length(max_image_bytes):
        raise _too_large(max_image_bytes)
    try:
        image = base64.b64decode(value, validate=True)
    # binascii.Error for a bad alphabet or padding, a plain ValueError for non-ASCII text.
    except ValueError:
        raise InvalidValue("InvalidBase64", '"image" is not valid base64 (standard alphabet, padded)') from None
    return _checked_image(image, max_image_bytes)


def _checked_image(image: bytes, max_image_bytes: int) -> bytes:
    if not image:
        raise InvalidValue("EmptyImage", "the image is empty")
    if len(image) > max_image_bytes:
        raise _too_large(max_image_bytes)
    return image


def _url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue("InvalidUrl", '"url" must be a non-empty string such as "https://images.example.com/a.jpg"')
    if len(value) > _MAX_URL_LENGTH:
        raise InvalidValue("InvalidUrl", f'"url" is longer than {_MAX_URL_LENGTH} characters')
    return value


def _top_k(value: object) -> int:
    # bool is an int subclass; true must not mean top_k=1.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MODEL_TOP_K:
        raise InvalidValue("InvalidTopK", f'"top_k" must be an integer from 1 to {MODEL_TOP_K}, got {value!r}')
    return value


def _top_k_from_query(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,2}", raw):
        raise InvalidValue("InvalidTopK", f"top_k must be an integer from 1 to {MODEL_TOP_K}, got {raw!r}")
    return _top_k(int(raw))


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("ImageTooLarge", f"the image is larger than the limit of {limit} bytes (MAX_IMAGE_BYTES)")


def _body_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        "ImageTooLarge", f"the request body is over {limit} bytes, more than an image within MAX_IMAGE_BYTES needs"
    )
