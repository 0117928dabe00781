"""The Amazon provider's Lambda operators and trigger against local AWS (issue 14): a function created by
LambdaCreateFunctionOperator, the deferrable path's trigger resuming once the function is really Active,
and LambdaInvokeFunctionOperator running it."""

import asyncio
import io
import json
import sys
import uuid
import zipfile

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="functions run in Linux namespace sandboxes")

TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n")
    return buffer.getvalue()


def test_the_providers_operators_create_wait_for_and_invoke_a_function(aws_env, aws_client):
    from airflow.providers.amazon.aws.operators.lambda_function import (LambdaCreateFunctionOperator,
                                                                        LambdaInvokeFunctionOperator)
    from airflow.providers.amazon.aws.triggers.lambda_function import LambdaCreateFunctionCompleteTrigger

    role = aws_client("iam").create_role(RoleName=f"provider-{uuid.uuid4().hex[:6]}",
                                         AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    name = f"doubler-{uuid.uuid4().hex[:6]}"
    create = LambdaCreateFunctionOperator(task_id="create", function_name=name, runtime="python3.11", role=role,
                                          handler="app.handler", code={"ZipFile": package()}, aws_conn_id=None,
                                          deferrable=False)
    arn = create.execute(context={})
    assert arn.endswith(f":function:{name}")

    async def first_event():
        trigger = LambdaCreateFunctionCompleteTrigger(function_name=name, function_arn=arn, waiter_delay=1,
                                                      waiter_max_attempts=60, aws_conn_id=None)
        async for event in trigger.run():
            return event.payload

    event = asyncio.run(asyncio.wait_for(first_event(), timeout=120))
    assert event == {"status": "success", "function_arn": arn}
    assert aws_client("lambda").get_function(FunctionName=name)["Configuration"]["State"] == "Active"
    invoke = LambdaInvokeFunctionOperator(task_id="invoke", function_name=name, payload=json.dumps({"n": 21}),
                                          aws_conn_id=None)
    assert json.loads(invoke.execute(context={})) == {"doubled": 42}
