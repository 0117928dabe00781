"""AWS-shaped errors raised by the services local_aws implements.

Each class carries AWS's error code and HTTP status; the protocol layer turns any of them into
`{"__type": code, "message": ...}` with the `x-amzn-ErrorType` header, which is what boto3 reads
into `ClientError.response["Error"]`.
"""


class AWSError(Exception):
    code = "InternalFailure"
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationException(AWSError):
    """Bad input, and also SageMaker's answer for most missing resources (the provider relies on it)."""

    code = "ValidationException"
    status = 400


class ResourceNotFound(AWSError):
    code = "ResourceNotFound"
    status = 400


class ResourceInUse(AWSError):
    code = "ResourceInUse"
    status = 400


class ResourceLimitExceeded(AWSError):
    code = "ResourceLimitExceeded"
    status = 400


class ConflictException(AWSError):
    code = "ConflictException"
    status = 400


class UnknownOperationException(AWSError):
    code = "UnknownOperationException"
    status = 400


class NotSupportedLocally(ValidationException):
    """A real AWS feature that local_aws cannot run; refused rather than faked."""

    def __init__(self, feature: str, supported: str = ""):
        message = f"local_aws does not support {feature}"
        super().__init__(f"{message}. {supported}".strip() if supported else message + ".")
