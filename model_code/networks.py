"""torchvision backbones with a fresh classification head for our classes."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import get_model, get_model_weights

# Small networks first: they are the ones that train in a minute on a laptop CPU.
ARCHITECTURES = (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
)


class PretrainedWeightsUnavailable(RuntimeError):
    """ImageNet weights were asked for but cannot be had (no network, no cached copy)."""


def build_model(arch: str, num_classes: int, pretrained: bool = False, freeze_backbone: bool = False) -> nn.Module:
    """``arch`` with its ImageNet head replaced by a new ``num_classes`` linear layer.

    ``freeze_backbone`` leaves only the new head trainable (feature extraction).
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown arch {arch!r}; allowed: {', '.join(ARCHITECTURES)}")
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
    model = _imagenet_model(arch) if pretrained else get_model(arch, weights=None)
    head_name, head = last_linear(model)
    model.set_submodule(head_name, nn.Linear(head.in_features, num_classes))
    if freeze_backbone:
        for name, parameter in model.named_parameters():
            parameter.requires_grad = name.startswith(head_name + ".")
    return model


def _imagenet_model(arch: str) -> nn.Module:
    weights = get_model_weights(arch).DEFAULT
    try:
        return get_model(arch, weights=weights, progress=False)
    except (OSError, RuntimeError) as error:
        raise PretrainedWeightsUnavailable(
            f"--pretrained true needs the ImageNet weights of {arch} ({weights.url}) but they could not be "
            f"loaded: {error}. Run where that URL is reachable, put the file in torch's hub cache, or train "
            "with --pretrained false."
        ) from error


def last_linear(model: nn.Module) -> tuple[str, nn.Linear]:
    """The classification head of a torchvision classifier: its last ``nn.Linear``."""
    linears = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no linear layer to use as classification head")
    return linears[-1]


def freeze_batchnorm_statistics(model: nn.Module) -> None:
    """Keep a frozen backbone's BatchNorm running statistics as they are while the head trains."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def trainable_parameters(model: nn.Module) -> list[torch.nn.Parameter]:
    return [parameter for parameter in model.parameters() if parameter.requires_grad]
