"""The dataset on its way in: safe unpacking, layout checks, manifest, and staging to S3 exactly once."""

import io
import tarfile
import zipfile

import pytest

from dog_breed import dataset, staging
from dog_breed.dataset import DatasetError

CLASSES = ("001.Affenpinscher", "002.Afghan_hound")


def make_zip(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def dog_images(splits=dataset.SPLITS, classes=CLASSES, top="dogImages/"):
    return {f"{top}{split}/{cls}/{i}.jpg": f"{split}{cls}{i}".encode() for split in splits for cls in classes
            for i in range(2)}


def unpack(tmp_path, files):
    return dataset.extract(make_zip(tmp_path / "d.zip", files), tmp_path / "out")


def test_extract_finds_the_dogimages_folder_and_lists_classes(tmp_path):
    root = unpack(tmp_path, dog_images())
    assert root.name == "dogImages"
    assert dataset.check_layout(root) == list(CLASSES)


def test_a_zip_without_top_folder_works_too(tmp_path):
    root = unpack(tmp_path, dog_images(top=""))
    assert dataset.check_layout(root) == list(CLASSES)


@pytest.mark.parametrize("files, message", [
    (dog_images(splits=("train", "valid")), "has no folder with train, valid, test"),
    ({**dog_images(), "../evil.jpg": b"x"}, "points outside the archive"),
])
def test_bad_archives_are_refused(tmp_path, files, message):
    with pytest.raises(DatasetError, match=message):
        unpack(tmp_path, files)


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "d.zip"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(DatasetError, match="is not a zip file"):
        dataset.extract(path, tmp_path / "out")


def test_splits_with_different_classes_are_refused(tmp_path):
    files = dog_images()
    files = {k: v for k, v in files.items() if not k.startswith("dogImages/test/002")}
    with pytest.raises(DatasetError, match=r"test/ has other class folders than train/ \(missing \['002.Afghan_hound'\]"):
        dataset.check_layout(unpack(tmp_path, files))


def test_manifest_is_stable_and_content_sensitive(tmp_path):
    root = unpack(tmp_path, dog_images())
    first = dataset.manifest(root, list(CLASSES))
    assert first == dataset.manifest(root, list(CLASSES))
    assert first["file_count"] == 12 and first["bytes"] == sum(f["bytes"] for f in first["files"])
    (root / "test" / CLASSES[0] / "0.jpg").write_bytes(b"changed")
    assert dataset.manifest(root, list(CLASSES))["sha256"] != first["sha256"]


def test_fetch_uses_a_local_file_in_place_and_refuses_a_missing_one(tmp_path):
    path = make_zip(tmp_path / "d.zip", dog_images())
    assert dataset.fetch(path.as_uri(), tmp_path / "x", download_s3=None, log=print) == path
    with pytest.raises(DatasetError, match="is not a file"):
        dataset.fetch((tmp_path / "missing.zip").as_uri(), tmp_path / "x", download_s3=None, log=print)


def test_source_tarball_is_byte_identical_and_flat(tmp_path):
    (tmp_path / "train.py").write_text("print('hi')\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    first = staging.source_tarball(tmp_path)
    (tmp_path / "train.py").touch()
    assert staging.source_tarball(tmp_path) == first
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        assert tar.getnames() == ["train.py"]


def test_staging_uploads_once_and_protects_a_version(tmp_path, aws_client):
    s3 = aws_client("s3")
    logs = []
    staging.ensure_bucket(s3, "staging-test", "us-east-1", logs.append)
    staging.ensure_bucket(s3, "staging-test", "us-east-1", logs.append)
    assert logs == ["created bucket staging-test (SSE-S3, public access blocked)"]
    assert s3.get_public_access_block(Bucket="staging-test")["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    assert s3.get_bucket_encryption(Bucket="staging-test")["ServerSideEncryptionConfiguration"]["Rules"]

    root = unpack(tmp_path, dog_images())
    full = dataset.manifest(root, list(CLASSES))
    where = {"bucket": "staging-test", "data_prefix": "p/data/v1/", "manifest_key": "p/data/v1.manifest.json",
             "log": logs.append}
    assert staging.stage_dataset(s3, root, full, **where)["uploaded"] is True
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="staging-test", Prefix="p/data/v1/")["Contents"]]
    assert len(keys) == 12 and "p/data/v1/train/001.Affenpinscher/0.jpg" in keys
    again = staging.stage_dataset(s3, root, full, **where)
    assert again["uploaded"] is False and again["sha256"] == full["sha256"]

    (root / "train" / CLASSES[0] / "0.jpg").write_bytes(b"other")
    with pytest.raises(DatasetError, match="dataset_version: s3://staging-test/p/data/v1/ already holds another"):
        staging.stage_dataset(s3, root, dataset.manifest(root, list(CLASSES)), **where)
