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


def aws_error(code: str, status: int = 400, module: str = __name__) -> type[AWSError]:
    """The error class AWS calls `code`, answered with HTTP `status` (declared where `module` says)."""
    return type(code, (AWSError,), {"code": code, "status": status, "__module__": module})


# Bad input, and also SageMaker's answer for most missing resources (the provider relies on it).
ValidationException = aws_error("ValidationException")
ResourceNotFound = aws_error("ResourceNotFound")
ResourceInUse = aws_error("ResourceInUse")
ConflictException = aws_error("ConflictException")
UnknownOperationException = aws_error("UnknownOperationException")
# IAM's refusal, in every JSON service local AWS serves.
AccessDeniedException = aws_error("AccessDeniedException", 403)


class NotSupportedLocally(ValidationException):
    """A real AWS feature that local_aws cannot run; refused rather than faked."""

    def __init__(self, feature: str, supported: str = ""):
        message = f"local_aws does not support {feature}"
        super().__init__(f"{message}. {supported}".strip() if supported else message + ".")
