"""Handler overhead per request: warm container, endpoint stubbed to answer at once (botocore Stubber).

A ~100 KB JPEG is sent through an HTTP API event as base64 JSON and as a raw binary body (and, for
reference, as a direct invocation); each row gives p50/p99 in ms and the ratio of the p50 to simply
base64-decoding the same payload. Target: p50 overhead <= 2 ms.

    .venv/bin/python bench/bench_lambda.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib.util
import io
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

LAMBDA_DIR = Path(__file__).resolve().parents[1] / "lambda"
TARGET_P50_MS = 2.0
MODEL_ANSWER = json.dumps([{"label": f"Breed{i}", "probability": 0.5 / (i + 1)} for i in range(5)]).encode()


class Context:
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    aws_request_id = "bench-request"


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per payload shape")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--image-kb", type=int, default=100)
    return parser


def jpeg_of_about(kilobytes: int) -> bytes:
    """Noise compresses badly, so the side is grown until the JPEG reaches the requested size."""
    rng = random.Random(0)
    side = 64
    while True:
        image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        if buffer.tell() >= kilobytes * 1024:
            return buffer.getvalue()
        side += 8


def load_handler():
    os.environ.update(
        POWERTOOLS_SERVICE_NAME="bench",
        POWERTOOLS_METRICS_NAMESPACE="Bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        # Anything escaping the Stubber hits a closed loopback port, never AWS.
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        ENDPOINT_NAME="bench-endpoint",
    )
    sys.path.insert(0, str(LAMBDA_DIR))
    spec = importlib.util.spec_from_file_location("front_door_handler", LAMBDA_DIR / "handler.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def http_event(body: str, content_type: str, is_base64_encoded: bool) -> dict:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/predict",
        "rawQueryString": "",
        "headers": {"content-type": content_type},
        "requestContext": {"http": {"method": "POST", "path": "/predict"}, "requestId": "bench", "stage": "$default"},
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def time_calls(call, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def measure_handler(handler, event, args) -> list[float]:
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    context = Context()
    with Stubber(handler.runtime) as stub, contextlib.redirect_stdout(io.StringIO()) as sink:
        for _ in range(args.warmup + args.requests):
            stub.add_response(
                "invoke_endpoint",
                {"Body": StreamingBody(io.BytesIO(MODEL_ANSWER), len(MODEL_ANSWER)), "ContentType": "application/json"},
            )

        def call():
            response = handler.lambda_handler(event, context)
            if response["statusCode"] != 200:
                raise SystemExit(f"handler answered {response['statusCode']}: {response['body']}")
            # The EMF lines go to stdout as in Lambda; dropping them keeps the sink small.
            sink.seek(0)
            sink.truncate()

        time_calls(call, args.warmup)
        return time_calls(call, args.requests)


def main(args: argparse.Namespace) -> None:
    image = jpeg_of_about(args.image_kb)
    encoded = base64.b64encode(image).decode()
    handler = load_handler()
    shapes = {
        "HTTP API, base64 JSON": (http_event(json.dumps({"image": encoded}), "application/json", False), encoded),
        "HTTP API, binary body": (http_event(encoded, "image/jpeg", True), encoded),
        "direct invocation": ({"image": encoded}, encoded),
    }
    print(f"image: {len(image) / 1024:.1f} KiB JPEG ({len(encoded) / 1024:.1f} KiB base64), "
          f"{args.requests} requests after {args.warmup} warm-up, python {sys.version.split()[0]}")
    print(f"{'payload':<24}{'p50 ms':>9}{'p99 ms':>9}{'b64 p50 ms':>12}{'p50 ratio':>11}")
    worst_p50 = 0.0
    for name, (event, payload) in shapes.items():
        handler_ms = measure_handler(handler, event, args)
        decode_ms = time_calls(lambda payload=payload: base64.b64decode(payload), args.requests)
        p50, p99, decode_p50 = statistics.median(handler_ms), percentile(handler_ms, 0.99), statistics.median(decode_ms)
        print(f"{name:<24}{p50:>9.3f}{p99:>9.3f}{decode_p50:>12.3f}{p50 / decode_p50:>10.1f}x")
        if name != "direct invocation":
            worst_p50 = max(worst_p50, p50)
    verdict = "met" if worst_p50 <= TARGET_P50_MS else "MISSED"
    print(f"target p50 <= {TARGET_P50_MS:g} ms for the API Gateway payloads: {verdict} (worst p50 {worst_p50:.3f} ms)")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
