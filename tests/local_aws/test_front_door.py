"""The HTTP server under the edge, tried as a careless or hostile client would, over raw sockets: only
whole, well-framed requests are run; a slow or silent client is cut off by the request timeout; idle
keep-alive connections end; connections are bounded; running out of file descriptors does not spin."""

import contextlib
import hashlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from signed_requests import signed_headers, signed_request

REPO = Path(__file__).resolve().parents[2]
REQUEST_TIMEOUT = 2
IDLE_TIMEOUT = 3


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    """A local AWS of its own, with timeouts short enough to watch."""
    from local_aws import LocalAWS

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOCAL_AWS_REQUEST_TIMEOUT", str(REQUEST_TIMEOUT))
        patch.setenv("LOCAL_AWS_IDLE_TIMEOUT", str(IDLE_TIMEOUT))
        with LocalAWS(port=0, state_dir=tmp_path_factory.mktemp("front-door")) as aws:
            yield aws


@pytest.fixture(scope="module")
def s3(edge):
    return boto3.client("s3", **edge.client_kwargs)


@pytest.fixture(scope="module")
def bucket(s3):
    name = f"front-door-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    return name


def _connect(edge) -> socket.socket:
    url = urlsplit(edge.url)
    return socket.create_connection((url.hostname, url.port), timeout=10)


def _head(edge, method: str, path: str, body: bytes = b"", extra: dict[str, str] | None = None,
          service: str = "s3") -> bytes:
    """A signed request's line and header block, without the blank line that ends it."""
    headers = signed_headers(method, edge.url + path, service, edge.credentials.access_key_id,
                             edge.credentials.secret_access_key, body, extra)
    headers.setdefault("Host", urlsplit(edge.url).netloc)
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers.items())]
    return "\r\n".join(lines).encode() + b"\r\n"


def _response(connection: socket.socket) -> http.client.HTTPResponse:
    response = http.client.HTTPResponse(connection)
    response.begin()
    response.body = response.read()
    return response


def _closed_by_server(connection: socket.socket, within: float) -> bool:
    connection.settimeout(within)
    try:
        while True:
            if connection.recv(65536) == b"":
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def _exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "404"
        return False
    return True


# Finding 2: a request whose header block or body never ends is never run.

@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_request_whose_header_block_never_ends_is_not_run(edge, s3, bucket, method):
    key = f"half-head-{method}"
    if method == "DELETE":
        s3.put_object(Bucket=bucket, Key=key, Body=b"kept")
    with _connect(edge) as connection:
        connection.sendall(_head(edge, method, f"/{bucket}/{key}", extra={"Content-Length": "0"}))
        time.sleep(0.2)
    time.sleep(0.3)
    assert _exists(s3, bucket, key) == (method == "DELETE")


def test_a_request_whose_body_is_cut_short_is_not_run(edge, s3, bucket):
    body = b"0123456789" * 4
    with _connect(edge) as connection:
        connection.sendall(_head(edge, "PUT", f"/{bucket}/short-body", body,
                                 {"Content-Length": str(len(body))}) + b"\r\n" + body[:10])
        time.sleep(0.2)
    time.sleep(0.3)
    assert not _exists(s3, bucket, "short-body")


# Findings 3 and 12: framing that two parsers could read two ways is refused and the connection closed.

FRAMING = {
    "two Content-Length": "Content-Length: 3\r\nContent-Length: 40\r\n",
    "Content-Length not a number": "Content-Length: abc\r\n",
    "Content-Length with chunked": "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
    "a header line without a colon": "Content-Length: 3\r\nX-Broken header\r\n",
    "a bare CR in a header": "Content-Length: 3\r\nX-Broken: a\rb\r\n",
}


@pytest.mark.parametrize("framing", FRAMING.values(), ids=FRAMING.keys())
def test_ambiguous_framing_is_refused_with_400_and_the_connection_closed(edge, s3, bucket, framing):
    key = f"framing-{uuid.uuid4().hex[:6]}"
    smuggled = f"DELETE /{bucket}/kept HTTP/1.1\r\nHost: x\r\n\r\n"
    request = (f"PUT /{bucket}/{key} HTTP/1.1\r\nHost: {urlsplit(edge.url).netloc}\r\n{framing}\r\n"
               f"abc{smuggled}").encode()
    with _connect(edge) as connection:
        connection.sendall(request)
        response = _response(connection)
        assert response.status == 400
        assert _closed_by_server(connection, within=2)
    assert not _exists(s3, bucket, key)


def test_a_transfer_coding_other_than_chunked_is_refused_as_s3_does(edge):
    with _connect(edge) as connection:
        connection.sendall(f"PUT /b/k HTTP/1.1\r\nHost: {urlsplit(edge.url).netloc}\r\n"
                           "Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".encode())
        assert _response(connection).status == 501  # S3's NotImplemented for a transfer coding
        assert _closed_by_server(connection, within=2)


def test_transfer_encoding_on_http_1_0_is_refused(edge):
    with _connect(edge) as connection:
        connection.sendall(f"PUT /b/k HTTP/1.0\r\nHost: {urlsplit(edge.url).netloc}\r\n"
                           "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n3\r\nabc\r\n0\r\n\r\n".encode())
        assert _response(connection).status == 400


# Finding 7: a body that never comes ends in RequestTimeout; one 100 Continue, only for a request read.

def test_a_body_that_stops_arriving_is_answered_request_timeout_and_closed(edge, bucket, s3):
    started = time.monotonic()
    with _connect(edge) as connection:
        connection.sendall(_head(edge, "PUT", f"/{bucket}/never", b"x" * 100,
                                 {"Content-Length": str(100 * 1024 * 1024)}) + b"\r\n" + b"x" * 100)
        response = _response(connection)
        waited = time.monotonic() - started
        assert response.status == 400
        assert b"<Code>RequestTimeout</Code>" in response.body
        assert _closed_by_server(connection, within=2)
    assert REQUEST_TIMEOUT <= waited < REQUEST_TIMEOUT + 3
    assert not _exists(s3, bucket, "never")


def _interim(connection: socket.socket) -> bytes:
    connection.settimeout(0.5)
    received = b""
    try:
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                return received
            received += chunk
    except TimeoutError:
        return received


def test_one_100_continue_comes_before_the_body_of_a_request_that_will_be_read(edge, s3, bucket):
    body = b"hello"
    with _connect(edge) as connection:
        connection.sendall(_head(edge, "PUT", f"/{bucket}/continued", body,
                                 {"Content-Length": str(len(body)), "Expect": "100-continue"}) + b"\r\n")
        assert _interim(connection) == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.sendall(body)
        response = _response(connection)
        assert response.status == 200, response.body
        assert b"100 Continue" not in response.body
    assert s3.get_object(Bucket=bucket, Key="continued")["Body"].read() == body


def test_a_request_refused_from_its_headers_gets_no_100_continue_and_its_body_is_not_read(edge, bucket):
    head = (f"PUT /{bucket}/refused HTTP/1.1\r\nHost: {urlsplit(edge.url).netloc}\r\n"
            "Content-Length: 5000000\r\nExpect: 100-continue\r\n\r\n").encode()
    with _connect(edge) as connection:
        connection.sendall(head)
        answer = _interim(connection)
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"100 Continue" not in answer and b"<Code>AccessDenied</Code>" in answer


# Finding 6: slow clients are cut off, idle ones closed, connections bounded, EMFILE does not spin.

def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(edge, bucket):
    with _connect(edge) as connection:
        connection.sendall(_head(edge, "GET", f"/{bucket}?list-type=2") + b"\r\n")
        assert _response(connection).status == 200
        started = time.monotonic()
        assert _closed_by_server(connection, within=IDLE_TIMEOUT + 3)
    assert time.monotonic() - started >= IDLE_TIMEOUT - 1


def _latencies(s3, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        s3.list_buckets()
        times.append(time.perf_counter() - started)
    return times


def test_slowloris_connections_are_closed_by_the_request_timeout_and_others_are_served_meanwhile(edge, s3):
    idle = statistics.median(_latencies(s3, 30))
    netloc = urlsplit(edge.url).netloc
    head = f"GET / HTTP/1.1\r\nHost: {netloc}\r\nX-Slow: " + "z" * 1000
    slow = [_connect(edge) for _ in range(300)]
    started = time.monotonic()
    loaded = []
    try:
        sent = 0
        while time.monotonic() - started < REQUEST_TIMEOUT + 2:
            for connection in slow:
                try:
                    connection.send(head[sent].encode())
                except OSError:
                    pass
            sent += 1
            loaded += _latencies(s3, 3)
            time.sleep(0.2)
        closed = sum(_closed_by_server(connection, within=0.05) for connection in slow)
    finally:
        for connection in slow:
            connection.close()
    assert closed == len(slow)
    assert statistics.median(loaded) < 5 * idle + 0.02, (idle, statistics.median(loaded))


def _run_edge(tmp_path, environment: dict[str, str], preexec=None) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "LOCAL_AWS_ACCESS_KEY_ID": "AKIAFRONTDOORTEST000", "LOCAL_AWS_SECRET_ACCESS_KEY": "s" * 40,
           **environment}
    process = subprocess.Popen(
        [sys.executable, "-m", "local_aws", "--port", "0", "--state-dir", str(tmp_path / "state")],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=preexec)
    for line in process.stdout:
        if line.startswith("export AWS_ENDPOINT_URL="):
            return process, line.split("=", 1)[1].strip()
    raise AssertionError("local_aws did not start")


def _client(url: str):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIAFRONTDOORTEST000",
                        aws_secret_access_key="s" * 40)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_connections_over_the_bound_are_refused_at_once(tmp_path):
    process, url = _run_edge(tmp_path, {"LOCAL_AWS_MAX_CONNECTIONS": "20"})
    host, port = urlsplit(url).hostname, urlsplit(url).port
    held = []
    try:
        held = [socket.create_connection((host, port), timeout=5) for _ in range(20)]
        time.sleep(0.3)
        started = time.monotonic()
        with socket.create_connection((host, port), timeout=5) as extra:
            extra.sendall(f"GET / HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n\r\n".encode())
            answer = extra.recv(1024)
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert time.monotonic() - started < 1
        for connection in held:
            connection.close()
        held = []
        time.sleep(0.3)
        assert _client(url).list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        for connection in held:
            connection.close()
        process.terminate()
        process.wait(timeout=30)


def test_running_out_of_file_descriptors_does_not_spin_and_service_resumes(tmp_path):
    import resource

    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (160, 160))

    process, url = _run_edge(tmp_path, {"LOCAL_AWS_MAX_CONNECTIONS": "1000"}, preexec=few_descriptors)
    host, port = urlsplit(url).hostname, urlsplit(url).port
    held = []
    try:
        held = [socket.create_connection((host, port), timeout=5) for _ in range(250)]
        time.sleep(1)
        before = _cpu_seconds(process.pid)
        time.sleep(3)
        busy = (_cpu_seconds(process.pid) - before) / 3
        assert busy < 0.3, f"the edge used {busy:.0%} of a core while out of descriptors"
        for connection in held:
            connection.close()
        held = []
        started = time.monotonic()
        assert _client(url).list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert time.monotonic() - started < 5
    finally:
        for connection in held:
            connection.close()
        process.terminate()
        process.wait(timeout=30)


# Finding 1: every body reaches the back end byte for byte, whatever its Content-Type or transfer encoding.

CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
                 "multipart/form-data; boundary=x", "application/json", "text/plain", "application/octet-stream"]


def _random_body(size: int) -> bytes:
    return os.urandom(size)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("size", [1024, 700 * 1024], ids=["1KiB", "700KiB-spooled"])
def test_put_object_round_trips_by_hash_whatever_its_content_type(s3, bucket, content_type, size):
    body = _random_body(size)
    s3.put_object(Bucket=bucket, Key="typed", Body=body, ContentType=content_type)
    stored = s3.get_object(Bucket=bucket, Key="typed")
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == hashlib.sha256(body).hexdigest()
    assert stored["ContentType"] == content_type


def _presigned_put(edge, bucket: str, key: str) -> str:
    client = boto3.client("s3", config=Config(signature_version="s3v4"), **edge.client_kwargs)
    return client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key})


@pytest.mark.parametrize("sender", ["requests form", "requests chunked", "urllib default"])
def test_a_presigned_put_stores_its_body_whole_however_it_is_sent(edge, s3, bucket, sender):
    body = _random_body(300 * 1024)
    url = _presigned_put(edge, bucket, f"presigned-{sender.replace(' ', '-')}")
    if sender == "requests form":  # what curl -d sends
        status = requests.put(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                              timeout=10).status_code
    elif sender == "requests chunked":
        status = requests.put(url, data=iter([body[:1000], body[1000:]]), timeout=10).status_code
    else:  # urllib sends a form type by default, and Connection: close
        status = urllib.request.urlopen(urllib.request.Request(url, data=body, method="PUT"), timeout=10).status
    assert status == 200
    stored = s3.get_object(Bucket=bucket, Key=f"presigned-{sender.replace(' ', '-')}")["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(body).hexdigest()


# Finding 8: InvokeEndpoint's 6 MB limit holds whatever the transfer encoding, and before the body is read.

INVOCATIONS = "/endpoints/no-such-endpoint/invocations"
SIX_MB = 6 * 1024 * 1024


def test_invoke_endpoint_refuses_a_declared_body_over_6_mb_before_reading_it(edge):
    head = _head(edge, "POST", INVOCATIONS, extra={"Content-Length": str(SIX_MB + 1),
                                                   "Content-Type": "application/json"}, service="sagemaker") + b"\r\n"
    with _connect(edge) as connection:
        connection.sendall(head)
        response = _response(connection)
    assert response.status == 413
    assert json.loads(response.body)["__type"] == "413"


def test_invoke_endpoint_refuses_a_chunked_body_as_soon_as_it_passes_6_mb(edge):
    head = _head(edge, "POST", INVOCATIONS, extra={"Transfer-Encoding": "chunked",
                                                   "Content-Type": "application/json"}, service="sagemaker") + b"\r\n"
    chunk = b"%x\r\n%s\r\n" % (1024 * 1024, b"x" * 1024 * 1024)
    sent = 0
    with _connect(edge) as connection:
        connection.sendall(head)
        try:
            while sent < 100 * 1024 * 1024:
                connection.sendall(chunk)
                sent += 1024 * 1024
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            response = _response(connection)
        except ConnectionResetError:
            pytest.fail(f"the connection was reset after {sent} bytes without an answer")
    assert response.status == 413
    assert sent < 50 * 1024 * 1024


def test_a_chunked_invoke_endpoint_body_of_exactly_6_mb_is_not_refused_for_its_framing(edge):
    # The limit counts the body's own bytes, not the chunk-size lines around them.
    head = _head(edge, "POST", INVOCATIONS, extra={"Transfer-Encoding": "chunked",
                                                   "Content-Type": "application/json"}, service="sagemaker") + b"\r\n"
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
    with _connect(edge) as connection:
        connection.sendall(head + chunk * (SIX_MB // (64 * 1024)) + b"0\r\n\r\n")
        response = _response(connection)
    # Past the limit and the signature check (the body is unsigned here), never a 413.
    assert response.status == 403 and json.loads(response.body)["__type"] == "InvalidSignatureException"


# Issue 17: a function URL, the serving path's own front door, against slow and oversized clients. Its function
# counts its calls, so a request that was cut off and yet ran would show.

COUNTING_HANDLER = '''
CALLS = 0


def handler(event, context):
    global CALLS
    CALLS += 1
    return {"calls": CALLS, "body": len(event.get("body") or "")}
'''


@pytest.fixture(scope="module")
def function_url(edge):
    if sys.platform != "linux":
        pytest.skip("functions run in Linux namespace sandboxes")
    from local_aws_testing import lambda_function

    name = lambda_function(edge.client_kwargs, "url-clients", COUNTING_HANDLER)
    url = boto3.client("lambda", **edge.client_kwargs).create_function_url_config(
        FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"]
    return url


class UrlCaller:
    """A signed keep-alive client of the function URL that counts the calls it made and times them."""

    def __init__(self, edge, url: str):
        self.edge, self.url, self.session, self.calls = edge, url, requests.Session(), 0

    def call(self) -> float:
        keys = self.edge.credentials
        started = time.perf_counter()
        response = signed_request("POST", self.url + "echo", "lambda", keys.access_key_id, keys.secret_access_key,
                                  b'{"x": 1}', {"Content-Type": "application/json"}, session=self.session)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        self.calls += 1
        self.last = response.json()
        return elapsed

    def latencies(self, count: int) -> list[float]:
        return [self.call() for _ in range(count)]


def test_slow_clients_of_a_function_url_are_cut_off_unrun_and_its_other_callers_are_served_meanwhile(
        edge, function_url):
    caller = UrlCaller(edge, function_url)
    caller.call()  # the function's environment starts here
    first_count = caller.last["calls"]
    idle = statistics.median(caller.latencies(30))
    path = urlsplit(function_url).path + "echo"
    body = b'{"x": "' + b"y" * 2000 + b'"}'
    slow_head = _head(edge, "POST", path, body, {"Content-Length": str(len(body)),
                                                 "Content-Type": "application/json"}, service="lambda")
    slow_heads = [_connect(edge) for _ in range(100)]
    slow_bodies = [_connect(edge) for _ in range(100)]
    for connection in slow_bodies:
        connection.sendall(slow_head + b"\r\n")
    started = time.monotonic()
    loaded = []
    try:
        sent = 0
        while time.monotonic() - started < REQUEST_TIMEOUT + 2:
            for connection in slow_heads:
                with contextlib.suppress(OSError):
                    connection.send(slow_head[sent:sent + 1])
            for connection in slow_bodies:
                with contextlib.suppress(OSError):
                    connection.send(body[sent:sent + 1])
            sent += 1
            loaded += caller.latencies(3)
            time.sleep(0.2)
        closed = sum(_closed_by_server(connection, within=0.05) for connection in slow_heads + slow_bodies)
    finally:
        for connection in slow_heads + slow_bodies:
            connection.close()
    print(f"function URL: idle p50 {idle * 1e3:.1f} ms, beside {len(slow_heads)} trickled header blocks and "
          f"{len(slow_bodies)} trickled bodies p50 {statistics.median(loaded) * 1e3:.1f} ms; {closed} cut off")
    assert closed == len(slow_heads) + len(slow_bodies)
    assert statistics.median(loaded) < 5 * idle + 0.02, (idle, statistics.median(loaded))
    caller.call()
    assert caller.last["calls"] - first_count == caller.calls - 1, "a request cut off half-read ran the function"


def _oversized_declared(edge, path: str, expect_continue: bool) -> tuple[int, bytes]:
    """A signed head declaring a body over the 6 MB limit: the answer comes before any of the body is sent."""
    extra = {"Content-Length": str(SIX_MB + 1), "Content-Type": "application/octet-stream"}
    if expect_continue:
        extra["Expect"] = "100-continue"
    with _connect(edge) as connection:
        connection.sendall(_head(edge, "POST", path, extra=extra, service="lambda") + b"\r\n")
        response = _response(connection)
        return response.status, response.body


def _oversized_chunked(edge, path: str) -> tuple[int, int]:
    """A chunked body that never ends: the answer, and how much had been sent when the edge refused it."""
    chunk = b"%x\r\n%s\r\n" % (1024 * 1024, b"x" * 1024 * 1024)
    sent = 0
    with _connect(edge) as connection:
        connection.sendall(_head(edge, "POST", path, extra={"Transfer-Encoding": "chunked",
                                                            "Content-Type": "application/octet-stream"},
                                 service="lambda") + b"\r\n")
        try:
            while sent < 100 * 1024 * 1024:
                connection.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _response(connection).status, sent


def test_an_oversized_body_to_a_function_url_is_refused_unread_and_other_callers_are_served_meanwhile(
        edge, function_url):
    caller = UrlCaller(edge, function_url)
    caller.call()
    first_count = caller.last["calls"]
    idle = statistics.median(caller.latencies(30))
    path = urlsplit(function_url).path + "upload"

    status, answer = _oversized_declared(edge, path, expect_continue=True)
    assert status == 413 and b"100 Continue" not in answer
    assert _oversized_declared(edge, path, expect_continue=False)[0] == 413
    status, sent = _oversized_chunked(edge, path)
    assert status == 413 and sent < 50 * 1024 * 1024

    stop = threading.Event()
    refusals = []

    def oversized_client(chunked: bool) -> None:
        while not stop.is_set():
            refusals.append(_oversized_chunked(edge, path)[0] if chunked else
                            _oversized_declared(edge, path, expect_continue=False)[0])

    clients = [threading.Thread(target=oversized_client, args=(chunked,)) for chunked in (True, False, False)]
    for client in clients:
        client.start()
    try:
        time.sleep(0.5)
        loaded = caller.latencies(30)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)
    assert refusals and set(refusals) == {413}, refusals
    print(f"function URL: idle p50 {idle * 1e3:.1f} ms, beside "
          f"{len(refusals)} oversized requests p50 {statistics.median(loaded) * 1e3:.1f} ms")
    assert statistics.median(loaded) < 5 * idle + 0.02, (idle, statistics.median(loaded))
    caller.call()
    assert caller.last["calls"] - first_count == caller.calls - 1, "an oversized request ran the function"
