import shutil

import pytest
import torch

from image_folders import load_dataset


def test_splits_are_decoded_once_into_uint8_tensors(tiny_dataset):
    data = load_dataset(tiny_dataset, image_size=24)

    assert data.classes[0] == "001.Zero" and len(data.classes) == 10
    for split in data.splits.values():
        assert split.images.shape == (60, 3, 24, 24) and split.images.dtype == torch.uint8
        assert torch.equal(torch.bincount(split.labels), torch.full((10,), 6))


def copy_of(dataset, tmp_path):
    return shutil.copytree(dataset, tmp_path / "dogImages")


def test_missing_split_is_named(tiny_dataset, tmp_path):
    root = copy_of(tiny_dataset, tmp_path)
    shutil.rmtree(root / "valid")
    with pytest.raises(FileNotFoundError, match="lacks valid/: expected the dogImages layout"):
        load_dataset(root, image_size=16)


def test_splits_with_different_classes_are_refused(tiny_dataset, tmp_path):
    root = copy_of(tiny_dataset, tmp_path)
    shutil.rmtree(root / "test" / "010.Nine")
    with pytest.raises(ValueError, match="test does not hold the same class folders as"):
        load_dataset(root, image_size=16)


def test_an_unreadable_image_is_named(tiny_dataset, tmp_path):
    root = copy_of(tiny_dataset, tmp_path)
    broken = next((root / "train" / "002.One").iterdir())
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=f"cannot read image {broken}"):
        load_dataset(root, image_size=16)


def test_a_split_without_images_is_refused(tiny_dataset, tmp_path):
    root = copy_of(tiny_dataset, tmp_path)
    for image in (root / "test").rglob("*.jpg"):
        image.unlink()
    with pytest.raises(ValueError, match="no images"):
        load_dataset(root, image_size=16)
