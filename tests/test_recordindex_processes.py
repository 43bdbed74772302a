"""Record indexes stored by several processes that share one cache folder.

Each process lists the folder at its first store, and then only where the
folder may have passed its limit. The bytes written by all processes since
the last listing are counted in one file of the folder, so processes that
each write under a tenth of the limit still trim the folder together.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from test_recordindex import SIZE, _aged_file, random_table

from intake_earthscope import recordindex
from intake_earthscope.recordindex import (
    CACHE_DIR_VARIABLE,
    CACHE_LIMIT_VARIABLE,
    ObjectIndex,
    store_index,
)

WORKERS = 6
# Each worker writes about 80 kB, under a tenth of the 1 MB limit, in files
# of about 20 kB.
FILES_PER_WORKER = 4
ROWS_PER_FILE = 500
LIMIT_BYTES = 1_000_000


def store_batch(root: str, worker: int, ready: object) -> None:
    """Store one small index, wait for the other workers, then store a batch."""
    os.environ[CACHE_DIR_VARIABLE] = root
    os.environ[CACHE_LIMIT_VARIABLE] = str(LIMIT_BYTES // 10**6)
    store_index(f"s3://bucket/first.{worker}", ObjectIndex(SIZE, random_table(0, 2)))
    ready.wait()  # type: ignore[attr-defined]
    for number in range(FILES_PER_WORKER):
        table = random_table(worker * 100 + number, ROWS_PER_FILE)
        store_index(f"s3://bucket/{worker}.{number}", ObjectIndex(SIZE, table))


def indexes_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*.npz"))


def test_workers_trim_together(tmp_path: Path) -> None:
    """Six workers that each write under a tenth of the limit into a folder
    near its limit leave it within a tenth above the limit."""
    folder = tmp_path / "record-index"
    folder.mkdir()
    for number in range(17):
        _aged_file(folder, f"old{number}.npz", 50_000, age_s=3600 + number)
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(WORKERS)

    workers = [
        context.Process(target=store_batch, args=(str(tmp_path), worker, ready))
        for worker in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    assert len(list(folder.glob("*.npz"))) > FILES_PER_WORKER
    assert indexes_size(folder) <= LIMIT_BYTES * 1.1


def test_tally_is_written_in_place(tmp_path: Path) -> None:
    """The shared count goes on from a count of any width, and a file that
    contains no count starts again at what was written and is cut to the
    count's width."""
    tally = tmp_path / recordindex._SHARED_TALLY
    tally.write_bytes(b"1234\n")

    assert recordindex._add_shared(tmp_path, 10) == 1244
    assert recordindex._add_shared(tmp_path, 6) == 1250
    assert tally.read_bytes() == b"1250".rjust(recordindex._TALLY_WIDTH, b"0")

    tally.write_bytes(b"not a count of bytes at all, and longer than one")
    assert recordindex._add_shared(tmp_path, 7) == 7
    assert tally.read_bytes() == b"7".rjust(recordindex._TALLY_WIDTH, b"0")

    assert recordindex._add_shared(tmp_path, 0, reset=True) == 0


def test_tally_huge_count_fits_width(tmp_path: Path) -> None:
    """A count wider than the tally starts again, and a count at the top of
    the width stays there, so the file always contains the count returned."""
    tally = tmp_path / recordindex._SHARED_TALLY
    width = recordindex._TALLY_WIDTH
    tally.write_bytes(b"9" * (width + 5))

    assert recordindex._add_shared(tmp_path, 5) == 5
    assert tally.read_bytes() == b"5".rjust(width, b"0")

    tally.write_bytes(b"9" * width)
    assert recordindex._add_shared(tmp_path, 5) == 10**width - 1
    assert tally.read_bytes() == b"9" * width
