"""The plan's message for a sampling rate that no channel has echoes the rate
as given: ``40`` reads 40 and ``0.1`` reads 0.1, not 40.0.

The mirror is a local folder with one real BALST day, whose LHE and LHZ
channels are sampled at 1 Hz.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_USAGE, main
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import InvalidRequestError

from conftest import OBSPY_MSEED_DATA, collection_spec

KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
REQUEST = {
    "network": "CH",
    "station": "BALST",
    "location": "",
    "channel": "LH?",
    "start": "2025-11-10",
    "end": "2025-11-11",
}


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    (tmp_path / KEY).parent.mkdir(parents=True)
    shutil.copy(OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels", tmp_path / KEY)
    return tmp_path


@pytest.mark.parametrize(
    ("rate", "shown"), [(40, "40"), (40.0, "40"), (0.1, "0.1"), (2.5, "2.5")]
)
def test_python_rate_echoed_as_given(mirror: Path, rate: float, shown: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        open_waveforms(
            collection_spec("sage"), **REQUEST, sampling_rate=rate, root=str(mirror)
        )

    message = str(raised.value)
    assert f"no channel of the request is sampled at {shown} Hz" in message
    assert f"(sampling_rate={shown})" in message
    assert "sampling_rate=1 " in message or message.endswith("sampling_rate=1")


def test_cli_rate_echoed_as_typed(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "export", "sage.miniseed", "--network", "CH", "--station", "BALST",
            "--location=--", "--channel", "LH?", "--start", "2025-11-10",
            "--end", "2025-11-11", "-p", "sampling_rate=40", "--root",
            str(mirror), "--no-progress", str(tmp_path / "out.nc"),
        ]
    )  # fmt: skip
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert "sampled at 40 Hz (-p sampling_rate=40)" in err
    assert "40.0" not in err
