"""S3 transfers the compute plane needs, through a boto3 S3 client against the edge."""

import tarfile
from pathlib import Path

from botocore.exceptions import ClientError
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from local_aws.exceptions import ValidationException


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://bucket/key` URI."""
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise ValidationException(f"{uri!r} is not an S3 URI of the form s3://bucket/key.")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def object_exists(s3, uri: str) -> bool:
    bucket, key = parse_s3_uri(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NoSuchBucket", "403"):
            return False
        raise
    return True


def list_keys(s3, uri: str) -> list[str]:
    """Every key under the prefix of `uri` (an empty list for a missing bucket)."""
    bucket, prefix = parse_s3_uri(uri)
    keys = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchBucket":
            return []
        raise
    return keys


def relative_key(prefix: str, key: str) -> str:
    """Where SageMaker puts `key` inside a channel: the key with the S3 prefix stripped."""
    if key == prefix:
        return key.rsplit("/", 1)[-1]
    relative = key[len(prefix):].lstrip("/")
    return relative


def download(s3, bucket: str, key: str, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    s3.download_file(bucket, key, str(destination))


def copy_objects_in_process(account_id: str, region: str, bucket: str, keys: list[str],
                            destination_of) -> None:
    """Write each object to `destination_of(key)`, reading it straight from moto's in-process S3.

    The one place local_aws bypasses HTTP: a channel holds thousands of small files, each far cheaper
    to read this way than through the edge (figures in docs/local_aws.md, "Benchmark").
    """
    backend = s3_backends[account_id][get_partition(region)]
    for key in keys:
        found = backend.get_object(bucket, key)
        if found is None:  # deleted since it was listed
            continue
        destination = destination_of(key)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(found.value)


def download_uri(s3, uri: str, destination: Path) -> None:
    bucket, key = parse_s3_uri(uri)
    download(s3, bucket, key, destination)


def upload(s3, source: Path, uri: str, kms_key_id: str | None = None) -> None:
    """Upload `source` to `uri`, encrypted with the KMS key when one is given (SSE-KMS, as SageMaker writes
    a job's output with its OutputDataConfig.KmsKeyId)."""
    bucket, key = parse_s3_uri(uri)
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else None
    s3.upload_file(str(source), bucket, key, ExtraArgs=extra)


def tar_directory(directory: Path, archive: Path) -> None:
    """A gzipped tar of the directory's contents (no top folder), as SageMaker packs model.tar.gz.

    Stored without deflating (gzip level 0, still a valid tar.gz): model weights shrink by ~8% at
    best, and deflating a 45 MB resnet18 costs ~1.5 s of a job's wall time (bench/bench_local_aws.py).
    """
    with tarfile.open(archive, "w:gz", compresslevel=0) as tar:
        for path in sorted(directory.iterdir()):
            tar.add(path, arcname=path.name)


def extract_tarball(archive: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:*") as tar:
        tar.extractall(destination, filter="data")
