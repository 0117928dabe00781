"""Client mistakes get a 4xx in the service's own shape, never a 5xx (findings 9 and 10): for each
service local AWS serves, a request missing a required member or with a value of the wrong type, sent
signed as an SDK would send it. A 5xx is left for local AWS's own faults, in AWS's shape with a request id."""

import json
import logging
import struct

import pytest
from botocore.parsers import RpcV2CBORParser

from signed_requests import signed_request

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def _json(target: str, version: str = "1.1") -> dict[str, str]:
    return {"Content-Type": f"application/x-amz-json-{version}", "X-Amz-Target": target}


CBOR = {"Content-Type": "application/cbor", "Accept": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"}
CLOUDWATCH_CBOR = "/service/GraniteServiceVersion20100801/operation/"


def _cbor(value) -> bytes:
    """RFC 8949 for what these cases send (maps, arrays, text, small integers, doubles): written here
    rather than with botocore's serializer, which refuses values of the wrong type."""
    def head(major: int, length: int) -> bytes:
        return bytes([major << 5 | length]) if length < 24 else bytes([major << 5 | 25]) + length.to_bytes(2, "big")

    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(_cbor(k) + _cbor(v) for k, v in value.items())
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(map(_cbor, value))
    if isinstance(value, str):
        return head(3, len(value.encode())) + value.encode()
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    return head(0, value)


# (service, method, path, body, headers, status, code, shape)
CASES = {
    "iam CreateUser without UserName": (
        "iam", "POST", "/", b"Action=CreateUser&Version=2010-05-08", FORM, 400, "ValidationError", "query"),
    "iam CreateUser with an empty UserName": (
        "iam", "POST", "/", b"Action=CreateUser&Version=2010-05-08&UserName=", FORM, 400, "ValidationError", "query"),
    "iam unknown Action": (
        "iam", "POST", "/", b"Action=MakeCoffee&Version=2010-05-08", FORM, 400, "InvalidAction", "query"),
    "iam no Action": ("iam", "POST", "/", b"Version=2010-05-08", FORM, 400, "MissingAction", "query"),
    "iam body not UTF-8": ("iam", "POST", "/", b"Action=\xff\xfe", FORM, 400, "MalformedQueryString", "query"),
    "sts AssumeRole without arguments": (
        "sts", "POST", "/", b"Action=AssumeRole&Version=2011-06-15", FORM, 400, "ValidationError", "query"),
    "ec2 RunInstances without MaxCount": (
        "ec2", "POST", "/", b"Action=RunInstances&Version=2016-11-15&ImageId=ami-1&MinCount=1", FORM, 400,
        "MissingParameter", "ec2"),
    "ec2 MinCount not a number": (
        "ec2", "POST", "/", b"Action=RunInstances&Version=2016-11-15&ImageId=ami-1&MinCount=abc&MaxCount=1", FORM,
        400, "InvalidParameterValue", "ec2"),
    "ec2 MaxResults not a number": (
        "ec2", "POST", "/", b"Action=DescribeInstances&Version=2016-11-15&MaxResults=abc", FORM, 400,
        "InvalidParameterValue", "ec2"),
    "ec2 unknown Action": ("ec2", "POST", "/", b"Action=MakeCoffee&Version=2016-11-15", FORM, 400, "InvalidAction",
                           "ec2"),
    "cloudwatch PutMetricData Value=x": (
        "monitoring", "POST", "/", b"Action=PutMetricData&Version=2010-08-01&Namespace=n"
        b"&MetricData.member.1.MetricName=m&MetricData.member.1.Value=x", FORM, 400, "ValidationError", "query"),
    "cloudwatch CBOR PutMetricData without Namespace": (
        "monitoring", "POST", CLOUDWATCH_CBOR + "PutMetricData", _cbor({"MetricData": [{"MetricName": "m"}]}), CBOR,
        400, "ValidationException", "cbor"),
    "cloudwatch CBOR PutMetricData Value a string": (
        "monitoring", "POST", CLOUDWATCH_CBOR + "PutMetricData",
        _cbor({"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": "x"}]}), CBOR, 400,
        "ValidationException", "cbor"),
    "cloudwatch CBOR not CBOR": (
        "monitoring", "POST", CLOUDWATCH_CBOR + "ListMetrics", b"\xff\xfe{", CBOR, 400, "SerializationException",
        "cbor"),
    "cloudwatch CBOR nested 100k deep": (
        "monitoring", "POST", CLOUDWATCH_CBOR + "ListMetrics", b"\x81" * 100_000 + b"\x00", CBOR, 400,
        "SerializationException", "cbor"),
    "cloudwatch CBOR unknown operation": (
        "monitoring", "POST", CLOUDWATCH_CBOR + "MakeCoffee", _cbor({}), CBOR, 400, "UnknownOperationException", "cbor"),
    "sns CreateTopic without Name": (
        "sns", "POST", "/", b"Action=CreateTopic&Version=2010-03-31", FORM, 400, "ValidationError", "query"),
    "logs invalid JSON": ("logs", "POST", "/", b"{nope", _json("Logs_20140328.DescribeLogGroups"), 400,
                          "SerializationException", "json"),
    "logs unknown target": ("logs", "POST", "/", b"{}", _json("Logs_20140328.MakeCoffee"), 400,
                            "UnknownOperationException", "json"),
    "logs CreateLogGroup without logGroupName": (
        "logs", "POST", "/", b"{}", _json("Logs_20140328.CreateLogGroup"), 400, "ValidationException", "json"),
    "ssm invalid JSON": ("ssm", "POST", "/", b"[1]", _json("AmazonSSM.GetParameter"), 400, "SerializationException",
                         "json"),
    "ssm GetParameter with a number for Name": (
        "ssm", "POST", "/", b'{"Name": 5}', _json("AmazonSSM.GetParameter"), 400, "ValidationException", "json"),
    "application-autoscaling RegisterScalableTarget without ResourceId": (
        "application-autoscaling", "POST", "/", b'{"ServiceNamespace": "sagemaker"}',
        _json("AnyScaleFrontendService.RegisterScalableTarget"), 400, "ValidationException", "json"),
    "sqs CreateQueue without QueueName": (
        "sqs", "POST", "/", b"{}", _json("AmazonSQS.CreateQueue", "1.0"), 400, "ValidationException", "json"),
    "sagemaker JSON nested 100k deep": (
        "sagemaker", "POST", "/", b"[" * 100_000 + b"]" * 100_000, _json("SageMaker.ListTrainingJobs"), 400,
        "SerializationException", "json"),
    "sagemaker CreationTimeAfter 1e300": (
        "sagemaker", "POST", "/", json.dumps({"CreationTimeAfter": 1e300}).encode(),
        _json("SageMaker.ListTrainingJobs"), 400, "ValidationException", "json"),
    "sagemaker DescribeTrainingJob without a name": (
        "sagemaker", "POST", "/", b"{}", _json("SageMaker.DescribeTrainingJob"), 400, "ValidationException", "json"),
    "s3 max-keys not a number": (
        "s3", "GET", "/validation-bucket?list-type=2&max-keys=abc", b"", {}, 400, "InvalidArgument", "s3"),
    "lambda MaxItems not a number": (
        "lambda", "GET", "/2015-03-31/functions/?MaxItems=abc", b"", {}, 400, "ValidationException", "json"),
}


def _error(response, shape: str) -> str:
    if shape == "json":
        return json.loads(response.text)["__type"]
    if shape == "cbor":
        assert response.headers["Content-Type"] == "application/cbor"
        decoder = RpcV2CBORParser()
        return decoder.parse_data_item(decoder.get_peekable_stream_from_bytes(response.content))["__type"]
    assert response.text.startswith("<?xml")
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


@pytest.mark.parametrize("service, method, path, body, headers, status, code, shape", CASES.values(), ids=CASES.keys())
def test_a_client_mistake_gets_the_services_own_4xx(local_aws, s3, service, method, path, body, headers, status,
                                                     code, shape):
    if service == "s3":
        s3.create_bucket(Bucket="validation-bucket")
    keys = local_aws.credentials
    response = signed_request(method, local_aws.url + path, service, keys.access_key_id, keys.secret_access_key,
                              body, headers)
    assert (response.status_code, _error(response, shape)) == (status, code), response.text[:300]
    if shape == "query":
        assert "<Type>Sender</Type>" in response.text


def test_iam_create_user_without_a_name_creates_no_user(local_aws, aws_client):
    iam = aws_client("iam")
    before = {user["UserName"] for user in iam.list_users()["Users"]}
    keys = local_aws.credentials
    signed_request("POST", local_aws.url + "/", "iam", keys.access_key_id, keys.secret_access_key,
                   b"Action=CreateUser&Version=2010-05-08", FORM)
    assert {user["UserName"] for user in iam.list_users()["Users"]} == before


def test_what_moto_does_not_implement_is_refused_by_name(aws_client):
    iam = aws_client("iam")
    with pytest.raises(Exception) as raised:
        iam.get_context_keys_for_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:role/nobody")
    error = raised.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (501, "NotImplemented")
    assert "GetContextKeysForPrincipalPolicy" in error["Error"]["Message"]


def test_a_fault_of_local_aws_is_a_500_in_the_services_shape_with_a_logged_request_id(local_aws, caplog, monkeypatch):
    def broken(environ, start_response):
        raise RuntimeError("a bug in a back end")

    monkeypatch.setattr(local_aws._server.application.app, "moto", broken)
    keys = local_aws.credentials
    with caplog.at_level(logging.ERROR, logger="local_aws.edge"):
        response = signed_request("POST", local_aws.url + "/", "iam", keys.access_key_id, keys.secret_access_key,
                                  b"Action=ListUsers&Version=2010-05-08", FORM)
    assert response.status_code == 500
    assert "<Code>InternalFailure</Code>" in response.text and "html" not in response.headers["Content-Type"]
    request_id = response.headers["x-amzn-RequestId"]
    assert any(request_id in record.getMessage() for record in caplog.records)
