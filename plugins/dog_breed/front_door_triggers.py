"""The deferrable `LambdaDeploymentOperator`'s wait, in the triggerer: the provider's waiter trigger on the
project's `provisioned_concurrency_ready` waiter (`waiters/lambda.json`), until the alias's provisioned
concurrency is READY (or FAILED). It only polls; `deployment` rides along for the task's resumption."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.triggers.base import AwsBaseWaiterTrigger

from dog_breed.front_door_deployment import ALIAS
from dog_breed.front_door_hook import FrontDoorHook


class ProvisionedConcurrencyReadyTrigger(AwsBaseWaiterTrigger):
    aws_hook_class = FrontDoorHook

    def __init__(self, *, function_name: str, deployment: dict[str, Any], waiter_delay: int = 5,
                 waiter_max_attempts: int = 120, **kwargs: Any):
        super().__init__(
            serialized_fields={"function_name": function_name, "deployment": deployment},
            waiter_name="provisioned_concurrency_ready",
            waiter_args={"FunctionName": function_name, "Qualifier": ALIAS},
            failure_message=f"provisioned concurrency of {function_name}:{ALIAS} failed",
            status_message=f"provisioned concurrency of {function_name}:{ALIAS} is",
            status_queries=["Status", "StatusReason"],
            return_key="deployment", return_value=deployment,
            waiter_delay=waiter_delay, waiter_max_attempts=waiter_max_attempts, **kwargs)
