"""RINEX files with repeated epoch times, code changes or no code list.

Repeated times and code changes are valid RINEX. The dataset keeps every
value of a repeated epoch time, where a blank field of a later record must
not erase an earlier value, and every code that the header or an event
declares. A header without a code list cannot be read, so its day is
unreadable, and one without the code list of a system in the body makes
the day damaged.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from intake_earthscope.errors import DecodeError, ReadOutcomeWarning
from intake_earthscope.gnss.rinex import parse
from intake_earthscope.gnss.rinex_dataset import clear_rinex_cache, open_rinex_obs
from intake_earthscope.gnss.rinexgen import rinex2_text, rinex3_text

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"
PRODUCT = yaml.safe_load((CATALOGS / "noaa_cors.yaml").read_text())["sources"][
    "rinex_obs"
]["args"]["product"]
DAY = dt.datetime(2024, 3, 1)
FIRST_NS = int(np.datetime64(DAY, "ns").astype(np.int64))


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_rinex_cache()
    yield
    clear_rinex_cache()


def write_day(root: Path, text: bytes) -> Path:
    path = root / "rinex/2024/061/synt/synt0610.24d.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(text))
    return root


def open_day(root: Path, text: bytes, indicators: bool = False) -> xr.Dataset:
    write_day(root, text)
    return open_rinex_obs(
        PRODUCT,
        "SYNT",
        "2024-03-01",
        "2024-03-02",
        root=str(root),
        indicators=indicators,
    )


def split_epoch_text() -> bytes:
    """Return RINEX 3 text whose first epoch time has two records."""
    header = rinex3_text(
        "SYNT",
        np.array([FIRST_NS]),
        ["G01"],
        {"C1C": np.array([[1.0]])},
        {"G": ["C1C"], "R": ["C1C"]},
    ).decode()
    text = header.split("> ")[0]
    text += "> 2024 03 01 00 00  0.0000000  0  1\nG01  20000000.123 5\n"
    text += "> 2024 03 01 00 00  0.0000000  0  1\nR05  21000000.456 7\n"
    text += "> 2024 03 01 00 00 30.0000000  0  2\n"
    text += "G01  20000001.123\nR05  21000001.456\n"
    return text.encode()


def event_text() -> bytes:
    """Return RINEX 2 text whose flag-4 event drops S1 after the first epoch."""
    values = {
        "C1": np.array([[20000000.123]]),
        "L1": np.array([[100000000.5]]),
        "S1": np.array([[45.0]]),
    }
    text = rinex2_text("SYNT", np.array([FIRST_NS]), ["G01"], values).decode()
    text += " 24  3  1  0  0 15.0000000  4  1\n"
    text += f"{'     2    C1    L1':<60}# / TYPES OF OBSERV\n"
    text += " 24  3  1  0  0 30.0000000  0  1G01\n"
    text += "  20000001.123    100000001.500\n"
    return text.encode()


def test_split_epoch_keeps_both_records(tmp_path: Path) -> None:
    obs = open_day(tmp_path, split_epoch_text()).compute()
    first = obs.C1C.isel(time=0)
    assert obs.sizes["time"] == 2
    assert float(first.sel(sv="G01")) == 20000000.123
    assert float(first.sel(sv="R05")) == 21000000.456
    assert obs.status.values.tolist() == ["ok"]


def test_split_epoch_keeps_indicators(tmp_path: Path) -> None:
    obs = open_day(tmp_path, split_epoch_text(), indicators=True).compute()
    first = obs.C1C_ssi.isel(time=0)
    assert int(first.sel(sv="G01")) == 5
    assert int(first.sel(sv="R05")) == 7


def test_repeated_epoch_later_value_wins(tmp_path: Path) -> None:
    text = split_epoch_text().decode()
    text += "> 2024 03 01 00 00 30.0000000  0  1\nG01  20000009.999\n"
    obs = open_day(tmp_path, text.encode()).compute()
    second = obs.C1C.isel(time=1)
    assert float(second.sel(sv="G01")) == 20000009.999
    assert float(second.sel(sv="R05")) == 21000001.456


def test_event_codes_in_parse_result() -> None:
    found = parse(event_text(), values=False)
    assert found.header.codes["*"] == ["C1", "L1"]
    assert found.codes == ("C1", "L1", "S1")


def test_event_dropped_code_stays(tmp_path: Path) -> None:
    obs = open_day(tmp_path, event_text()).compute()
    assert "S1" in obs.data_vars
    assert obs.S1.values[:, 0].tolist()[0] == 45.0
    assert np.isnan(obs.S1.values[1, 0])
    assert obs.C1.values[:, 0].tolist() == [20000000.123, 20000001.123]


@pytest.mark.parametrize(
    ("text", "label"),
    [(event_text(), "# / TYPES OF OBSERV"), (split_epoch_text(), "OBS TYPES")],
    ids=["rinex2", "rinex3"],
)
def test_header_without_codes_rejected(text: bytes, label: str) -> None:
    lines = [line for line in text.splitlines() if label.encode() not in line]
    with pytest.raises(DecodeError, match="no .* line before END OF HEADER"):
        parse(b"\n".join(lines) + b"\n")


def test_header_without_codes_unreadable(tmp_path: Path) -> None:
    lines = [line for line in event_text().splitlines() if b"TYPES" not in line]
    with pytest.warns(ReadOutcomeWarning, match="no '# / TYPES OF OBSERV' line"):
        obs = open_rinex_obs(
            PRODUCT,
            "SYNT",
            "2024-03-01",
            "2024-03-02",
            root=str(write_day(tmp_path, b"\n".join(lines) + b"\n")),
            errors="warn",
        )
    assert obs.status.values.tolist() == ["unreadable"]
    assert obs.epochs.values.tolist() == [0]


def test_undeclared_system_damaged(tmp_path: Path) -> None:
    lines = [
        line
        for line in split_epoch_text().splitlines()
        if not (line.startswith(b"R  ") and b"OBS TYPES" in line)
    ]
    with pytest.warns(ReadOutcomeWarning, match="for the systems 'R'"):
        obs = open_rinex_obs(
            PRODUCT,
            "SYNT",
            "2024-03-01",
            "2024-03-02",
            root=str(write_day(tmp_path, b"\n".join(lines) + b"\n")),
            errors="warn",
        )
    assert obs.status.values.tolist() == ["damaged"]
    assert obs.epochs.values.tolist() == [2]
    assert float(obs.C1C.sel(sv="G01").isel(time=0)) == 20000000.123
