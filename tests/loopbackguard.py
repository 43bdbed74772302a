"""Keep every connection of the test process on the loopback interface.

The tests start their servers on 127.0.0.1. A test that reaches for another
host (a default AWS endpoint, an EarthScope login host) is a fault of the
test or of the code under test. The guard fails such a name lookup or
connection before any packet leaves, the way an offline machine would, and
records the test and the address so that the run can list them.

Python child processes (the S3 server, dask workers, the command line
under test) install the same guard at start-up through
``tests/childguard/sitecustomize.py``, and append their blocked attempts to
a log file that the run lists too.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from typing import Any

# Names that resolve to the loopback interface without a lookup.
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class LoopbackGuard:
    """Patches of ``socket`` that admit only loopback addresses.

    ``attempts`` lists ``(test id, address)`` for each blocked attempt, and
    ``current`` names the running test. With ``log_path``, each blocked
    attempt is also appended to that file, as a child process does.
    """

    def __init__(self, log_path: str | None = None) -> None:
        self.attempts: list[tuple[str, str]] = []
        self.current = "(outside a test)"
        self._originals: dict[str, Any] = {}
        self._log_path = log_path

    def install(self) -> None:
        """Replace the name lookups of ``socket`` and the socket methods that
        connect or send to an address."""
        self._originals = {
            "getaddrinfo": socket.getaddrinfo,
            "connect": socket.socket.connect,
            "connect_ex": socket.socket.connect_ex,
        }
        socket.getaddrinfo = self._guarded_getaddrinfo  # type: ignore[assignment]
        socket.socket.connect = self._guarded_connect(  # type: ignore[method-assign]
            self._originals["connect"]
        )
        socket.socket.connect_ex = self._guarded_connect(  # type: ignore[method-assign]
            self._originals["connect_ex"]
        )
        # The older lookups ask the resolver without getaddrinfo, and
        # datagram sends name their address without connect.
        for name in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
            setattr(socket, name, self._guarded_lookup(getattr(socket, name)))
        socket.getnameinfo = self._guarded_getnameinfo(socket.getnameinfo)
        socket.socket.sendto = self._guarded_send(  # type: ignore[method-assign]
            socket.socket.sendto, address_index=-1
        )
        socket.socket.sendmsg = self._guarded_send(  # type: ignore[method-assign]
            socket.socket.sendmsg, address_index=3
        )

    def _guarded_getaddrinfo(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_loopback_host(host):
            self._block(str(host))
            raise socket.gaierror(
                socket.EAI_NONAME,
                f"name lookup of {host!r} blocked: tests stay on loopback",
            )
        return self._originals["getaddrinfo"](host, *args, **kwargs)

    def _guarded_lookup(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def lookup(host: Any, *args: Any) -> Any:
            if not is_loopback_host(host):
                self._block(str(host))
                raise socket.gaierror(
                    socket.EAI_NONAME,
                    f"name lookup of {host!r} blocked: tests stay on loopback",
                )
            return original(host, *args)

        return lookup

    def _guarded_getnameinfo(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def getnameinfo(address: Any, flags: int) -> Any:
            if not is_loopback_host(address[0]):
                self._block(f"{address[0]}:{address[1]}")
                raise socket.gaierror(
                    socket.EAI_NONAME,
                    f"name lookup of {address[0]!r} blocked: tests stay on loopback",
                )
            return original(address, flags)

        return getnameinfo

    def _guarded_connect(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def connect(sock: socket.socket, address: Any) -> Any:
            self._check_address(sock, address)
            return original(sock, address)

        return connect

    def _guarded_send(
        self, original: Callable[..., Any], address_index: int
    ) -> Callable[..., Any]:
        """Wrap a send method whose argument ``address_index`` (after the
        socket) is the address where one is given."""
        minimum = address_index + 1 if address_index >= 0 else 2

        def send(sock: socket.socket, *args: Any) -> Any:
            if len(args) >= minimum:
                self._check_address(sock, args[address_index])
            return original(sock, *args)

        return send

    def _check_address(self, sock: socket.socket, address: Any) -> None:
        """Raise ConnectionRefusedError for an internet address off loopback."""
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        host = address[0]
        if not is_loopback_host(host):
            self._block(f"{host}:{address[1]}")
            raise ConnectionRefusedError(
                f"connection to {host}:{address[1]} blocked: tests stay on loopback"
            )

    def _block(self, address: str) -> None:
        self.attempts.append((self.current, address))
        if self._log_path is None:
            return
        # One short append per line, so lines of several processes stay whole.
        with open(self._log_path, "a", encoding="utf-8") as log:
            log.write(f"child process {os.getpid()}: {address}\n")


def is_loopback_host(host: Any) -> bool:
    """Return whether ``host`` (a name, an address or None) is the loopback."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    text = str(host).strip("[]").split("%")[0]
    if text.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False
