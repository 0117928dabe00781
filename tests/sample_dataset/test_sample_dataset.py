import zipfile

import numpy as np
import pytest
from PIL import Image

import sample_dataset
from sample_dataset import CLASS_NAMES, SPLITS, DatasetSpec, assign_splits, build, pack_zip
from sample_dataset.__main__ import main


def jpeg_files(root, split):
    return sorted(p.relative_to(root / split).as_posix() for p in (root / split).rglob("*.jpg"))


def test_tiny_dataset_has_the_dogimages_layout(tmp_path):
    root = build(tmp_path, DatasetSpec(image_size=16, per_class_limit=2))

    assert root == tmp_path / "dogImages"
    for split in SPLITS:
        folders = sorted(p.name for p in (root / split).iterdir())
        assert folders == [f"{i + 1:03d}.{name}" for i, name in enumerate(CLASS_NAMES)]
        assert [len(list((root / split / f).iterdir())) for f in folders] == [2] * 10
    image = Image.open(next((root / "train" / "004.Three").iterdir()))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (16, 16))


def test_split_is_stratified_disjoint_complete_and_seeded():
    _, labels = sample_dataset.load_digits()
    spec = DatasetSpec()

    splits = assign_splits(labels, spec)

    assert sum(len(s) for s in splits.values()) == len(labels)
    assert np.array_equal(np.sort(np.concatenate(list(splits.values()))), np.arange(len(labels)))
    for split in ("valid", "test"):
        per_class = np.bincount(labels[splits[split]], minlength=10)
        assert per_class.min() >= 17 and per_class.max() <= 19
    again = assign_splits(labels, spec)
    assert all(np.array_equal(splits[s], again[s]) for s in SPLITS)
    other = assign_splits(labels, DatasetSpec(seed=1))
    assert not np.array_equal(splits["test"], other["test"])


def test_same_seed_builds_identical_files(tmp_path):
    spec = DatasetSpec(image_size=8, per_class_limit=1)
    first = build(tmp_path / "a", spec)
    second = build(tmp_path / "b", spec)

    for split in SPLITS:
        assert jpeg_files(first, split) == jpeg_files(second, split)
    name = jpeg_files(first, "valid")[0]
    assert (first / "valid" / name).read_bytes() == (second / "valid" / name).read_bytes()


def test_existing_dataset_is_kept_unless_overwrite(tmp_path):
    build(tmp_path, DatasetSpec(image_size=8, per_class_limit=1))
    with pytest.raises(FileExistsError, match="already exists"):
        build(tmp_path, DatasetSpec(image_size=8, per_class_limit=2))
    assert len(jpeg_files(tmp_path / "dogImages", "train")) == 10

    build(tmp_path, DatasetSpec(image_size=8, per_class_limit=2), overwrite=True)

    assert len(jpeg_files(tmp_path / "dogImages", "train")) == 20
    assert [p.name for p in tmp_path.iterdir()] == ["dogImages"]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("image_size", 4, "image_size"),
        ("valid_fraction", 0.0, "valid_fraction"),
        ("test_fraction", 0.95, "valid_fraction \\+ test_fraction"),
        ("per_class_limit", 0, "per_class_limit"),
    ],
)
def test_bad_spec_is_refused_with_its_name(field, value, message):
    with pytest.raises(ValueError, match=message):
        DatasetSpec(**{field: value})


def test_cli_builds_and_zips_with_dogimages_top_folder(tmp_path, capsys):
    archive_path = tmp_path / "dogImages.zip"

    assert main(["--out", str(tmp_path / "data"), "--zip", str(archive_path), "--per-class-limit", "1",
                 "--image-size", "8"]) == 0

    assert "train 10, valid 10, test 10" in capsys.readouterr().out
    with zipfile.ZipFile(archive_path) as archive:
        names = archive.namelist()
        assert {n.split("/")[0] for n in names} == {"dogImages"}
        assert "dogImages/test/010.Nine/" in names
        assert sum(n.endswith(".jpg") for n in names) == 30
        archive.extractall(tmp_path / "unzipped")
    for split in SPLITS:
        assert jpeg_files(tmp_path / "unzipped" / "dogImages", split) == jpeg_files(tmp_path / "data" / "dogImages", split)


def test_cli_rejects_bad_option_naming_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), "--image-size", "2"])
    assert exit_info.value.code == 2
    assert "image_size must be between" in capsys.readouterr().err


def test_pack_zip_refuses_a_folder_not_named_dogimages(tmp_path):
    with pytest.raises(ValueError, match="dogImages"):
        pack_zip(tmp_path, tmp_path / "out.zip")
