"""Which container images local_aws can stand in for: the AWS Deep Learning Containers for
PyTorch, whose behaviour (script mode, the toolkits) the local Python environment reproduces."""

import re

from local_aws.exceptions import NotSupportedLocally

# The DLC registry account differs in a few regions, so any ECR account is accepted.
_DLC_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>pytorch-training|pytorch-inference):(?P<tag>[0-9][\w.-]*)"
)


def require_pytorch_image(image: str, purpose: str) -> None:
    """Refuse any image but the PyTorch DLC for `purpose` ("training" or "inference")."""
    match = _DLC_IMAGE.fullmatch(image)
    if match is None or match["repository"] != f"pytorch-{purpose}":
        raise NotSupportedLocally(
            f"the image {image!r}",
            f"It runs only AWS Deep Learning Container PyTorch {purpose} images "
            f"(<account>.dkr.ecr.<region>.amazonaws.com/pytorch-{purpose}:<version>-cpu-py3..., e.g. "
            f"763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-{purpose}:2.5.1-cpu-py311), "
            "standing in for them with its own Python environment.",
        )
