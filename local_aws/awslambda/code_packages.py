"""Zip packages as Lambda takes them, for functions (`Code`) and layers (`Content`): from the request or
from S3, checked against Lambda's limits on the zip and on what it unpacks to."""

import io
import zipfile

from botocore.exceptions import ClientError

from local_aws.awslambda.functions import Code, InvalidParameterValueException
from local_aws.exceptions import NotSupportedLocally, aws_error

MAX_ZIP_BYTES = 50 * 1024 * 1024  # a direct upload's limit
MAX_UNZIPPED_BYTES = 262_144_000  # a function's code and its layers together
RequestTooLargeException = aws_error("RequestTooLargeException", 413)


def read_code(ctx, code: dict, operation: str) -> Code:
    """The package `code` gives (`ZipFile`, or `S3Bucket`/`S3Key`/`S3ObjectVersion`), checked."""
    if "ImageUri" in code:
        raise NotSupportedLocally("Code.ImageUri", "Give a Zip package.")
    if "ZipFile" in code:
        zip_bytes = code["ZipFile"]
    elif "S3Bucket" in code and "S3Key" in code:
        location = {"Bucket": code["S3Bucket"], "Key": code["S3Key"]}
        if "S3ObjectVersion" in code:
            location["VersionId"] = code["S3ObjectVersion"]
        try:
            zip_bytes = ctx.client("s3").get_object(**location)["Body"].read()
        except ClientError as error:
            raise InvalidParameterValueException(
                f"Error occurred while GetObject. S3 Error Code: {error.response['Error']['Code']}. "
                f"S3 Error Message: {error.response['Error'].get('Message', '')}")
    else:
        raise InvalidParameterValueException("Please provide a source for function code (ZipFile or S3Bucket and S3Key).")
    if len(zip_bytes) > MAX_ZIP_BYTES:
        raise RequestTooLargeException(f"Request must be smaller than {MAX_ZIP_BYTES} bytes for the {operation} "
                                       "operation")
    try:
        unzipped = unzipped_size(zip_bytes)
    except zipfile.BadZipFile:
        raise InvalidParameterValueException("Could not unzip uploaded file. Please check your file, then try to "
                                             "upload again.")
    if unzipped > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    return Code(zip_bytes)


def unzipped_size(zip_bytes: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return sum(info.file_size for info in archive.infolist())
