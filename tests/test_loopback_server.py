"""Tests of the shared loopback HTTP server of the test suite.

The server must bind 127.0.0.1 on a port the operating system chooses, and
stop when its block ends, also where the block raised.
"""

from __future__ import annotations

import http.client
import urllib.parse
from http.server import BaseHTTPRequestHandler

import pytest

from loopback_http import LoopbackServer


class Hello(BaseHTTPRequestHandler):
    """Reply 200 with the body ``hello`` to every GET."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's method name
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


def get(url: str) -> bytes:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read()
    finally:
        connection.close()


def test_server_binds_loopback_port() -> None:
    with LoopbackServer(Hello) as server:
        parts = urllib.parse.urlsplit(server.url)

        assert parts.hostname == "127.0.0.1"
        assert parts.port
        assert get(server.url) == b"hello"


def test_server_stops_after_block() -> None:
    with LoopbackServer(Hello) as server:
        url = server.url

    with pytest.raises(ConnectionRefusedError):
        get(url)


def test_server_stops_when_block_raises() -> None:
    with pytest.raises(RuntimeError, match="test body failed"):
        with LoopbackServer(Hello) as server:
            url = server.url
            raise RuntimeError("test body failed")

    with pytest.raises(ConnectionRefusedError):
        get(url)


def test_stop_without_start_returns() -> None:
    server = LoopbackServer(Hello)

    server.stop()
    server.stop()

    with pytest.raises(ConnectionRefusedError):
        get(server.url)
