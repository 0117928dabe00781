"""How a picture becomes model input: shared by training (once, when the images are cached) and inference."""

from __future__ import annotations

import torch
from PIL import Image
from torchvision.transforms import v2

# The torchvision ImageNet weights expect these; models trained from scratch use them too so that one
# normalisation (recorded in metadata.json) serves every model.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_model_input(image: Image.Image, image_size: int) -> torch.Tensor:
    """An RGB uint8 tensor (3, S, S): shorter side resized to S, then the centre square."""
    resize = v2.Compose([v2.PILToTensor(), v2.Resize(image_size, antialias=True), v2.CenterCrop(image_size)])
    return resize(image.convert("RGB"))


def normalize(batch: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """uint8 images (N, 3, S, S) -> float, scaled to [0, 1] and standardised per channel."""
    mean = torch.tensor(mean, device=batch.device).view(1, 3, 1, 1)
    std = torch.tensor(std, device=batch.device).view(1, 3, 1, 1)
    return (batch.float() / 255.0 - mean) / std
