"""Putting the pipeline's inputs in S3: the bucket, a dataset version, and the script-mode source tarball.

Functions take a boto3 S3 client (the tasks get it from the provider's `S3Hook`), so they run the same
against AWS and the local endpoint.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from dog_breed.aws_errors import is_missing
from dog_breed.dataset import DatasetError, summary

UPLOAD_THREADS = 8
PROGRESS_STEPS = 10
SOURCE_EXCLUDED = ("__pycache__", ".pytest_cache")


def ensure_bucket(s3: Any, bucket: str, region: str, log: Callable[[str], None]) -> None:
    """Create the bucket if it is missing, encrypted by default and closed to the public."""
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as error:
        if not is_missing(error):
            raise
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **location)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    log(f"created bucket {bucket} (SSE-S3, public access blocked)")


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        if is_missing(error):
            return None
        raise


def stage_dataset(s3: Any, root: Path, full_manifest: dict[str, Any], *, bucket: str, data_prefix: str,
                  manifest_key: str, log: Callable[[str], None]) -> dict[str, Any]:
    """Upload a dataset version once; the manifest, written last, marks the version as complete.

    An identical version already staged is left alone; a different one under the same version name is
    refused, since training jobs and registered models refer to it.
    """
    staged = read_json(s3, bucket, manifest_key)
    if staged is not None:
        if staged["sha256"] != full_manifest["sha256"]:
            raise DatasetError(
                f"dataset_version: s3://{bucket}/{data_prefix} already holds another dataset "
                f"(sha256 {staged['sha256'][:12]}…, this one {full_manifest['sha256'][:12]}…); "
                "choose a new dataset_version")
        log(f"dataset {full_manifest['sha256'][:12]}… is already staged at s3://{bucket}/{data_prefix}; not uploading")
        return summary(staged) | {"uploaded": False}

    files = full_manifest["files"]
    total = len(files)
    done = 0

    def upload(entry: dict[str, Any]) -> None:
        s3.upload_file(str(root / entry["path"]), bucket, f"{data_prefix}{entry['path']}")

    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        for _ in pool.map(upload, files):
            done += 1
            if done == total or done % max(1, total // PROGRESS_STEPS) == 0:
                log(f"uploaded {done}/{total} files to s3://{bucket}/{data_prefix}")
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(full_manifest).encode(),
                  ContentType="application/json")
    return summary(full_manifest) | {"uploaded": True}


def source_tarball(source_dir: Path) -> bytes:
    """`source_dir` as the script-mode sourcedir.tar.gz: its files at the archive root, byte-identical on
    every call for the same sources (sorted entries, no timestamps or owners)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(source_dir.rglob("*")):
            relative = path.relative_to(source_dir)
            if not path.is_file() or any(part in SOURCE_EXCLUDED for part in relative.parts):
                continue
            info = tar.gettarinfo(str(path), arcname=relative.as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with path.open("rb") as f:
                tar.addfile(info, f)
    return buffer.getvalue()
