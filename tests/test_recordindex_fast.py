"""Shortcuts of the record index: source codes without a sort, joins of
tables in byte order, parses of memoryview slices, and the search for the
first record header."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from intake_earthscope.recordindex import (
    ObjectIndex,
    RecordTable,
    _header_candidates,
    _source_codes,
    forget_indexes,
    load_index,
    parse_records,
    store_index,
)

from mseedgen import interleave, segment_bytes

URL = "file:///archive/STA.XX.2024.001"


def sources_of(count: int, names: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pool = np.array([f"FDSN:XX_S{number}_00_B_H_Z" for number in range(names)])
    return pool[rng.integers(0, names, count)]


@pytest.mark.parametrize("names", [1, 3, 16, 17, 40])
@pytest.mark.parametrize("count", [0, 1, 500])
def test_source_codes_equal_unique(names: int, count: int) -> None:
    """The names and codes are those of np.unique, type and all."""
    sources = sources_of(count, names, seed=names + count)

    expected_names, expected_codes = np.unique(sources, return_inverse=True)
    found_names, found_codes = _source_codes(sources)

    assert found_names.dtype == expected_names.dtype
    assert found_names.tolist() == expected_names.tolist()
    assert found_codes.dtype == expected_codes.dtype
    assert found_codes.tolist() == expected_codes.tolist()


def test_stored_index_keeps_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index written and read back has the sources it was written with."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(tmp_path))
    sources = sources_of(300, 5, seed=7)
    offsets = np.arange(300, dtype=np.int64) * 512
    lengths = np.full(300, 512, dtype=np.int64)
    table = RecordTable(offsets, lengths, offsets, offsets + 10, sources)
    store_index(URL, ObjectIndex(300 * 512, table, complete=True), "v1")
    forget_indexes()

    loaded = load_index(URL, 300 * 512, "v1")

    assert loaded is not None
    assert loaded.records.sources.tolist() == sources.tolist()
    assert loaded.records.offsets.tolist() == offsets.tolist()


def table_at(offsets: list[int]) -> RecordTable:
    values = np.array(offsets, dtype=np.int64)
    names = np.array([f"S{offset}" for offset in offsets], dtype=str)
    return RecordTable(values, values * 0 + 8, values, values + 1, names)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([[0, 8], [16, 24], [40]], [0, 8, 16, 24, 40]),
        ([[16, 24], [0, 8]], [0, 8, 16, 24]),
        ([[0, 8, 16], [8, 16, 24]], [0, 8, 16, 24]),
        ([[], [0]], [0]),
    ],
)
def test_merged_sorts_and_keeps_once(
    parts: list[list[int]], expected: list[int]
) -> None:
    """Tables in byte order join as they are. Others are sorted, and each
    offset is kept once, with its own record's columns."""
    first, *others = [table_at(offsets) for offsets in parts]

    merged = first.merged(*others)

    assert merged.offsets.tolist() == expected
    assert merged.sources.tolist() == [f"S{offset}" for offset in expected]
    assert merged.ends.tolist() == [offset + 1 for offset in expected]


def test_parse_of_memoryview_equals_bytes() -> None:
    """A memoryview slice parses as a bytes slice of the same range does."""
    data = interleave(
        segment_bytes("XX.STA.00.BHZ", "2024-01-01T00:00:00Z", np.arange(20_000), 100),
        segment_bytes(
            "XX.STA.00.BHN",
            "2024-01-01T00:00:00Z",
            np.arange(20_000),
            100,
            record_length=4096,
        ),
    )
    view = memoryview(data)

    for start, end in [(0, len(data)), (700, 30_000), (5_000, len(data) - 300)]:
        from_view = parse_records(view[start:end], base=start)
        from_bytes = parse_records(data[start:end], base=start)
        assert len(from_view) > 0
        for name in ("offsets", "lengths", "starts", "ends", "sources"):
            left, right = getattr(from_view, name), getattr(from_bytes, name)
            assert left.tolist() == right.tolist(), name


# The search that tests a regex at every offset for a miniSEED 2 or 3
# header. It is the reference for the faster search of the index.
LOOKAHEAD = re.compile(rb"(?=[0-9 \x00]{6}[DRQM][ \x00]|MS\x03)")

HEADER_BYTES = [
    b"",
    b"D ",
    b"000001D ",
    b"00001D 000002R\x00",
    b"MS\x03000001D ",
    b"00MS\x03D 123456Q MS\x03",
    b"  \x00 00D D  00000M\x00",
    b"123456DD 123456D",
]


@pytest.mark.parametrize("data", HEADER_BYTES)
def test_header_candidates_equal_lookahead(data: bytes) -> None:
    """Short byte strings give the offsets of the lookahead search."""
    expected = [match.start() for match in LOOKAHEAD.finditer(data)]

    assert list(_header_candidates(data)) == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_header_candidates_in_random_bytes(seed: int) -> None:
    """Bytes drawn mostly from header characters give the same offsets."""
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"0123456789 \x00DRQMS\x03xy", dtype=np.uint8)
    data = alphabet[rng.integers(0, alphabet.size, 200_000)].tobytes()
    expected = [match.start() for match in LOOKAHEAD.finditer(data)]

    found = list(_header_candidates(memoryview(data)))

    assert len(expected) > 100
    assert found == expected


def test_header_candidates_in_records() -> None:
    """miniSEED 2 and 3 records give the same offsets, from any first byte."""
    data = b"".join(
        [
            segment_bytes(
                "XX.STA.00.BHZ", "2024-01-01T00:00:00Z", np.arange(3000), 100
            ),
            segment_bytes(
                "XX.STA.00.BHN",
                "2024-01-01T00:00:00Z",
                np.arange(3000),
                100,
                version=3,
            ),
        ]
    )
    for start in (0, 1, 7, 300, 5000):
        piece = data[start:]
        expected = [match.start() for match in LOOKAHEAD.finditer(piece)]
        assert list(_header_candidates(piece)) == expected
