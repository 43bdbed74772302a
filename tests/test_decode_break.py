"""Attacks on the one-buffer decoder and the placement from columns.

``decode_and_place`` unpacks a trace's segments into one array and places
them from a :class:`~intake_earthscope.place.SegmentTable`, in one pass
where it can. The reference here takes the other road at every step:
libmseed unpacks while reading, and each segment is placed on its own with
``place_segment`` onto a block filled with NaN beforehand. Both must give
the same block. Some cases also check the samples against values known
from how the bytes were written.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

import numpy as np
import pymseed
import pytest
from pymseed import DataEncoding
from test_decode_fast import block_differences

from intake_earthscope.codes import SeedId, record_selection
from intake_earthscope.decode import decode_and_place, decode_segments
from intake_earthscope.place import (
    Grid,
    PlacedBlock,
    Segment,
    assemble_edges,
    place_segment,
)

import mseedgen

TOLERANCE = 1e-4
NS = 1_000_000_000
START = mseedgen.nstime(mseedgen.DAY_START)
HHZ = SeedId("XX", "STA", "00", "HHZ")
HHN = SeedId("XX", "STA", "00", "HHN")
GRID = Grid(START, 1e7, 8_640_000)

# pymseed sample type and encoding per kind of record written here.
_KINDS = {
    "steim2": ("i", DataEncoding.STEIM2),
    "steim1": ("i", DataEncoding.STEIM1),
    "int32": ("i", DataEncoding.INT32),
    "float32": ("f", DataEncoding.FLOAT32),
    "float64": ("d", DataEncoding.FLOAT64),
    "text": ("t", DataEncoding.TEXT),
}


def pack(
    values: Sequence[float] | np.ndarray,
    second: float,
    kind: str = "steim2",
    *,
    rate: float = 100.0,
    pubversion: int = 1,
    version: int = 2,
    channel: str = "HHZ",
    record_length: int = 512,
) -> bytes:
    """Write samples starting ``second`` seconds after START as records."""
    sample_type, encoding = _KINDS[kind]
    traces = pymseed.MS3TraceList()
    traces.add_data(
        sourceid=mseedgen.fdsn_source_id(f"XX.STA.00.{channel}"),
        data_samples=values,
        sample_type=sample_type,
        sample_rate=rate,
        starttime=START + round(second * NS),
        publication_version=pubversion,
    )
    generated = traces.generate(
        max_record_length=record_length, encoding=encoding, format_version=version
    )
    return b"".join(generated)


def ramp(first: int, count: int, kind: str = "steim2") -> np.ndarray:
    """Samples whose values are their grid indices (plus 0.5 for floats)."""
    values = np.arange(first, first + count)
    if kind in ("float32", "float64"):
        return (values + 0.5).astype(np.float32 if kind == "float32" else float)
    return values.astype(np.int32)


def run(first: int, count: int, kind: str = "steim2", **options) -> bytes:
    """Records of ``count`` samples from grid index ``first`` of a 100 Hz day."""
    return pack(ramp(first, count, kind), first / 100, kind, **options)


def empty_record(second: float, rate: float = 0.0) -> bytes:
    """One Steim-2 record without samples, as some dataloggers write.

    libmseed writes a record without samples as text, so a 10-sample record
    gets a sample count of 0 in its fixed header (big-endian, offset 30)
    and, for ``rate=0``, a rate factor and multiplier of 0 (offset 32).
    """
    record = bytearray(pack(np.arange(10, dtype=np.int32), second, rate=rate or 1.0))
    record[30:32] = struct.pack(">H", 0)
    if not rate:
        record[32:36] = struct.pack(">hh", 0, 0)
    return bytes(record)


def text(second: float, count: int = 100, rate: float = 100.0) -> bytes:
    """A log record of ``count`` characters on the data channel."""
    return pack(list(b"x" * count), second, "text", rate=rate)


def reference(
    data: bytes, traces: list[SeedId], lo: int, hi: int, grid: Grid = GRID
) -> PlacedBlock:
    """Unpack while reading and place each segment alone onto NaN."""
    block = PlacedBlock.empty(len(traces), lo, hi)
    block.reach = grid.samples_per_day
    rows = {seed_id: row for row, seed_id in enumerate(traces)}
    edges: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    selection = record_selection(traces)
    with decode_segments(data, selection, own_buffers=False) as decoded:
        for seed_id, table in decoded:
            for segment in table.segments():
                own = Segment(
                    segment.rate,
                    segment.pubversion,
                    segment.samples.copy(),
                    segment.record_starts.copy(),
                    segment.record_counts.copy(),
                )
                place_segment(block, rows[seed_id], own, grid, TOLERANCE, edges)
    assemble_edges(block, edges)
    return block


def _torn() -> bytes:
    """Records of one run, each started 3 ms later than the one before."""
    whole = run(0, 3000, "int32")
    parts = []
    for index, record in enumerate(mseedgen.records(whole)):
        parsed = pymseed.MS3Record.parse(record)
        first = round((parsed.starttime - START) / 1e7)
        late = first / 100 + index * 0.003
        parts.append(pack(ramp(first, parsed.samplecnt), late, "int32"))
    return b"".join(parts)


def _versions() -> bytes:
    return mseedgen.interleave(
        run(0, 3000),
        pack(ramp(1000, 3000) + 7, 10.0, pubversion=2),
        pack(ramp(500, 500) + 9, 5.0, pubversion=3),
    )


CASES: dict[str, Callable[[], bytes]] = {
    "out_of_order": lambda: run(5000, 1000) + run(0, 1000) + run(2000, 1000),
    "versions": _versions,
    "encodings_with_gaps": lambda: (
        run(0, 1000) + run(2000, 1000, "float32") + run(4000, 1000, "steim1")
    ),
    "encodings_joined": lambda: (
        run(0, 1000) + run(1000, 1000, "float32") + run(2000, 1000, "float64")
    ),
    "encodings_overlapping": lambda: (
        run(500, 1000, "float32") + run(0, 1000) + run(2000, 1000)
    ),
    "text_between": lambda: run(0, 1000) + text(15.0, rate=0.0) + run(4000, 1000),
    "text_after_run": lambda: run(0, 1000) + text(10.0) + run(1300, 1000),
    "time_tears": _torn,
    "two_rates": lambda: (
        run(0, 1000) + pack(ramp(0, 500), 20.0, rate=50.0) + run(4000, 1000)
    ),
    "one_sample_segments": lambda: b"".join(run(3 * k, 1) for k in range(300)),
    "one_sample_adjacent": lambda: b"".join(run(k, 1, "int32") for k in range(300)),
    "miniseed3": lambda: (
        run(0, 1000, version=3) + run(4000, 1000, "float32", version=3)
    ),
    "truncated": lambda: (run(0, 1000) + run(4000, 1000))[:-100],
    "two_channels": lambda: mseedgen.interleave(
        run(0, 1000) + run(1000, 1000, "float32"), run(0, 2000, channel="HHN")
    ),
}

WINDOWS = {"day": (0, GRID.size), "inside": (700, 4500), "empty": (700, 700)}


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_block_matches_reference(name: str, window: str) -> None:
    data = CASES[name]()
    lo, hi = WINDOWS[window]
    traces = [HHZ, HHN]

    ours = decode_and_place(data, traces, GRID, lo, hi, TOLERANCE)

    assert block_differences(ours, reference(data, traces, lo, hi)) == []


def test_out_of_order_values() -> None:
    block = decode_and_place(CASES["out_of_order"](), [HHZ], GRID, 0, 6000, TOLERANCE)

    expected = np.full(6000, np.nan)
    for first in (0, 2000, 5000):
        expected[first : first + 1000] = np.arange(first, first + 1000)
    np.testing.assert_array_equal(block.data[0], expected)


def test_overlapping_encodings_keep_earlier() -> None:
    """The int run starts first in time, so it wins where a float run overlaps."""
    data = CASES["encodings_overlapping"]()

    block = decode_and_place(data, [HHZ], GRID, 0, 3000, TOLERANCE)

    np.testing.assert_array_equal(block.data[0, :1000], np.arange(1000))
    np.testing.assert_array_equal(block.data[0, 1000:1500], np.arange(1000, 1500) + 0.5)
    assert block.conflicts[0] == 500


def test_one_sample_segments_values() -> None:
    data = CASES["one_sample_segments"]()

    block = decode_and_place(data, [HHZ], GRID, 0, 900, TOLERANCE)

    expected = np.full(900, np.nan)
    expected[::3] = np.arange(0, 900, 3)
    np.testing.assert_array_equal(block.data[0], expected)


# Records without samples


def test_empty_record_not_rate_mismatch() -> None:
    """A 0 Hz record without samples places nothing, so no rate mismatches."""
    data = run(0, 1000) + empty_record(15.0) + run(4000, 1000)

    block = decode_and_place(data, [HHZ], GRID, 0, GRID.size, TOLERANCE)

    assert not block.rate_mismatch[0]
    assert block.mismatched_rates[0] == set()


def test_empty_record_alone_not_found() -> None:
    block = decode_and_place(empty_record(15.0, 100.0), [HHZ], GRID, 0, 5000, 1e-4)

    assert not block.found[0]


def test_empty_record_sets_no_offset() -> None:
    """An empty record 3 ms off the grid before on-grid data shifts nothing."""
    data = empty_record(0.003, 100.0) + run(100, 1000)

    block = decode_and_place(data, [HHZ], GRID, 0, 5000, TOLERANCE)

    assert block.first_offset[0] == 0.0
    assert block.max_shift[0] == 0.0


def test_empty_records_match_reference() -> None:
    data = empty_record(0.003, 100.0) + run(100, 1000)
    data += empty_record(15.0) + run(4000, 1000)

    ours = decode_and_place(data, [HHZ], GRID, 0, GRID.size, TOLERANCE)

    assert block_differences(ours, reference(data, [HHZ], 0, GRID.size)) == []


# Log records at the data rate


def test_text_then_samples_keeps_samples() -> None:
    """libmseed joins a log record and the samples after it into one segment
    when both carry the data rate; the samples must still be placed."""
    data = text(0.0) + run(100, 1000)

    block = decode_and_place(data, [HHZ], GRID, 0, 2000, TOLERANCE)

    np.testing.assert_array_equal(block.data[0, 100:1100], np.arange(100, 1100))


def test_text_then_samples_matches_reference() -> None:
    data = run(5000, 300, "float64") + text(0.0) + run(100, 1000, "float32")

    ours = decode_and_place(data, [HHZ], GRID, 0, GRID.size, TOLERANCE)

    assert block_differences(ours, reference(data, [HHZ], 0, GRID.size)) == []


# NaN sample values


def nan_run(first: int, count: int, kind: str = "float64") -> bytes:
    values = ramp(first, count, kind)
    values[::3] = np.nan
    return pack(values, first / 100, kind)


NAN_CASES: dict[str, Callable[[], bytes]] = {
    "gappy": lambda: b"".join(nan_run(150 * k, 100) for k in range(20)),
    "mixed_types": lambda: (
        nan_run(0, 500, "float32") + run(700, 500) + nan_run(1300, 9)
    ),
    "overlapping": lambda: run(400, 900, "float64") + nan_run(800, 900),
}


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("name", sorted(NAN_CASES) + sorted(CASES))
def test_written_counts_samples(name: str, window: str) -> None:
    """What a block counts as written is what holds a value in it."""
    data = {**CASES, **NAN_CASES}[name]()
    lo, hi = WINDOWS[window]

    block = decode_and_place(data, [HHZ, HHN], GRID, lo, hi, TOLERANCE)

    np.testing.assert_array_equal(block.written, (~np.isnan(block.data)).sum(axis=1))


def test_nan_samples_overlap_nothing_in_spill() -> None:
    data = run(500, 1000, "float64") + pack(np.full(700, np.nan), 9.0, "float64")

    block = decode_and_place(data, [HHZ], GRID, 0, 1000, TOLERANCE)

    assert block.overlaps[0] == 0
    assert block.conflicts[0] == 0
