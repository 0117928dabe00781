"""Function URLs served by local AWS (issue 14): an AWS_IAM URL answers SigV4-signed requests with what the
function returns for API Gateway's payload format 2.0 event; unsigned requests never reach it; AuthType
NONE is refused by name."""

import json
import sys

import pytest
import requests
from botocore.exceptions import ClientError
from local_aws_testing import lambda_function
from signed_requests import signed_request

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="functions run in Linux namespace sandboxes")

HANDLER = '''
import json


def handler(event, context):
    if event["rawPath"] == "/fail":
        raise RuntimeError("asked to fail")
    if event["rawPath"] == "/plain":
        return {"plain": True}
    return {"statusCode": 201, "headers": {"x-echo": "yes"}, "cookies": ["a=1"],
            "body": json.dumps({"path": event["rawPath"], "method": event["requestContext"]["http"]["method"],
                                "query": event.get("queryStringParameters"), "body": event.get("body"),
                                "base64": event["isBase64Encoded"]})}
'''


@pytest.fixture(scope="module")
def url_function(local_aws):
    return lambda_function(local_aws.client_kwargs, "url", HANDLER)


def test_an_iam_url_answers_signed_requests_with_the_functions_response(local_aws, url_function, aws_client):
    lam = aws_client("lambda")
    url = lam.create_function_url_config(FunctionName=url_function, AuthType="AWS_IAM")["FunctionUrl"]
    assert lam.get_function_url_config(FunctionName=url_function)["FunctionUrl"] == url
    keys = local_aws.credentials
    response = signed_request("POST", url + "predict?top=3", "lambda", keys.access_key_id, keys.secret_access_key,
                              b'{"image": "x"}', {"Content-Type": "application/json"})
    assert (response.status_code, response.headers["x-echo"], response.headers["Set-Cookie"]) == (201, "yes", "a=1")
    assert response.json() == {"path": "/predict", "method": "POST", "query": {"top": "3"}, "body": '{"image": "x"}',
                               "base64": False}
    plain = signed_request("GET", url + "plain", "lambda", keys.access_key_id, keys.secret_access_key)
    assert (plain.status_code, plain.json()) == (200, {"plain": True})
    failed = signed_request("GET", url + "fail", "lambda", keys.access_key_id, keys.secret_access_key)
    assert (failed.status_code, failed.text) == (502, "Internal Server Error")
    assert requests.post(url + "predict", data=b"{}", timeout=10).status_code == 403  # unsigned: the gate's
    lam.delete_function_url_config(FunctionName=url_function)
    gone = signed_request("GET", url + "plain", "lambda", keys.access_key_id, keys.secret_access_key)
    assert gone.status_code == 403


def test_a_url_without_authentication_is_refused_by_name(url_function, aws_client):
    with pytest.raises(ClientError) as refused:
        aws_client("lambda").create_function_url_config(FunctionName=url_function, AuthType="NONE")
    assert "AuthType NONE" in refused.value.response["Error"]["Message"]
