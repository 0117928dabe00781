"""HTTPS to a vetted address: SNI and certificate verification use the host name, not the IP connected to.

A throwaway CA signs a certificate for images.test; the server listens on 127.0.0.1 and the fetcher's TLS
context trusts only that CA.
"""

import datetime
import ipaddress
import ssl

import pytest
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from front_door_events import expect_invocation
from image_server import ImageServer


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signing_key, *, ca, dns_name=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns_name:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope="module")
def authority():
    key = ec.generate_private_key(ec.SECP256R1())
    return key, _certificate("Test CA", "Test CA", key.public_key(), key, ca=True)


def tls_server(tmp_path, authority, dns_name, jpeg, names_seen):
    ca_key, ca_cert = authority
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(dns_name, "Test CA", key.public_key(), ca_key, ca=False, dns_name=dns_name)
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda _sock, server_name, _context: names_seen.append(server_name)
    return ImageServer({"dog.jpg": jpeg}, tls_context=context)


@pytest.fixture
def https_fetcher(load_handler, monkeypatch, authority):
    handler = load_handler(ALLOWED_IMAGE_HOSTS="images.test", ALLOW_LOOPBACK_FOR_TESTS="true")
    import front_door.safe_fetch as safe_fetch

    trusted = ssl.create_default_context(cadata=authority[1].public_bytes(serialization.Encoding.PEM).decode())
    monkeypatch.setattr(safe_fetch, "TLS_CONTEXT", trusted)
    monkeypatch.setattr(safe_fetch, "resolve_addresses", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    with Stubber(handler.runtime) as stub:
        handler.stub = stub
        yield handler


def test_https_presents_the_host_name_to_a_vetted_address(invoke, https_fetcher, tmp_path, authority, jpeg):
    names_seen = []
    expect_invocation(https_fetcher.stub, jpeg, "image/jpeg")
    with tls_server(tmp_path, authority, "images.test", jpeg, names_seen) as server:
        status, _, _ = invoke({"url": f"https://images.test:{server.port}/image/dog.jpg"}, https_fetcher)

    assert status == 200
    assert names_seen == ["images.test"]
    assert server.requests == [{"path": "/image/dog.jpg", "host": f"images.test:{server.port}"}]


def test_a_certificate_for_another_name_is_refused(invoke, https_fetcher, tmp_path, authority, jpeg):
    with tls_server(tmp_path, authority, "other.test", jpeg, []) as server:
        status, _, body = invoke({"url": f"https://images.test:{server.port}/image/dog.jpg"}, https_fetcher)

    assert (status, body["error"]["code"]) == (422, "ImageFetchFailed")
    assert "TLS" in body["error"]["message"]
    assert server.requests == []
