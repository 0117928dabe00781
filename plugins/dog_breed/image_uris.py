"""The AWS Deep Learning Container images for PyTorch training and inference, as the SageMaker Python SDK
resolves them (offline, from the image tables it ships: accounts per region, CPU or GPU builds).

SageMaker script mode runs `model_code/` inside these images: the training image for tuning trials and
training jobs, the inference image (with the SageMaker PyTorch inference toolkit) for the endpoint. The
local AWS endpoint accepts the same URIs and runs the same code as local processes. The version is the
newest the SDK lists for both training and inference images, with the newest Python they share.

The SDK takes seconds to import, so these functions import it when a task calls them, never while a DAG
file is parsed.
"""

from __future__ import annotations

import functools
from typing import Any

FRAMEWORK = "pytorch"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.removeprefix("py").split("."))


@functools.cache
def _image_tables() -> tuple[dict[str, Any], dict[str, Any], str]:
    from sagemaker.core import image_uris

    config = image_uris.config_for_framework(FRAMEWORK)
    training, inference = config["training"]["versions"], config["inference"]["versions"]
    version = max(set(training) & set(inference), key=_version_key)
    return training[version], inference[version], version


def pytorch_release() -> tuple[str, str]:
    """The PyTorch version of the images, and their Python (e.g. "2.6.0", "py312")."""
    training, inference, version = _image_tables()
    python = max(set(training["py_versions"]) & set(inference["py_versions"]), key=_version_key)
    return version, python


def pytorch_regions() -> frozenset[str]:
    """The regions that publish both images of the release."""
    training, inference, _ = _image_tables()
    return frozenset(training["registries"]) & frozenset(inference["registries"])


def pytorch_image_uri(region: str, instance_type: str, *, inference: bool) -> str:
    """The training or inference image for `instance_type` (the CUDA build on a GPU instance) in `region`."""
    if region not in pytorch_regions():
        raise ValueError(f"region: no PyTorch Deep Learning Container is listed for {region!r}; "
                         f"known regions: {', '.join(sorted(pytorch_regions()))}")
    from sagemaker.core import image_uris

    version, python = pytorch_release()
    return image_uris.retrieve(FRAMEWORK, region=region, version=version, py_version=python,
                               instance_type=instance_type, image_scope="inference" if inference else "training")
