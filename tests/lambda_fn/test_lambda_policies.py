"""The pure halves: address and URL policy, and configuration parsing, called directly."""

import ipaddress

import pytest


@pytest.fixture
def url_policy(load_handler):
    load_handler()
    import front_door.url_policy as url_policy

    return url_policy


@pytest.fixture
def settings(load_handler):
    load_handler()
    import front_door.settings as settings

    return settings


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1::1", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"]
)
def test_public_addresses_pass(url_policy, address):
    assert url_policy.refusal_reason(ipaddress.ip_address(address), allow_loopback=False) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "link-local"),
        ("fd00:ec2::254", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::", "unspecified"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),
    ],
)
def test_refusals_name_the_kind_of_address(url_policy, address, reason):
    assert url_policy.refusal_reason(ipaddress.ip_address(address), allow_loopback=False) == reason


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_the_test_only_setting_allows_exactly_loopback(url_policy, address):
    assert url_policy.refusal_reason(ipaddress.ip_address(address), allow_loopback=True) is None


def test_targets_carry_the_host_name_and_request_path(url_policy):
    policy = url_policy.FetchPolicy(
        allowed_hosts=frozenset({"images.example.com", "xn--bcher-kva.example"}),
        allowed_schemes=frozenset({"https"}),
        allow_loopback=False,
        max_bytes=1024,
        timeout_seconds=1.0,
    )

    plain = url_policy.parse_target("HTTPS://Images.Example.com./a/dog.jpg?size=large#frag", policy)
    unicode_host = url_policy.parse_target("https://bücher.example:8443/", policy)

    assert (plain.host, plain.port, plain.request_path, plain.host_header) == (
        "images.example.com",
        443,
        "/a/dog.jpg?size=large",
        "images.example.com",
    )
    assert (unicode_host.host, unicode_host.host_header) == ("xn--bcher-kva.example", "xn--bcher-kva.example:8443")


def test_a_full_configuration_is_read(settings):
    loaded = settings.load_settings(
        {
            "ENDPOINT_NAME": "dog-breed-2026",
            "TOP_K": "3",
            "MAX_IMAGE_BYTES": "1048576",
            "ALLOWED_IMAGE_HOSTS": "Images.Example.com, cdn.example.org.",
            "ALLOWED_ORIGINS": "https://app.example.com,http://localhost:3000",
            "ALLOW_HTTP_IMAGE_URLS": "TRUE",
            "ALLOW_LOOPBACK_FOR_TESTS": "false",
            "IMAGE_FETCH_TIMEOUT_SECONDS": "2.5",
        }
    )

    assert loaded == settings.Settings(
        endpoint_name="dog-breed-2026",
        top_k=3,
        max_image_bytes=1048576,
        allowed_image_hosts=frozenset({"images.example.com", "cdn.example.org"}),
        allowed_origins=("https://app.example.com", "http://localhost:3000"),
        allow_http_image_urls=True,
        allow_loopback_for_tests=False,
        image_fetch_timeout_seconds=2.5,
    )


def test_defaults_are_safe(settings):
    loaded = settings.load_settings({"ENDPOINT_NAME": "dog-breed"})

    assert (loaded.top_k, loaded.max_image_bytes) == (5, 4 * 1024 * 1024)
    assert not (loaded.allowed_image_hosts or loaded.allowed_origins)
    assert not (loaded.allow_http_image_urls or loaded.allow_loopback_for_tests)
