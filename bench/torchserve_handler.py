"""TorchServe entry point for bench_hosting.py: the same model dir and the same four handler
functions that a local AWS replica serves, behind TorchServe's frontend instead."""

import json

from local_aws.hosting.inference_handler import InferenceHandler

_handler: InferenceHandler | None = None


def handle(data, context):
    global _handler
    if _handler is None:
        _handler = InferenceHandler(context.system_properties["model_dir"])
    if data is None:
        return None
    answers = []
    for index, row in enumerate(data):
        response = _handler.invoke(
            _raw(row.get("body") or row.get("data")),
            context.get_request_header(index, "Content-Type"),
            context.get_request_header(index, "Accept"),
        )
        context.set_response_content_type(index, response.content_type)
        answers.append(response.body)
    return answers


def _raw(body) -> bytes:
    # TorchServe's frontend hands over JSON bodies already parsed and text as str.
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")
