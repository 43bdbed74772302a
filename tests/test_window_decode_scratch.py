"""The window reader's decode of one object into the thread's reused memory.

``decode_object`` unpacks all records that a batch of windows needs from
one object into the memory its thread keeps between decodes. The samples
must stay as they were until the batch's ``ExitStack`` closes, while the
same thread decodes more objects and whole blocks. Each case compares the
samples with those of a decode into memory of their own.
"""

from __future__ import annotations

from contextlib import ExitStack

import numpy as np
from test_break_decode_reuse import CASES, SENTINEL, TRACES, poison
from test_decode_break import GRID, TOLERANCE

from intake_earthscope import decode
from intake_earthscope.decode import decode_and_place, decode_segments
from intake_earthscope.windowdecode import ObjectSamples, decode_object


def own_samples(data: bytes) -> dict[tuple[int, int], np.ndarray]:
    """Decode ``data`` into new arrays: (row, version) -> joined samples."""
    with ExitStack() as stack:
        return copied(decode_object_apart(data, stack))


def decode_object_apart(data: bytes, stack: ExitStack) -> ObjectSamples:
    """Return decode_object's result, unpacked into memory of its own."""
    rows = {seed_id: row for row, seed_id in enumerate(TRACES)}
    samples: ObjectSamples = {}
    decoded = stack.enter_context(decode_segments(data, "*"))
    for seed_id, table in decoded:
        samples.setdefault(rows[seed_id], []).append(table)
    return samples


def copied(samples: ObjectSamples) -> dict[tuple[int, int], np.ndarray]:
    """Join and copy each trace's samples, by row and position of version."""
    joined = {}
    for row, versions in samples.items():
        for position, version in enumerate(versions):
            table = getattr(version, "table", version)
            joined[row, position] = np.concatenate(table.pieces).copy()
    return joined


def same(left: dict, right: dict) -> bool:
    return left.keys() == right.keys() and all(
        np.array_equal(left[key], right[key]) for key in left
    )


def test_objects_on_one_stack_keep_samples() -> None:
    names = ["plain", "versions", "gaps_and_encodings", "miniseed3"]
    expected = {name: own_samples(CASES[name]()) for name in names}
    poison()

    with ExitStack() as stack:
        decoded = {name: decode_object(CASES[name](), TRACES, stack) for name in names}
        # A whole block decoded by the same thread while the windows' samples
        # are in use takes memory after theirs.
        decode_and_place(CASES["plain"](), TRACES, GRID, 0, GRID.size, TOLERANCE)
        poison()

        for name in names:
            assert same(copied(decoded[name]), expected[name]), name
            assert not any((part == SENTINEL).any() for part in expected[name].values())


def test_samples_in_reused_memory() -> None:
    data = CASES["plain"]()
    poison()
    buffer = decode._scratch.buffer

    with ExitStack() as stack:
        decoded = decode_object(data, TRACES, stack)
        pieces = [p for v in decoded.values() for s in v for p in s.table.pieces]
        assert decode._scratch.used > 0
        assert all(np.shares_memory(piece, buffer) for piece in pieces)

    assert decode._scratch.used == 0


def test_fallback_hands_memory_back() -> None:
    """Records joined of two sample types are unpacked by libmseed while it
    reads, and the memory taken before that is handed back at once."""
    data = CASES["types_change_third"]()
    expected = own_samples(data)
    poison()

    with ExitStack() as stack:
        decoded = decode_object(data, TRACES, stack)
        assert decode._scratch.used == 0
        assert same(copied(decoded), expected)
