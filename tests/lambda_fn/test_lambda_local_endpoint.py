"""The front door against local AWS's real sagemaker-runtime, switched only by AWS_ENDPOINT_URL.

The model is model_code's own network (untrained weights: the wire is under test, not the accuracy),
packed by model_code's own `write_model_dir` and served by local AWS's model server.
"""

import json
import tarfile
import time
import uuid
from pathlib import Path

import boto3
import pytest
from front_door_events import b64
from signed_requests import signed_request

REPO = Path(__file__).resolve().parents[2]
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5.1-cpu-py311"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
CLASSES = ["001.Affenpinscher", "002.Beagle", "003.Collie", "004.Dalmatian", "005.Eskimo", "006.Foxhound"]


def test_a_missing_endpoint_is_503_without_the_account(local_aws, load_handler, invoke, jpeg):
    handler = load_handler(**local_aws.env, ENDPOINT_NAME="no-such-endpoint")

    status, headers, body = invoke({"image": b64(jpeg)}, handler)

    assert (status, body["error"]["code"], headers["Retry-After"]) == (503, "EndpointNotFound", "60")
    assert "account" not in body["error"]["message"]


@pytest.fixture
def served_model(local_aws, tmp_path, monkeypatch):
    """An InService endpoint on local AWS serving a model_code model; deleted after the test."""
    monkeypatch.syspath_prepend(str(REPO / "model_code"))
    from model_artifacts import write_model_dir
    from networks import build_model
    from preprocessing import IMAGENET_MEAN, IMAGENET_STD

    network = build_model("mobilenet_v3_small", len(CLASSES))
    metadata = {
        "arch": "mobilenet_v3_small",
        "image_size": 32,
        "normalization": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
    }
    write_model_dir(tmp_path / "model", network.state_dict(), CLASSES, metadata)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted((tmp_path / "model").iterdir()):
            tar.add(path, arcname=path.name)

    name = f"front-door-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", **local_aws.client_kwargs)
    sagemaker = boto3.client("sagemaker", **local_aws.client_kwargs)
    s3.create_bucket(Bucket=name)
    s3.upload_file(str(archive), name, "model.tar.gz")
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{name}/model.tar.gz"},
        ExecutionRoleArn=ROLE,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    deadline = time.monotonic() + 300
    while (status := sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"]) == "Creating":
        assert time.monotonic() < deadline, "endpoint still Creating"
        time.sleep(0.5)
    assert status == "InService", sagemaker.describe_endpoint(EndpointName=name).get("FailureReason")
    yield name
    sagemaker.delete_endpoint(EndpointName=name)


@pytest.mark.slow
def test_predictions_from_a_model_served_by_local_aws(local_aws, served_model, load_handler, invoke, jpeg, png):
    handler = load_handler(**local_aws.env, ENDPOINT_NAME=served_model)

    status, _, body = invoke({"image": b64(jpeg), "top_k": 3}, handler)
    raw_status, _, raw_body = invoke(
        {
            "version": "2.0",
            "rawPath": "/predict",
            "headers": {"content-type": "image/png"},
            "requestContext": {"http": {"method": "POST", "path": "/predict"}, "requestId": "e2e", "stage": "$default"},
            "body": b64(png),
            "isBase64Encoded": True,
        },
        handler,
    )

    assert (status, raw_status) == (200, 200), (body, raw_body)
    assert body["endpoint"] == served_model
    predictions = body["predictions"]
    assert len(predictions) == 3 and len(raw_body["predictions"]) == 5
    assert {p["label"] for p in predictions} <= {name.split(".", 1)[1] for name in CLASSES}
    probabilities = [p["probability"] for p in predictions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert "arn:" not in json.dumps(body)


@pytest.mark.slow
def test_the_front_door_deployed_to_local_aws_lambda_answers_with_predictions(local_aws, served_model, jpeg):
    """lambda/ zipped with its pinned requirements (dog_breed.lambda_package), created as a function on
    local AWS, invoked with an API Gateway event: it calls the endpoint with its role's credentials."""
    import sys

    sys.path.insert(0, str(REPO / "plugins"))
    from dog_breed.lambda_package import build

    iam = boto3.client("iam", **local_aws.client_kwargs)
    lam = boto3.client("lambda", **local_aws.client_kwargs)
    role = iam.create_role(RoleName=f"front-door-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    # least privilege: this endpoint, this action, nothing else (local AWS evaluates it)
    endpoint_arn = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{served_model.lower()}"
    iam.put_role_policy(RoleName=role.rsplit("/", 1)[-1], PolicyName="invoke-the-endpoint", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
                                                "Resource": endpoint_arn}]}))
    name = f"front-door-{uuid.uuid4().hex[:6]}"
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="handler.lambda_handler",
                        Code={"ZipFile": build(REPO / "lambda", REPO / "lambda" / "requirements.txt")}, Timeout=30,
                        MemorySize=512, Environment={"Variables": {
                            "ENDPOINT_NAME": served_model, "POWERTOOLS_SERVICE_NAME": "dog-breed-front-door",
                            "POWERTOOLS_METRICS_NAMESPACE": "DogBreedTests"}})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    event = {"version": "2.0", "rawPath": "/predict", "headers": {"content-type": "application/json"},
             "requestContext": {"http": {"method": "POST", "path": "/predict"}, "requestId": "lambda-e2e",
                                "stage": "$default"},
             "body": json.dumps({"image": b64(jpeg), "top_k": 2}), "isBase64Encoded": False}
    answer = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    response = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, response
    body = json.loads(response["body"])
    assert response["statusCode"] == 200 and body["endpoint"] == served_model, body
    assert len(body["predictions"]) == 2
    assert {p["label"] for p in body["predictions"]} <= {name.split(".", 1)[1] for name in CLASSES}

    # and through its function URL: a SigV4-signed HTTP request becomes the payload 2.0 event
    url = lam.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"]
    keys = local_aws.credentials
    over_url = signed_request("POST", url + "predict", "lambda", keys.access_key_id, keys.secret_access_key,
                              json.dumps({"image": b64(jpeg), "top_k": 3}).encode(),
                              {"Content-Type": "application/json"}, timeout=60)
    assert over_url.status_code == 200, over_url.text
    assert over_url.json()["endpoint"] == served_model and len(over_url.json()["predictions"]) == 3
