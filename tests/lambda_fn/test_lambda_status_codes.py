"""Each status code of the contract, with our error shape and nothing of AWS's wording or ARNs."""

import json

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from front_door_events import ENDPOINT_NAME, FakeContext, b64, expect_invocation, http_api_event

ACCOUNT_ID = "123456789012"
ENDPOINT_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:endpoint/{ENDPOINT_NAME}"


def assert_error(result, status, code):
    got_status, _, body = result
    assert (got_status, body["error"]["code"]) == (status, code), body
    assert body["error"]["message"]
    assert ACCOUNT_ID not in json.dumps(body) and "arn:" not in json.dumps(body)


def queue_client_error(stubber, code, http_status, message):
    stubber.add_client_error(
        "invoke_endpoint", service_error_code=code, service_message=message, http_status_code=http_status
    )


@pytest.mark.parametrize(
    ("code", "http_status", "message", "expected_status", "expected_code", "retry_after"),
    [
        ("ModelError", 424, f"Received server error (500) from model. See {ENDPOINT_ARN} logs", 502, "ModelError", None),
        ("ThrottlingException", 400, "Rate exceeded", 503, "EndpointThrottled", "1"),
        ("ServiceUnavailable", 503, "Service unavailable", 503, "EndpointUnavailable", "5"),
        ("SomethingNew", 429, "slow down", 503, "EndpointThrottled", "1"),
        (
            "ValidationError",
            400,
            f"Endpoint {ENDPOINT_NAME} of account {ACCOUNT_ID} not found.",
            503,
            "EndpointNotFound",
            "60",
        ),
        ("ValidationError", 400, f"Inference component of account {ACCOUNT_ID} invalid", 502, "EndpointError", None),
        ("AccessDeniedException", 403, f"User: {ENDPOINT_ARN} is not authorized", 502, "EndpointError", None),
        ("InternalFailure", 500, "boom", 502, "EndpointError", None),
    ],
)
def test_endpoint_errors_map_to_gateway_statuses(
    invoke, stubber, jpeg, code, http_status, message, expected_status, expected_code, retry_after
):
    queue_client_error(stubber, code, http_status, message)

    result = invoke({"image": b64(jpeg)})

    assert_error(result, expected_status, expected_code)
    assert result[1].get("Retry-After") == retry_after


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (ReadTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"), 504, "EndpointTimeout"),
        (ConnectTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"), 503, "EndpointUnavailable"),
        (EndpointConnectionError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"), 503, "EndpointUnavailable"),
    ],
)
def test_transport_failures_after_bounded_retries(handler, invoke, jpeg, failure, status, code):
    """The failure is raised where botocore's HTTP layer raises it, so the client's retry policy runs."""
    attempts = []

    def fail_to_send(**_):
        attempts.append(1)
        raise failure

    handler.runtime.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", fail_to_send)

    assert_error(invoke({"image": b64(jpeg)}), status, code)
    assert len(attempts) == 2


def test_runtime_client_has_explicit_timeouts_and_bounded_retries(handler):
    config = handler.runtime.meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 8)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}


def test_model_answer_that_is_not_a_prediction_list_is_502(invoke, stubber, jpeg):
    # The seed's model returned raw logits: [[-5.4, -4.9, ...]].
    expect_invocation(stubber, jpeg, "image/jpeg", answer=[[-5.44, -4.95, -1.53]])

    assert_error(invoke({"image": b64(jpeg)}), 502, "InvalidModelResponse")


@pytest.mark.parametrize(
    ("env", "mentions"),
    [
        ({"ENDPOINT_NAME": None}, "ENDPOINT_NAME is not set"),
        ({"ENDPOINT_NAME": "not a name!"}, "ENDPOINT_NAME"),
        ({"TOP_K": "6"}, "TOP_K"),
        ({"TOP_K": "true"}, "TOP_K"),
        ({"MAX_IMAGE_BYTES": "lots"}, "MAX_IMAGE_BYTES"),
        ({"MAX_IMAGE_BYTES": str(7 * 1024 * 1024)}, "MAX_IMAGE_BYTES"),
        ({"ALLOWED_IMAGE_HOSTS": "https://images.example.com/"}, "ALLOWED_IMAGE_HOSTS"),
        ({"ALLOWED_IMAGE_HOSTS": "10.0.0.1"}, "ALLOWED_IMAGE_HOSTS"),
        ({"ALLOWED_ORIGINS": "*"}, "ALLOWED_ORIGINS"),
        ({"ALLOW_LOOPBACK_FOR_TESTS": "yes"}, "ALLOW_LOOPBACK_FOR_TESTS"),
        ({"IMAGE_FETCH_TIMEOUT_SECONDS": "0"}, "IMAGE_FETCH_TIMEOUT_SECONDS"),
    ],
)
def test_configuration_errors_are_clear_500s_on_every_event_shape(load_handler, env, mentions):
    handler = load_handler(**env)

    for event in ({"url": "https://images.example.com/dog.jpg"}, http_api_event(method="GET", path="/health")):
        response = handler.lambda_handler(event, FakeContext())
        body = json.loads(response["body"])
        assert response["statusCode"] == 500
        assert body["error"]["code"] == "ConfigurationError"
        assert mentions in body["error"]["message"]
        assert "Traceback" not in response["body"]


def test_configuration_is_read_on_the_first_request_not_at_import(load_handler, monkeypatch, jpeg):
    handler = load_handler(ENDPOINT_NAME=None)
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT_NAME)

    response = handler.lambda_handler(http_api_event(method="GET", path="/health"), FakeContext())

    assert response["statusCode"] == 200


def test_a_bug_is_a_500_without_trace(handler, invoke, jpeg, monkeypatch, log_records):
    def broken(*_args, **_kwargs):
        raise KeyError("internal detail")

    monkeypatch.setattr(handler, "invoke_model", broken)

    status, _, body = invoke({"image": b64(jpeg)})

    assert (status, body["error"]["code"]) == (500, "InternalError")
    assert "internal detail" not in json.dumps(body)
    assert any("Traceback" in record.get("exception", "") for record in log_records())


def test_client_errors(invoke, stubber, jpeg):
    cases = [
        (http_api_event(body="{not json"), 400, "MalformedJson"),
        ({"top_k": 2}, 400, "MissingField"),
        ({"image": b64(jpeg), "url": "https://images.example.com/a.jpg"}, 400, "ConflictingFields"),
        ({"image": b64(b"%PDF-1.7 not an image")}, 415, "NotAnImage"),
        (http_api_event(body="x", headers={"content-type": "text/plain"}), 415, "UnsupportedContentType"),
        ({"image": b64(jpeg), "top_k": 9}, 422, "InvalidTopK"),
        ({"url": "https://images.example.com/a.jpg"}, 422, "UrlInputDisabled"),
    ]
    for event, status, code in cases:
        assert_error(invoke(event), status, code)


def test_image_over_the_limit_is_413(load_handler, invoke, jpeg):
    handler = load_handler(MAX_IMAGE_BYTES=str(len(jpeg) - 1))
    with Stubber(handler.runtime):
        assert_error(invoke({"image": b64(jpeg)}, handler), 413, "ImageTooLarge")
        raw = http_api_event(body=b64(jpeg), headers={"content-type": "image/jpeg"}, is_base64_encoded=True)
        assert_error(invoke(raw, handler), 413, "ImageTooLarge")
