"""URL fetching against a real server on 127.0.0.1, allowed only through the test-only settings.

Host names other than localhost are resolved by a fake `resolve_addresses` (the one function the fetcher
asks), so the tests also prove the connection goes to the vetted address with the right Host header.
"""

import ipaddress
import time

import pytest
from botocore.stub import Stubber
from front_door_events import ENDPOINT_NAME, MODEL_ANSWER, expect_invocation
from image_server import DRIP_SECONDS, ImageServer

HOSTS = "localhost,images.test,internal.test,rebind.test"
FETCH_TIMEOUT = "0.5"


@pytest.fixture(scope="module")
def running_server(jpeg, png):
    with ImageServer({"dog.jpg": jpeg, "dog.png": png}) as running:
        yield running


@pytest.fixture
def server(running_server):
    running_server.requests.clear()
    return running_server


@pytest.fixture
def fetcher(load_handler):
    handler = load_handler(
        ALLOWED_IMAGE_HOSTS=HOSTS,
        ALLOW_HTTP_IMAGE_URLS="true",
        ALLOW_LOOPBACK_FOR_TESTS="true",
        IMAGE_FETCH_TIMEOUT_SECONDS=FETCH_TIMEOUT,
        MAX_IMAGE_BYTES=str(256 * 1024),
    )
    with Stubber(handler.runtime) as stub:
        handler.stub = stub
        yield handler
        stub.assert_no_pending_responses()


class FakeDns:
    def __init__(self) -> None:
        self.answers = {
            "images.test": ["127.0.0.1"],
            "internal.test": ["10.0.0.7"],
            "rebind.test": ["127.0.0.1", "169.254.169.254"],
        }
        self.lookups = []

    def resolve(self, host, port):
        self.lookups.append(host)
        return [ipaddress.ip_address(address) for address in self.answers[host]]


@pytest.fixture
def dns(monkeypatch, fetcher):
    """The fake resolver: `.answers` per host name, `.lookups` in the order asked."""
    import front_door.safe_fetch as safe_fetch

    fake = FakeDns()
    monkeypatch.setattr(safe_fetch, "resolve_addresses", fake.resolve)
    return fake


def outcome(invoke, fetcher, url):
    status, _, body = invoke({"url": url}, fetcher)
    return status, body.get("error", {}).get("code"), body


def test_seed_test_event_fetches_and_sends_bytes_to_the_endpoint(invoke, fetcher, server, dns, jpeg):
    expect_invocation(fetcher.stub, jpeg, "image/jpeg")

    status, _, body = invoke({"url": f"http://images.test:{server.port}/image/dog.jpg"}, fetcher)

    assert (status, body) == (200, {"predictions": MODEL_ANSWER, "endpoint": ENDPOINT_NAME})
    assert server.requests == [{"path": "/image/dog.jpg", "host": f"images.test:{server.port}"}]
    assert dns.lookups == ["images.test"]


def test_real_resolver_with_localhost(invoke, fetcher, server, png):
    expect_invocation(fetcher.stub, png, "image/png")

    status, _, body = invoke({"url": f"http://localhost:{server.port}/image/dog.png", "top_k": 1}, fetcher)

    assert (status, body["predictions"]) == (200, MODEL_ANSWER[:1])


def test_a_redirect_chain_of_three_hops_is_followed(invoke, fetcher, server, dns, jpeg):
    expect_invocation(fetcher.stub, jpeg, "image/jpeg")

    assert invoke({"url": f"http://images.test:{server.port}/redirect/3"}, fetcher)[0] == 200
    assert [request["path"] for request in server.requests] == [
        "/redirect/3",
        "/redirect/2",
        "/redirect/1",
        "/image/dog.jpg",
    ]
    assert dns.lookups == ["images.test"] * 4


def test_a_fourth_redirect_is_refused(invoke, fetcher, server, dns):
    status, code, _ = outcome(invoke, fetcher, f"http://images.test:{server.port}/redirect/4")

    assert (status, code) == (422, "TooManyRedirects")
    assert len(server.requests) == 4


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ("http://internal.test/latest/meta-data/", "ForbiddenAddress"),
        ("http://rebind.test/dog.jpg", "ForbiddenAddress"),
        ("http://169.254.169.254/latest/meta-data/iam/", "HostNotAllowed"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "HostNotAllowed"),
        ("http://2130706433/", "HostNotAllowed"),
        ("http://metadata.google.internal/", "HostNotAllowed"),
        ("file:///etc/passwd", "UrlSchemeNotAllowed"),
        ("gopher://images.test/_x", "UrlSchemeNotAllowed"),
    ],
)
def test_redirects_are_vetted_like_the_first_url(invoke, fetcher, server, dns, location, code):
    url = f"http://images.test:{server.port}/redirect?to={location}"

    assert outcome(invoke, fetcher, url)[:2] == (422, code)
    assert len(server.requests) == 1


def test_relative_redirects_stay_on_the_vetted_host(invoke, fetcher, server, dns, jpeg):
    expect_invocation(fetcher.stub, jpeg, "image/jpeg")

    assert invoke({"url": f"http://images.test:{server.port}/redirect?to=/image/dog.jpg"}, fetcher)[0] == 200


def test_a_stream_over_the_size_cap_is_cut_off(invoke, fetcher, server, dns):
    assert outcome(invoke, fetcher, f"http://images.test:{server.port}/endless")[:2] == (413, "ImageTooLarge")


def test_a_declared_length_over_the_cap_is_refused_before_reading(invoke, fetcher, server, dns):
    assert outcome(invoke, fetcher, f"http://images.test:{server.port}/declared-huge")[:2] == (413, "ImageTooLarge")


@pytest.mark.parametrize("route", ["drip", "drip-headers"])
def test_a_dripping_server_hits_the_total_timeout(invoke, fetcher, server, dns, route):
    started = time.monotonic()

    status, code, _ = outcome(invoke, fetcher, f"http://images.test:{server.port}/{route}")

    assert (status, code) == (422, "ImageFetchTimeout")
    # Every read was quick; only a total deadline stops before the server's own end.
    assert time.monotonic() - started < DRIP_SECONDS


def test_a_page_that_is_not_an_image_is_415(invoke, fetcher, server, dns):
    assert outcome(invoke, fetcher, f"http://images.test:{server.port}/text")[:2] == (415, "NotAnImage")


def test_an_error_status_is_reported(invoke, fetcher, server, dns):
    status, code, body = outcome(invoke, fetcher, f"http://images.test:{server.port}/missing.jpg")

    assert (status, code) == (422, "ImageFetchFailed")
    assert "404" in body["error"]["message"]


def test_non_ascii_paths_are_sent_percent_encoded(invoke, fetcher, server, dns):
    assert outcome(invoke, fetcher, f"http://images.test:{server.port}/image/dög.jpg?size=grand-ü")[:2] == (
        422,
        "ImageFetchFailed",
    )
    assert server.requests[0]["path"] == "/image/d%C3%B6g.jpg"


def test_a_closed_port_is_reported(invoke, fetcher, dns):
    assert outcome(invoke, fetcher, "http://images.test:9/dog.jpg")[:2] == (422, "ImageFetchFailed")


@pytest.mark.parametrize(
    ("missing_setting", "code"),
    [("ALLOW_LOOPBACK_FOR_TESTS", "ForbiddenAddress"), ("ALLOW_HTTP_IMAGE_URLS", "UrlSchemeNotAllowed")],
)
def test_loopback_and_plain_http_each_need_their_own_setting(load_handler, invoke, server, missing_setting, code):
    env = {"ALLOW_LOOPBACK_FOR_TESTS": "true", "ALLOW_HTTP_IMAGE_URLS": "true", missing_setting: None}
    handler = load_handler(ALLOWED_IMAGE_HOSTS="localhost", **env)
    with Stubber(handler.runtime):
        status, _, body = invoke({"url": f"http://localhost:{server.port}/image/dog.jpg"}, handler)

    assert (status, body["error"]["code"]) == (422, code)
    assert server.requests == []


@pytest.mark.parametrize("address", ["10.0.0.7", "169.254.169.254", "fd00:ec2::254", "0.0.0.0", "::ffff:10.0.0.7"])
def test_the_loopback_setting_relaxes_nothing_else(invoke, fetcher, dns, address):
    dns.answers["images.test"] = [address]

    assert outcome(invoke, fetcher, "http://images.test/dog.jpg")[:2] == (422, "ForbiddenAddress")
