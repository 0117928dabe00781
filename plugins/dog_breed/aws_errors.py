"""Whether an AWS error says that what was asked for does not exist: the one test every step uses.

SageMaker answers a describe or delete of a missing job, model, endpoint or package group with
ValidationException (of a missing tuning job with ResourceNotFound); S3 a missing bucket or key with
404, NoSuchBucket, NoSuchKey or NotFound (a HEAD request's answer has no body, only the status); Lambda a
missing function with ResourceNotFoundException, IAM a missing role with NoSuchEntity.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

MISSING_CODES = frozenset({"ValidationException", "ResourceNotFound", "404", "NotFound", "NoSuchBucket", "NoSuchKey",
                           "ResourceNotFoundException", "NoSuchEntity"})


def is_missing(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in MISSING_CODES
