"""Storing a record index waits a bounded time for the cache folder's lock.

A child process takes the lock of the folder's shared tally file with
``fcntl.flock`` and keeps it, as a process that hangs while it holds the
lock would. Stores in this process then give up the shared count after
``INTAKE_EARTHSCOPE_INDEX_LOCK_SECONDS``, log one WARNING, and still store
and load the index.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_recordindex import SIZE, random_table

from intake_earthscope.recordindex import (
    CACHE_DIR_VARIABLE,
    LOCK_WAIT_VARIABLE,
    ObjectIndex,
    forget_indexes,
    load_index,
    store_index,
)

fcntl = pytest.importorskip("fcntl")

LOGGER = "intake_earthscope.recordindex"
WAIT_S = 0.3

# Takes the lock, prints "locked", and keeps the lock until stdin closes.
HOLDER = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path))
    monkeypatch.setenv(LOCK_WAIT_VARIABLE, str(WAIT_S))
    forget_indexes()
    folder = tmp_path / "record-index"
    folder.mkdir()
    yield folder
    forget_indexes()


def start_holder(folder: Path) -> subprocess.Popen[str]:
    """Start a process that holds the tally lock of ``folder`` until its
    stdin closes, and wait until it has the lock."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder / ".written-since-listing")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    return holder


@pytest.fixture
def held_lock(folder: Path) -> Iterator[subprocess.Popen[str]]:
    holder = start_holder(folder)
    yield holder
    holder.communicate(timeout=10)


def store_timed(url: str, seed: int) -> float:
    started = time.monotonic()
    store_index(url, ObjectIndex(SIZE, random_table(seed, 5)))
    return time.monotonic() - started


def test_store_gives_up_lock(
    held_lock: subprocess.Popen[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        first = store_timed("s3://bucket/a", 1)
        second = store_timed("s3://bucket/b", 2)

    assert WAIT_S <= first < WAIT_S + 5
    assert second < WAIT_S
    assert held_lock.poll() is None


def test_lock_timeout_warns_once(
    held_lock: subprocess.Popen[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        for seed in range(3):
            store_timed(f"s3://bucket/{seed}", seed)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]

    assert len(warnings) == 1
    assert "timed out after 0.3 s" in warnings[0].getMessage()
    assert LOCK_WAIT_VARIABLE in warnings[0].getMessage()


def test_index_stored_despite_lock(held_lock: subprocess.Popen[str]) -> None:
    store_timed("s3://bucket/a", 1)
    forget_indexes()

    loaded = load_index("s3://bucket/a", SIZE)

    assert loaded is not None
    assert len(loaded.records) == 5


def test_lock_free_again_counts(folder: Path) -> None:
    holder = start_holder(folder)
    store_timed("s3://bucket/a", 1)
    holder.communicate(timeout=10)

    store_timed("s3://bucket/b", 2)
    count = (folder / ".written-since-listing").read_text()

    assert count.isdigit()
    assert int(count) > 0


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_invalid_lock_wait_named(
    folder: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(LOCK_WAIT_VARIABLE, value)

    with pytest.raises(ValueError) as caught:
        store_index("s3://bucket/a", ObjectIndex(SIZE, random_table(1, 5)))

    message = str(caught.value)
    assert message.startswith(f"invalid {LOCK_WAIT_VARIABLE}={value!r}: ")
    assert "expected a finite number of at least 0 (default 5)" in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [(LOCK_WAIT_VARIABLE, "nan"), ("INTAKE_EARTHSCOPE_INDEX_CACHE_MB", "lots")],
)
def test_invalid_setting_keeps_no_index(
    folder: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    index = ObjectIndex(SIZE, random_table(1, 5))

    for _ in range(2):
        with pytest.raises(ValueError, match=variable):
            store_index("s3://bucket/a", index)

    assert load_index("s3://bucket/a", SIZE) is None
