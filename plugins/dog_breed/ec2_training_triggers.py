"""The deferrable `Ec2SsmTrainingOperator`'s waits, in the triggerer: `InstanceOnlineTrigger` until the training
instance's SSM agent is `Online`, `TrainingCommandTrigger` until its command ends, streaming the command's
stdout into the task log as the agent ships it. They only poll, with the provider's async clients; each
ends in an event the operator acts on (`online`, `ended` with the invocation, `timeout`, `error`), so the
operator terminates the instance on every outcome. When a user kills the deferred task (mark failed, clear,
mark success), Airflow 3.3 calls the trigger's `on_kill`, which terminates the instance: no worker holds the
task then to do it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

from dog_breed.ec2_training import COMMAND_ENDED, LOG_GROUP, stdout_stream

# What of GetCommandInvocation's answer the operator needs (the event is stored, so nothing more).
INVOCATION_FIELDS = ("Status", "StatusDetails", "ResponseCode", "StandardErrorContent", "StandardErrorUrl",
                     "StandardOutputUrl")


class _TrainingInstanceTrigger(BaseTrigger):
    """Polls on behalf of one training instance, and terminates it when the user kills the task."""

    def __init__(self, *, instance_id: str, poll_seconds: float, timeout_seconds: float,
                 aws_conn_id: str | None, region_name: str | None = None, verify: bool | str | None = None,
                 botocore_config: dict | None = None):
        super().__init__()
        self.instance_id = instance_id
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config

    def _fields(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "poll_seconds": self.poll_seconds,
                "timeout_seconds": self.timeout_seconds, "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name, "verify": self.verify, "botocore_config": self.botocore_config}

    def hook(self, client_type: str) -> AwsBaseHook:
        return AwsBaseHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify,
                           config=self.botocore_config, client_type=client_type)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = time.monotonic() + self.timeout_seconds
        try:
            async for event in self._poll(deadline):
                yield event
                return
            yield TriggerEvent({"status": "timeout", "instance_id": self.instance_id,
                                "message": f"not done within {self.timeout_seconds:.0f} s"})
        except Exception as error:  # noqa: BLE001 - the operator terminates the instance and fails the task
            yield TriggerEvent({"status": "error", "instance_id": self.instance_id,
                                "message": f"{type(error).__name__}: {error}"})

    async def _poll(self, deadline: float) -> AsyncIterator[TriggerEvent]:
        raise NotImplementedError
        yield  # an async generator

    async def on_kill(self) -> None:
        self.log.warning("the task was killed: terminating %s", self.instance_id)
        async with await self.hook("ec2").get_async_conn() as ec2:
            await ec2.terminate_instances(InstanceIds=[self.instance_id])


class InstanceOnlineTrigger(_TrainingInstanceTrigger):
    """Fires `online` once the instance's SSM agent reports `Online`."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{__name__}.{type(self).__name__}", self._fields()

    async def _poll(self, deadline: float) -> AsyncIterator[TriggerEvent]:
        async with await self.hook("ssm").get_async_conn() as ssm:
            while time.monotonic() < deadline:
                found = (await ssm.describe_instance_information(Filters=[
                    {"Key": "InstanceIds", "Values": [self.instance_id]}]))["InstanceInformationList"]
                if found and found[0]["PingStatus"] == "Online":
                    yield TriggerEvent({"status": "online", "instance_id": self.instance_id})
                    return
                await asyncio.sleep(self.poll_seconds)


class TrainingCommandTrigger(_TrainingInstanceTrigger):
    """Fires `ended` with the invocation once the command ends, logging its stdout lines as they arrive."""

    def __init__(self, *, command_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.command_id = command_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{__name__}.{type(self).__name__}", {**self._fields(), "command_id": self.command_id}

    async def _poll(self, deadline: float) -> AsyncIterator[TriggerEvent]:
        seen, token = None, None
        async with await self.hook("ssm").get_async_conn() as ssm, await self.hook("logs").get_async_conn() as logs:
            while time.monotonic() < deadline:
                invocation = await self._invocation(ssm)
                if invocation["Status"] != seen:
                    seen = invocation["Status"]
                    self.log.info("command %s on %s: %s", self.command_id, self.instance_id, seen)
                token = await self._log_lines_since(logs, token)
                if seen in COMMAND_ENDED:
                    await self._log_lines_since(logs, token)  # what came with the end
                    yield TriggerEvent({"status": "ended", "instance_id": self.instance_id,
                                        "command_id": self.command_id,
                                        "invocation": {name: invocation[name] for name in INVOCATION_FIELDS
                                                       if name in invocation}})
                    return
                await asyncio.sleep(self.poll_seconds)

    async def _invocation(self, ssm) -> dict[str, Any]:
        try:
            return await ssm.get_command_invocation(CommandId=self.command_id, InstanceId=self.instance_id)
        except ssm.exceptions.InvocationDoesNotExist:
            return {"Status": "Pending"}

    async def _log_lines_since(self, logs, token: str | None) -> str | None:
        kwargs = {"nextToken": token} if token else {"startFromHead": True}
        try:
            page = await logs.get_log_events(logGroupName=LOG_GROUP,
                                             logStreamName=stdout_stream(self.command_id, self.instance_id), **kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return token  # nothing written yet
        for event in page["events"]:
            self.log.info("  %s", event["message"])
        return page["nextForwardToken"]
