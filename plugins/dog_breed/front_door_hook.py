"""Every boto3 call of the front door's deployment: its role (IAM), the function, its version, alias,
concurrency and URL (the provider's `LambdaHook`, its waiters for `Active` and `Successful`)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook
from airflow.providers.common.compat.sdk import AirflowException
from botocore.exceptions import WaiterError

from dog_breed.front_door_deployment import (ALIAS, FrontDoor, configuration_differs, function_configuration,
                                             role_policy, trust_policy)
from dog_breed.iam_roles import ensure_role

ROLE_POLICY_NAME = "invoke-its-endpoint"
WAIT = {"Delay": 1, "MaxAttempts": 300}
WAITERS = Path(__file__).with_name("waiters") / "lambda.json"


class FrontDoorHook(LambdaHook):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._iam = AwsBaseHook(*args, client_type="iam", **kwargs)
        self._sts = AwsBaseHook(*args, client_type="sts", **kwargs)

    def ensure_role(self, front_door: FrontDoor) -> str:
        """The function's execution role, created or brought to its least-privilege policies; its ARN."""
        iam = self._iam.conn
        account_id = self._sts.conn.get_caller_identity()["Account"]
        arn = ensure_role(iam, front_door.role_name, trust_policy(), ROLE_POLICY_NAME,
                          role_policy(front_door, self.conn_region_name, account_id),
                          f"Execution role of {front_door.function_name}")
        for attached in iam.list_attached_role_policies(RoleName=front_door.role_name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=front_door.role_name, PolicyArn=attached["PolicyArn"])  # least privilege
        return arn

    def role_policy(self, front_door: FrontDoor) -> dict[str, Any]:
        return self._iam.conn.get_role_policy(RoleName=front_door.role_name, PolicyName=ROLE_POLICY_NAME)[
            "PolicyDocument"]

    def deploy_code_and_configuration(self, front_door: FrontDoor, role_arn: str, package: bytes) -> bool:
        """Create the function, or update its code and its configuration where they differ; wait until it is
        Active and its last update Successful. Whether anything changed."""
        wanted = function_configuration(front_door, role_arn)
        try:
            current = self.conn.get_function(FunctionName=front_door.function_name)["Configuration"]
        except self.conn.exceptions.ResourceNotFoundException:
            self.conn.create_function(FunctionName=front_door.function_name, Code={"ZipFile": package},
                                      PackageType="Zip", **wanted)
            self.conn.get_waiter("function_active_v2").wait(FunctionName=front_door.function_name, WaiterConfig=WAIT)
            return True
        changed = False
        if current["CodeSha256"] != code_sha256(package):
            self.conn.update_function_code(FunctionName=front_door.function_name, ZipFile=package)
            self._wait_updated(front_door)
            changed = True
        if configuration_differs(current, wanted):
            self.conn.update_function_configuration(FunctionName=front_door.function_name, **wanted)
            self._wait_updated(front_door)
            changed = True
        return changed

    def publish_to_alias(self, front_door: FrontDoor) -> str:
        """Publish a version (the last one again when nothing changed) and point alias `live` at it."""
        version = self.conn.publish_version(FunctionName=front_door.function_name)["Version"]
        self.conn.get_waiter("published_version_active").wait(FunctionName=f"{front_door.function_name}:{version}",
                                                              WaiterConfig=WAIT)
        try:
            alias = self.conn.get_alias(FunctionName=front_door.function_name, Name=ALIAS)
            if alias["FunctionVersion"] != version:
                self.conn.update_alias(FunctionName=front_door.function_name, Name=ALIAS, FunctionVersion=version)
        except self.conn.exceptions.ResourceNotFoundException:
            self.conn.create_alias(FunctionName=front_door.function_name, Name=ALIAS, FunctionVersion=version)
        return version

    @property
    def waiter_path(self) -> Path:
        """The project's Lambda waiters (`provisioned_concurrency_ready`), where the provider looks for custom
        ones; Lambda's own (`function_active_v2`, ...) still come from botocore."""
        return WAITERS

    def set_concurrency(self, front_door: FrontDoor) -> bool:
        """Reserved concurrency on the function, provisioned on the alias (or none); whether any is provisioned,
        in which case `wait_provisioned_ready` follows."""
        self.conn.put_function_concurrency(FunctionName=front_door.function_name,
                                           ReservedConcurrentExecutions=front_door.reserved_concurrency)
        if front_door.provisioned_concurrency == 0:
            try:
                self.conn.delete_provisioned_concurrency_config(FunctionName=front_door.function_name, Qualifier=ALIAS)
            except self.conn.exceptions.ProvisionedConcurrencyConfigNotFoundException:
                pass
            return False
        self.conn.put_provisioned_concurrency_config(
            FunctionName=front_door.function_name, Qualifier=ALIAS,
            ProvisionedConcurrentExecutions=front_door.provisioned_concurrency)
        return True

    def wait_provisioned_ready(self, front_door: FrontDoor, delay: int, max_attempts: int) -> None:
        try:
            self.get_waiter("provisioned_concurrency_ready").wait(
                FunctionName=front_door.function_name, Qualifier=ALIAS,
                WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts})
        except WaiterError as error:
            reason = (error.last_response or {}).get("StatusReason") or str(error)
            raise AirflowException(f"provisioned concurrency of {front_door.function_name}:{ALIAS} is not READY: "
                                   f"{reason}") from error

    def provisioned(self, front_door: FrontDoor) -> dict[str, Any] | None:
        """The alias's provisioned-concurrency config, or None when it has none."""
        try:
            return self.conn.get_provisioned_concurrency_config(FunctionName=front_door.function_name, Qualifier=ALIAS)
        except self.conn.exceptions.ProvisionedConcurrencyConfigNotFoundException:
            return None

    def ensure_url(self, front_door: FrontDoor) -> str | None:
        """The alias's function URL with the asked auth type, or none (deleted) when none is asked."""
        try:
            current = self.conn.get_function_url_config(FunctionName=front_door.function_name, Qualifier=ALIAS)
        except self.conn.exceptions.ResourceNotFoundException:
            current = None
        if front_door.function_url_auth is None:
            if current is not None:
                self.conn.delete_function_url_config(FunctionName=front_door.function_name, Qualifier=ALIAS)
            return None
        if current is None:
            return self.conn.create_function_url_config(FunctionName=front_door.function_name, Qualifier=ALIAS,
                                                        AuthType=front_door.function_url_auth)["FunctionUrl"]
        if current["AuthType"] != front_door.function_url_auth:
            return self.conn.update_function_url_config(FunctionName=front_door.function_name, Qualifier=ALIAS,
                                                        AuthType=front_door.function_url_auth)["FunctionUrl"]
        return current["FunctionUrl"]

    def configuration(self, front_door: FrontDoor, qualifier: str = ALIAS) -> dict[str, Any]:
        return self.conn.get_function_configuration(FunctionName=front_door.function_name, Qualifier=qualifier)

    def _wait_updated(self, front_door: FrontDoor) -> None:
        self.conn.get_waiter("function_updated_v2").wait(FunctionName=front_door.function_name, WaiterConfig=WAIT)


def code_sha256(package: bytes) -> str:
    """CodeSha256 as Lambda computes it: the base64 of the zip's SHA-256."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode()
