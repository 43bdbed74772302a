"""The loopback guard covers the older lookups and unconnected sends.

``socket.gethostbyname``, ``gethostbyname_ex``, ``gethostbyaddr`` and
``getnameinfo`` ask the resolver without ``getaddrinfo``, and
``socket.sendto`` and ``sendmsg`` send a datagram to an address without
``connect``. Each is replaced here by a stand-in that records its calls
before a fresh guard is installed over it, so no check sends anything off
the machine even where the guard lacks a wrapper.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from loopbackguard import LoopbackGuard

LOOKUPS = ("gethostbyname", "gethostbyname_ex", "gethostbyaddr")
SENDS = ("sendto", "sendmsg")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Put recording stand-ins in place of the lookups and sends, and keep
    what a guard installs from outliving the test."""
    recorded: list[tuple[str, Any]] = []
    for name in LOOKUPS:
        monkeypatch.setattr(socket, name, _stand_in(name, recorded))
    monkeypatch.setattr(socket, "getnameinfo", _stand_in("getnameinfo", recorded))
    for name in SENDS:
        monkeypatch.setattr(socket.socket, name, _stand_in(name, recorded, True))
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, getattr(socket.socket, name))
    return recorded


def _stand_in(name: str, recorded: list[tuple[str, Any]], method: bool = False):
    def record(*args: Any) -> str:
        recorded.append((name, args[1:] if method else args))
        return "stand-in"

    return record


def installed_guard() -> LoopbackGuard:
    guard = LoopbackGuard()
    guard.current = "this test"
    guard.install()
    return guard


@pytest.mark.parametrize("name", LOOKUPS)
def test_old_lookup_off_loopback_blocked(calls, name: str) -> None:
    guard = installed_guard()

    with pytest.raises(socket.gaierror, match="blocked: tests stay on loopback"):
        getattr(socket, name)("guard-check.invalid")
    getattr(socket, name)("127.0.0.1")

    assert calls == [(name, ("127.0.0.1",))]
    assert guard.attempts == [("this test", "guard-check.invalid")]


def test_getnameinfo_off_loopback_blocked(calls) -> None:
    guard = installed_guard()

    with pytest.raises(socket.gaierror, match="blocked"):
        socket.getnameinfo(("192.0.2.1", 80), 0)
    socket.getnameinfo(("127.0.0.1", 80), 0)

    assert calls == [("getnameinfo", (("127.0.0.1", 80), 0))]
    assert guard.attempts == [("this test", "192.0.2.1:80")]


def test_sendto_off_loopback_blocked(calls) -> None:
    guard = installed_guard()

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(ConnectionRefusedError, match="192.0.2.1:53 blocked"):
            sock.sendto(b"x", ("192.0.2.1", 53))
        with pytest.raises(ConnectionRefusedError, match="192.0.2.1:53 blocked"):
            sock.sendto(b"x", 0, ("192.0.2.1", 53))
        with pytest.raises(ConnectionRefusedError, match="192.0.2.1:53 blocked"):
            sock.sendmsg([b"x"], [], 0, ("192.0.2.1", 53))
        sock.sendto(b"x", ("127.0.0.1", 9))
        sock.sendmsg([b"x"])

    assert [name for name, _ in calls] == ["sendto", "sendmsg"]
    assert len(guard.attempts) == 3
