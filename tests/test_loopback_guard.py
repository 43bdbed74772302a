"""The test suite's guard admits loopback connections only.

The guard's connect wrapper is called here around a stand-in for the real
connect, which records calls instead of opening a connection, so that no
check sends anything off the machine even if the guard were broken.
"""

from __future__ import annotations

import socket

import pytest

from loopbackguard import LoopbackGuard, is_loopback_host


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        (b"127.0.0.1", True),
        (None, True),
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("192.0.2.1", False),
        ("s3.us-east-2.amazonaws.com", False),
        ("login.earthscope.org", False),
    ],
)
def test_loopback_host_table(host: object, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_connect_off_loopback_blocked() -> None:
    guard = LoopbackGuard()
    guard.current = "this test"
    calls = []
    connect = guard._guarded_connect(lambda sock, address: calls.append(address))

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(ConnectionRefusedError, match="192.0.2.1:443 blocked"):
            connect(sock, ("192.0.2.1", 443))
        connect(sock, ("127.0.0.1", 9))

    assert calls == [("127.0.0.1", 9)]
    assert guard.attempts == [("this test", "192.0.2.1:443")]


def test_lookup_off_loopback_blocked(request: pytest.FixtureRequest) -> None:
    # conftest.py installs the guard for the whole run. Checked first, so that
    # a missing guard fails here before any lookup is made.
    guard = getattr(socket.getaddrinfo, "__self__", None)
    assert isinstance(guard, LoopbackGuard)
    recorded = len(guard.attempts)

    with pytest.raises(socket.gaierror, match="blocked: tests stay on loopback"):
        socket.getaddrinfo("s3.us-east-2.amazonaws.com", 443)
    blocked = guard.attempts[recorded:]
    # This attempt is made on purpose, so the run's list leaves it out.
    del guard.attempts[recorded:]

    assert blocked == [(request.node.nodeid, "s3.us-east-2.amazonaws.com")]
    assert socket.getaddrinfo("127.0.0.1", 80)
