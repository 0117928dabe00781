"""What the Lambda front door's deployment is, as plain data and pure builders: the function's settings,
its execution role (least privilege: `sagemaker:InvokeEndpoint` on this endpoint only, Logs on its own log
group only, no managed `*FullAccess` policy) and the concurrency the user set (reserved 3, provisioned 3 on
alias `live`)."""

import re
from dataclasses import dataclass, field
from typing import Any

RUNTIME = "python3.11"
HANDLER = "handler.lambda_handler"
ALIAS = "live"
URL_AUTH_TYPES = (None, "AWS_IAM", "NONE")
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class FrontDoor:
    function_name: str
    endpoint_name: str
    memory_mb: int = 512
    timeout_seconds: int = 30
    top_k: int = 3
    # The user's test event fetches its image from S3 ({"url": "https://s3.amazonaws.com/..."}).
    allowed_image_hosts: tuple[str, ...] = ("s3.amazonaws.com",)
    reserved_concurrency: int = 3
    provisioned_concurrency: int = 3
    function_url_auth: str | None = None  # None: no function URL
    extra_environment: dict[str, str] = field(default_factory=dict)

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with these settings as (setting, problem); empty when they are usable."""
        found = []
        if not FUNCTION_NAME.match(self.function_name):
            found.append(("function_name", f"{self.function_name!r} must be 1 to 64 letters, digits, '-' or '_'"))
        if not 128 <= self.memory_mb <= 10240:
            found.append(("memory_mb", f"must be from 128 to 10240, got {self.memory_mb}"))
        if not 1 <= self.timeout_seconds <= 900:
            found.append(("timeout_seconds", f"must be from 1 to 900, got {self.timeout_seconds}"))
        if self.reserved_concurrency < 1:
            found.append(("reserved_concurrency", f"must be at least 1, got {self.reserved_concurrency}"))
        if not 0 <= self.provisioned_concurrency <= self.reserved_concurrency:
            found.append(("provisioned_concurrency", f"must be from 0 to reserved_concurrency "
                                                     f"({self.reserved_concurrency}), got {self.provisioned_concurrency}"))
        if self.function_url_auth not in URL_AUTH_TYPES:
            found.append(("function_url_auth", f"must be AWS_IAM, NONE or off (no function URL), "
                                               f"got {self.function_url_auth!r}"))
        return found

    @property
    def role_name(self) -> str:
        return f"{self.function_name}-role"[:64]

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"


def function_url_auth(value: str | None) -> str | None:
    """A function URL's AuthType as a parameter gives it, or None for no URL ('off' or empty)."""
    return None if value in (None, "", "off") else value


def trust_policy() -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def role_policy(front_door: FrontDoor, region: str, account_id: str) -> dict[str, Any]:
    log_group = f"arn:aws:logs:{region}:{account_id}:log-group:{front_door.log_group}"
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
         "Resource": f"arn:aws:sagemaker:{region}:{account_id}:endpoint/{front_door.endpoint_name.lower()}"},
        {"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": log_group},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": f"{log_group}:*"},
    ]}


def function_configuration(front_door: FrontDoor, role_arn: str) -> dict[str, Any]:
    """The members of CreateFunction and UpdateFunctionConfiguration that the deployment sets."""
    return {"Runtime": RUNTIME, "Handler": HANDLER, "Role": role_arn, "MemorySize": front_door.memory_mb,
            "Timeout": front_door.timeout_seconds, "Environment": {"Variables": {
                "ENDPOINT_NAME": front_door.endpoint_name, "TOP_K": str(front_door.top_k),
                "ALLOWED_IMAGE_HOSTS": ",".join(front_door.allowed_image_hosts),
                "POWERTOOLS_SERVICE_NAME": "dog-breed-front-door",
                "POWERTOOLS_METRICS_NAMESPACE": "DogBreed", **front_door.extra_environment}}}


def configuration_differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether GetFunctionConfiguration's `current` lacks what `wanted` sets."""
    return any(current.get(key) != value for key, value in wanted.items())
