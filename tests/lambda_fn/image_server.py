"""A tiny HTTP(S) image server on 127.0.0.1 for the URL-fetching tests, with hostile routes.

Every slow route stops by itself within a few seconds, and the server only ever binds loopback.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DRIP_SECONDS = 3.0


class ImageServer:
    def __init__(self, images: dict[str, bytes], tls_context=None) -> None:
        self.images = images
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                server.requests.append({"path": url.path, "host": self.headers.get("Host")})
                route = getattr(server, "route_" + url.path.strip("/").split("/")[0].replace("-", "_"), None)
                if route is None:
                    self.send_error(404)
                    return
                route(self, url.path, parse_qs(url.query))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ImageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def route_image(self, request, path, query) -> None:
        body = self.images[path.rsplit("/", 1)[1]]
        request.send_response(200)
        request.send_header("Content-Type", "image/jpeg")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def route_redirect(self, request, path, query) -> None:
        """/redirect?to=URL answers 302 to URL; /redirect/N chains N hops to /image/dog.jpg."""
        parts = path.strip("/").split("/")
        if "to" in query:
            location = query["to"][0]
        else:
            hops = int(parts[1])
            location = "/image/dog.jpg" if hops <= 1 else f"/redirect/{hops - 1}"
        request.send_response(302)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def route_endless(self, request, path, query) -> None:
        """Streams far more than any limit, without Content-Length."""
        request.send_response(200)
        request.send_header("Content-Type", "image/jpeg")
        request.end_headers()
        chunk = self.images["dog.jpg"][:3] + b"\0" * 65533
        try:
            for _ in range(256):
                request.wfile.write(chunk)
        except OSError:
            pass

    def route_declared_huge(self, request, path, query) -> None:
        request.send_response(200)
        request.send_header("Content-Length", str(1 << 40))
        request.end_headers()

    def route_drip(self, request, path, query) -> None:
        """Headers at once, then one byte every 0.1 s: each read is quick, the whole is slow."""
        body = self.images["dog.jpg"]
        request.send_response(200)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        self._drip(request, body)

    def route_drip_headers(self, request, path, query) -> None:
        self._drip(request, b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"a" * 1000)

    def route_text(self, request, path, query) -> None:
        body = b"<html>not an image</html>"
        request.send_response(200)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    @staticmethod
    def _drip(request, data: bytes) -> None:
        deadline = time.monotonic() + DRIP_SECONDS
        try:
            for byte in data:
                if time.monotonic() > deadline:
                    return
                request.wfile.write(bytes([byte]))
                request.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass
