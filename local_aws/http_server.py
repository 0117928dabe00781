"""The HTTP/1.1 server under the edge: waitress, with AWS's request timeout, a bound on connections, and
a screen that refuses a request from its header block before its body is read.

Waitress parses HTTP/1.1 strictly (an invalid or repeated `Content-Length`, a bare CR, a header line
without a colon: `400` and the connection closed) and hands the application only requests it has
received whole, so a client that dies mid-request never has its request run. Bodies past 512 KiB are
spooled to a temporary file. On top of waitress:

- framing it tolerates is refused too: `Content-Length` beside `Transfer-Encoding: chunked` (the
  request-smuggling pair) and `Transfer-Encoding` on HTTP/1.0;
- header names with an underscore are kept, spelled with dashes as WSGI reads them (waitress drops them),
  unless the dashed spelling is present too: S3 user metadata may use one, and the client signed it;
- a header block must arrive whole within `LOCAL_AWS_REQUEST_TIMEOUT` seconds of its first byte (else the
  connection is closed), and a body may neither pause longer than that nor take longer than that plus a
  second per `LOCAL_AWS_MIN_BODY_RATE` bytes received (Apache's `mod_reqtimeout` rule: a body trickled a
  byte at a time would otherwise hold its connection for ever), answered `400 RequestTimeout` as S3
  answers; a keep-alive connection with no request in it is closed after `LOCAL_AWS_IDLE_TIMEOUT`;
- at most `LOCAL_AWS_MAX_CONNECTIONS` connections are served; one more is answered `503` and closed at
  once, and when the process runs out of file descriptors accepting pauses for a second instead of
  spinning on the error;
- `screen(environ)` runs as soon as the header block of a request with a large, chunked or
  `Expect: 100-continue` body is complete: a request it refuses is answered then and the connection
  closed, its body never read and no `100 Continue` sent (a small body is read and refused by the
  application, keeping the connection); a request with `Expect: 100-continue` and no body is answered
  at once (waitress would wait for its body);
- `body_limit(environ)` names a route's own limit on the body (`InvokeEndpoint`'s 6 MB), enforced
  whatever the transfer encoding: a declared length over it is refused before the body is read, a
  chunked body as soon as it passes it;
- what a request costs on top of the application is kept small: while a connection's request is served
  its socket stays watched, so the next request wakes the loop itself (a worker wakes the loop only when
  the loop must act, not after every answer; a client that shuts its sending side while waiting still
  gets its answer), and the worker that waited last takes the next request, its caches still warm.
"""

import errno
import logging
import os
import re
import resource
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import TcpWSGIServer
from moto.core.request import (PRESERVED_HEADER_NAMES_ENVIRON_KEY, environ_key_for_header,
                               should_preserve_original_header_name)
from waitress.task import ThreadedTaskDispatcher, WSGITask
from waitress.utilities import Error

from local_aws.settings import positive_setting
from local_aws.access import refusals

logger = logging.getLogger("local_aws.http")

REQUEST_TIMEOUT_VARIABLE = "LOCAL_AWS_REQUEST_TIMEOUT"
IDLE_TIMEOUT_VARIABLE = "LOCAL_AWS_IDLE_TIMEOUT"
MAX_CONNECTIONS_VARIABLE = "LOCAL_AWS_MAX_CONNECTIONS"
THREADS_VARIABLE = "LOCAL_AWS_THREADS"
MIN_BODY_RATE_VARIABLE = "LOCAL_AWS_MIN_BODY_RATE"

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 5 * 1024**3  # S3's limit for one PUT
SPOOL_ABOVE_BYTES = 512 * 1024
SCREEN_ABOVE_BYTES = 64 * 1024  # smaller bodies are cheaper to read than a new connection
_ACCEPT_PAUSE_SECONDS = 1.0
_OVER_THE_BOUND = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n"
                   b"Connection: close\r\n\r\n")
_OUT_OF_DESCRIPTORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a field name (RFC 9110)
_UNDERSCORED_NAME = re.compile(rb"^[^:\r\n]*_[^:\r\n]*:", re.MULTILINE)

_serving = threading.local()  # .channel: the connection whose request this worker thread serves

Screen = Callable[[dict], "refusals.Refusal | None"]
BodyLimit = Callable[[dict], "tuple[int, Callable[[], refusals.Refusal]] | None"]


@dataclass(frozen=True)
class ServerSettings:
    request_timeout: float = 20.0  # AWS answers RequestTimeout after about 20 s without data
    idle_timeout: float = 60.0
    max_connections: int = 512
    threads: int = 32
    min_body_rate: float = 500.0  # bytes a second, on average, after the request timeout's grace (mod_reqtimeout's)

    @classmethod
    def from_environment(cls) -> "ServerSettings":
        soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        # Half the descriptors at most: the rest serve files, child processes and replicas' sockets.
        default_connections = cls.max_connections if soft_limit == resource.RLIM_INFINITY else max(
            8, min(cls.max_connections, soft_limit // 2))
        return cls(
            request_timeout=positive_setting(REQUEST_TIMEOUT_VARIABLE, cls.request_timeout),
            idle_timeout=positive_setting(IDLE_TIMEOUT_VARIABLE, cls.idle_timeout),
            max_connections=positive_setting(MAX_CONNECTIONS_VARIABLE, default_connections, int),
            threads=positive_setting(THREADS_VARIABLE, cls.threads, int),
            min_body_rate=positive_setting(MIN_BODY_RATE_VARIABLE, cls.min_body_rate),
        )


class _Refused(Error):
    """A request answered from its header block: the screen's refusal, or a body that stopped coming."""

    def __init__(self, answer: refusals.Refusal):
        super().__init__(answer.body)
        self.answer = answer

    def to_response(self, ident=None):
        status = self.answer.status
        return f"{status} {refusals.REASONS.get(status, 'Error')}", list(self.answer.headers), self.answer.body


class _Parser(HTTPRequestParser):
    screen: Screen | None = None
    body_limit: BodyLimit | None = None
    body_limit_floor = 0
    preserved_names: dict[str, str] = {}
    body_started = 0.0  # when the header block of a request with a body was complete
    _limit: tuple[int, Callable[[], refusals.Refusal]] | None = None

    def parse_header(self, header_plus: bytes) -> None:
        first_line, separator, fields = header_plus.partition(b"\r\n")
        fields, self.preserved_names = _respelled(fields)
        super().parse_header(first_line + separator + fields)
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            raise ParsingError("Content-Length and Transfer-Encoding together")
        if "TRANSFER_ENCODING" in self.headers:  # waitress takes it off HTTP/1.1 requests only
            raise ParsingError(f"Transfer-Encoding on HTTP/{self.version}")

    def received(self, data: bytes) -> int:
        headers_were_finished = self.headers_finished
        consumed = super().received(data)
        if self.completed or self.error is not None:
            return consumed
        if self.headers_finished and not headers_were_finished:
            self._before_body()
        elif self._limit is not None and self.body_rcv is not None and len(self.body_rcv) > self._limit[0]:
            self._refuse(self._limit[1]())  # the body's own bytes so far, a chunked one's framing aside
        return consumed

    def _before_body(self) -> None:
        self.body_started = time.time()
        # Most requests are small and plainly framed: for them neither hook has anything to decide.
        limited = self.body_limit is not None and (self.chunked or self.content_length > self.body_limit_floor)
        screened = self.screen is not None and (self.chunked or self.expect_continue
                                                or self.content_length > SCREEN_ABOVE_BYTES)
        if not (limited or screened):
            return
        environ = header_environ(self)
        self._limit = self.body_limit(environ) if limited else None
        if self._limit is not None and self.content_length > self._limit[0]:
            return self._refuse(self._limit[1]())
        if screened:
            answer = self.screen(environ)
            if answer is not None:
                self._refuse(answer)

    def _refuse(self, answer: refusals.Refusal) -> None:
        self.error = _Refused(answer)
        self.completed = True
        self.expect_continue = False


def _respelled(fields: bytes) -> tuple[bytes, dict[str, str]]:
    """The header lines with each underscored field name spelled with dashes, as WSGI reads it, and the
    original spelling of the S3 metadata names among them by environ key (moto reports those as sent).

    A field whose dashed spelling is also present is dropped, so that one can never stand in for the other.
    """
    if _UNDERSCORED_NAME.search(fields) is None:
        return fields, {}
    lines = fields.split(b"\r\n")
    dashed = {line.partition(b":")[0].lower() for line in lines if b"_" not in line.partition(b":")[0]}
    kept, preserved, dropping = [], {}, False
    for line in lines:
        if line[:1] in (b" ", b"\t"):  # a folded continuation of the line before
            if not dropping:
                kept.append(line)
            continue
        name, colon, value = line.partition(b":")
        dropping = bool(colon) and b"_" in name and _TOKEN.fullmatch(name) is not None
        if dropping:
            respelled = name.replace(b"_", b"-")
            if respelled.lower() in dashed:
                continue
            dropping = False
            original = name.decode("latin-1")
            if should_preserve_original_header_name(original):
                preserved[environ_key_for_header(original)] = original
            line = respelled + colon + value
        kept.append(line)
    return b"\r\n".join(kept), preserved


class _Task(WSGITask):
    def get_environment(self) -> dict:
        environ = super().get_environment()
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = self.request.preserved_names
        return environ

    def write(self, data: bytes) -> None:
        # The header block and a body that fits its Content-Length leave in one send (waitress sends
        # them apart: two syscalls, and two segments for the client to wake up for).
        if (not self.wrote_header and self.complete and data and self.has_body and not self.chunked_response
                and self.content_length is not None and len(data) <= self.content_length):
            header = self.build_response_header()
            self.wrote_header = True
            self.content_bytes_written += len(data)
            self.channel.write_soon(header + data)
            return
        super().write(data)


def header_environ(parser: HTTPRequestParser) -> dict:
    """What a WSGI environ holds of a request whose body has not been read."""
    environ = {"REQUEST_METHOD": parser.command, "PATH_INFO": parser.path, "QUERY_STRING": parser.query,
               "REQUEST_URI": parser.request_uri, "SERVER_PROTOCOL": f"HTTP/{parser.version}"}
    for key, value in parser.headers.items():
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    return environ


class _Channel(HTTPChannel):
    """A connection. Its socket stays in the loop's poll set while one of its requests is served, so
    the next request on a keep-alive connection wakes the loop by itself: a worker that has answered
    wakes the loop (a pipe write, one more turn of the loop) only when the loop has something to do
    for this connection that it cannot see from the poll set."""

    task_class = _Task
    request_started = 0.0  # when the first byte of the request being received arrived
    _reading_paused = False  # the loop's poll set left this socket out: a worker must wake the loop
    _client_sent_all = False  # the client shut its sending side while a request of its was served

    def readable(self) -> bool:
        with self.requests_lock:  # against service() popping the request it answered
            if self._client_sent_all and not self.requests:
                self.close_when_flushed = True  # every request answered: close once the answers are sent
            readable = not self._client_sent_all and super().readable()
            self._reading_paused = not readable
        return readable

    def handle_read(self) -> None:
        if not self.requests:
            return super().handle_read()
        # A request is being served, so an end of input may be a client that shut only its sending side
        # and waits for the answer: the connection closes after it, not now (waitress would close it).
        try:
            data = self.socket.recv(self.adj.recv_bytes)
        except BlockingIOError:
            return
        except OSError:
            self.handle_close()
            return
        if data:
            self.last_activity = time.time()
            self.received(data)
        else:
            self._client_sent_all = True

    def service(self) -> None:
        _serving.channel = self
        try:
            super().service()
        finally:
            _serving.channel = None

    def needs_the_loop(self) -> bool:
        """Whether a worker serving this channel must wake the loop: output is left to send, the
        connection is to close, or the loop is not watching the socket for the next request."""
        return bool(self._reading_paused or self.total_outbufs_len or self.will_close
                    or self.close_when_flushed or not self.connected)

    def parser_class(self, adj) -> _Parser:
        parser = _Parser(adj)
        parser.screen = self.server.screen
        parser.body_limit = self.server.body_limit
        parser.body_limit_floor = self.server.body_limit_floor
        return parser

    def send_continue(self) -> None:
        if self.request.completed:
            # No body is coming (`Content-Length: 0`, as boto3 sends an empty PutObject), so the final answer
            # follows instead: waitress would send `100 Continue`, mark the request incomplete and wait for
            # a body forever.
            self.request.expect_continue = False
            return
        super().send_continue()

    def received(self, data: bytes) -> bool:
        partial = self.request
        result = super().received(data)
        if self.request is not None and self.request is not partial:
            self.request_started = time.time()
        return result

    def enforce_timeouts(self, now: float, settings: ServerSettings) -> None:
        if self.requests and not self.total_outbufs_len:
            return  # a request is being served and nothing waits for the client
        request = self.request
        if request is None or self.requests:
            if self.last_activity < now - settings.idle_timeout:
                self.will_close = True
        elif not request.headers_finished:
            if self.request_started < now - settings.request_timeout:
                logger.warning("closed a connection from %s: its header block took over %.0f s",
                               self.addr[0] if self.addr else "?", settings.request_timeout)
                self.will_close = True
        elif self.last_activity < now - settings.request_timeout:
            self._answer_timeout(request, "the body stopped arriving for over the request timeout")
        elif _body_too_slow(request, now, settings):
            self._answer_timeout(request, f"the body arrived slower than {settings.min_body_rate:.0f} bytes a second")

    def _answer_timeout(self, request: HTTPRequestParser, why: str) -> None:
        environ = header_environ(request)
        logger.warning("%s %s: %s", environ["REQUEST_METHOD"], environ["PATH_INFO"], why)
        with self.requests_lock:
            if self.request is not request:
                return
            request.error = _Refused(refusals.request_timeout(environ))
            request.completed = True
            self.request = None
            self.requests.append(request)
            self.server.add_task(self)


def _body_too_slow(request: _Parser, now: float, settings: ServerSettings) -> bool:
    """A body gets the request timeout, plus a second for every `min_body_rate` bytes of it received."""
    received = len(request.body_rcv) if request.body_rcv is not None else 0
    allowed = settings.request_timeout + received / settings.min_body_rate
    return bool(request.body_started) and now - request.body_started > allowed


class _LastInFirstOut(threading.Condition):
    """Wakes the thread that began waiting last, whose stack and caches are still warm, where
    `threading.Condition` wakes the one idle longest (so a keep-alive client's requests would go round
    all the worker threads in turn)."""

    def notify(self, n: int = 1) -> None:
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters
        while waiters and n > 0:
            waiter = waiters.pop()
            try:
                waiter.release()
            except RuntimeError:  # its wait had already ended (a timeout)
                continue
            n -= 1


class _Dispatcher(ThreadedTaskDispatcher):
    def __init__(self):
        super().__init__()
        self.queue_cv = _LastInFirstOut(self.lock)


class HTTPServer(TcpWSGIServer):
    """The listening socket; `run()` serves until `stop()` (from any thread)."""

    channel_class = _Channel
    screen: Screen | None = None
    body_limit: BodyLimit | None = None
    body_limit_floor = 0  # no route's body limit is lower: a declared body this small skips `body_limit`
    _accepting_after = 0.0

    def __init__(self, application, host: str, port: int, settings: ServerSettings):
        self.settings = settings
        dispatcher = _Dispatcher()
        dispatcher.set_thread_count(settings.threads)
        super().__init__(
            application, map={}, dispatcher=dispatcher, host=host, port=port, threads=settings.threads,
            ident="local_aws", clear_untrusted_proxy_headers=False, asyncore_use_poll=True,
            cleanup_interval=1, channel_timeout=10**9, channel_request_lookahead=1, connection_limit=10**9,
            max_request_header_size=MAX_HEADER_BYTES, max_request_body_size=MAX_BODY_BYTES,
            inbuf_overflow=SPOOL_ABOVE_BYTES, expose_tracebacks=False, log_socket_errors=False,
        )

    def pull_trigger(self) -> None:
        channel = getattr(_serving, "channel", None)
        if channel is None or channel.needs_the_loop():
            self.trigger.pull_trigger()

    @property
    def server_port(self) -> int:
        return int(self.effective_port)

    def readable(self) -> bool:
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            try:
                self.maintenance(now)
            except Exception:  # an error here would end the loop thread, and with it the server
                logger.exception("enforcing the timeouts")
        return self.accepting and time.monotonic() >= self._accepting_after

    def maintenance(self, now: float) -> None:
        for channel in list(self.active_channels.values()):
            channel.enforce_timeouts(now, self.settings)

    def handle_accept(self) -> None:
        try:
            accepted = self.accept()
        except OSError as error:
            if error.errno in _OUT_OF_DESCRIPTORS:
                logger.warning("out of file descriptors (%s) with %d connections open: accepting again in %.0f s",
                               os.strerror(error.errno), len(self.active_channels), _ACCEPT_PAUSE_SECONDS)
                self._accepting_after = time.monotonic() + _ACCEPT_PAUSE_SECONDS
            return
        if accepted is None:
            return
        connection, address = accepted
        if len(self.active_channels) >= self.settings.max_connections:
            _refuse(connection)
            return
        try:
            self.set_socket_options(connection)
        except OSError:
            connection.close()  # the client left before we could set it up
            return
        self.channel_class(self, connection, self.fix_addr(address), self.adj, map=self._map)

    def stop(self) -> None:
        """End `run()`: every connection closed by the loop's own thread, then the worker threads."""
        self.trigger.pull_trigger(self._close_everything)

    def _close_everything(self) -> None:
        for dispatcher in list(self._map.values()):
            try:
                dispatcher.close()
            except Exception:  # one that will not close must not keep the loop, and the process, alive
                logger.exception("closing %r", dispatcher)
                self._map.pop(getattr(dispatcher, "_fileno", None), None)

    def join_workers(self) -> None:
        self.task_dispatcher.shutdown(cancel_pending=True, timeout=5)


def _refuse(connection: socket.socket) -> None:
    try:
        connection.setblocking(False)
        connection.send(_OVER_THE_BOUND)
    except OSError:
        pass
    finally:
        connection.close()


def serve_in_thread(server: HTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.run, name="local-aws-edge", daemon=True)
    thread.start()
    return thread
