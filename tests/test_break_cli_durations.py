"""Durations too large for nanosecond times, given as --end or as a window
offset: the command line and the Python calls reject them with a message
instead of an OverflowError.

The mirror contains real miniSEED written by tests/mseedgen.py: station XX.STA
with LHZ at 1 Hz from 00:00 to 01:00 on 2024-01-01.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from intake_earthscope import windows
from intake_earthscope.cli import EXIT_USAGE, main
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.request import WaveformRequest

import mseedgen
from conftest import mirror

KEY = "miniseed/XX/2024/001/STA.XX.2024.001"
REQUEST = ["sage.miniseed", "--network", "XX", "--station", "STA"]
REQUEST += ["--location", "00", "--channel", "LHZ"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    station_day = mseedgen.station_day(
        channels={"LHZ": 1.0},
        seconds=3600.0,
        station="XX.STA.00",
        start="2024-01-01T00:00:00Z",
    )
    return mirror(tmp_path / "mirror", {KEY: station_day.data})


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_end_duration_past_2262_rejected() -> None:
    # 100000 days after 2024 is past the last nanosecond time, so no end
    # can be suggested.
    with pytest.raises(InvalidRequestError) as caught:
        WaveformRequest.build(
            network="XX", station="STA", start="2024-01-01", end="100000 days"
        )

    message = str(caught.value)
    assert "end is a time, not a duration" in message
    assert "end='" not in message.partition("duration")[2]


def test_cli_end_duration_past_2262(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(
        capsys, "export", *REQUEST, "--start", "2024-01-01",
        "--end", "100000 days", "--root", str(root), str(tmp_path / "out.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "invalid --end '100000 days': end is a time, not a duration" in err


def test_window_offset_beyond_int64_rejected() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        windows.window_offsets(1e300, 1.0)

    assert "before=1e+300" in str(caught.value)
    assert "longer than one day" in str(caught.value)


def test_window_offset_over_day_names_sum() -> None:
    """One offset past a day names the limit on before plus after."""
    with pytest.raises(InvalidRequestError) as caught:
        windows.window_offsets(0, 172800)

    assert "the most that before plus after may span" in str(caught.value)


def test_cli_before_beyond_int64(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(
        capsys, "export", *REQUEST, "--time", "2024-01-01T00:10",
        "--before", "1e300", "--after", "1", "--root", str(root),
        str(tmp_path / "out.nc"),
    )  # fmt: skip

    assert code == EXIT_USAGE
    assert "--before 1e300 plus --after 1 is 1e+300 s, longer than one day" in err


def test_unreadable_offset_names_duration_text() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        windows.window_offsets("1 fortnight", 1.0)

    assert "duration text with a unit, such as '30s' or '2min'" in str(caught.value)


def test_missing_time_in_list_names_entries() -> None:
    times = pd.Series(pd.to_datetime(["2024-01-01T00:00:00", None]))

    with pytest.raises(InvalidRequestError) as caught:
        windows.window_times(times)

    assert "invalid times[1]: not a time (NaT); drop the entries" in str(caught.value)
