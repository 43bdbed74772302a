"""Breaking the fetch planning of window reads: held chunks, joins, rewrites.

A window read fetches only the bytes it does not hold yet and joins the
chunks that touch, so one record may be sliced from the bytes of two
requests. These tests read real miniSEED bytes from local folders and the
loopback S3 server.
"""

from __future__ import annotations

import time
from pathlib import Path

from test_windows import (  # noqa: F401 (_index_cache is an autouse fixture)
    DAY,
    _index_cache,
    key,
    station_day,
)

from intake_earthscope.storage import StorageSpec
from intake_earthscope.windowread import RangedObject

from conftest import mirror


def local_reader(root: Path, sources: tuple[str, ...] = ()) -> RangedObject:
    return RangedObject(StorageSpec("file", str(root)), key(1), DAY, sources)


def timed_fetch(reader: RangedObject, ranges: list[tuple[int, int]]) -> float:
    """Fetch ``ranges`` without merging them; return the seconds it took."""
    start = time.perf_counter()
    reader._fetch(ranges, merge=0)
    return time.perf_counter() - start


def test_join_of_many_chunks_linear(tmp_path: Path) -> None:
    """Joining a range with thousands of held chunks inside it costs about
    as much as reading the range into an empty reader.

    Each piece between two held chunks is a request of its own with no
    merge gap, and every piece and chunk joins into one. Joined one after
    another, each join copied the whole chunk so far.
    """
    # No wanted sources: the repeated day is out of time order.
    data = station_day(1) * 3
    root = mirror(tmp_path / "mirror", {key(1): data})
    probed = local_reader(root)
    probed._fetch([(a, a + 4096) for a in range(0, len(data), 8192)], merge=0)

    joined = timed_fetch(probed, [(0, len(data))])
    fresh = timed_fetch(local_reader(root), [(0, len(data))])

    assert [start for start, _ in probed._chunks] == [0]
    assert probed._chunks[0][1] == data
    assert joined < 5 * fresh + 0.25, (joined, fresh)
