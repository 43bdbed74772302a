"""A first day read with its previous day's object, against the same day read
inside a request that starts a day earlier.

A request that starts on day 2 reads day 1's object only for the records
that run past midnight. The request that starts on day 1 decodes that
object whole, so its day 2 is the reference: the samples and the outcomes
of day 2 must not depend on where the request starts. Every object is real
miniSEED written with pymseed (tests/mseedgen.py) under a root= folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import obspy
import pytest
import xarray as xr
from test_cli_newcomer import closed_port_catalog

from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.cli import (
    BLANK_LOCATION_HELP,
    EXIT_PARTIAL,
    EXIT_PROBLEM,
    _command_line_spelling,
    _warnings_on_one_line,
    main,
)
from intake_earthscope.errors import InvalidRequestError, ReadOutcomeWarning
from intake_earthscope.interop import to_obspy
from intake_earthscope.recordindex import parse_records
from intake_earthscope.testing import isolated_aws_variables

import mseedgen
from conftest import OBSPY_MSEED_DATA, collection_spec, mirror

RATE = 20.0
STEP_NS = 50_000_000
DAY_1 = "2024-01-01T00:00:00Z"
DAY_2 = "2024-01-02T00:00:00Z"
END = "2024-01-02T00:02:00Z"
OUTCOMES = [
    "status",
    "valid_fraction",
    "gap_count",
    "overlap_count",
    "conflict_count",
    "time_offset",
    "max_shift",
    "header_rate",
]
# Day 1 runs 30 seconds past midnight; day 2's own records start there.
CROSSING_SAMPLES = 600


def key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def ramp(count: int, first: int = 0) -> np.ndarray:
    return ((np.arange(count) + first) % 100_000).astype(np.int32)


def own_day() -> bytes:
    """Day 2's own object: records from 00:00:30 on, continuing day 1's ramp."""
    return mseedgen.segment_bytes(
        "XX.STA.00.BHZ", "2024-01-02T00:00:30Z", ramp(2_000, CROSSING_SAMPLES), RATE
    )


def read(root: Path, start: str, **options: Any) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return open_waveforms(
            collection_spec("sage"),
            network="XX",
            station="STA",
            location="00",
            channel="BHZ",
            start=start,
            end=END,
            root=str(root),
            **options,
        ).load()


def assert_same_day_2(root: Path, **options: Any) -> None:
    """Check that day 2 reads the same from a request starting on day 2 and
    from one starting on day 1."""
    alone = read(root, DAY_2, **options)
    within = read(root, DAY_1, **options)

    np.testing.assert_array_equal(
        alone.waveform.values,
        within.waveform.sel(time=slice(DAY_2, None)).values,
    )
    for name in OUTCOMES:
        np.testing.assert_array_equal(
            alone[name].isel(day=0).values,
            within[name].isel(day=1).values,
            err_msg=name,
        )


def crossing_record_start(data: bytes) -> int:
    """Return the start time of the first record of ``data`` that reaches
    day 2's grid start."""
    table = parse_records(data, synced=True)
    midnight = mseedgen.nstime(DAY_2)
    return int(table.starts[np.flatnonzero(table.ends >= midnight - STEP_NS)[0]])


def test_overlap_keeps_earlier_segment(tmp_path: Path) -> None:
    """A second copy of the last minutes, with other values, starts 20
    samples before the record of day 1's segment that crosses midnight. The
    segment starts first, so its samples win, however the request starts."""
    count = 86_400 * 20 + CROSSING_SAMPLES
    day_1 = mseedgen.segment_bytes("XX.STA.00.BHZ", DAY_1, ramp(count), RATE)
    copy_start = crossing_record_start(day_1) - 20 * STEP_NS
    first = (copy_start - mseedgen.nstime(DAY_1)) // STEP_NS
    copy = mseedgen.segment_bytes(
        "XX.STA.00.BHZ", copy_start, ramp(2_000, first) + 7, RATE
    )
    root = mirror(tmp_path, {key(1): day_1 + copy, key(2): own_day()})

    alone = read(root, DAY_2)

    np.testing.assert_array_equal(
        alone.waveform.values[0, :CROSSING_SAMPLES],
        ramp(CROSSING_SAMPLES, 86_400 * 20).astype(float),
    )
    assert_same_day_2(root)


def half_step_day() -> bytes:
    """Day 1 with every sample halfway between two grid indices.

    The first sample is 57.5 steps after midnight, and each record has 113
    samples (miniSEED 3, int32, 512 bytes), so the record that crosses into
    day 2 starts 59.5 steps before it. Rounding half to even anchors that
    record alone at index -60 of day 2's grid. The day's segment is anchored
    at its first sample, at -1727942.5 rounded up, which puts the record at
    -59.
    """
    start = mseedgen.nstime(DAY_1) + 57 * STEP_NS + STEP_NS // 2
    count = 86_400 * 20 + CROSSING_SAMPLES
    return mseedgen.segment_bytes(
        "XX.STA.00.BHZ", start, ramp(count), RATE, encoding="int32", version=3
    )


def test_half_step_samples_same_index(tmp_path: Path) -> None:
    root = mirror(tmp_path, {key(1): half_step_day(), key(2): own_day()})

    assert_same_day_2(root)


def test_half_step_tail_read_same(tmp_path: Path) -> None:
    """The tail read anchors its records where the whole day's segment
    anchors them."""
    root = mirror(tmp_path, {key(1): half_step_day(), key(2): own_day()})

    assert_same_day_2(root, neighbour_bytes=20_000)


def joined_rates_day(first_rate: float, crossing_rate: float) -> bytes:
    """Day 1 as two contiguous halves at two header rates, which libmseed
    joins into one segment at the first half's rate (miniSEED 3, which
    stores the rate as float64)."""
    half = 43_200 * 20
    count = 86_400 * 20 + CROSSING_SAMPLES
    first = mseedgen.segment_bytes(
        "XX.STA.00.BHZ", DAY_1, ramp(half), first_rate, version=3
    )
    second_start = mseedgen.nstime(DAY_1) + round(half / first_rate * 1e9)
    second = mseedgen.segment_bytes(
        "XX.STA.00.BHZ",
        second_start,
        ramp(count - half, half),
        crossing_rate,
        version=3,
    )
    return first + second


@pytest.mark.parametrize(
    ("first_rate", "crossing_rate", "tolerance"),
    [
        (20.0, 20.00005, 1e-6),
        (19.9999, 20.0, 1e-4),
        (20.0019, 20.0038, 1e-4),
    ],
)
def test_joined_rates_same_day_2(
    tmp_path: Path, first_rate: float, crossing_rate: float, tolerance: float
) -> None:
    """The crossing records are placed at their segment's rate, the rate of
    its first record, which lies before midnight."""
    day_1 = joined_rates_day(first_rate, crossing_rate)
    root = mirror(tmp_path, {key(1): day_1, key(2): own_day()})

    assert_same_day_2(root, rate_tolerance=tolerance)


# Event windows converted to obspy Streams


WINDOW_KEY = "miniseed/XX/2006/002/STA.XX.2006.002"
WINDOW_TIMES = ["2006-01-02T06:00:00", "2006-01-02T12:00:05"]


def window_dataset(tmp_path: Path) -> xr.Dataset:
    """Windows of 30 seconds of BHZ at 40 Hz, recorded 12 ms after the grid."""
    start = mseedgen.nstime("2006-01-02T00:00:00.012Z")
    values = (np.arange(86_000 * 40) % 5_000).astype(np.int32)
    data = mseedgen.segment_bytes("XX.STA..BHZ", start, values, 40.0)
    root = mirror(tmp_path, {WINDOW_KEY: data})
    return open_windows(
        collection_spec("sage"),
        WINDOW_TIMES,
        10.0,
        20.0,
        network="XX",
        station="STA",
        location="",
        channel="BHZ",
        root=str(root),
    )


def test_strided_lags_keep_times(tmp_path: Path) -> None:
    """Every second lag of a window is a 20 Hz Trace that still ends 20
    seconds after the reference time, from the dataset as from its waveform."""
    strided = window_dataset(tmp_path).isel(lag=slice(None, None, 2))

    from_dataset = to_obspy(strided)
    from_waveform = to_obspy(strided.waveform)

    last = obspy.UTCDateTime(WINDOW_TIMES[0]) + 19.95
    assert [trace.stats.sampling_rate for trace in from_dataset] == [20.0, 20.0]
    assert from_dataset[0].stats.endtime == last
    assert from_waveform[0].stats.endtime == last
    np.testing.assert_array_equal(from_dataset[0].data, from_waveform[0].data)


@pytest.mark.parametrize(
    "lags",
    [slice(None, None, -1), [0, 1, 2, 400, 401]],
    ids=["reversed", "holes"],
)
def test_uneven_lags_rejected(tmp_path: Path, lags: slice | list[int]) -> None:
    selection = window_dataset(tmp_path).isel(lag=lags)

    with pytest.raises(InvalidRequestError) as raised:
        to_obspy(selection)

    assert "'lag' labels are not evenly spaced" in str(raised.value)


def test_uneven_times_rejected(tmp_path: Path) -> None:
    start = mseedgen.nstime("2006-01-02T00:00:00Z")
    values = (np.arange(86_000 * 40) % 5_000).astype(np.int32)
    root = mirror(
        tmp_path,
        {WINDOW_KEY: mseedgen.segment_bytes("XX.STA..BHZ", start, values, 40.0)},
    )
    dataset = open_waveforms(
        collection_spec("sage"),
        network="XX",
        station="STA",
        location="",
        channel="BHZ",
        start="2006-01-02T06:00:00",
        end="2006-01-02T06:00:30",
        root=str(root),
    )

    with pytest.raises(InvalidRequestError) as raised:
        to_obspy(dataset.isel(time=[0, 1, 2, 400, 401]))

    assert "'time' labels are not evenly spaced" in str(raised.value)


# Request parameters spelled as command-line options


BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
BALST_KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
# Two days, of which the mirror contains the first only.
BALST_REQUEST = [
    "--network", "CH", "--station", "BALST", "--location=--", "--channel", "LH?",
    "--start", "2025-11-10", "--end", "2025-11-12",
]  # fmt: skip


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_url_query_not_respelled(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The station query's URL names start= and end= as FDSN parameters."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    catalog = closed_port_catalog(tmp_path)

    code, err = run_cli(
        capsys, "search", "sage.stations", "--network", "CH", "--station", "BALST",
        "--catalog", str(catalog),
    )  # fmt: skip

    assert code == EXIT_PROBLEM
    assert "&start=1900-01-01T00:00:00.000000&end=2200-01-01" in err
    assert "--start" not in err
    assert "--end" not in err


def test_path_in_warning_not_respelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mirror in a folder named like a request parameter (a Hive-style
    partition) keeps its path in the warning about the missing day."""
    root = tmp_path / "network=CH"
    (root / BALST_KEY).parent.mkdir(parents=True)
    shutil.copy(BALST, root / BALST_KEY)

    code, err = run_cli(
        capsys, "export", "sage.miniseed", *BALST_REQUEST, "--root", str(root),
        "-p", "errors=warn", str(tmp_path / "out.nc"),
    )  # fmt: skip

    assert code == EXIT_PARTIAL
    assert f"warning: object not found: file://{root}/miniseed/CH/2025/315/" in err
    assert "--network CH" not in err


@pytest.mark.parametrize(
    ("message", "spelled"),
    [
        (BLANK_LOCATION_HELP, BLANK_LOCATION_HELP),
        ("key 'range-end=5' is missing", "key 'range-end=5' is missing"),
        (
            "the inventory lacks the channel network='CH' location='' channel='LHZ'",
            "the inventory lacks the channel --network CH --location=-- --channel LHZ",
        ),
        ("pass channel='BH?,LH?'", "pass --channel 'BH?,LH?'"),
        ("invalid root='/data/my mirror'", "invalid --root '/data/my mirror'"),
        ("pass errors='warn'", "pass -p errors=warn"),
        ("pass root= with a mirror", "pass --root with a mirror"),
        ("(tier='restricted')", "(-p tier=restricted)"),
    ],
)
def test_command_line_spelling(message: str, spelled: str) -> None:
    assert _command_line_spelling(message) == spelled


def test_warnings_keep_library_filters(capsys: pytest.CaptureFixture[str]) -> None:
    """Python ignores a library's DeprecationWarning by default; the command
    line shows the package's own warnings, not those."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("ignore", DeprecationWarning)
        with _warnings_on_one_line():
            warnings.warn("old API", DeprecationWarning, stacklevel=1)
            warnings.warn("day 2 missing", ReadOutcomeWarning, stacklevel=1)

    err = capsys.readouterr().err
    assert "old API" not in err
    assert "warning: day 2 missing" in err


def test_warnings_as_errors_one_line(tmp_path: Path) -> None:
    """PYTHONWARNINGS=error makes the missing day's warning an error, which
    the command line reports on one line, as its other errors."""
    root = tmp_path / "mirror"
    (root / BALST_KEY).parent.mkdir(parents=True)
    shutil.copy(BALST, root / BALST_KEY)
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AWS_") and name != "PYTHONWARNINGS"
    }
    environment.update(isolated_aws_variables(tmp_path))
    environment["PYTHONWARNINGS"] = "error::UserWarning"

    completed = subprocess.run(
        [
            sys.executable, "-m", "intake_earthscope.cli", "export", "sage.miniseed",
            *BALST_REQUEST, "--root", str(root), "-p", "errors=warn",
            str(tmp_path / "out.nc"),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )  # fmt: skip

    assert completed.returncode == EXIT_PROBLEM
    assert "Traceback" not in completed.stderr
    lines = [line for line in completed.stderr.splitlines() if "object not" in line]
    assert lines == [
        f"intake-earthscope: object not found: file://{root}/miniseed/CH/2025/315/"
        f"BALST.CH.2025.315 (mirror {root}); its traces have status 'missing' and "
        "NaN where no other object had samples"
    ]


# Records that event windows leave out for their rate


DAY_1_KEY = "miniseed/XX/2006/001/STA.XX.2006.001"
DAY_2_KEY = "miniseed/XX/2006/002/STA.XX.2006.002"


def test_left_out_names_holding_object(tmp_path: Path) -> None:
    """Day 1's last record of BHZ, at 2 Hz, crosses midnight into a window
    at 00:00:05; day 2's object contains BHZ at 1 Hz only. The warning names
    day 1's object, not day 2's."""
    day_1 = mseedgen.join(
        mseedgen.segment_bytes(
            "XX.STA..BHZ", "2006-01-01T00:00:00Z", ramp(86_380), 1.0
        ),
        mseedgen.segment_bytes("XX.STA..BHZ", "2006-01-01T23:59:40Z", ramp(100), 2.0),
    )
    day_2 = mseedgen.segment_bytes(
        "XX.STA..BHZ", "2006-01-02T00:00:10Z", ramp(86_000), 1.0
    )
    root = mirror(tmp_path, {DAY_1_KEY: day_1, DAY_2_KEY: day_2})

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = open_windows(
            collection_spec("sage"),
            ["2006-01-02T00:00:05"],
            10.0,
            10.0,
            network="XX",
            station="STA",
            location="",
            channel="BHZ",
            sampling_rate=1.0,
            errors="warn",
            root=str(root),
        ).load()

    texts = [str(item.message) for item in caught]
    assert dataset.status.values.tolist() == [["rate_mismatch"]]
    assert len(texts) == 1
    assert texts[0].startswith(f"file://{root}/{DAY_1_KEY}: records of XX.STA..BHZ")
    assert DAY_2_KEY not in texts[0]
