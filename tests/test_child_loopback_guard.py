"""Python child processes of the test run install the loopback guard.

A child checks that its socket functions are the guard's before it tries a
name lookup of a host off the loopback, so nothing leaves the machine even
where the guard is missing. The blocked lookup must fail as on an offline
machine and land in the log that the run lists at its end. The test takes
its own line out of the log again, so a clean run lists no attempt.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import socket, sys
if "_guarded" not in socket.getaddrinfo.__qualname__:
    sys.exit(3)
try:
    socket.getaddrinfo("guard-check.invalid", 80)
except socket.gaierror as error:
    print(error)
    sys.exit(0)
sys.exit(4)
"""


def test_child_process_lookup_blocked() -> None:
    log = Path(os.environ["INTAKE_EARTHSCOPE_TEST_GUARD_LOG"])
    before = log.read_text(encoding="utf-8")

    finished = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    added = log.read_text(encoding="utf-8")[len(before) :]
    log.write_text(before, encoding="utf-8")

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "blocked: tests stay on loopback" in finished.stdout
    assert added.startswith("child process ")
    assert added.rstrip("\n").endswith(": guard-check.invalid")
