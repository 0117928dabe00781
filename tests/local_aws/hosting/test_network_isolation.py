"""EnableNetworkIsolation honoured (issue 15's pretences): a replica of an isolated model can open no
connection, not even to local AWS on the loopback interface, while the edge still reaches it; the same
model without isolation connects."""

import json
import sys
from urllib.parse import urlparse

import pytest

from hosting_helpers import BUCKET, archive, write_model_dir
from local_aws_testing import INFERENCE_IMAGE, ROLE, unique_name

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="network namespaces are Linux's")

# Tries to connect to the address in its container environment and answers what happened.
DIALLING_MODEL = """
    import json
    import os
    import socket

    def model_fn(model_dir):
        return None

    def transform_fn(model, body, content_type, accept):
        try:
            socket.create_connection((os.environ["DIAL_HOST"], int(os.environ["DIAL_PORT"])), timeout=3).close()
            outcome = "connected"
        except OSError as error:
            outcome = type(error).__name__ + ": " + str(error)
        return json.dumps({"outcome": outcome}), "application/json"
"""


@pytest.mark.parametrize("isolated", [True, False], ids=["isolated", "not isolated"])
def test_an_isolated_models_replica_can_open_no_connection_and_still_answers_the_edge(
        isolated, local_aws, sagemaker, runtime, s3, endpoint, tmp_path):
    url = urlparse(local_aws.url)
    name = unique_name("dialler")
    s3.upload_file(str(archive(write_model_dir(tmp_path / "model", DIALLING_MODEL))), BUCKET, f"{name}/model.tar.gz")
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, EnableNetworkIsolation=isolated, PrimaryContainer={
        "Image": INFERENCE_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{name}/model.tar.gz",
        "Environment": {"DIAL_HOST": url.hostname, "DIAL_PORT": str(url.port)}})
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    endpoint_name, described = endpoint(name)
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    answer = json.loads(runtime.invoke_endpoint(EndpointName=endpoint_name, Body=b"{}",
                                                ContentType="application/json")["Body"].read())
    if isolated:
        assert answer["outcome"].startswith(("OSError", "ConnectionRefusedError")), answer
        assert "unreachable" in answer["outcome"] or "refused" in answer["outcome"], answer
    else:
        assert answer == {"outcome": "connected"}
