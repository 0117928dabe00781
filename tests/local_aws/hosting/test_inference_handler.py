"""The inference handler contract on model dirs whose inference.py each test writes: the toolkit's
function resolution, body decoding, error statuses, and refusals at load time."""

import sys

import pytest

from hosting_helpers import write_model_dir
from local_aws.hosting.inference_handler import InferenceHandler, InvocationError, ModelLoadError

FOUR_FUNCTIONS = """
    import json

    class BadRequest(Exception):
        status_code = 422

    def model_fn(model_dir):
        return {"scale": 2}

    def input_fn(body, content_type):
        if content_type != "application/json":
            raise BadRequest(f"cannot read {content_type}")
        return json.loads(body)

    def predict_fn(data, model):
        if data.get("explode"):
            raise RuntimeError("prediction exploded")
        return [value * model["scale"] for value in data["values"]]

    def output_fn(prediction, accept):
        return json.dumps({"accept": accept, "prediction": prediction})
"""


@pytest.fixture
def load(tmp_path):
    """``load(source, **handler_kwargs)``: an InferenceHandler on a fresh model dir."""
    loaded_modules, search_path = set(sys.modules), list(sys.path)

    def make(source: str, requirements: str | None = None, **kwargs) -> InferenceHandler:
        model_dir = write_model_dir(tmp_path / f"model-{len(list(tmp_path.iterdir()))}", source)
        if requirements is not None:
            (model_dir / "code" / "requirements.txt").write_text(requirements)
        return InferenceHandler(model_dir, **kwargs)

    yield make
    # Each model's inference.py is imported as the top-level module "inference" with its code/ on
    # sys.path, as in a container.
    for name in set(sys.modules) - loaded_modules:
        del sys.modules[name]
    sys.path[:] = search_path


def test_input_predict_output_run_in_order_on_decoded_json(load):
    handler = load(FOUR_FUNCTIONS)
    response = handler.invoke(b'{"values": [1, 2]}', "application/json", "application/json")
    assert response.content_type == "application/json"
    assert response.body == b'{"accept": "application/json", "prediction": [2, 4]}'


def test_a_missing_or_wildcard_accept_becomes_the_default_accept(load):
    handler = load(FOUR_FUNCTIONS, default_accept="text/csv")
    for accept in (None, "*/*"):
        assert b'"accept": "text/csv"' in handler.invoke(b'{"values": []}', "application/json", accept).body


def test_handler_errors_keep_their_status_and_others_are_500(load):
    handler = load(FOUR_FUNCTIONS)
    with pytest.raises(InvocationError) as raised:
        handler.invoke(b"1,2", "text/csv", None)
    assert (raised.value.status_code, raised.value.message) == (422, "cannot read text/csv")
    with pytest.raises(InvocationError) as raised:
        handler.invoke(b'{"explode": true}', "application/json", None)
    assert (raised.value.status_code, raised.value.message) == (500, "RuntimeError: prediction exploded")


def test_transform_fn_gets_bytes_for_binary_types_and_may_answer_its_own_type(load):
    handler = load("""
        def model_fn(model_dir):
            return None

        def transform_fn(model, body, content_type, accept):
            return f"{type(body).__name__}:{len(body)}", "text/plain"
    """)
    assert handler.invoke(b"\xff\xd8\xff", "image/jpeg", "application/json").body == b"bytes:3"
    assert handler.invoke(b"a,b", "text/csv", None).body == b"str:3"
    assert handler.invoke(b"a", "image/jpeg", None).content_type == "text/plain"


@pytest.mark.parametrize("source, reason", [
    ("def input_fn(body, content_type): pass", "defines no model_fn"),
    ("def model_fn(model_dir): pass\ndef input_fn(b, c): pass", "neither transform_fn nor predict_fn, output_fn"),
    ("def model_fn(model_dir): pass\ndef transform_fn(m, b, c, a): pass\ndef input_fn(b, c): pass",
     "Cannot use transform_fn implementation in conjunction with input_fn"),
    ("def model_fn(model_dir, context): pass\ndef transform_fn(m, b, c, a): pass", "request context argument"),
    ("import not_a_module_anywhere", "importing code/inference.py failed: ModuleNotFoundError"),
    ("def model_fn(model_dir): raise OSError('weights missing')\ndef transform_fn(m, b, c, a): pass",
     "model_fn failed: OSError: weights missing"),
])
def test_unservable_model_code_is_refused_at_load_with_the_reason(load, source, reason):
    with pytest.raises(ModelLoadError, match=reason):
        load(source)


def test_requirements_are_checked_against_the_environment_never_installed(load):
    serving = "def model_fn(d): pass\ndef transform_fn(m, b, c, a): pass"
    load(serving, requirements="torch\npillow>=9.1\n")
    with pytest.raises(ModelLoadError, match="does not pip-install model requirements"):
        load(serving, requirements="surely-not-installed-package==1.0\n")


def test_another_entry_point_can_be_named(load):
    with pytest.raises(ModelLoadError, match="has no code/serve.py"):
        load(FOUR_FUNCTIONS, entry_point="serve.py")
