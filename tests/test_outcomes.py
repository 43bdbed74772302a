"""The outcome ledger: one status per trace and object, and its summary.

One request reads a week of a local mirror in which each day's object is
broken in its own way, so the ledger has to tell every kind apart and keep
the intact records of each day.
"""

from __future__ import annotations

import logging
from pathlib import Path

import intake
import numpy as np
import pytest

from intake_earthscope.dataset import open_waveforms, outcome_table
from intake_earthscope.errors import DecodeError, ObjectNotFoundError
from intake_earthscope.outcomes import STATUSES, count_statuses
from intake_earthscope.tasks import _gap_runs
from intake_earthscope.timeutil import parse_time

import mseedgen
from conftest import CATALOGS, collection_spec, mirror

DAY_NS = parse_time("2024-01-01", "start")
HOUR = 3600


def key(day: int, station: str = "STA") -> str:
    return f"miniseed/XX/2024/{day:03d}/{station}.XX.2024.{day:03d}"


def hour(day: int, channel: str = "LHZ", version: int = 2) -> bytes:
    """The first hour of a day at 1 Hz, values unique per day."""
    start = DAY_NS + (day - 1) * 86_400 * 10**9
    values = np.arange(HOUR, dtype=np.int32) + 10_000 * day
    return mseedgen.segment_bytes(
        f"XX.STA.00.{channel}", start, values, 1.0, version=version
    )


def gap_day() -> bytes:
    """Twenty minutes, a ten-minute gap, then thirty minutes of samples."""
    first = mseedgen.segment_bytes(
        "XX.STA.00.LHZ", DAY_NS, np.arange(1200, dtype=np.int32), 1.0
    )
    second = mseedgen.segment_bytes(
        "XX.STA.00.LHZ", DAY_NS + 1800 * 10**9, np.arange(1800, dtype=np.int32), 1.0
    )
    return first + second


def bad_crc(data: bytes, record: int) -> bytes:
    """Flip a payload byte of one miniSEED 3 record, so its CRC fails."""
    sizes = [len(part) for part in mseedgen.records(data)]
    damaged = bytearray(data)
    damaged[sum(sizes[: record + 1]) - 8] ^= 0xFF
    return bytes(damaged)


def broken_header(data: bytes, record: int) -> bytes:
    """Overwrite the start of one record, so it is no record at all."""
    sizes = [len(part) for part in mseedgen.records(data)]
    start = sum(sizes[:record])
    return data[:start] + b"\x00" * 64 + data[start + 64 :]


def samples_in(data: bytes, record: int) -> int:
    """Count the samples of one record of ``data``."""
    import pymseed

    part = mseedgen.records(data)[record]
    return next(iter(pymseed.MS3Record.from_buffer(part))).samplecnt


WEEK = {
    # A gap of ten minutes: ok, and the gap shows in the counters.
    key(1): gap_day(),
    key(2): hour(2)[:-100],
    key(3): broken_header(hour(3), 2),
    key(4): bad_crc(hour(4, version=3), 1),
    key(5): b"",
    key(6): b"<html>503 Service Unavailable</html>" * 40,
    key(8): hour(8, channel="LHN"),
}
STATUS_OF_DAY = [
    "ok",
    "truncated",
    "damaged",
    "damaged",
    "unreadable",
    "unreadable",
    "missing",
    "no_matching_channel",
]


@pytest.fixture
def week(tmp_path: Path) -> Path:
    return mirror(tmp_path / "mirror", WEEK)


def read_week(root: Path, **request):
    parameters = dict(
        network="XX",
        station="STA",
        location="00",
        channel="LHZ",
        start="2024-01-01",
        end="2024-01-09",
        tier="open",
        sampling_rate=1,
        root=str(root),
        errors="ignore",
    )
    parameters.update(request)
    return open_waveforms(collection_spec("sage"), **parameters).load()


def day_row(dataset, day: int) -> np.ndarray:
    first = (day - 1) * 86_400
    return dataset.waveform.values[0, first : first + 86_400]


def test_week_statuses(week) -> None:
    dataset = read_week(week)

    assert list(dataset.status.values[0]) == STATUS_OF_DAY


def test_gap_day_counted(week) -> None:
    dataset = read_week(week)

    assert dataset.status.values[0, 0] == "ok"
    assert int(dataset.gap_count.values[0, 0]) == 2
    assert float(dataset.valid_fraction.values[0, 0]) == 3000 / 86_400


def test_bad_crc_keeps_other_records(week) -> None:
    data = hour(4, version=3)
    dataset = read_week(week)
    row = day_row(dataset, 4)

    kept = np.isfinite(row).sum()
    assert kept == HOUR - samples_in(data, 1)
    assert row[0] == 40_000
    assert row[HOUR - 1] == 40_000 + HOUR - 1


def test_broken_header_keeps_other_records(week) -> None:
    data = hour(3)
    dataset = read_week(week)
    row = day_row(dataset, 3)

    assert np.isfinite(row).sum() == HOUR - samples_in(data, 2)
    assert row[HOUR - 1] == 30_000 + HOUR - 1


def test_bad_crc_alone_is_unreadable(tmp_path) -> None:
    # A single record that fails its CRC leaves nothing to read.
    single = mseedgen.segment_bytes(
        "XX.STA.00.LHZ", DAY_NS, np.arange(100, dtype=np.int32), 1.0, version=3
    )
    root = mirror(tmp_path / "mirror", {key(1): bad_crc(single, 0)})

    with pytest.raises(DecodeError, match="CRC"):
        read_week(root, end="2024-01-02", errors="raise")
    dataset = read_week(root, end="2024-01-02")

    assert dataset.status.values[0, 0] == "unreadable"


def test_table_has_row_per_unit(week) -> None:
    table = outcome_table(read_week(week))

    assert len(table) == 8
    assert list(table["status"]) == STATUS_OF_DAY
    assert table["object_key"].iloc[0].endswith(key(1))
    assert table["object_key"].iloc[6].endswith(key(7))


def test_table_logs_one_summary(week, caplog) -> None:
    dataset = read_week(week)

    with caplog.at_level(logging.INFO, logger="intake_earthscope"):
        outcome_table(dataset)
    summaries = [r.getMessage() for r in caplog.records if "outcomes of" in r.msg]

    assert len(summaries) == 1
    assert "8 trace-object units of sage" in summaries[0]
    assert summaries[0].endswith(
        "1 ok, 1 truncated, 2 damaged, 1 no_matching_channel, 1 missing, 2 unreadable"
    )


def test_source_outcome_table(week) -> None:
    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    source = cat.sage.miniseed(
        network="XX",
        station="STA",
        location="00",
        channel="LHZ",
        start="2024-01-01",
        end="2024-01-09",
        tier="open",
        sampling_rate=1,
        errors="ignore",
        root=str(week),
    )

    source.read()
    table = source.outcome_table()

    assert list(table["status"]) == STATUS_OF_DAY


def test_count_statuses_order() -> None:
    counts = count_statuses(["missing", "ok", "odd", "ok"])

    assert list(counts) == ["ok", "missing", "odd"]
    assert counts["ok"] == 2
    assert set(STATUSES) >= {"ok", "missing"}


NAN = np.nan


@pytest.mark.parametrize(
    ("row", "runs"),
    [
        ([1.0, 2.0, 3.0, 4.0], 0),
        ([NAN, NAN, NAN, NAN], 1),
        ([NAN, 2.0, 3.0, 4.0], 1),
        ([1.0, 2.0, 3.0, NAN], 1),
        ([1.0, NAN, NAN, 4.0], 1),
        ([NAN, 2.0, NAN, 4.0, NAN], 3),
    ],
)
def test_gap_runs_counts(row: list[float], runs: int) -> None:
    """Leading, inner and trailing runs of missing samples count once each."""
    data = np.array([row, [0.0] * len(row)])

    assert _gap_runs(data).tolist() == [runs, 0]


def test_gap_runs_no_columns() -> None:
    assert _gap_runs(np.empty((2, 0))).tolist() == [0, 0]


def test_raise_names_policy_and_availability(week) -> None:
    """Day 7 has no object, and the error explains how to read the other days."""
    # Day 6 is not miniSEED, and a failed previous-day object would be named
    # in the error too, so neighbour_bytes=0 leaves it unread.
    with pytest.raises(ObjectNotFoundError) as caught:
        read_week(
            week,
            start="2024-01-07",
            end="2024-01-08",
            errors="raise",
            neighbour_bytes=0,
        )
    message = str(caught.value)

    assert "object not found" in message
    assert "pass errors='warn' or errors='ignore'" in message
    assert "intake-earthscope availability" in message


def test_gap_runs_skip_full_rows() -> None:
    """Only rows the block did not fill are scanned for missing samples."""
    data = np.array([[NAN, 1.0, NAN], [NAN, 1.0, NAN]])
    complete = np.array([True, False])

    assert _gap_runs(data, complete).tolist() == [0, 2]
