"""The SageMaker PyTorch inference handler contract, run on a model directory.

A model directory is what SageMaker extracts from ``model.tar.gz``: the artifacts plus ``code/``
with ``inference.py``. This module imports that script the way the SageMaker inference toolkit's
``Transformer`` does and runs a request through ``transform_fn`` or through
``input_fn`` -> ``predict_fn`` -> ``output_fn``.

The local Python environment stands in for the serving container: ``code/requirements.txt`` is
checked against it, never pip-installed, so a model never silently runs against packages it did
not ask for.
"""

import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from local_aws.containers.requirements import unmet_requirements

DEFAULT_ENTRY_POINT = "inference.py"
# The toolkit decodes these bodies to str before input_fn sees them (content_types.UTF8_TYPES).
UTF8_CONTENT_TYPES = frozenset({"application/json", "text/csv"})
ANY_ACCEPT = "*/*"
SERVING_FUNCTIONS = ("input_fn", "predict_fn", "output_fn")


class ModelLoadError(Exception):
    """The model directory cannot be served: the message becomes the endpoint's FailureReason."""


class InvocationError(Exception):
    """A request the handler refused or failed on, with the HTTP status the container answers."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class Response:
    body: bytes
    content_type: str


def _import_entry_point(script: Path):
    # The toolkit imports the script as a top-level module with code/ first on sys.path, so the
    # script's own helper modules import by their plain names.
    sys.path.insert(0, str(script.parent))
    spec = importlib.util.spec_from_file_location(script.stem, script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _check_arity(function: Callable, expected: int) -> None:
    taken = len(inspect.signature(function).parameters)
    if taken == expected + 1:
        raise ModelLoadError(
            f"{function.__name__} takes a request context argument, which local AWS does not "
            "provide; define it without the context parameter"
        )
    if taken != expected:
        raise ModelLoadError(f"{function.__name__} takes {taken} arguments but {expected} are given")


class InferenceHandler:
    """A loaded model and the serving functions of its ``code/inference.py``.

    ``entry_point`` and ``default_accept`` come from the container environment
    (``SAGEMAKER_PROGRAM``, ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``) as in the toolkit.
    """

    def __init__(self, model_dir: Path, entry_point: str = DEFAULT_ENTRY_POINT,
                 default_accept: str = "application/json"):
        self.model_dir = Path(model_dir)
        self.entry_point = entry_point
        self.default_accept = default_accept
        code_dir = self.model_dir / "code"
        if not (code_dir / entry_point).is_file():
            raise ModelLoadError(f"the model archive has no code/{entry_point}")
        requirements = code_dir / "requirements.txt"
        if requirements.is_file():
            problems = unmet_requirements(requirements)
            if problems:
                raise ModelLoadError(
                    "code/requirements.txt is not satisfied by the local environment (local AWS "
                    "does not pip-install model requirements): " + "; ".join(problems)
                )
        try:
            module = _import_entry_point(code_dir / entry_point)
        except Exception as error:
            raise ModelLoadError(f"importing code/{entry_point} failed: {_describe(error)}") from error
        self._transform_fn = self._resolve_functions(module)
        try:
            self.model = module.model_fn(str(self.model_dir))
        except Exception as error:
            raise ModelLoadError(f"model_fn failed: {_describe(error)}") from error

    def _resolve_functions(self, module) -> Callable | None:
        if not hasattr(module, "model_fn"):
            raise ModelLoadError(
                f"code/{self.entry_point} defines no model_fn (the toolkit's default TorchScript loader "
                "is not emulated locally)"
            )
        _check_arity(module.model_fn, 1)
        transform_fn = getattr(module, "transform_fn", None)
        defined = [name for name in SERVING_FUNCTIONS if hasattr(module, name)]
        if transform_fn is not None:
            if defined:
                raise ModelLoadError(
                    "Cannot use transform_fn implementation in conjunction with input_fn, "
                    "predict_fn, and/or output_fn implementation"
                )
            _check_arity(transform_fn, 4)
            return transform_fn
        missing = [name for name in SERVING_FUNCTIONS if name not in defined]
        if missing:
            raise ModelLoadError(
                f"code/{self.entry_point} defines neither transform_fn nor {', '.join(missing)} (the "
                "toolkit's default handlers are not emulated locally)"
            )
        self._input_fn, self._predict_fn, self._output_fn = (
            getattr(module, name) for name in SERVING_FUNCTIONS
        )
        for function in (self._input_fn, self._predict_fn, self._output_fn):
            _check_arity(function, 2)
        return None

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Response:
        """Run one request; any failure becomes an :class:`InvocationError`."""
        if not accept or accept == ANY_ACCEPT:
            accept = self.default_accept
        try:
            data: Any = body.decode("utf-8") if content_type in UTF8_CONTENT_TYPES else body
            if self._transform_fn is not None:
                result = self._transform_fn(self.model, data, content_type, accept)
            else:
                decoded = self._input_fn(data, content_type)
                prediction = self._predict_fn(decoded, self.model)
                result = self._output_fn(prediction, accept)
        except Exception as error:
            raise _as_invocation_error(error) from error
        # The toolkit accepts (body, content_type) for handlers that answer another type.
        if isinstance(result, tuple):
            result, accept = result
        if isinstance(result, str):
            result = result.encode("utf-8")
        return Response(bytes(result), accept)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _as_invocation_error(error: Exception) -> InvocationError:
    # Like the toolkit's BaseInferenceToolkitError: a handler chooses its HTTP status by raising
    # an exception that carries status_code (and message); anything else is a 500.
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and 400 <= status <= 599:
        return InvocationError(status, str(getattr(error, "message", None) or error))
    return InvocationError(500, _describe(error))
