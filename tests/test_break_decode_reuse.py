"""Attacks on the sample memory that each thread reuses between decodes.

``decode_and_place`` unpacks one trace at a time into memory of its thread
(``_Scratch``) and places it before it unpacks the next. Here that memory
is first filled with a sentinel value. Then blocks are decoded from objects
of several traces, with damaged payloads and sample types that change in
the second or third trace, text records, several publication versions,
empty traces, miniSEED 3 and traces larger than the memory kept. Each block
must equal, bit for bit, the block placed from samples that libmseed
unpacks while reading, and no sentinel may reach a block or an earlier one.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import dask
import numpy as np
import pytest
from test_decode_break import GRID, TOLERANCE, empty_record, pack, ramp, run
from test_decode_fast import _reference, block_differences

from intake_earthscope import decode
from intake_earthscope.codes import SeedId
from intake_earthscope.decode import _Scratch, decode_and_place
from intake_earthscope.errors import DecodeError

import mseedgen

HHE = SeedId("XX", "STA", "00", "HHE")
HHN = SeedId("XX", "STA", "00", "HHN")
HHZ = SeedId("XX", "STA", "00", "HHZ")
TRACES = [HHE, HHN, HHZ]

# A value that no case writes. Where it shows up, memory of an earlier decode leaked.
SENTINEL = 987_654_321


def poison() -> None:
    """Fill this thread's reused memory with SENTINEL by decoding a constant trace."""
    values = np.full(300_000, SENTINEL, dtype=np.int32)
    data = pack(values, 0.0, "int32", channel="HHE")
    decode_and_place(data, [HHE], GRID, 0, 10, TOLERANCE, neighbours=False)


def damaged(records: bytes, number: int, at: int) -> bytes:
    """Overwrite four payload bytes of record ``number`` with 0xFF."""
    parts = mseedgen.records(records)
    record = bytearray(parts[number])
    record[at : at + 4] = b"\xff" * 4
    parts[number] = bytes(record)
    return b"".join(parts)


def text_run(channel: str, second: float) -> bytes:
    return pack(list(b"x" * 100), second, "text", channel=channel)


def three(east: bytes, north: bytes, vertical: bytes) -> bytes:
    return mseedgen.interleave(east, north, vertical)


EAST = run(0, 3000, channel="HHE")
NORTH = run(0, 3000, channel="HHN")
VERTICAL = run(0, 3000)

CASES: dict[str, Callable[[], bytes]] = {
    "plain": lambda: three(EAST, NORTH, VERTICAL),
    # Damaged integrity constants of a Steim-2 frame, which libmseed unpacks anyway.
    "frame_constant_second": lambda: three(EAST, damaged(NORTH, 1, 68), VERTICAL),
    "frame_constant_third": lambda: three(EAST, NORTH, damaged(VERTICAL, 3, 68)),
    "types_change_second": lambda: three(
        EAST,
        run(0, 1000, channel="HHN") + run(1000, 1000, "float64", channel="HHN"),
        VERTICAL,
    ),
    "types_change_third": lambda: three(
        EAST, NORTH, run(0, 1000, "int32") + run(1000, 1000, "float32")
    ),
    "text_joined_second": lambda: three(
        EAST,
        run(0, 1000, channel="HHN")
        + text_run("HHN", 10.0)
        + run(1100, 1000, channel="HHN"),
        VERTICAL,
    ),
    "text_only_third": lambda: three(EAST, NORTH, text_run("HHZ", 5.0)),
    "versions": lambda: three(
        EAST,
        mseedgen.interleave(
            NORTH,
            pack(ramp(1000, 3000) + 7, 10.0, pubversion=2, channel="HHN"),
            pack(ramp(500, 500) + 9, 5.0, pubversion=3, channel="HHN"),
        ),
        VERTICAL,
    ),
    "empty_second": lambda: three(
        EAST, empty_record(3.0).replace(b"HHZ", b"HHN"), VERTICAL
    ),
    "missing_second": lambda: EAST + VERTICAL,
    "miniseed3": lambda: three(
        run(0, 3000, channel="HHE", version=3),
        run(0, 3000, "float32", channel="HHN", version=3),
        run(0, 3000, "float64", version=3),
    ),
    "gaps_and_encodings": lambda: three(
        run(0, 1000, channel="HHE") + run(2000, 1000, "steim1", channel="HHE"),
        run(500, 1000, "float32", channel="HHN") + run(4000, 2000, channel="HHN"),
        b"".join(run(3 * k, 1) for k in range(300)),
    ),
}

# Block bounds: the whole day, and a block that spills on both sides.
WINDOWS = {"day": (0, GRID.size), "inside": (700, 1900)}


def sentinel_in(block) -> bool:
    parts = [block.data, block.spill.data, block.backspill.data]
    return any((part == SENTINEL).any() for part in parts)


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_reused_memory_equals_reference(name: str, window: str) -> None:
    data = CASES[name]()
    lo, hi = WINDOWS[window]
    poison()

    ours = decode_and_place(data, TRACES, GRID, lo, hi, TOLERANCE)

    assert block_differences(ours, _reference(data, TRACES, GRID, lo, hi)) == []
    assert not sentinel_in(ours)


@pytest.mark.parametrize("number", [1, 2])
def test_damaged_later_trace_raises(number: int) -> None:
    """A payload libmseed cannot unpack fails the block on either path."""
    parts = [EAST, NORTH, VERTICAL]
    parts[number] = damaged(parts[number], 2, 200)
    poison()

    with pytest.raises(DecodeError, match="Steim2"):
        decode_and_place(three(*parts), TRACES, GRID, 0, GRID.size, TOLERANCE)


def test_later_decodes_keep_earlier_blocks() -> None:
    """Spill, backspill and data of a block stay as they were while the
    same thread decodes other objects into the memory it reuses."""
    first = CASES["versions"]()
    block = decode_and_place(first, TRACES, GRID, 700, 1900, TOLERANCE)
    before = [block.data.copy(), block.spill.data.copy(), block.backspill.data.copy()]

    for name in sorted(CASES):
        decode_and_place(CASES[name](), TRACES, GRID, 700, 1900, TOLERANCE)
    poison()

    assert np.array_equal(block.data, before[0], equal_nan=True)
    assert np.array_equal(block.spill.data, before[1], equal_nan=True)
    assert np.array_equal(block.backspill.data, before[2], equal_nan=True)
    assert np.isfinite(block.backspill.data).any()


def test_decode_inside_taken_memory() -> None:
    """A decode nested in a block that took memory of the same thread leaves
    that memory as it was."""
    data = CASES["versions"]()
    with decode._scratch.borrowed() as scratch:
        outer = scratch.take(50_000, np.dtype(np.int32))
        outer[:] = 7

        block = decode_and_place(data, TRACES, GRID, 0, GRID.size, TOLERANCE)

        assert (outer == 7).all()
    reference = _reference(data, TRACES, GRID, 0, GRID.size)
    assert block_differences(block, reference) == []


def _random_object(seed: int) -> tuple[bytes, int, int]:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1_000, 120_000))
    parts = [
        pack(rng.integers(-1000, 1000, count).astype(np.int32), seed, channel=name)
        for name in ("HHE", "HHN", "HHZ")
    ]
    if seed % 3 == 0:
        values = rng.integers(-10, 10, count // 2).astype(np.int32)
        parts.append(pack(values, seed + 3.0, pubversion=2, channel="HHN"))
    lo = int(rng.integers(0, 1000))
    return mseedgen.interleave(*parts), lo, lo + int(rng.integers(100, 200_000))


def test_threads_decode_at_once() -> None:
    """Eight threads decoding different objects get the blocks of one thread."""
    objects = [_random_object(seed) for seed in range(12)]
    expected = [
        decode_and_place(d, TRACES, GRID, lo, hi, TOLERANCE) for d, lo, hi in objects
    ]

    def decode_one(number: int):
        data, lo, hi = objects[number % len(objects)]
        return decode_and_place(data, TRACES, GRID, lo, hi, TOLERANCE)

    with ThreadPoolExecutor(8) as pool:
        blocks = list(pool.map(decode_one, range(96)))

    for number, block in enumerate(blocks):
        assert block_differences(block, expected[number % len(objects)]) == [], number


def test_dask_threads_decode_at_once() -> None:
    objects = [_random_object(seed) for seed in range(12)]
    tasks = [
        dask.delayed(decode_and_place)(data, TRACES, GRID, lo, hi, TOLERANCE)
        for data, lo, hi in objects * 8
    ]

    with dask.config.set(scheduler="threads", num_workers=4):
        blocks = dask.compute(*tasks)

    for number, block in enumerate(blocks):
        data, lo, hi = objects[number % len(objects)]
        reference = _reference(data, TRACES, GRID, lo, hi)
        assert block_differences(block, reference) == [], number


def test_trace_larger_than_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Traces past the memory kept get memory of their own and place the same."""
    monkeypatch.setattr(_Scratch, "LIMIT", 4096)
    data = CASES["versions"]()
    poison()

    ours = decode_and_place(data, TRACES, GRID, 700, 1900, TOLERANCE)

    assert block_differences(ours, _reference(data, TRACES, GRID, 700, 1900)) == []
    assert not sentinel_in(ours)


def test_memory_kept_after_large_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    """A trace larger than the memory kept does not replace that memory on
    every read, so the next decodes still reuse the pages already touched."""
    monkeypatch.setattr(_Scratch, "LIMIT", 4096)
    data = pack(np.arange(3000, dtype=np.int32), 0.0, "int32")
    buffers = []

    def decode_twice() -> None:
        for _ in range(2):
            decode_and_place(data, [HHZ], GRID, 0, GRID.size, TOLERANCE)
            buffers.append(decode._scratch.buffer)

    # A thread of its own starts with empty memory.
    thread = threading.Thread(target=decode_twice)
    thread.start()
    thread.join()

    assert buffers[0].size == 4096
    assert buffers[1] is buffers[0]


def test_unplanned_channel_not_unpacked() -> None:
    """A channel that matches the patterns but not the plan is named, and its
    samples are not unpacked, so a bad payload there fails nothing."""
    patterns = {
        "network": ["XX"],
        "station": ["STA"],
        "location": ["00"],
        "channel": ["HH?"],
    }
    data = three(EAST, damaged(NORTH, 1, 200), VERTICAL)
    poison()

    block = decode_and_place(
        data, [HHZ], GRID, 0, GRID.size, TOLERANCE, patterns=patterns
    )

    assert block.unplanned == ["XX.STA.00.HHE", "XX.STA.00.HHN"]
    np.testing.assert_array_equal(block.data[0, :3000], np.arange(3000))
    assert not sentinel_in(block)


def test_count_above_payload_raises() -> None:
    """A header that counts more samples than the payload contains fails the
    block instead of leaving reused memory in it."""
    parts = mseedgen.records(NORTH)
    record = bytearray(parts[1])
    count = struct.unpack(">H", record[30:32])[0]
    record[30:32] = struct.pack(">H", count + 5)
    parts[1] = bytes(record)
    poison()

    with pytest.raises(DecodeError, match="only decoded"):
        decode_and_place(
            three(EAST, b"".join(parts), VERTICAL),
            TRACES,
            GRID,
            0,
            GRID.size,
            TOLERANCE,
        )
