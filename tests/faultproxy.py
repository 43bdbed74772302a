"""A threaded HTTP proxy on 127.0.0.1 that injects transport faults by rule.

The proxy forwards GET and HEAD requests to one upstream server on loopback
(the moto S3 server, or a :class:`loopback_http.LoopbackHttp` server) and
records every request it receives with its ``Authorization``,
``User-Agent`` and ``Range`` headers, and adds up the body bytes of its GET
replies. Each :class:`FaultRule` picks requests by path text, by count
(every Nth) or by a seeded probability, and replaces the upstream reply with
a fault:

``400``, ``500``, ``503``
    An S3-style XML error with that status (``InvalidRequest``,
    ``InternalError``, ``ServiceUnavailable``).
``slowdown``
    S3 throttling: status 503 with the error code ``SlowDown``.
``reset``
    The connection is reset (TCP RST) before any reply.
``slow``
    The reply is held back for ``delay`` seconds, past the client's read
    timeout.
``trickle``
    The body is sent 64 bytes at a time, one part every ``delay`` seconds,
    each within the client's read timeout.
``truncate``
    The headers announce the whole body, half of it is sent, then the
    connection closes.
``wrong_length``
    The whole body is sent under a ``Content-Length`` 64 bytes larger, then
    the connection closes.

Requests that reach the upstream server go through unchanged, so a read
through the proxy returns the same bytes as a direct one.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType

from loopback_http import LoopbackServer

FAULTS = (
    "500",
    "503",
    "slowdown",
    "reset",
    "slow",
    "trickle",
    "truncate",
    "wrong_length",
)

# A fault that no read may retry.
REJECTION = "400"

# The first body byte is flipped, with the headers unchanged, so only a
# checksum can detect it. Not in FAULTS: web-service replies carry no checksum.
CORRUPTION = "corrupt"

# Hop-by-hop headers and the length, which the proxy sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length"}

_S3_ERRORS = {
    "400": (400, "InvalidRequest", "The request is invalid."),
    "500": (500, "InternalError", "We encountered an internal error."),
    "503": (503, "ServiceUnavailable", "Service is unable to handle request."),
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
}


@dataclass
class FaultRule:
    """Which requests get which fault.

    Attributes
    ----------
    fault : str
        One of :data:`FAULTS` (transient), :data:`REJECTION` or
        :data:`CORRUPTION`.
    key : str or None
        Only requests whose path (with query) contains this text.
    every : int or None
        Only the Nth, 2Nth, ... request among those ``key`` selects.
    probability : float or None
        Only requests picked by a ``random.Random(seed)`` draw below this.
    seed : int
        Seed of the draws.
    limit : int or None
        At most this many injections by the rule.
    delay : float
        Seconds a ``slow`` reply is held back.
    """

    fault: str
    key: str | None = None
    every: int | None = None
    probability: float | None = None
    seed: int = 0
    limit: int | None = None
    delay: float = 2.0
    seen: int = 0
    injected: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.fault not in (*FAULTS, REJECTION, CORRUPTION):
            raise ValueError(
                f"unknown fault {self.fault!r}: expected {REJECTION!r}, "
                f"{CORRUPTION!r} or one of {FAULTS}"
            )
        self._random = random.Random(self.seed)

    def select(self, path: str) -> bool:
        """Count a request and return whether this rule faults it."""
        if self.key is not None and self.key not in path:
            return False
        self.seen += 1
        if self.limit is not None and self.injected >= self.limit:
            return False
        if self.every is not None and self.seen % self.every:
            return False
        if self.probability is not None and self._random.random() >= self.probability:
            return False
        self.injected += 1
        return True


@dataclass
class ProxiedRequest:
    """One request as the proxy received it, and the fault it got."""

    method: str
    path: str
    authorization: str | None
    fault: str | None
    user_agent: str | None = None
    byte_range: str | None = None


class FaultProxy:
    """A reverse proxy on 127.0.0.1 with an OS-chosen port.

    Parameters
    ----------
    upstream : str
        ``http://127.0.0.1:PORT`` of the server behind the proxy.
    rules : sequence of FaultRule
        Checked in order; the first rule that selects a request faults it.
    """

    def __init__(self, upstream: str, rules: Sequence[FaultRule] = ()) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(f"upstream must be http://127.0.0.1:PORT, not {upstream}")
        self.upstream = (parts.hostname, parts.port)
        self.rules = list(rules)
        self.seen: list[ProxiedRequest] = []
        self.body_bytes = 0
        self.lock = threading.Lock()
        self._server = LoopbackServer(_handler_for(self))

    @property
    def url(self) -> str:
        """Base URL of the proxy, without a trailing slash."""
        return self._server.url

    def injected(self) -> Counter[str]:
        """Count the faults injected so far, by kind."""
        with self.lock:
            return Counter(r.fault for r in self.seen if r.fault is not None)

    def forwarded(self) -> int:
        """Count the requests that reached the upstream server."""
        with self.lock:
            return sum(1 for r in self.seen if r.fault is None)

    def choose_fault(
        self,
        method: str,
        path: str,
        authorization: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Record a request and return its fault ("" for none)."""
        headers = headers or {}
        with self.lock:
            fault = None
            for rule in self.rules:
                if rule.select(path):
                    fault = rule.fault
                    delay = rule.delay
                    break
            self.seen.append(
                ProxiedRequest(
                    method,
                    path,
                    authorization,
                    fault,
                    headers.get("User-Agent"),
                    headers.get("Range"),
                )
            )
        if fault == "slow":
            time.sleep(delay)
            return "slow"
        if fault == "trickle":
            return f"trickle:{delay}"
        return fault or ""

    def count_body(self, size: int) -> None:
        """Add ``size`` to the body bytes sent in replies to GET requests."""
        with self.lock:
            self.body_bytes += size

    def fetch(self, method: str, path: str, headers: dict[str, str]) -> _Upstream:
        """Send a request to the upstream server and read its whole reply."""
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            forwarded_headers = [
                (name, value)
                for name, value in response.getheaders()
                if name.lower() not in _NOT_FORWARDED
            ]
            # A HEAD reply has no body but announces the object's length.
            length = int(response.getheader("Content-Length") or 0)
            if method != "HEAD":
                length = len(body)
            return _Upstream(
                response.status, response.reason, forwarded_headers, body, length
            )
        finally:
            connection.close()

    def start(self) -> FaultProxy:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class _Upstream:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    length: int


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so a fault never leaves
        # stray bytes for the next request on the same connection.
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802 - http.server's method name
            self._proxy("GET")

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's method name
            self._proxy("HEAD")

        def _proxy(self, method: str) -> None:
            authorization = self.headers.get("Authorization")
            fault = proxy.choose_fault(method, self.path, authorization, self.headers)
            try:
                self._reply(method, fault)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up first, as it should after a slow reply.
                pass

        def _reply(self, method: str, fault: str) -> None:
            if fault in _S3_ERRORS:
                self._send_error(method, *_S3_ERRORS[fault])
                return
            if fault == "reset":
                self._reset()
                return

            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in _NOT_FORWARDED
            }
            try:
                upstream = proxy.fetch(method, self.path, headers)
            except OSError:
                # The upstream server stopped, or a test aimed the proxy at
                # a closed port: reply as a gateway does.
                self._send_error(method, 502, "BadGateway", "Upstream failed.")
                return
            body = upstream.body
            length = upstream.length
            if fault == "wrong_length":
                length += 64
            if fault == "truncate" and method == "GET" and body:
                body = body[: len(body) // 2]
            if fault == CORRUPTION and method == "GET" and body:
                body = bytes([body[0] ^ 0xFF]) + body[1:]

            self.send_response(upstream.status, upstream.reason)
            for name, value in upstream.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if method == "GET" and fault.startswith("trickle:"):
                self._trickle(body, float(fault.partition(":")[2]))
            elif method == "GET":
                self.wfile.write(body)
            if method == "GET":
                proxy.count_body(len(body))

        def _trickle(self, body: bytes, pause: float) -> None:
            for offset in range(0, len(body), 64):
                self.wfile.write(body[offset : offset + 64])
                self.wfile.flush()
                time.sleep(pause)

        def _send_error(
            self, method: str, status: int, code: str, message: str
        ) -> None:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                "<RequestId>faultproxy</RequestId></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method == "GET":
                self.wfile.write(body)

        def _reset(self) -> None:
            # Linger with a zero timeout makes close() send RST, not FIN.
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            self.close_connection = True
            self.connection.close()

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

    return Handler
