"""The hostile-input corpus: every request here is refused with a clear error and never reaches the endpoint
(the stubber has nothing queued, so any endpoint call would fail the test)."""

import base64
import ipaddress
import json

import pytest
from botocore.stub import Stubber
from front_door_events import b64, http_api_event

ALLOWED_HOST = "images.example.com"


@pytest.fixture
def url_handler(load_handler):
    handler = load_handler(ALLOWED_IMAGE_HOSTS=ALLOWED_HOST)
    with Stubber(handler.runtime):
        yield handler


@pytest.fixture
def resolved_to(monkeypatch, url_handler):
    """`resolved_to("10.0.0.1", ...)`: makes the allowlisted host resolve to these addresses."""
    import front_door.safe_fetch as safe_fetch

    def set_answer(*addresses):
        answer = [ipaddress.ip_address(address) for address in addresses]
        monkeypatch.setattr(safe_fetch, "resolve_addresses", lambda host, port: answer)

    return set_answer


def refused(invoke, event, status, code, module=None):
    got_status, _, body = invoke(event, module)
    assert (got_status, body["error"]["code"]) == (status, code), body
    return body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{", "MalformedJson"),
        ('{"image": "abc"', "MalformedJson"),
        ("[" * 100_000, "MalformedJson"),
        ("not json at all", "MalformedJson"),
        ("null", "MalformedRequest"),
        ("[]", "MalformedRequest"),
        ('"a string"', "MalformedRequest"),
        ("1e999999", "MalformedRequest"),
        ("{}", "MissingField"),
        ('{"image": null}', "MissingField"),
        ('{"img": "abc"}', "UnknownField"),
    ],
)
def test_malformed_json_is_400(invoke, stubber, body, code):
    refused(invoke, http_api_event(body=body), 400, code)


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"image": 12345}, "InvalidImage"),
        ({"image": ["/9j/"]}, "InvalidImage"),
        ({"image": {"data": "x"}}, "InvalidImage"),
        ({"image": "!!!not base64!!!"}, "InvalidBase64"),
        ({"image": "abc"}, "InvalidBase64"),
        ({"image": "héllo=="}, "InvalidBase64"),
        ({"image": ""}, "EmptyImage"),
        ({"url": 42}, "InvalidUrl"),
        ({"url": ""}, "InvalidUrl"),
        ({"url": ["https://images.example.com/a.jpg"]}, "InvalidUrl"),
        ({"url": "https://images.example.com/" + "a" * 3000}, "InvalidUrl"),
    ],
)
def test_wrong_types_and_values_are_422(invoke, stubber, document, code):
    refused(invoke, document, 422, code)


@pytest.mark.parametrize("top_k", [True, False, "3", 3.0, 0, -1, 6, 10**20, [3]])
def test_top_k_must_be_an_integer_from_1_to_5(invoke, stubber, jpeg, top_k):
    refused(invoke, {"image": b64(jpeg), "top_k": top_k}, 422, "InvalidTopK")


@pytest.mark.parametrize("top_k", ["abc", "0", "6", "-1", "1.5", "99999"])
def test_query_top_k_for_raw_bodies(invoke, stubber, jpeg, top_k):
    event = http_api_event(body=b64(jpeg), headers={"content-type": "image/jpeg"}, is_base64_encoded=True, query={"top_k": top_k})
    refused(invoke, event, 422, "InvalidTopK")


def test_empty_bodies_are_400(invoke, stubber):
    refused(invoke, http_api_event(body=None), 400, "EmptyBody")
    refused(invoke, http_api_event(body=""), 400, "EmptyBody")
    refused(invoke, http_api_event(body="", headers={"content-type": "image/png"}, is_base64_encoded=True), 400, "EmptyBody")


def test_huge_bodies_are_413_before_parsing(invoke, stubber):
    huge = "x" * (8 * 1024 * 1024)
    refused(invoke, http_api_event(body=huge), 413, "ImageTooLarge")
    refused(invoke, http_api_event(body=huge, headers={"content-type": "image/jpeg"}, is_base64_encoded=True), 413, "ImageTooLarge")
    refused(invoke, {"image": "A" * (6 * 1024 * 1024)}, 413, "ImageTooLarge")


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n", b"GIF89a\x01\x00", b"\xff\xd8", b"\x89PNG", b"<svg xmlns='http://www.w3.org/2000/svg'/>", bytes(range(256))],
    ids=["pdf", "gif", "truncated-jpeg", "truncated-png", "svg", "binary-noise"],
)
def test_non_image_bytes_are_415(invoke, stubber, data):
    refused(invoke, {"image": b64(data)}, 415, "NotAnImage")
    raw = http_api_event(body=b64(data), headers={"content-type": "image/jpeg"}, is_base64_encoded=True)
    refused(invoke, raw, 415, "NotAnImage")


@pytest.mark.parametrize("content_type", ["text/plain", "image/gif", "multipart/form-data; boundary=x", None])
def test_unsupported_content_types_are_415(invoke, stubber, jpeg, content_type):
    event = http_api_event(body=b64(jpeg), is_base64_encoded=True)
    event["headers"] = {} if content_type is None else {"content-type": content_type}
    refused(invoke, event, 415, "UnsupportedContentType")


def test_broken_base64_flag_and_invalid_utf8(invoke, stubber):
    refused(invoke, http_api_event(body="@@@", is_base64_encoded=True), 400, "MalformedBody")
    refused(invoke, http_api_event(body="é€==", is_base64_encoded=True), 400, "MalformedBody")
    # A lone surrogate survives JSON decoding; base64 decoding then refuses it.
    refused(invoke, http_api_event(body='{"image": "\ud800"}'), 422, "InvalidBase64")
    not_utf8 = base64.b64encode(b'\xff\xfe{"image": 1}').decode()
    refused(invoke, http_api_event(body=not_utf8, is_base64_encoded=True), 400, "MalformedJson")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("file:///etc/passwd", "UrlSchemeNotAllowed"),
        ("gopher://images.example.com:70/_SET%20x", "UrlSchemeNotAllowed"),
        ("ftp://images.example.com/dog.jpg", "UrlSchemeNotAllowed"),
        ("dict://images.example.com:11211/stat", "UrlSchemeNotAllowed"),
        ("http://images.example.com/dog.jpg", "UrlSchemeNotAllowed"),
        ("//images.example.com/dog.jpg", "UrlSchemeNotAllowed"),
        ("https://2130706433/", "HostNotAllowed"),
        ("https://017700000001/", "HostNotAllowed"),
        ("https://0x7f.1/", "HostNotAllowed"),
        ("https://0x7f000001/", "HostNotAllowed"),
        ("https://0177.0.0.1/", "HostNotAllowed"),
        ("https://127.1/", "HostNotAllowed"),
        ("https://127.0.0.1./", "HostNotAllowed"),
        ("https://0/", "HostNotAllowed"),
        ("https://[::1]/", "HostNotAllowed"),
        ("https://[::ffff:127.0.0.1]/", "HostNotAllowed"),
        ("https://169.254.169.254/latest/meta-data/", "HostNotAllowed"),
        ("https://[fd00:ec2::254]/latest/meta-data/", "HostNotAllowed"),
        ("https://images.example.com.evil.test/dog.jpg", "HostNotAllowed"),
        ("https://evil.test#@images.example.com/dog.jpg", "HostNotAllowed"),
        ("https://evil.test\\@images.example.com/dog.jpg", "InvalidUrl"),
        ("https://user:secret@images.example.com/dog.jpg", "InvalidUrl"),
        ("https://images.example.com:99999/dog.jpg", "InvalidUrl"),
        ("https://images.example.com:0/dog.jpg", "InvalidUrl"),
        ("https://images.example.com/dog.jpg\r\nX-Injected: 1", "InvalidUrl"),
        ("https://[::1/", "InvalidUrl"),
        ("https:///dog.jpg", "InvalidUrl"),
    ],
)
def test_hostile_urls_are_422(invoke, url_handler, url, code):
    refused(invoke, {"url": url}, 422, code, url_handler)


def test_url_input_is_refused_when_no_host_is_allowlisted(invoke, stubber):
    message = refused(invoke, {"url": "https://images.example.com/dog.jpg"}, 422, "UrlInputDisabled")
    assert "ALLOWED_IMAGE_HOSTS" in message


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fd00:ec2::254",
        "fe80::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ],
)
def test_names_resolving_to_non_public_addresses_are_refused(invoke, url_handler, resolved_to, address):
    resolved_to(address)

    message = refused(invoke, {"url": f"https://{ALLOWED_HOST}/dog.jpg"}, 422, "ForbiddenAddress", url_handler)
    assert address not in message


def test_one_private_address_among_public_ones_refuses_the_name(invoke, url_handler, resolved_to):
    resolved_to("93.184.216.34", "2606:2800:220:1::1", "10.0.0.9")

    refused(invoke, {"url": f"https://{ALLOWED_HOST}/dog.jpg"}, 422, "ForbiddenAddress", url_handler)


def test_errors_never_echo_the_lambda_context(invoke, stubber):
    _, _, body = invoke({"url": "file:///etc/passwd"})
    assert "arn:aws:lambda" not in json.dumps(body)
