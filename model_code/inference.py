"""The SageMaker PyTorch inference handler: ``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``.

Requests carry the image itself (``image/jpeg``, ``image/png``, ``application/x-image``) or JSON
``{"image": "<base64>", "top_k": 3}``; the answer is JSON, the top-k classes by softmax probability::

    [{"label": "Affenpinscher", "probability": 0.93}, ...]

Model containers run with network isolation, so nothing here ever fetches a URL. Every bad request
raises an ``InferenceError`` subclass whose message names the problem and whose ``status_code`` is the
HTTP status a model server should answer with.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError

from dataset_layout import label_of
from networks import build_model
from preprocessing import normalize, to_model_input

JSON = "application/json"
IMAGE_CONTENT_TYPES = ("image/jpeg", "image/png", "application/x-image")
CONTENT_TYPES = (*IMAGE_CONTENT_TYPES, JSON)
IMAGE_FORMATS = ("JPEG", "PNG")
JSON_FIELDS = ("image", "top_k")
DEFAULT_TOP_K = 5
# 40 megapixels is beyond any phone photo; larger headers are decompression bombs, refused before decoding.
MAX_IMAGE_PIXELS = 40_000_000

# What Pillow's JPEG and PNG decoders raise on damaged data (found by mutating valid files).
CORRUPT_IMAGE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)

# Chosen once per worker: every model and request of this process uses it.
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class InferenceError(Exception):
    status_code = 400


class EmptyBody(InferenceError):
    pass


class InvalidImage(InferenceError):
    pass


class ImageTooLarge(InferenceError):
    status_code = 413


class InvalidRequest(InferenceError):
    """Malformed JSON, an unknown field or a bad ``top_k``."""


class UnsupportedContentType(InferenceError):
    status_code = 415


class UnsupportedAccept(InferenceError):
    status_code = 406


class ModelLoadError(InferenceError):
    status_code = 500


@dataclass
class LoadedModel:
    network: torch.nn.Module
    labels: list[str]
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass
class PredictionRequest:
    image: Image.Image
    top_k: int = DEFAULT_TOP_K


def model_fn(model_dir: str) -> LoadedModel:
    """Load ``model.pth`` with the architecture and classes that training recorded beside it."""
    model_dir = Path(model_dir)
    try:
        metadata = json.loads((model_dir / "metadata.json").read_text())
        classes = json.loads((model_dir / "classes.json").read_text())
        network = build_model(metadata["arch"], len(classes))
        network.load_state_dict(torch.load(model_dir / "model.pth", map_location=DEVICE, weights_only=True))
        return LoadedModel(
            network=network.to(DEVICE).eval(),
            labels=[label_of(name) for name in classes],
            image_size=int(metadata["image_size"]),
            mean=tuple(metadata["normalization"]["mean"]),
            std=tuple(metadata["normalization"]["std"]),
        )
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise ModelLoadError(f"cannot load the model from {model_dir}: {error!r}") from error


def input_fn(request_body, request_content_type: str) -> PredictionRequest:
    content_type = _media_type(request_content_type)
    if content_type not in CONTENT_TYPES:
        raise UnsupportedContentType(
            f"unsupported content type {request_content_type!r}; send one of {', '.join(CONTENT_TYPES)}"
        )
    if not request_body:
        raise EmptyBody("the request body is empty; send an image")
    if content_type == JSON:
        return _json_request(request_body)
    if isinstance(request_body, str):
        raise InvalidImage(f"an {content_type} body must be the image bytes, got text")
    return PredictionRequest(decode_image(bytes(request_body)))


def _json_request(body) -> PredictionRequest:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"the body is not valid JSON: {error}") from error
    if not isinstance(payload, dict):
        raise InvalidRequest('expected a JSON object {"image": "<base64 JPEG or PNG>", "top_k": 5}')
    unknown = sorted(set(payload) - set(JSON_FIELDS))
    if unknown:
        raise InvalidRequest(
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(JSON_FIELDS)}"
            + (" (URLs are never fetched: send the image bytes as base64)" if "url" in unknown else "")
        )
    if "image" not in payload:
        raise InvalidRequest('the JSON object lacks "image", the base64 JPEG or PNG')
    if not isinstance(payload["image"], str):
        raise InvalidRequest('"image" must be a base64 string')
    try:
        image_bytes = base64.b64decode(payload["image"], validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidRequest(f'"image" is not valid base64: {error}') from error
    if not image_bytes:
        raise EmptyBody('"image" is empty; send a base64 JPEG or PNG')
    return PredictionRequest(decode_image(image_bytes), parse_top_k(payload.get("top_k", DEFAULT_TOP_K)))


def parse_top_k(value) -> int:
    # bool is an int subclass: true must not mean 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(f'"top_k" must be an integer >= 1, got {json.dumps(value)}')
    return value


def decode_image(data: bytes) -> Image.Image:
    """Fully decoded RGB image, or an error naming why not (not an image, truncated, too many pixels)."""
    try:
        image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except UnidentifiedImageError as error:
        raise InvalidImage(f"the body is not a {' or '.join(IMAGE_FORMATS)} image") from error
    except Image.DecompressionBombError as error:
        raise ImageTooLarge(f"the image has too many pixels: {error}") from error
    except CORRUPT_IMAGE_ERRORS as error:
        raise InvalidImage(f"the image header is truncated or corrupt: {error}") from error
    pixels = image.width * image.height
    if pixels > MAX_IMAGE_PIXELS:
        raise ImageTooLarge(
            f"the image is {image.width}x{image.height} = {pixels} pixels; at most {MAX_IMAGE_PIXELS} are accepted"
        )
    try:
        image.load()
        return image.convert("RGB")
    except CORRUPT_IMAGE_ERRORS as error:
        raise InvalidImage(f"the image data is truncated or corrupt: {error}") from error


def predict_fn(input_object: PredictionRequest, model: LoadedModel) -> list[dict]:
    """The ``top_k`` most probable classes, highest first (all classes when top_k exceeds them)."""
    batch = to_model_input(input_object.image, model.image_size).unsqueeze(0).to(DEVICE)
    with torch.inference_mode():
        probabilities = model.network(normalize(batch, model.mean, model.std)).softmax(dim=1)[0]
    top = probabilities.topk(min(input_object.top_k, len(model.labels)))
    return [
        {"label": model.labels[index], "probability": probability}
        for probability, index in zip(top.values.tolist(), top.indices.tolist())
    ]


def output_fn(prediction: list[dict], accept: str | None) -> str:
    """JSON text; ``accept`` may be absent, ``*/*``, or a list of media ranges that admits JSON."""
    acceptable = {_media_type(media_range) for media_range in (accept or "*/*").split(",")}
    if not acceptable & {JSON, "application/*", "*/*"}:
        raise UnsupportedAccept(f"cannot answer in {accept!r}; the response is {JSON}")
    return json.dumps(prediction)


def _media_type(header: str | None) -> str:
    """``"Image/JPEG; charset=binary"`` -> ``"image/jpeg"``."""
    return (header or "").split(";", 1)[0].strip().lower()
