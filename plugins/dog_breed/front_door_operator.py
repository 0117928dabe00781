"""`LambdaDeploymentOperator`: deploys the project's front door (`lambda/`) as a Lambda function in front of
the endpoint: its least-privilege role, the function from a deterministic zip (`lambda_package`; unchanged
code and settings are not redeployed), a version behind alias `live`, reserved and provisioned concurrency
(READY before it returns; deferrable, the wait for READY runs in the triggerer, `front_door_triggers`) and,
when asked, a function URL. Idempotent on a re-run or a cleared task."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.operators.sagemaker import serialize
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowException, conf

from dog_breed.front_door_deployment import ALIAS, FrontDoor, function_url_auth
from dog_breed.front_door_hook import FrontDoorHook
from dog_breed.front_door_triggers import ProvisionedConcurrencyReadyTrigger
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
                 extra_environment: dict[str, str] | None = None, waiter_delay: int = 5,
                 waiter_max_attempts: int = 120,
                 deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False), **kwargs: Any):
        super().__init__(**kwargs)
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self.deferrable = deferrable
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
        provisioning = self.hook.set_concurrency(front_door)
        url = self.hook.ensure_url(front_door)
        self.log.info("%s %s: version %s behind alias %s, reserved concurrency %d, provisioned %d%s",
                      front_door.function_name, "deployed" if changed else "unchanged", version, ALIAS,
                      front_door.reserved_concurrency, front_door.provisioned_concurrency,
                      f", URL {url}" if url else "")
        deployment = {"Changed": changed, "Version": version, "FunctionUrl": url, "RoleArn": role_arn}
        if provisioning and self.deferrable:
            self.defer(trigger=ProvisionedConcurrencyReadyTrigger(
                function_name=front_door.function_name, deployment=deployment, waiter_delay=self.waiter_delay,
                waiter_max_attempts=self.waiter_max_attempts, aws_conn_id=self.aws_conn_id,
                region_name=self.region_name, verify=self.verify, botocore_config=self.botocore_config),
                method_name="execute_complete")
        if provisioning:
            self.hook.wait_provisioned_ready(front_door, self.waiter_delay, self.waiter_max_attempts)
        return self._result(front_door, deployment)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Deferred: the alias's provisioned concurrency is READY, or it failed or the wait ran out."""
        event = validate_execute_complete_event(event)
        front_door = self.front_door()
        if event["status"] != "success":  # the trigger's message names the function, the status and the reason
            raise AirflowException(event.get("message") or f"provisioned concurrency of {front_door.function_name}:"
                                                           f"{ALIAS} is not READY: {event['status']}")
        return self._result(front_door, event["deployment"])

    def _result(self, front_door: FrontDoor, deployment: dict[str, Any]) -> dict[str, Any]:
        return serialize({
            "FunctionName": front_door.function_name, "Changed": deployment["Changed"],
            "Version": deployment["Version"], "Alias": ALIAS, "Configuration": self.hook.configuration(front_door),
            "ReservedConcurrentExecutions": front_door.reserved_concurrency,
            "ProvisionedConcurrency": self.hook.provisioned(front_door), "FunctionUrl": deployment["FunctionUrl"],
            "RoleArn": deployment["RoleArn"], "RolePolicy": self.hook.role_policy(front_door)})
