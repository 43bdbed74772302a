"""GAGE position CSV files whose column header differs from the usual one.

The position columns are found by name. A file without one of them, or
with a unit other than the millimetres the format uses, must not load as
NaN or as values off by a factor of 1000 under status ok.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from intake_earthscope.errors import DecodeError
from intake_earthscope.gnss.positions import parse_csv

COLUMNS = "Date, North (mm), East (mm), Vertical (mm)"
SIGMAS = (
    "North Std. Deviation (mm), East Std. Deviation (mm), Vertical Std. Deviation (mm)"
)


@pytest.fixture
def p816(shared_data: Path) -> str:
    return (shared_data / "gnss_pos" / "P816.pbo.nam08.csv").read_text()


def test_renamed_column_rejected(p816: str) -> None:
    text = p816.replace("Vertical (mm)", "Up (mm)")
    with pytest.raises(DecodeError, match="no 'Vertical' column"):
        parse_csv(text, "P816.csv")


def test_missing_sigma_column_rejected(p816: str) -> None:
    text = p816.replace("North Std. Deviation (mm)", "N sigma (mm)")
    with pytest.raises(DecodeError, match="no 'North Std' column"):
        parse_csv(text, "P816.csv")


def test_metre_columns_not_divided(p816: str) -> None:
    in_mm = parse_csv(p816, "P816.csv")
    metres = p816.replace(COLUMNS, COLUMNS.replace("(mm)", "(m)"))
    metres = metres.replace(SIGMAS, SIGMAS.replace("(mm)", "(m)"))
    in_m = parse_csv(metres, "P816.csv")
    # The same numbers read as metres are 1000 times the millimetre values,
    # apart from the header's offset of 4.60 mm North, which stays in mm.
    north = in_m.values["north"] - 0.0046
    expected = (in_mm.values["north"] - 0.0046) * 1000
    np.testing.assert_allclose(north, expected, atol=1e-9)
    np.testing.assert_allclose(
        in_m.values["sigma_up"], in_mm.values["sigma_up"] * 1000, rtol=1e-12
    )


def test_unknown_unit_rejected(p816: str) -> None:
    text = p816.replace("East (mm)", "East (cm)")
    with pytest.raises(DecodeError, match="invalid unit 'cm' of column 'East"):
        parse_csv(text, "P816.csv")
