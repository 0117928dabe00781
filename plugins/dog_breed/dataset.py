"""The dataset before it reaches S3: fetching `dogImages.zip`, unpacking it safely, checking its layout
and describing it with a manifest (file count, bytes, content hash).

All of it works on local files; the staging task moves the result to S3.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from model_code.dataset_layout import SPLITS

CHUNK = 1 << 20
# A zip bomb or a wrong file should fail here, not fill the worker's disk: dogImages.zip unpacks to ~1.1 GB.
MAX_UNPACKED_BYTES = 20 * (1 << 30)


class DatasetError(ValueError):
    """The dataset cannot be used; the message says what is wrong with it."""


def fetch(url: str, dest: Path, *, download_s3: Callable[[str, str, Path], None],
          log: Callable[[str], None]) -> Path:
    """The zip at `url` as a local file: file:// is used in place, https:// and s3:// are downloaded to `dest`."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        if not path.is_file():
            raise DatasetError(f"dataset_url: {url} is not a file")
        return path
    if parsed.scheme == "s3":
        download_s3(parsed.netloc, parsed.path.lstrip("/"), dest)
        return dest
    if parsed.scheme == "https":
        _download_https(url, dest, log)
        return dest
    raise DatasetError(f"dataset_url: unsupported scheme in {url}")


def _download_https(url: str, dest: Path, log: Callable[[str], None]) -> None:
    import requests

    with requests.get(url, stream=True, timeout=60) as response:
        response.raise_for_status()
        total = int(response.headers.get("Content-Length", 0))
        done, reported = 0, 0
        with dest.open("wb") as out:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if total and done * 10 // total > reported:
                    reported = done * 10 // total
                    log(f"downloaded {done / 1e6:.0f} of {total / 1e6:.0f} MB")


def extract(zip_path: Path, out_dir: Path) -> Path:
    """Unpack the zip and return the folder holding train/, valid/ and test/."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as error:
        raise DatasetError(f"dataset_url: {zip_path.name} is not a zip file ({error})") from error
    with archive:
        members = archive.infolist()
        if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise DatasetError(f"dataset_url: {zip_path.name} unpacks to more than {MAX_UNPACKED_BYTES} bytes")
        root = out_dir.resolve()
        for member in members:
            if not (root / member.filename).resolve().is_relative_to(root):
                raise DatasetError(f"dataset_url: zip entry {member.filename!r} points outside the archive")
        archive.extractall(root)
    candidates = [root, *sorted(p for p in root.iterdir() if p.is_dir() and p.name != "__MACOSX")]
    for candidate in candidates:
        if all((candidate / split).is_dir() for split in SPLITS):
            return candidate
    raise DatasetError(f"dataset_url: {zip_path.name} has no folder with {', '.join(SPLITS)} (the dogImages layout)")


def check_layout(root: Path) -> list[str]:
    """The class folder names, after checking that every split has the same non-empty class folders."""
    classes: dict[str, set[str]] = {}
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            raise DatasetError(f"dataset: split folder {split}/ is missing")
        classes[split] = {p.name for p in folder.iterdir() if p.is_dir()}
        if not classes[split]:
            raise DatasetError(f"dataset: {split}/ has no class folders")
        empty = sorted(name for name in classes[split] if not any((folder / name).iterdir()))
        if empty:
            raise DatasetError(f"dataset: {split}/ has empty class folders {empty[:5]}")
    reference = classes["train"]
    for split in SPLITS[1:]:
        if classes[split] != reference:
            missing = sorted(reference - classes[split])[:5]
            extra = sorted(classes[split] - reference)[:5]
            raise DatasetError(f"dataset: {split}/ has other class folders than train/ "
                               f"(missing {missing}, extra {extra})")
    return sorted(reference)


def manifest(root: Path, classes: list[str]) -> dict[str, Any]:
    """What a staged dataset is: each file's size and SHA-256, and one hash over all of them."""
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] in SPLITS):
        files.append({"path": path.relative_to(root).as_posix(), "bytes": path.stat().st_size,
                      "sha256": _sha256(path)})
    content = hashlib.sha256("".join(f"{f['path']}\0{f['sha256']}\n" for f in files).encode()).hexdigest()
    return {
        "sha256": content,
        "file_count": len(files),
        "bytes": sum(f["bytes"] for f in files),
        "classes": classes,
        "files": files,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def summary(full_manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without its file list: small enough for XCom and the model registry."""
    return {key: value for key, value in full_manifest.items() if key not in ("files", "classes")} | {
        "class_count": len(full_manifest["classes"])}
