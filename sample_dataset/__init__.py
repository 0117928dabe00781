"""A real, small image dataset in the dogImages layout, made from scikit-learn's digits.

The production pipeline trains on Udacity's ``dogImages.zip`` (133 breeds, ``train/valid/test`` folders
of ``NNN.Breed`` class folders of JPEGs). That file cannot be downloaded here, so local runs and tests use
the 1,797 8x8 digits that scikit-learn ships, written as upscaled JPEGs in exactly that layout::

    <out>/dogImages/{train,valid,test}/001.Zero/Zero_00000.jpg ... 010.Nine/...

The split is stratified and depends only on the seed, so every machine builds the same files.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits as sklearn_load_digits
from sklearn.model_selection import train_test_split

from model_code.dataset_layout import SPLITS

CLASS_NAMES = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
TOP_FOLDER = "dogImages"
# The digits' pixel values are integers 0..16.
DIGITS_MAX_VALUE = 16
MIN_IMAGE_SIZE = 8
MAX_IMAGE_SIZE = 512


@dataclass(frozen=True)
class DatasetSpec:
    """What to build. The defaults give the full sample dataset (about 1,440/180/180 images)."""

    image_size: int = 32
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    per_class_limit: int | None = None
    seed: int = 0
    jpeg_quality: int = 95

    def __post_init__(self) -> None:
        if not MIN_IMAGE_SIZE <= self.image_size <= MAX_IMAGE_SIZE:
            raise ValueError(
                f"image_size must be between {MIN_IMAGE_SIZE} and {MAX_IMAGE_SIZE} pixels, got {self.image_size}"
            )
        for name in ("valid_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
        if self.valid_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                "valid_fraction + test_fraction must leave images for training, "
                f"got {self.valid_fraction} + {self.test_fraction}"
            )
        if self.per_class_limit is not None and self.per_class_limit < 1:
            raise ValueError(f"per_class_limit must be at least 1, got {self.per_class_limit}")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError(f"jpeg_quality must be between 1 and 95, got {self.jpeg_quality}")


def class_folder_name(index: int) -> str:
    """``0`` -> ``001.Zero``: the dogImages naming, numbered from 1."""
    return f"{index + 1:03d}.{CLASS_NAMES[index]}"


def assign_splits(labels: np.ndarray, spec: DatasetSpec) -> dict[str, np.ndarray]:
    """Stratified, seed-determined split of sample indices into train/valid/test.

    With ``per_class_limit`` each split keeps at most that many images of every class (the first ones
    of the shuffled split), so tiny test datasets stay balanced.
    """
    indices = np.arange(len(labels))
    held_out_fraction = spec.valid_fraction + spec.test_fraction
    train, held_out = train_test_split(
        indices, test_size=held_out_fraction, stratify=labels, random_state=spec.seed
    )
    valid, test = train_test_split(
        held_out,
        test_size=spec.test_fraction / held_out_fraction,
        stratify=labels[held_out],
        random_state=spec.seed,
    )
    splits = {"train": train, "valid": valid, "test": test}
    if spec.per_class_limit is not None:
        splits = {name: _limit_per_class(split, labels, spec.per_class_limit) for name, split in splits.items()}
    return {name: np.sort(split) for name, split in splits.items()}


def _limit_per_class(split: np.ndarray, labels: np.ndarray, limit: int) -> np.ndarray:
    kept = [split[labels[split] == label][:limit] for label in np.unique(labels)]
    return np.concatenate(kept)


def digit_to_jpeg(pixels: np.ndarray, image_size: int, jpeg_quality: int) -> bytes:
    """An 8x8 digit (values 0..16) as an RGB JPEG of ``image_size`` pixels, like a photo would be."""
    grey = np.rint(pixels.reshape(8, 8) * (255.0 / DIGITS_MAX_VALUE)).astype(np.uint8)
    image = Image.fromarray(grey, mode="L").resize((image_size, image_size), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=jpeg_quality)
    return buffer.getvalue()


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits' pixels (n, 64) and labels (n,), from the copy inside scikit-learn (no download)."""
    digits = sklearn_load_digits()
    return digits.data, digits.target


def build(out_dir: str | os.PathLike, spec: DatasetSpec = DatasetSpec(), overwrite: bool = False) -> Path:
    """Write ``<out_dir>/dogImages`` and return its path.

    The tree is written to a temporary sibling and renamed into place, so an interrupted build never
    leaves a half-made dataset. An existing ``dogImages`` is replaced only with ``overwrite=True``.
    """
    out_dir = Path(out_dir)
    target = out_dir / TOP_FOLDER
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True (--overwrite) to replace it")
    out_dir.mkdir(parents=True, exist_ok=True)
    pixels, labels = load_digits()
    splits = assign_splits(labels, spec)
    staging = Path(tempfile.mkdtemp(prefix=f".{TOP_FOLDER}-", dir=out_dir))
    try:
        _write_tree(staging, pixels, labels, splits, spec)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _write_tree(root: Path, pixels: np.ndarray, labels: np.ndarray, splits: dict[str, np.ndarray], spec: DatasetSpec) -> None:
    for split in SPLITS:
        for label in range(len(CLASS_NAMES)):
            (root / split / class_folder_name(label)).mkdir(parents=True)
        for index in splits[split]:
            label = int(labels[index])
            path = root / split / class_folder_name(label) / f"{CLASS_NAMES[label]}_{index:05d}.jpg"
            path.write_bytes(digit_to_jpeg(pixels[index], spec.image_size, spec.jpeg_quality))


def pack_zip(dataset_root: str | os.PathLike, zip_path: str | os.PathLike) -> Path:
    """Zip a ``dogImages`` folder so that the archive's top folder is ``dogImages/``, as in the original.

    Entries are added in sorted order (directories too, as ``unzip`` expects) and the file appears
    only when complete.
    """
    dataset_root = Path(dataset_root)
    zip_path = Path(zip_path)
    if dataset_root.name != TOP_FOLDER or not dataset_root.is_dir():
        raise ValueError(f"expected a folder named {TOP_FOLDER!r}, got {dataset_root}")
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    partial = zip_path.with_name(zip_path.name + ".partial")
    try:
        # JPEGs do not compress further; storing them keeps packing fast.
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.write(dataset_root, TOP_FOLDER)
            for path in sorted(dataset_root.rglob("*")):
                archive.write(path, Path(TOP_FOLDER, path.relative_to(dataset_root)).as_posix())
        partial.replace(zip_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return zip_path
