"""Threaded HTTP servers on 127.0.0.1 for tests.

:class:`LoopbackServer` runs any request handler and stops with its block;
the test servers of other modules build on it. :class:`LoopbackHttp` serves
the tests of the web-service layer: routes map a path to a function of the
query parameters that returns a :class:`Reply`. The server records every
request, with its ``Authorization`` header, so tests can check where the
bearer token went. The operating system chooses the port. ``host_name`` only
changes the URLs the tests build, so a server reached as ``localhost`` acts
as a foreign host.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger(__name__)


class QuietHttpServer(ThreadingHTTPServer):
    """A threaded server that logs a failed request instead of printing it.

    Timeout tests close connections while a reply is still being written,
    and the standard server prints each such error to stderr.
    """

    def handle_error(self, request: object, client_address: object) -> None:
        # socketserver calls this inside its handler of the request's error.
        error = sys.exc_info()
        logger.debug("request from %s failed", client_address, exc_info=error)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 with an OS-chosen port.

    The server runs ``handler`` in a thread of its own from :meth:`start`.
    Used as a context manager, it stops when the block ends, also where the
    block raised. A failed request is logged, not printed (see
    :class:`QuietHttpServer`).

    Parameters
    ----------
    handler : type of BaseHTTPRequestHandler
        The request handler class.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = QuietHttpServer(("127.0.0.1", 0), handler)
        # Handler threads do not keep the test process alive, and a short
        # poll interval keeps shutdown, and so each teardown, quick.
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            # A server a test leaves running cannot keep the process alive.
            daemon=True,
        )

    @property
    def port(self) -> int:
        """Port the server listens on."""
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the server, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. A second call does nothing."""
        # shutdown() waits for serve_forever to return, so it would wait
        # forever for a server that was never started.
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join()
        self.server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass
class Reply:
    """What a loopback route sends back."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class SeenRequest:
    """One request as a loopback server received it."""

    path: str
    query: dict[str, list[str]]
    authorization: str | None


Route = Callable[[dict[str, list[str]]], Reply]


class LoopbackHttp:
    """An HTTP server on 127.0.0.1, reached under ``host_name``."""

    def __init__(self, host_name: str) -> None:
        self.host_name = host_name
        self.routes: dict[str, Route] = {}
        self.seen: list[SeenRequest] = []
        self._server = LoopbackServer(_handler_for(self))

    @property
    def port(self) -> int:
        return self._server.port

    def url(self, path: str) -> str:
        return f"http://{self.host_name}:{self.port}{path}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def tokens_seen(self) -> list[str | None]:
        return [request.authorization for request in self.seen]


def _handler_for(server: LoopbackHttp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's method name
            path, _, query = self.path.partition("?")
            params = urllib.parse.parse_qs(query, keep_blank_values=True)
            authorization = self.headers.get("Authorization")
            server.seen.append(SeenRequest(path, params, authorization))

            route = server.routes.get(path)
            reply = route(params) if route else Reply(404, b"no such route")
            time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

    return Handler


def fake_jwt() -> str:
    """Build an unsigned JWT with the claims earthscope-sdk decodes."""
    now = int(time.time())
    header = {"alg": "none", "typ": "JWT"}
    claims = {
        "aud": "loopback",
        "iss": "https://login.loopback.test/",
        "iat": now,
        "exp": now + 3600,
        "sub": "tester",
        "azp": "tester",
    }
    parts = [_base64(header), _base64(claims), "c2lnbmF0dXJlLW9mLWZha2U"]
    return ".".join(parts)


def _base64(data: dict[str, object]) -> str:
    # earthscope-sdk decodes with the standard alphabet, not the URL-safe one.
    return base64.b64encode(json.dumps(data).encode()).decode().rstrip("=")
