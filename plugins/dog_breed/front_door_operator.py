"""`LambdaDeploymentOperator`: deploys the project's front door (`lambda/`) as a Lambda function in front of
the endpoint: its least-privilege role, the function from a deterministic zip (`lambda_package`; unchanged
code and settings are not redeployed), a version behind alias `live`, reserved and provisioned concurrency
(READY before it returns) and, when asked, a function URL. Idempotent on a re-run or a cleared task."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.operators.sagemaker import serialize
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from dog_breed.front_door_deployment import ALIAS, FrontDoor, function_url_auth
from dog_breed.front_door_hook import FrontDoorHook
from dog_breed.lambda_package import build
from dog_breed.operator_settings import checked

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"
INTEGER_SETTINGS = ("memory_mb", "timeout_seconds", "top_k", "reserved_concurrency", "provisioned_concurrency")


class LambdaDeploymentOperator(AwsBaseOperator[FrontDoorHook]):
    aws_hook_class = FrontDoorHook
    template_fields: Sequence[str] = aws_template_fields("function_name", "endpoint_name", *INTEGER_SETTINGS,
                                                         "function_url_auth")

    def __init__(self, *, function_name: str, endpoint_name: str, memory_mb: int | str = 512,
                 timeout_seconds: int | str = 30, top_k: int | str = 3, reserved_concurrency: int | str = 3,
                 provisioned_concurrency: int | str = 3, function_url_auth: str | None = None,
                 allowed_image_hosts: Sequence[str] = ("s3.amazonaws.com",), source_dir: Path = LAMBDA_DIR,
                 extra_environment: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.function_name = function_name
        self.endpoint_name = endpoint_name
        self.memory_mb = memory_mb
        self.timeout_seconds = timeout_seconds
        self.top_k = top_k
        self.reserved_concurrency = reserved_concurrency
        self.provisioned_concurrency = provisioned_concurrency
        self.function_url_auth = function_url_auth
        self.allowed_image_hosts = tuple(allowed_image_hosts)
        self.source_dir = Path(source_dir)
        self.extra_environment = dict(extra_environment or {})

    def front_door(self) -> FrontDoor:
        """The settings, with the numbers Jinja renders as text made numbers again; refused naming what is wrong."""
        return checked(lambda: FrontDoor(
            self.function_name, self.endpoint_name, allowed_image_hosts=self.allowed_image_hosts,
            function_url_auth=function_url_auth(self.function_url_auth), extra_environment=self.extra_environment,
            **{name: int(getattr(self, name)) for name in INTEGER_SETTINGS}),
            "Lambda deployment settings", "whole numbers")

    def execute(self, context: Any) -> dict[str, Any]:
        front_door = self.front_door()
        package = build(self.source_dir, self.source_dir / "requirements.txt")
        role_arn = self.hook.ensure_role(front_door)
        changed = self.hook.deploy_code_and_configuration(front_door, role_arn, package)
        version = self.hook.publish_to_alias(front_door)
        provisioned = self.hook.set_concurrency(front_door)
        url = self.hook.ensure_url(front_door)
        self.log.info("%s %s: version %s behind alias %s, reserved concurrency %d, provisioned %d%s",
                      front_door.function_name, "deployed" if changed else "unchanged", version, ALIAS,
                      front_door.reserved_concurrency, front_door.provisioned_concurrency,
                      f", URL {url}" if url else "")
        return serialize({
            "FunctionName": front_door.function_name, "Changed": changed, "Version": version, "Alias": ALIAS,
            "Configuration": self.hook.configuration(front_door),
            "ReservedConcurrentExecutions": front_door.reserved_concurrency,
            "ProvisionedConcurrency": provisioned, "FunctionUrl": url, "RoleArn": role_arn,
            "RolePolicy": self.hook.role_policy(front_door)})
