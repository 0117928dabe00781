"""The AWS Deep Learning Container images for PyTorch training and inference, per region.

SageMaker script mode runs `model_code/` inside these images: the training image for tuning trials and
training jobs, the inference image (with the SageMaker PyTorch inference toolkit) for the endpoint. The
local AWS endpoint accepts the same URIs and runs the same code as local processes.

The ECR account that publishes the images differs in a few regions (AWS's "Available Deep Learning
Containers Images" list); regions not in this table are refused rather than guessed.
"""

from __future__ import annotations

import re

PYTORCH_VERSION = "2.3.0"
PYTHON_TAG = "py311"

DLC_ACCOUNTS = {
    "us-east-1": "763104351884",
    "us-east-2": "763104351884",
    "us-west-1": "763104351884",
    "us-west-2": "763104351884",
    "ca-central-1": "763104351884",
    "eu-west-1": "763104351884",
    "eu-west-2": "763104351884",
    "eu-west-3": "763104351884",
    "eu-central-1": "763104351884",
    "eu-north-1": "763104351884",
    "ap-northeast-1": "763104351884",
    "ap-northeast-2": "763104351884",
    "ap-southeast-1": "763104351884",
    "ap-southeast-2": "763104351884",
    "ap-south-1": "763104351884",
    "sa-east-1": "763104351884",
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "eu-south-1": "692866216735",
    "me-south-1": "217643126080",
}

# Instance families with NVIDIA GPUs take the CUDA build of the image.
GPU_FAMILY = re.compile(r"^ml\.(p\d|g\d)[a-z]*\.")


def pytorch_image_uri(region: str, instance_type: str, *, inference: bool) -> str:
    if region not in DLC_ACCOUNTS:
        raise ValueError(f"region: no PyTorch Deep Learning Container is listed for {region!r}; "
                         f"known regions: {', '.join(sorted(DLC_ACCOUNTS))}")
    repository = "pytorch-inference" if inference else "pytorch-training"
    if GPU_FAMILY.match(instance_type):
        tag = f"{PYTORCH_VERSION}-gpu-{PYTHON_TAG}-cu121-ubuntu20.04-sagemaker"
    else:
        tag = f"{PYTORCH_VERSION}-cpu-{PYTHON_TAG}-ubuntu20.04-sagemaker"
    return f"{DLC_ACCOUNTS[region]}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"
