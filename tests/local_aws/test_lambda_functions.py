"""Lambda functions through boto3 against local AWS (issue 14, functions and Invoke): created Pending,
really Active once their code is unpacked, invoked in sandboxed execution environments with the execution
role's credentials and local AWS as their endpoint; what local AWS cannot honour refused by name."""

import base64
import datetime
import io
import json
import sys
import textwrap
import time
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="functions run in Linux namespace sandboxes")

TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
HANDLER = '''
import json, os, signal

import boto3


def handler(event, context):
    if event.get("fail"):
        raise KeyError("missing")
    if event.get("die"):  # the environment is killed mid-request
        os.kill(os.getpid(), signal.SIGKILL)
    if "bucket" in event:
        boto3.client("s3").put_object(Bucket=event["bucket"], Key=event["key"], Body=json.dumps(event).encode())
    return {"echo": event, "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "stage": os.environ["STAGE"]}
'''


def zipped(source: str = HANDLER) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", textwrap.dedent(source))
    return buffer.getvalue()


def error_of(call, **params) -> dict:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return {"Code": raised.value.response["Error"]["Code"],
            "Status": raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
            "Message": raised.value.response["Error"]["Message"]}


@pytest.fixture(scope="module")
def role(local_aws):
    import boto3

    iam = boto3.client("iam", **local_aws.client_kwargs)
    name = f"lambda-role-{uuid.uuid4().hex[:6]}"
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]


@pytest.fixture
def lam(aws_client):
    return aws_client("lambda")


@pytest.fixture
def function(lam, role):
    name = f"echo-{uuid.uuid4().hex[:6]}"
    created = lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                                  Code={"ZipFile": zipped()}, Environment={"Variables": {"STAGE": "test"}},
                                  Timeout=30, Tags={"team": "ml"})
    assert created["State"] == "Pending"
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    yield name
    try:
        lam.delete_function(FunctionName=name)
    except ClientError:
        pass


def test_a_function_becomes_active_and_answers_an_invocation(lam, function):
    configuration = lam.get_function_configuration(FunctionName=function)
    assert (configuration["State"], configuration["LastUpdateStatus"]) == ("Active", "Successful")
    assert configuration["Runtime"] == "python3.11" and configuration["Environment"] == {"Variables": {"STAGE": "test"}}
    assert lam.get_function(FunctionName=function)["Tags"] == {"team": "ml"}
    answer = lam.invoke(FunctionName=function, Payload=json.dumps({"n": 1}).encode())
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"echo": {"n": 1}, "function": function, "stage": "test"}
    again = lam.invoke(FunctionName=configuration["FunctionArn"], Payload=b'{"n": 2}')
    assert json.loads(again["Payload"].read())["echo"] == {"n": 2}


def test_an_unhandled_error_answers_function_error(lam, function):
    answer = lam.invoke(FunctionName=function, Payload=b'{"fail": true}')
    error = json.loads(answer["Payload"].read())
    assert answer["FunctionError"] == "Unhandled" and error["errorType"] == "KeyError"


def test_a_function_calls_local_aws_with_its_roles_credentials_and_events_run_later(lam, function, aws_client, bucket):
    s3 = aws_client("s3")
    key = f"from-lambda/{uuid.uuid4().hex}"
    answer = lam.invoke(FunctionName=function, InvocationType="Event",
                        Payload=json.dumps({"bucket": bucket, "key": key}).encode())
    assert answer["StatusCode"] == 202
    deadline = time.monotonic() + 30
    while True:
        try:
            stored = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            break
        except ClientError:
            assert time.monotonic() < deadline, "the Event invocation did not run"
            time.sleep(0.2)
    assert stored == {"bucket": bucket, "key": key}
    assert lam.invoke(FunctionName=function, InvocationType="DryRun")["StatusCode"] == 204


def test_listing_deleting_and_aws_errors(lam, function, role):
    assert error_of(lam.create_function, FunctionName=function, Runtime="python3.11", Role=role, Handler="app.handler",
                    Code={"ZipFile": zipped()})["Code"] == "ResourceConflictException"
    first = lam.list_functions(MaxItems=1)
    assert len(first["Functions"]) == 1 and ("NextMarker" in first) == (len(lam.list_functions()["Functions"]) > 1)
    assert function in [f["FunctionName"] for f in lam.list_functions(MaxItems=50)["Functions"]]
    assert error_of(lam.invoke, FunctionName=function, Payload=b"not json")["Code"] == "InvalidRequestContentException"
    lam.delete_function(FunctionName=function)
    missing = error_of(lam.get_function, FunctionName=function)
    assert (missing["Code"], missing["Status"]) == ("ResourceNotFoundException", 404)
    assert missing["Message"].startswith("Function not found: arn:aws:lambda:us-east-1:")


def test_a_role_lambda_cannot_assume_is_refused(lam, aws_client):
    iam = aws_client("iam")
    ec2_only = iam.create_role(RoleName=f"ec2-role-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                  "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    for role_arn in (ec2_only, "arn:aws:iam::123456789012:role/no-such-role"):
        refused = error_of(lam.create_function, FunctionName=f"f-{uuid.uuid4().hex[:6]}", Runtime="python3.11",
                           Role=role_arn, Handler="app.handler", Code={"ZipFile": zipped()})
        assert refused == {"Code": "InvalidParameterValueException", "Status": 400,
                           "Message": "The role defined for the function cannot be assumed by Lambda."}


@pytest.mark.parametrize("options, named", [
    ({"Runtime": "nodejs20.x"}, "nodejs20.x"),
    ({"VpcConfig": {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}}, "VpcConfig"),
    ({"Publish": True}, "Publish"),
    ({"Architectures": ["arm64"]}, "arm64"),
])
def test_what_local_aws_cannot_run_is_refused_by_name(lam, role, options, named):
    request = {"FunctionName": f"f-{uuid.uuid4().hex[:6]}", "Runtime": "python3.11", "Role": role,
               "Handler": "app.handler", "Code": {"ZipFile": zipped()}, **options}
    refused = error_of(lam.create_function, **request)
    assert refused["Code"] == "ValidationException" and named in refused["Message"]
    assert error_of(lam.get_function, FunctionName=request["FunctionName"])["Code"] == "ResourceNotFoundException"


def test_a_lambda_operation_not_implemented_yet_is_refused_by_name(lam, function):
    refused = error_of(lam.create_event_source_mapping, FunctionName=function,
                       EventSourceArn="arn:aws:sqs:us-east-1:123456789012:queue")
    assert (refused["Code"], refused["Status"]) == ("NotImplemented", 501)
    assert "CreateEventSourceMapping" in refused["Message"]


def test_updates_move_through_in_progress_and_the_next_invocation_runs_them(lam, function):
    waiter = {"WaiterConfig": {"Delay": 0.2, "MaxAttempts": 100}}
    lam.invoke(FunctionName=function, Payload=b"{}")  # a warm environment of the old code and configuration
    configured = lam.update_function_configuration(FunctionName=function, Environment={"Variables": {"STAGE": "prod"}})
    assert configured["LastUpdateStatus"] == "InProgress"
    lam.get_waiter("function_updated_v2").wait(FunctionName=function, **waiter)
    assert json.loads(lam.invoke(FunctionName=function, Payload=b"{}")["Payload"].read())["stage"] == "prod"
    stale = lam.get_function_configuration(FunctionName=function)["RevisionId"]
    updated = lam.update_function_code(FunctionName=function, ZipFile=zipped(HANDLER.replace('"echo": event', '"v": 2')))
    assert updated["LastUpdateStatus"] == "InProgress" and updated["CodeSha256"] != configured["CodeSha256"]
    lam.get_waiter("function_updated_v2").wait(FunctionName=function, **waiter)
    assert json.loads(lam.invoke(FunctionName=function, Payload=b"{}")["Payload"].read())["v"] == 2
    refused = error_of(lam.update_function_configuration, FunctionName=function, Timeout=10, RevisionId=stale)
    assert (refused["Code"], refused["Status"]) == ("PreconditionFailedException", 412)


def test_an_invocation_is_logged_as_lambda_logs_it(lam, role, aws_client):
    name = f"talker-{uuid.uuid4().hex[:6]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={
        "ZipFile": zipped("print('initialising')\n\ndef handler(event, context):\n    print('handling', event)\n"
                          "    return 1\n")})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    first = lam.invoke(FunctionName=name, Payload=b'{"n": 1}', LogType="Tail")
    tail = base64.b64decode(first["LogResult"]).decode()
    request_id = first["ResponseMetadata"]["RequestId"]
    lines = tail.splitlines()
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert "handling {'n': 1}" in lines and lines[-2].startswith("END RequestId: ")
    report = dict(field.split(": ", 1) for field in lines[-1].split("\t"))
    assert report["Memory Size"] == "128 MB" and float(report["Duration"].split()[0]) > 0
    assert "Init Duration" in report and int(report["Max Memory Used"].split()[0]) > 0
    second = base64.b64decode(lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")["LogResult"]).decode()
    assert "Init Duration" not in second and "initialising" not in second
    logs = aws_client("logs")
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 1 and "/[$LATEST]" in streams[0]["logStreamName"]
    deadline = time.monotonic() + 20  # shipped by a thread of their own, as Lambda ships them
    while True:
        messages = [event["message"] for event in logs.get_log_events(
            logGroupName=f"/aws/lambda/{name}", logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]]
        if sum(message.startswith("REPORT") for message in messages) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert messages[0] == "initialising" and sum(message.startswith("REPORT") for message in messages) == 2
    assert f"END RequestId: {request_id}" in messages


SLOW = "import time\n\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return 'done'\n"


def test_reserved_concurrency_throttles_exactly_the_excess(lam, role, local_aws):
    import boto3
    from botocore.config import Config
    from concurrent.futures import ThreadPoolExecutor

    name = f"slow-{uuid.uuid4().hex[:6]}"
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                        Code={"ZipFile": zipped(SLOW)}, Timeout=30)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    assert lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)[
        "ReservedConcurrentExecutions"] == 1
    assert lam.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 1}
    no_retries = boto3.client("lambda", config=Config(retries={"total_max_attempts": 1}), **local_aws.client_kwargs)

    def call(_):
        try:
            return no_retries.invoke(FunctionName=name, Payload=b'{"sleep": 1.5}')["StatusCode"]
        except ClientError as error:
            return error.response["Error"]["Code"], error.response.get("Reason")

    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(call, range(3)))
    assert sorted(map(str, outcomes)) == sorted(map(str, [200] + [
        ("TooManyRequestsException", "ReservedFunctionConcurrentInvocationLimitExceeded")] * 2))
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    assert call(0) == ("TooManyRequestsException", "ReservedFunctionConcurrentInvocationLimitExceeded")
    lam.delete_function_concurrency(FunctionName=name)
    assert lam.get_function_concurrency(FunctionName=name) == {k: v for k, v in lam.get_function_concurrency(
        FunctionName=name).items() if k == "ResponseMetadata"}
    assert call(0) == 200


def test_a_reservation_may_not_leave_too_little_unreserved(lam, function):
    refused = error_of(lam.put_function_concurrency, FunctionName=function, ReservedConcurrentExecutions=100000)
    assert refused["Code"] == "InvalidParameterValueException"
    assert "UnreservedConcurrentExecution below its minimum value" in refused["Message"]


def test_versions_are_snapshots_and_aliases_point_at_them(lam, function):
    waiter = {"WaiterConfig": {"Delay": 0.2, "MaxAttempts": 100}}
    first = lam.publish_version(FunctionName=function, Description="first")
    assert (first["Version"], first["FunctionArn"].rsplit(":", 1)[-1]) == ("1", "1")
    assert lam.publish_version(FunctionName=function)["Version"] == "1"  # nothing changed: the same version
    lam.get_waiter("published_version_active").wait(FunctionName=f"{function}:1", **waiter)
    lam.update_function_configuration(FunctionName=function, Environment={"Variables": {"STAGE": "prod"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=function, **waiter)
    assert lam.publish_version(FunctionName=function)["Version"] == "2"
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=function)["Versions"]] == ["$LATEST", "1", "2"]
    assert error_of(lam.publish_version, FunctionName=function, CodeSha256="x")["Code"] == "PreconditionFailedException"

    alias = lam.create_alias(FunctionName=function, Name="live", FunctionVersion="1")
    assert alias["AliasArn"].endswith(f":{function}:live")

    def stage(**target):
        answer = lam.invoke(Payload=b"{}", **target)
        return answer["ExecutedVersion"], json.loads(answer["Payload"].read())["stage"]

    assert stage(FunctionName=function, Qualifier="live") == ("1", "test")
    assert stage(FunctionName=f"{first['FunctionArn'].rsplit(':', 1)[0]}:2") == ("2", "prod")
    assert stage(FunctionName=function) == ("$LATEST", "prod")
    assert error_of(lam.delete_function, FunctionName=function, Qualifier="1")["Code"] == "ResourceConflictException"
    lam.update_alias(FunctionName=function, Name="live", FunctionVersion="2")
    assert stage(FunctionName=function, Qualifier="live") == ("2", "prod")
    assert [a["Name"] for a in lam.list_aliases(FunctionName=function, FunctionVersion="2")["Aliases"]] == ["live"]
    lam.delete_function(FunctionName=function, Qualifier="1")
    assert error_of(lam.get_function, FunctionName=function, Qualifier="1")["Code"] == "ResourceNotFoundException"
    assert lam.get_function(FunctionName=function, Qualifier="live")["Configuration"]["Version"] == "2"
    lam.delete_alias(FunctionName=function, Name="live")
    assert error_of(lam.get_alias, FunctionName=function, Name="live")["Code"] == "ResourceNotFoundException"


def wait_until_ready(lam, function: str, qualifier: str, available: int) -> dict:
    deadline = time.monotonic() + 60
    while True:
        config = lam.get_provisioned_concurrency_config(FunctionName=function, Qualifier=qualifier)
        if config["Status"] != "IN_PROGRESS" and config["AvailableProvisionedConcurrentExecutions"] == available:
            return config
        assert time.monotonic() < deadline, config
        time.sleep(0.2)


def test_an_environment_killed_mid_request_fails_that_request_and_provisioned_concurrency_replaces_it(lam, function):
    lam.publish_version(FunctionName=function)
    lam.create_alias(FunctionName=function, Name="live", FunctionVersion="1")
    lam.put_provisioned_concurrency_config(FunctionName=function, Qualifier="live", ProvisionedConcurrentExecutions=1)
    wait_until_ready(lam, function, "live", 1)

    killed = lam.invoke(FunctionName=function, Qualifier="live", Payload=b'{"die": true}', LogType="Tail")
    error = json.loads(killed["Payload"].read())
    assert (killed["StatusCode"], killed["FunctionError"]) == (200, "Unhandled")
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    assert "Error Type: Runtime.ExitError" in base64.b64decode(killed["LogResult"]).decode()

    config = wait_until_ready(lam, function, "live", 1)
    assert config["Status"] == "READY"
    answer = lam.invoke(FunctionName=function, Qualifier="live", Payload=b'{"n": 1}', LogType="Tail")
    assert json.loads(answer["Payload"].read())["echo"] == {"n": 1}
    assert "Init Duration" not in base64.b64decode(answer["LogResult"]).decode()  # a new provisioned one


def test_provisioned_concurrency_becomes_ready_and_its_invocations_are_warm(lam, function, aws_client, monkeypatch):
    monkeypatch.setenv("LOCAL_AWS_TIME_SCALE", "60")  # a metric minute lasts a second
    lam.publish_version(FunctionName=function)
    lam.create_alias(FunctionName=function, Name="live", FunctionVersion="1")
    assert error_of(lam.put_provisioned_concurrency_config, FunctionName=function, Qualifier="$LATEST",
                    ProvisionedConcurrentExecutions=1)["Code"] == "InvalidParameterValueException"
    accepted = lam.put_provisioned_concurrency_config(FunctionName=function, Qualifier="live",
                                                      ProvisionedConcurrentExecutions=2)
    assert (accepted["Status"], accepted["AllocatedProvisionedConcurrentExecutions"]) == ("IN_PROGRESS", 0)
    deadline = time.monotonic() + 60
    while (config := lam.get_provisioned_concurrency_config(FunctionName=function, Qualifier="live"))["Status"] \
            == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert (config["Status"], config["AvailableProvisionedConcurrentExecutions"]) == ("READY", 2)
    for _ in range(3):
        tail = base64.b64decode(lam.invoke(FunctionName=function, Qualifier="live", Payload=b"{}",
                                           LogType="Tail")["LogResult"]).decode()
        assert "Init Duration" not in tail
    lam.invoke(FunctionName=function, Payload=b"{}")  # $LATEST: no provisioned concurrency, no spillover
    cloudwatch = aws_client("cloudwatch")

    def metric(name: str, statistic: str, resource: str | None = "live") -> float:
        now = datetime.datetime.now(datetime.timezone.utc)
        dimensions = [{"Name": "FunctionName", "Value": function}] + (
            [{"Name": "Resource", "Value": f"{function}:{resource}"}] if resource else [])
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName=name, Dimensions=dimensions, StartTime=now - datetime.timedelta(
                minutes=10), EndTime=now + datetime.timedelta(minutes=1), Period=1, Statistics=[statistic])["Datapoints"]
        return sum(point[statistic] for point in points) if statistic == "Sum" else max(
            (point[statistic] for point in points), default=0)

    deadline = time.monotonic() + 30
    while metric("ProvisionedConcurrencyInvocations", "Sum") < 3:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    # per function too (moto's GetMetricStatistics also counts the Resource series under FunctionName alone)
    assert metric("ProvisionedConcurrencyInvocations", "Sum", resource=None) >= 3
    assert metric("ProvisionedConcurrencySpilloverInvocations", "Sum") == 0
    assert metric("ProvisionedConcurrentExecutions", "Maximum") == 1
    assert metric("ProvisionedConcurrencyUtilization", "Maximum") == 0.5  # one of the two busy at most
    listed = lam.list_provisioned_concurrency_configs(FunctionName=function)["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"].rsplit(":", 1)[-1] for c in listed] == ["live"]
    lam.delete_provisioned_concurrency_config(FunctionName=function, Qualifier="live")
    assert error_of(lam.get_provisioned_concurrency_config, FunctionName=function, Qualifier="live")[
        "Code"] == "ProvisionedConcurrencyConfigNotFoundException"


def test_invocations_are_counted_in_aws_lambda_metrics(lam, function, aws_client, monkeypatch, local_aws):
    import boto3
    from botocore.config import Config

    monkeypatch.setenv("LOCAL_AWS_TIME_SCALE", "60")  # a metric minute lasts a second
    lam.invoke(FunctionName=function, Payload=b"{}")
    lam.invoke(FunctionName=function, Payload=b'{"fail": true}')
    lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=0)
    no_retries = boto3.client("lambda", config=Config(retries={"total_max_attempts": 1}), **local_aws.client_kwargs)
    assert error_of(no_retries.invoke, FunctionName=function, Payload=b"{}")["Code"] == "TooManyRequestsException"
    cloudwatch = aws_client("cloudwatch")

    def total(metric: str, statistic: str = "Sum") -> float:
        now = datetime.datetime.now(datetime.timezone.utc)
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName=metric, Dimensions=[{"Name": "FunctionName", "Value": function}],
            StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(minutes=1), Period=1,
            Statistics=[statistic])["Datapoints"]
        return sum(point[statistic] for point in points)

    deadline = time.monotonic() + 30
    while (total("Invocations"), total("Errors"), total("Throttles")) != (2, 1, 1):
        assert time.monotonic() < deadline, (total("Invocations"), total("Errors"), total("Throttles"))
        time.sleep(0.5)
    assert total("Duration", "SampleCount") == 2 and total("ConcurrentExecutions", "Maximum") >= 1


def test_a_payload_over_lambdas_limit_is_refused_as_lambda_refuses_it(lam, function):
    refused = error_of(lam.invoke, FunctionName=function, Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    assert (refused["Code"], refused["Status"]) == ("RequestTooLargeException", 413)
    assert refused["Message"] == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    event = error_of(lam.invoke, FunctionName=function, InvocationType="Event",
                     Payload=b'"' + b"x" * (1024 * 1024) + b'"')
    assert (event["Code"], event["Status"]) == ("RequestTooLargeException", 413)


def test_the_answers_are_of_the_shapes_botocores_model_gives_them(local_aws, function):
    """Raw answers checked against botocore's output shapes (boto3 parses what it can; this checks all)."""
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    from signed_requests import signed_request

    model = get_session().get_service_model("lambda")
    keys = local_aws.credentials
    for operation, path in (("GetFunction", f"/2015-03-31/functions/{function}"),
                            ("GetFunctionConfiguration", f"/2015-03-31/functions/{function}/configuration"),
                            ("ListFunctions", "/2015-03-31/functions/")):
        answer = signed_request("GET", local_aws.url + path, "lambda", keys.access_key_id, keys.secret_access_key)
        assert answer.status_code == 200, answer.text
        report = ParamValidator().validate(answer.json(), model.operation_model(operation).output_shape)
        assert not report.has_errors(), report.generate_report()


def test_an_environment_idle_for_longer_than_the_setting_is_reaped_and_the_next_invocation_is_cold(
        lam, function, monkeypatch):
    monkeypatch.setenv("LOCAL_AWS_LAMBDA_IDLE_SECONDS", "1")

    def init_reported() -> bool:
        answer = lam.invoke(FunctionName=function, Payload=b"{}", LogType="Tail")
        return "Init Duration" in base64.b64decode(answer["LogResult"]).decode()

    init_reported()
    assert not init_reported()  # warm while used
    time.sleep(3)  # idle past the limit: the reaper (every quarter of it) has closed the environment
    assert init_reported()
