"""Lambda layers (issue 14): PublishLayerVersion and its reads; a function configured with layers imports
from them at /opt as on AWS, a later layer's file replacing an earlier one's; a deleted version is no
longer listed but keeps running for the functions that use it; AWS's limits refused with its messages."""

import io
import json
import sys
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="functions run in Linux namespace sandboxes")

HANDLER = '''
import greeting


def handler(event, context):
    return {"greeting": greeting.GREETING, "from": greeting.__file__}
'''


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def role(local_aws):
    import boto3

    iam = boto3.client("iam", **local_aws.client_kwargs)
    return iam.create_role(RoleName=f"layers-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]


def test_a_function_imports_from_its_layers_merged_in_order_even_after_a_version_is_deleted(aws_client, role):
    lam = aws_client("lambda")
    layer = f"greeting-{uuid.uuid4().hex[:6]}"
    first = lam.publish_layer_version(LayerName=layer, Content={"ZipFile": zipped(
        {"python/greeting.py": "GREETING = 'hello'\n"})}, CompatibleRuntimes=["python3.11"], Description="first")
    assert (first["Version"], first["Description"]) == (1, "first")
    assert first["LayerVersionArn"] == first["LayerArn"] + ":1"
    second = lam.publish_layer_version(LayerName=layer, Content={"ZipFile": zipped(
        {"python/greeting.py": "GREETING = 'hi there'\n"})})
    assert lam.get_layer_version(LayerName=layer, VersionNumber=2)["Content"]["CodeSha256"] \
        == second["Content"]["CodeSha256"]
    assert lam.get_layer_version_by_arn(Arn=first["LayerVersionArn"])["Version"] == 1
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=layer)["LayerVersions"]] == [2, 1]
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=layer, CompatibleRuntime="python3.11")[
        "LayerVersions"]] == [1]
    listed = {found["LayerName"]: found for found in lam.list_layers()["Layers"]}
    assert listed[layer]["LatestMatchingVersion"]["Version"] == 2

    name = f"layered-{uuid.uuid4().hex[:6]}"
    created = lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                                  Code={"ZipFile": zipped({"app.py": HANDLER})},
                                  Layers=[first["LayerVersionArn"], second["LayerVersionArn"]])
    assert [found["Arn"] for found in created["Layers"]] == [first["LayerVersionArn"], second["LayerVersionArn"]]
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    lam.delete_layer_version(LayerName=layer, VersionNumber=2)
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=layer)["LayerVersions"]] == [1]
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.get_layer_version(LayerName=layer, VersionNumber=2)
    answer = json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
    assert answer == {"greeting": "hi there", "from": "/opt/python/greeting.py"}
    with pytest.raises(ClientError, match="does not exist"):  # a deleted version cannot be configured anew
        lam.update_function_configuration(FunctionName=name, Layers=[second["LayerVersionArn"]])


def test_layers_are_held_to_awss_limits(aws_client, role):
    lam = aws_client("lambda")
    layer = lam.publish_layer_version(LayerName=f"l-{uuid.uuid4().hex[:6]}", Content={"ZipFile": zipped(
        {"python/x.py": ""})})["LayerVersionArn"]
    request = {"FunctionName": f"f-{uuid.uuid4().hex[:6]}", "Runtime": "python3.11", "Role": role,
               "Handler": "app.handler", "Code": {"ZipFile": zipped({"app.py": HANDLER})}}
    with pytest.raises(ClientError, match="Cannot reference more than 5 layers"):
        lam.create_function(Layers=[layer] * 6, **request)
    with pytest.raises(ClientError, match=f"Layer version {layer[:-1]}9 does not exist"):
        lam.create_function(Layers=[layer[:-1] + "9"], **request)
    with pytest.raises(ClientError, match="Could not unzip"):
        lam.publish_layer_version(LayerName="broken", Content={"ZipFile": b"not a zip"})
