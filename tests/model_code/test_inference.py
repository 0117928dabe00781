import base64
import io
import json
import os
import random
import struct
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

import inference
from inference import (EmptyBody, ImageTooLarge, InvalidImage, InvalidRequest, ModelLoadError, UnsupportedAccept,
                       UnsupportedContentType, input_fn, model_fn, output_fn, predict_fn)

LABELS = {"Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"}


@pytest.fixture(scope="module")
def model_dir(trained_run, tmp_path_factory) -> Path:
    """The model dir packed as SageMaker packs it into model.tar.gz, then unpacked as a container does."""
    run_dir, _ = trained_run
    archive = tmp_path_factory.mktemp("s3") / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted((run_dir / "model").iterdir()):
            tar.add(path, arcname=path.name)
    unpacked = tmp_path_factory.mktemp("opt-ml-model")
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    return unpacked


@pytest.fixture(scope="module")
def model(model_dir):
    return model_fn(str(model_dir))


@pytest.fixture(scope="module")
def jpeg_bytes(tiny_dataset) -> bytes:
    return next((tiny_dataset / "test" / "004.Three").iterdir()).read_bytes()


def png_of(jpeg: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height: what a decompression bomb looks like before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def answer(model, body, content_type="image/jpeg", accept="application/json"):
    return json.loads(output_fn(predict_fn(input_fn(body, content_type), model), accept))


def test_model_tarball_round_trips_in_a_process_that_sees_only_its_code_dir(model_dir, jpeg_bytes, tmp_path):
    requests = {"image/jpeg": jpeg_bytes, "image/png": png_of(jpeg_bytes), "application/x-image": jpeg_bytes}
    arguments = []
    for number, (content_type, body) in enumerate(requests.items()):
        (tmp_path / str(number)).write_bytes(body)
        arguments += [str(tmp_path / str(number)), content_type]
    script = (
        "import json, sys, inference\n"
        "model = inference.model_fn(sys.argv[1])\n"
        "for path, content_type in zip(sys.argv[2::2], sys.argv[3::2]):\n"
        "    request = inference.input_fn(open(path, 'rb').read(), content_type)\n"
        "    print(inference.output_fn(inference.predict_fn(request, model), 'application/json'))\n"
        "print(json.dumps(sorted(m.__file__ for m in list(sys.modules.values()) if m.__name__ in "
        "('inference', 'networks', 'preprocessing'))))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # With -c the working directory, code/, comes first on sys.path, as in the model server; the
    # repository's model_code/ is not reachable.
    completed = subprocess.run([sys.executable, "-c", script, str(model_dir), *arguments], cwd=model_dir / "code",
                               env=env, capture_output=True, text=True, timeout=120)

    assert completed.returncode == 0, completed.stderr
    *prediction_lines, modules_line = completed.stdout.splitlines()
    assert len(json.loads(modules_line)) == 3
    assert all(Path(f).parent == model_dir / "code" for f in json.loads(modules_line))
    assert len(prediction_lines) == 3
    for prediction in map(json.loads, prediction_lines):
        assert len(prediction) == 5 and {p["label"] for p in prediction} <= LABELS
        probabilities = [p["probability"] for p in prediction]
        assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-6


def test_jpeg_png_and_base64_json_of_one_picture_predict_alike(model, jpeg_bytes):
    from_jpeg = answer(model, jpeg_bytes)
    from_png = answer(model, png_of(jpeg_bytes), "image/png")
    from_json = answer(model, json.dumps({"image": base64.b64encode(jpeg_bytes).decode()}), "application/json")

    assert [p["label"] for p in from_png] == [p["label"] for p in from_jpeg] == [p["label"] for p in from_json]
    assert [p["probability"] for p in from_png] == pytest.approx([p["probability"] for p in from_jpeg], abs=1e-5)


def test_probabilities_are_a_softmax_over_all_classes(model, jpeg_bytes):
    everything = answer(model, json.dumps({"image": base64.b64encode(jpeg_bytes).decode(), "top_k": 1000}),
                        "application/json")

    assert {p["label"] for p in everything} == LABELS
    assert sum(p["probability"] for p in everything) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("top_k, expected", [(1, 1), (3, 3), (10, 10), (11, 10)])
def test_top_k_from_json(model, jpeg_bytes, top_k, expected):
    body = json.dumps({"image": base64.b64encode(jpeg_bytes).decode(), "top_k": top_k}).encode()
    assert len(answer(model, body, "application/json; charset=utf-8")) == expected


def truncated_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 64).convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()[: buffer.tell() // 2]


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="GIF")
    return buffer.getvalue()


def json_body(**fields) -> str:
    return json.dumps(fields)


VALID_B64 = base64.b64encode(png_header(4, 4)).decode()


@pytest.mark.parametrize(
    "body, content_type, error, message",
    [
        (b"", "image/jpeg", EmptyBody, "body is empty"),
        (b"GIF89a-ish text", "image/jpeg", InvalidImage, "not a JPEG or PNG image"),
        (gif_bytes(), "application/x-image", InvalidImage, "not a JPEG or PNG image"),
        (truncated_jpeg(), "image/jpeg", InvalidImage, "truncated or corrupt"),
        (png_header(8000, 8000), "image/png", ImageTooLarge, "8000x8000 = 64000000 pixels; at most 40000000"),
        (png_header(100_000, 100_000), "image/png", ImageTooLarge, "too many pixels"),
        (b"a,b\n1,2", "text/csv", UnsupportedContentType, "unsupported content type 'text/csv'; send one of image/jpeg"),
        (b"\x89PNG", None, UnsupportedContentType, "unsupported content type None"),
        ("{not json", "application/json", InvalidRequest, "not valid JSON"),
        ("[1, 2]", "application/json", InvalidRequest, "expected a JSON object"),
        (json_body(top_k=3), "application/json", InvalidRequest, 'lacks "image"'),
        (json_body(url="http://169.254.169.254/"), "application/json", InvalidRequest, "URLs are never fetched"),
        (json_body(image="***"), "application/json", InvalidRequest, '"image" is not valid base64'),
        (json_body(image=""), "application/json", EmptyBody, '"image" is empty'),
        (json_body(image=7), "application/json", InvalidRequest, '"image" must be a base64 string'),
        (json_body(image=VALID_B64, top_k=0), "application/json", InvalidRequest, '"top_k" must be an integer >= 1, got 0'),
        (json_body(image=VALID_B64, top_k=-2), "application/json", InvalidRequest, "got -2"),
        (json_body(image=VALID_B64, top_k=2.5), "application/json", InvalidRequest, "got 2.5"),
        (json_body(image=VALID_B64, top_k="3"), "application/json", InvalidRequest, 'got "3"'),
        (json_body(image=VALID_B64, top_k=True), "application/json", InvalidRequest, "got true"),
    ],
)
def test_bad_input_raises_an_error_naming_the_problem(body, content_type, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace("*", r"\*")) as raised:
        input_fn(body, content_type)
    assert 400 <= raised.value.status_code < 500


def test_an_image_body_given_as_text_is_refused():
    with pytest.raises(InvalidImage, match="an image/png body must be the image bytes, got text"):
        input_fn("\x89PNG", "image/png")


def mutations(seed_files: list[bytes], count: int, seed: int = 0):
    """Seeded random damage: bytes overwritten, cut out or inserted, up to eight times per file."""
    rng = random.Random(seed)
    for _ in range(count):
        data = bytearray(rng.choice(seed_files))
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(max(1, len(data)))
            kind = rng.random()
            if kind < 0.6 and data:
                data[position] = rng.randrange(256)
            elif kind < 0.8:
                del data[position:position + rng.randint(1, 50)]
            else:
                data[position:position] = rng.randbytes(rng.randint(1, 20))
        yield bytes(data)


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def test_damaged_images_either_decode_or_raise_an_inference_error():
    noise = Image.effect_noise((40, 24), 40)
    seed_files = [encoded(noise.convert("RGB"), "JPEG"), encoded(noise, "JPEG", progressive=True),
                  encoded(noise.convert("RGB"), "PNG"), encoded(Image.new("P", (16, 16)), "PNG"),
                  encoded(noise, "PNG", optimize=True)]
    outcomes = {"decoded": 0, "refused": 0}

    for body in mutations(seed_files, count=1500):
        try:
            assert inference.decode_image(body).mode == "RGB"
            outcomes["decoded"] += 1
        except (InvalidImage, ImageTooLarge):
            outcomes["refused"] += 1

    # Both outcomes occur, and nothing else escaped (a model server would answer 500 to it).
    assert min(outcomes.values()) > 100, outcomes


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html, application/json;q=0.9", "application/*"])
def test_json_is_answered_to_any_accept_that_admits_it(model, jpeg_bytes, accept):
    assert len(answer(model, jpeg_bytes, accept=accept)) == 5


def test_unsupported_accept_is_refused(model, jpeg_bytes):
    prediction = predict_fn(input_fn(jpeg_bytes, "image/jpeg"), model)
    with pytest.raises(UnsupportedAccept, match="cannot answer in 'text/csv'; the response is application/json") as raised:
        output_fn(prediction, "text/csv")
    assert raised.value.status_code == 406


def test_a_model_dir_without_its_files_cannot_load(tmp_path):
    with pytest.raises(ModelLoadError, match=f"cannot load the model from {tmp_path}"):
        model_fn(str(tmp_path))


def test_labels_drop_the_class_number():
    assert [inference.label_of(n) for n in ("001.Affenpinscher", "037.Bichon_frise", "plain")] == [
        "Affenpinscher", "Bichon_frise", "plain"]
