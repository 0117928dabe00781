"""Every event shape reaches the same prediction route and answers a proxy-shaped response."""

import json

import pytest
from botocore.stub import Stubber
from front_door_events import (
    ENDPOINT_NAME,
    MODEL_ANSWER,
    FakeContext,
    b64,
    expect_invocation,
    function_url_event,
    http_api_event,
    rest_event,
)

TOP_TWO = MODEL_ANSWER[:2]


def test_direct_invocation_with_base64_image(invoke, expect_prediction, jpeg):
    expect_prediction(jpeg, "image/jpeg")

    status, headers, body = invoke({"image": b64(jpeg), "top_k": 2})

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body == {"predictions": TOP_TWO, "endpoint": ENDPOINT_NAME}


def test_default_top_k_is_the_models_five(invoke, expect_prediction, png):
    expect_prediction(png, "image/png")

    assert invoke({"image": b64(png)})[2]["predictions"] == MODEL_ANSWER


def test_top_k_default_comes_from_configuration(load_handler, invoke, jpeg):
    handler = load_handler(TOP_K="1")
    with Stubber(handler.runtime) as stub:
        expect_invocation(stub, jpeg, "image/jpeg")
        assert invoke({"image": b64(jpeg)}, handler)[2]["predictions"] == MODEL_ANSWER[:1]


@pytest.mark.parametrize("make_event", [http_api_event, function_url_event, rest_event], ids=["http-api", "url", "rest"])
def test_json_body(make_event, invoke, expect_prediction, jpeg):
    expect_prediction(jpeg, "image/jpeg")

    status, _, body = invoke(make_event(body=json.dumps({"image": b64(jpeg), "top_k": 2})))

    assert (status, body) == (200, {"predictions": TOP_TWO, "endpoint": ENDPOINT_NAME})


@pytest.mark.parametrize("make_event", [http_api_event, function_url_event, rest_event], ids=["http-api", "url", "rest"])
def test_raw_binary_image_body(make_event, invoke, expect_prediction, png):
    expect_prediction(png, "image/png")
    event = make_event(body=b64(png), headers={"content-type": "image/png"}, is_base64_encoded=True, query={"top_k": "2"})

    status, _, body = invoke(event)

    assert (status, body["predictions"]) == (200, TOP_TWO)


def test_the_image_type_sent_is_detected_not_declared(invoke, expect_prediction, png):
    # A PNG labelled image/jpeg still reaches the model as image/png.
    expect_prediction(png, "image/png")
    event = http_api_event(body=b64(png), headers={"content-type": "image/jpeg"}, is_base64_encoded=True)

    assert invoke(event)[0] == 200


@pytest.mark.parametrize("make_event", [http_api_event, function_url_event, rest_event], ids=["http-api", "url", "rest"])
def test_health_answers_without_calling_the_endpoint(make_event, invoke, stubber):
    status, _, body = invoke(make_event(method="GET", path="/health"))

    assert (status, body) == (200, {"status": "ok", "endpoint": ENDPOINT_NAME})


def test_rest_answers_in_its_own_proxy_format(handler, stubber):
    response = handler.lambda_handler(rest_event(method="GET", path="/health"), FakeContext())

    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert json.loads(response["body"])["status"] == "ok"


@pytest.mark.parametrize("make_event", [http_api_event, rest_event], ids=["http-api", "rest"])
def test_unknown_route_is_404_in_our_error_shape(make_event, invoke, stubber):
    status, _, body = invoke(make_event(method="GET", path="/admin"))

    assert status == 404
    assert body["error"]["code"] == "RouteNotFound"
    assert "POST /predict" in body["error"]["message"]


def test_cors_header_only_for_configured_origins(load_handler, invoke):
    handler = load_handler(ALLOWED_ORIGINS="https://app.example.com, https://admin.example.com")

    allowed = invoke(http_api_event(method="GET", path="/health", headers={"origin": "https://admin.example.com"}), handler)
    stranger = invoke(http_api_event(method="GET", path="/health", headers={"origin": "https://evil.example"}), handler)

    assert allowed[1]["Access-Control-Allow-Origin"] == "https://admin.example.com"
    assert "Access-Control-Allow-Origin" not in stranger[1]


def test_cors_preflight_for_a_configured_origin(load_handler):
    handler = load_handler(ALLOWED_ORIGINS="https://app.example.com")
    preflight = http_api_event(method="OPTIONS", path="/predict", headers={"origin": "https://app.example.com"})

    response = handler.lambda_handler(preflight, FakeContext())

    assert response["statusCode"] == 204
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in response["headers"]["Access-Control-Allow-Methods"]


def test_no_cors_header_by_default(invoke, stubber):
    _, headers, _ = invoke(http_api_event(method="GET", path="/health", headers={"origin": "https://app.example.com"}))

    assert not any(name.lower().startswith("access-control") for name in headers)


def test_logs_carry_the_correlation_id(invoke, stubber, log_records):
    invoke(http_api_event(method="GET", path="/admin"))

    records = log_records()
    assert records and all(record["correlation_id"] == "http-api-request-id" for record in records)


def test_direct_invocations_use_the_lambda_request_id(invoke, stubber, log_records):
    invoke({"top_k": 1})

    assert log_records()[0]["correlation_id"] == log_records()[0]["function_request_id"]


def test_metrics_are_emitted_as_emf(invoke, expect_prediction, jpeg, capsys):
    expect_prediction(jpeg)

    invoke({"image": b64(jpeg)})

    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = {metric["Name"] for blob in blobs for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"Requests", "Predictions", "EndpointLatency"} <= names
    assert blobs[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DogBreedTests"
