"""Threads that store record indexes while a stopped process holds the lock.

A child process takes the tally lock of the cache folder and is then
stopped with SIGSTOP, as a process paused in a debugger or by job control
would be. Dask's threads of this process store indexes at once: each wait
ends within the lock wait, and the timeout logs one WARNING per folder, not
one per thread.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_recordindex_lock_wait import (  # noqa: F401 - fixture
    LOGGER,
    WAIT_S,
    folder,
    start_holder,
    store_timed,
)

pytest.importorskip("fcntl")
SIGSTOP = getattr(signal, "SIGSTOP", None)
pytestmark = pytest.mark.skipif(SIGSTOP is None, reason="needs SIGSTOP")

THREADS = 6


@pytest.fixture
def stopped_holder(folder: Path) -> Iterator[subprocess.Popen[str]]:  # noqa: F811
    holder = start_holder(folder)
    holder.send_signal(signal.SIGSTOP)
    yield holder
    holder.send_signal(signal.SIGCONT)
    holder.communicate(timeout=10)


def store_in_threads(count: int) -> list[float]:
    """Store one index from each of ``count`` threads started together."""
    took: list[float] = [0.0] * count
    start = threading.Barrier(count)

    def store(slot: int) -> None:
        start.wait()
        took[slot] = store_timed(f"s3://bucket/{slot}", slot)

    threads = [threading.Thread(target=store, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return took


def test_threads_warn_once_for_stopped_holder(
    stopped_holder: subprocess.Popen[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        began = time.monotonic()
        took = store_in_threads(THREADS)
        elapsed = time.monotonic() - began
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]

    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert max(took) < WAIT_S + 5
    assert elapsed < WAIT_S + 5
    assert stopped_holder.poll() is None
