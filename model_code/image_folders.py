"""Reads a dogImages-layout folder (``train/``, ``valid/``, ``test/`` of ``NNN.Name`` class folders).

Every image is decoded and resized once, up front, into one uint8 tensor per split kept in memory: the
epochs then cost only the network, never JPEG decoding. The price is memory, 3 x S x S bytes an image
(the full 8,351-image dogImages at 224 px: about 1.3 GB; the digits sample at 32 px: 5.5 MB).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from dataset_layout import SPLITS
from preprocessing import to_model_input

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass
class ImageSplit:
    images: torch.Tensor  # uint8 (N, 3, S, S)
    labels: torch.Tensor  # int64 (N,)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class ImageDataset:
    classes: list[str]
    splits: dict[str, ImageSplit]


def load_dataset(data_dir: str | Path, image_size: int, workers: int = 0) -> ImageDataset:
    """Decode every split of ``data_dir``; the class list (index order) comes from ``train/``."""
    data_dir = Path(data_dir)
    missing = [split for split in SPLITS if not (data_dir / split).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"{data_dir} lacks {', '.join(m + '/' for m in missing)}: expected the dogImages layout, "
            "train/, valid/ and test/ each holding NNN.Name class folders"
        )
    classes = find_classes(data_dir / "train")
    for split in SPLITS[1:]:
        if find_classes(data_dir / split) != classes:
            raise ValueError(f"{data_dir / split} does not hold the same class folders as {data_dir / 'train'}")
    splits = {split: load_split(data_dir / split, classes, image_size, workers) for split in SPLITS}
    return ImageDataset(classes, splits)


def find_classes(split_dir: Path) -> list[str]:
    classes = sorted(entry.name for entry in split_dir.iterdir() if entry.is_dir())
    if len(classes) < 2:
        raise ValueError(f"{split_dir} holds {len(classes)} class folder(s); a classifier needs at least 2")
    return classes


def list_images(split_dir: Path, classes: list[str]) -> list[tuple[Path, int]]:
    return [
        (path, label)
        for label, name in enumerate(classes)
        for path in sorted((split_dir / name).iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]


def load_split(split_dir: Path, classes: list[str], image_size: int, workers: int = 0) -> ImageSplit:
    """Decode one split, in ``workers`` processes when there are many large photos."""
    files = _ImageFiles(list_images(split_dir, classes), image_size)
    if len(files) == 0:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in the class folders of {split_dir}")
    batches = list(DataLoader(files, batch_size=256, num_workers=workers))
    return ImageSplit(torch.cat([images for images, _ in batches]), torch.cat([labels for _, labels in batches]))


class _ImageFiles(Dataset):
    def __init__(self, files: list[tuple[Path, int]], image_size: int):
        self.files = files
        self.image_size = image_size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.files[index]
        try:
            with Image.open(path) as image:
                return to_model_input(image, self.image_size), label
        except OSError as error:
            raise ValueError(f"cannot read image {path}: {error}") from error


class CachedImages(Dataset):
    """A decoded split as a Dataset, with an optional per-image transform (training augmentation)."""

    def __init__(self, split: ImageSplit, transform=None):
        self.split = split
        self.transform = transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.split.images[index]
        return (self.transform(image) if self.transform else image), self.split.labels[index]
