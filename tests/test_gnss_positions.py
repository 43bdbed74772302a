"""Daily GNSS position time series: parsers, lazy dataset, outcomes, catalog.

The real files are PBO ``.pos`` (1.1.0 and 1.0.2), GAGE CSV and NGL tenv3
files from the shared data folder. The loopback HTTP server replaces
the GAGE file server: it serves them in the archive's layout and checks the
bearer token. The S3 mirror is the session's moto server.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from intake_earthscope.errors import (
    DecodeError,
    InvalidRequestError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
)
from intake_earthscope.export import export_dataset
from intake_earthscope.gnss.archive import clear_web_listing_cache
from intake_earthscope.gnss.position_dataset import (
    open_gage_positions,
    open_positions,
    position_outcome_table,
)
from intake_earthscope.gnss.positions import (
    detect_format,
    header_span,
    parse_positions,
    wrap_longitude,
)
from intake_earthscope.testing import create_bucket, put_public_object

from conftest import CATALOGS
from loopback_http import LoopbackHttp, Reply, fake_jwt

PRODUCT = yaml.safe_load((CATALOGS / "gage.yaml").read_text())["sources"]["positions"][
    "args"
]["product"]

# Real files and the GAGE path each one is served under.
ARCHIVE_FILES = {
    "P156": "gnss_pos/P156.pbo.final_igs08.pos",
    "CAND": "gnss_pos/CAND.sio.noamf_frame.pos",
}
NOON = np.timedelta64(12, "h")


def day(text: str) -> np.datetime64:
    return np.datetime64(text, "ns") + NOON


def gage_path(station: str, suffix: str = "cwu.final_nam14.pos") -> str:
    return f"products/position/{station}/{station}.{suffix}"


def parse_shared(shared_data: Path, name: str):
    path = shared_data / name
    return parse_positions(path.read_bytes(), str(path))


def build_mirror(root: Path, shared_data: Path) -> str:
    for station, name in ARCHIVE_FILES.items():
        target = root / gage_path(station)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((shared_data / name).read_bytes())
    return str(root)


# --- parsers on the real files ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "station", "kind", "rows", "first", "last"),
    [
        (
            "gnss_pos/P156.pbo.final_igs08.pos",
            "P156",
            "pos",
            3196,
            "2006-06-08",
            "2015-03-14",
        ),
        (
            "gnss_pos/CAND.sio.noamf_frame.pos",
            "CAND",
            "pos",
            3344,
            "1999-08-21",
            "2009-01-10",
        ),
        (
            "gnss_pos/P403.pbo.nam08.csv",
            "P403",
            "csv",
            3928,
            "2005-09-13",
            "2017-02-14",
        ),
        (
            "gnss_pos/P816.pbo.nam08.csv",
            "P816",
            "csv",
            1115,
            "2013-09-06",
            "2017-02-14",
        ),
        (
            "gnss_pos/P439.pbo.igs14.csv",
            "P439",
            "csv",
            4736,
            "2005-09-28",
            "2018-09-15",
        ),
        ("gnss_tenv3/LHAS.tenv3", "LHAS", "tenv3", 3631, "1995-05-19", "2007-01-29"),
        ("gnss_tenv3/P029.NA.tenv3", "P029", "tenv3", 5856, "2007-05-05", "2023-09-09"),
        ("gnss_tenv3/TC01.NA.tenv3", "TC01", "tenv3", 1184, "2017-09-05", "2021-12-11"),
    ],
)
def test_parse_real_file_shape(
    shared_data: Path,
    name: str,
    station: str,
    kind: str,
    rows: int,
    first: str,
    last: str,
) -> None:
    series = parse_shared(shared_data, name)

    assert series.station == station
    assert series.format == kind
    assert len(series) == rows
    assert series.time[0] == day(first)
    assert series.time[-1] == day(last)
    assert not series.truncated
    assert np.isfinite(series.values["north"]).all()


def test_parse_pos_first_row(shared_data: Path) -> None:
    series = parse_shared(shared_data, ARCHIVE_FILES["P156"])
    values = {key: array[0] for key, array in series.values.items()}

    assert values["north"] == -0.12280
    assert values["east"] == 0.06265
    assert values["up"] == 0.00276
    assert values["sigma_north"] == 0.00312
    assert values["sigma_up"] == 0.01122
    assert values["corr_north_east"] == -0.159
    assert values["corr_north_up"] == -0.205
    assert values["corr_east_up"] == 0.127
    assert series.values["north"][-1] == -0.01288


def test_parse_pos_reference(shared_data: Path) -> None:
    reference = parse_shared(shared_data, ARCHIVE_FILES["P156"]).reference

    assert reference.latitude == 40.0244429509
    assert reference.longitude == pytest.approx(236.0938828649 - 360, abs=1e-10)
    assert reference.height == 488.99986
    assert reference.x == -2728552.76567
    assert reference.z == 4080378.74254
    assert reference.frame == "ITRF08"


def test_parse_pos_old_layout(shared_data: Path) -> None:
    series = parse_shared(shared_data, ARCHIVE_FILES["CAND"])

    assert series.values["north"][0] == -0.04392
    assert series.values["up"][-1] == -0.00390
    assert (series.values["corr_north_east"] == 0).all()
    assert series.reference.longitude == pytest.approx(-120.4336953318, abs=1e-10)
    assert series.reference.frame == "ITRF2005"


def test_parse_csv_adds_offset(shared_data: Path) -> None:
    series = parse_shared(shared_data, "gnss_pos/P403.pbo.nam08.csv")

    # Row 2 reads 7.43 mm north, 8.65 mm east, 2.37 mm up; the header's
    # offset is 48.54 mm north, 60.55 mm east, -5.06 mm vertical.
    assert series.values["north"][1] == pytest.approx(0.05597, abs=1e-12)
    assert series.values["east"][1] == pytest.approx(0.06920, abs=1e-12)
    assert series.values["up"][1] == pytest.approx(-0.00269, abs=1e-12)
    assert series.values["sigma_north"][0] == pytest.approx(0.00471, abs=1e-12)
    assert series.values["sigma_up"][0] == pytest.approx(0.0132, abs=1e-12)
    assert np.isnan(series.values["corr_north_east"]).all()


def test_parse_csv_reference(shared_data: Path) -> None:
    reference = parse_shared(shared_data, "gnss_pos/P439.pbo.igs14.csv").reference

    assert reference.latitude == 48.7081927394
    assert reference.longitude == -122.909303325
    assert reference.height == -13.85699
    assert np.isnan(reference.x)
    assert reference.frame == "IGS14"


def test_parse_tenv3_joins_parts(shared_data: Path) -> None:
    series = parse_shared(shared_data, "gnss_tenv3/LHAS.tenv3")

    # Rows 1 and 2: east 385 + 0.888603 then 385 + 0.913134, and so on.
    assert series.values["east"][0] == 0.0
    assert series.values["east"][1] == pytest.approx(0.024531, abs=1e-9)
    assert series.values["north"][1] == pytest.approx(-0.005243, abs=1e-9)
    assert series.values["up"][1] == pytest.approx(0.013874, abs=1e-9)
    assert series.values["sigma_east"][0] == 0.002231
    assert series.values["corr_north_east"][0] == -0.009728
    assert series.values["corr_north_up"][0] == -0.198749
    assert series.values["corr_east_up"][0] == -0.044382


def test_parse_tenv3_wraps_longitude(shared_data: Path) -> None:
    reference = parse_shared(shared_data, "gnss_tenv3/LHAS.tenv3").reference

    assert reference.longitude == pytest.approx(91.1039857924, abs=1e-9)
    assert reference.latitude == 29.6573392384
    assert reference.height == 3624.70788


def test_wrap_longitude_range() -> None:
    wrapped = wrap_longitude(np.array([-268.896, 236.09, 180.0, -180.0, 0.0]))

    assert wrapped == pytest.approx([91.104, -123.91, -180.0, -180.0, 0.0])


# --- parsers on synthetic edge cases ------------------------------------------

POS_COLUMNS_LINE = (
    "*YYYYMMDD HHMMSS JJJJJ.JJJJ X Y Z Sx Sy Sz Rxy Rxz Ryz NLat Elong Height "
    "dN dE dU Sn Se Su Rne Rnu Reu Soln\n"
)
POS_HEADER = (
    """PBO Station Position Time Series. Reference Frame : NAM14
Format Version: 1.1.0
4-character ID: TEST
Station name  : Synthetic
First Epoch   : 20200101 120000
Last Epoch    : 20200103 120000
Release Date  : 20200104 000000
XYZ Reference position :  -2728552.76567 -4059578.57836  4080378.74254 (NAM14)
NEU Reference position :    40.0000000000  236.0000000000  100.00000 (NAM14/WGS84)
"""
    + POS_COLUMNS_LINE
)


def pos_row(date: str, mjd: float, north: float, correlation: str = "0.100") -> str:
    return (
        f" {date} 120000 {mjd:.4f} -2728552.7 -4059578.6 4080378.7 0.005 0.008 "
        f"0.007 0.8 -0.8 -0.8 40.0 236.0 100.0 {north:.5f} 0.00200 0.00300 "
        f"0.00100 0.00200 0.00300 {correlation} {correlation} {correlation} final\n"
    )


def test_parse_empty_file_fails() -> None:
    with pytest.raises(DecodeError, match="not a GNSS position time series"):
        parse_positions(b"", "empty.pos")


def test_parse_wrong_format_fails() -> None:
    with pytest.raises(DecodeError, match="miniSEED"):
        parse_positions(b"miniSEED is not a position file\n1 2 3\n", "x.pos")


def test_parse_header_only_has_no_rows() -> None:
    series = parse_positions(POS_HEADER)

    assert len(series) == 0
    assert series.span == (day("2020-01-01"), day("2020-01-03"))


def test_parse_cut_header_fails() -> None:
    with pytest.raises(DecodeError, match="NEU Reference position"):
        parse_positions(POS_HEADER[:300])


def test_parse_truncated_last_row() -> None:
    text = (
        POS_HEADER
        + pos_row("20200101", 58849.5, 0.001)
        + pos_row("20200102", 58850.5, 0.002)
    )
    cut = text[:-60]

    series = parse_positions(cut)

    assert series.truncated
    assert len(series) == 1
    assert series.values["north"][0] == 0.001


def test_parse_nan_correlations() -> None:
    text = POS_HEADER + pos_row("20200101", 58849.5, 0.001, correlation="NaN")

    series = parse_positions(text)

    assert np.isnan(series.values["corr_north_east"][0])
    assert series.values["north"][0] == 0.001


def test_parse_short_middle_row_fails() -> None:
    text = (
        POS_HEADER
        + " 20200101 120000 58849.5000 1 2 3\n"
        + pos_row("20200102", 58850.5, 0.002)
    )

    with pytest.raises(DecodeError, match="row 1"):
        parse_positions(text)


def test_parse_csv_truncated_row(shared_data: Path) -> None:
    text = (shared_data / "gnss_pos/P816.pbo.nam08.csv").read_text()
    cut = text.rstrip("\n")[:-8]

    series = parse_positions(cut)

    assert series.truncated
    assert len(series) == 1114


def test_parse_tenv3_twenty_columns() -> None:
    text = (
        "TEST 20JAN01 2020.0000 58849 2086 3 -120.0 100 0.5 200 0.25 10 0.125 "
        "0.0 0.001 0.002 0.003 0.1 0.2 0.3\n"
        "TEST 20JAN03 2020.0055 58851 2086 5 -120.0 100 0.75 200 0.5 10 0.25 "
        "0.0 0.001 0.002 0.003 0.1 0.2 0.3\n"
    )

    series = parse_positions(text, "TEST.tenv3")

    assert series.format == "tenv3"
    assert list(series.time) == [day("2020-01-01"), day("2020-01-03")]
    assert series.values["east"][1] == 0.25
    assert np.isnan(series.reference.latitude)


def test_detect_format_uses_content() -> None:
    assert detect_format(POS_HEADER, "misnamed.csv") == "pos"
    assert (
        detect_format("PBO Station Position Time Series.\nFormat Version, 1.2.0\n")
        == "csv"
    )


CSV_TEXT = """PBO Station Position Time Series.
Format Version, 1.2.0
Reference Frame, NAM08
4-character ID, TEST
Begin Date, 2020-01-01
End Date, 2020-01-03
Reference position, 40.0 North Latitude, -124.0 East Longitude, 100.0 meters
Date, North (mm), East (mm), Vertical (mm), North Std. Deviation (mm), \
East Std. Deviation (mm), Vertical Std. Deviation (mm), Quality,
2020-01-01,1.0, 2.0, 3.0, 1.1, 1.2, 1.3, repro,
2020-01-02,4.0, 5.0, 6.0, 1.1, 1.2, 1.3, repro,
2020-01-03,7.0, 8.0, 9.0, 1.1, 1.2, 1.3, repro,
"""

TENV3_TEXT = (
    "TEST 20JAN01 2020.0000 58849 2086 3 -120.0 100 0.5 200 0.25 10 0.125 "
    "0.0 0.001 0.002 0.003 0.1 0.2 0.3\n"
    "TEST 20JAN02 2020.0027 58850 2086 4 -120.0 100 0.6 200 0.35 10 0.225 "
    "0.0 0.001 0.002 0.003 0.1 0.2 0.3\n"
    "TEST 20JAN03 2020.0055 58851 2086 5 -120.0 100 0.75 200 0.5 10 0.25 "
    "0.0 0.001 0.002 0.003 0.1 0.2 0.3\n"
)


def pos_text(days: int = 3) -> str:
    return POS_HEADER + "".join(
        pos_row(f"202001{d:02d}", 58848.5 + d, d / 1000) for d in range(1, days + 1)
    )


def with_field(text: str, line: int, position: int, value: str | None) -> str:
    """Insert ``value`` as field ``position`` of ``line``, or delete that field."""
    lines = text.splitlines(keepends=True)
    fields = lines[line].split()
    if value is None:
        del fields[position]
    else:
        fields.insert(position, value)
    lines[line] = " " + " ".join(fields) + "\n"
    return "".join(lines)


def csv_row_line(text: str, row: int) -> int:
    header = next(
        i for i, line in enumerate(text.splitlines()) if line.startswith("Date,")
    )
    return header + row


def test_parse_pos_extra_field_fails() -> None:
    text = pos_text()
    damaged = with_field(text, len(text.splitlines()) - 2, 10, "7")

    with pytest.raises(DecodeError, match="invalid data row 2 .* 26 fields"):
        parse_positions(damaged, "TEST.pos")


def test_parse_tenv3_extra_field_fails() -> None:
    damaged = with_field(TENV3_TEXT, 1, 5, "7")

    with pytest.raises(DecodeError, match="invalid data row 2 .* 21 fields"):
        parse_positions(damaged, "TEST.tenv3")


def test_parse_csv_short_row_fails() -> None:
    lines = CSV_TEXT.splitlines(keepends=True)
    row = csv_row_line(CSV_TEXT, 2)
    lines[row] = lines[row].replace(" 5.0,", "", 1)

    with pytest.raises(
        DecodeError,
        match=r"invalid data row 2 \(after the header\) of TEST.csv: 7 fields",
    ):
        parse_positions("".join(lines), "TEST.csv")


def test_parse_csv_bad_number_fails() -> None:
    text = CSV_TEXT.replace(" 5.0,", " 5.O,", 1)

    with pytest.raises(DecodeError, match="row 2 .*'East \\(mm\\)' has '5.O'"):
        parse_positions(text, "TEST.csv")


def test_parse_csv_bad_date_fails() -> None:
    text = CSV_TEXT.replace("2020-01-02,", "2020-13-45,", 1)

    with pytest.raises(DecodeError, match="row 2 .*'2020-13-45'"):
        parse_positions(text, "TEST.csv")


@pytest.mark.parametrize("mjd", ["nan", "-99999", "99999"])
def test_parse_pos_bad_mjd_fails(mjd: str) -> None:
    text = pos_text()
    lines = text.splitlines(keepends=True)
    fields = lines[-2].split()
    fields[2] = mjd
    lines[-2] = " " + " ".join(fields) + "\n"

    with pytest.raises(DecodeError, match=f"invalid data row 2 .*MJD {mjd}"):
        parse_positions("".join(lines), "TEST.pos")


def test_parse_pos_mjd_date_mismatch_fails() -> None:
    text = (
        POS_HEADER
        + pos_row("20200101", 58849.5, 0.001)
        + pos_row("20200102", 58860.5, 0.002)
    )

    with pytest.raises(DecodeError, match="row 2 .*2020-01-12 .*2020-01-02"):
        parse_positions(text, "TEST.pos")


def test_parse_tenv3_mjd_date_mismatch_fails() -> None:
    text = TENV3_TEXT.replace(" 58850 ", " 58950 ", 1)

    with pytest.raises(DecodeError, match="row 2 .*YYMMMDD date is 2020-01-02"):
        parse_positions(text, "TEST.tenv3")


SYNTHETIC_FILES = {
    "pos": pos_text(),
    "csv": CSV_TEXT,
    "tenv3": TENV3_TEXT,
}


@pytest.mark.parametrize("kind", SYNTHETIC_FILES)
def test_parse_byte_order_mark(kind: str) -> None:
    text = SYNTHETIC_FILES[kind]
    plain = parse_positions(text)

    from_bytes = parse_positions(b"\xef\xbb\xbf" + text.encode())
    from_text = parse_positions("\ufeff" + text)

    assert from_bytes.format == kind
    assert list(from_bytes.time) == list(plain.time)
    assert list(from_text.values["north"]) == list(plain.values["north"])
    assert from_text.station == "TEST"


@pytest.mark.parametrize("kind", SYNTHETIC_FILES)
def test_parse_crlf_line_endings(kind: str) -> None:
    text = SYNTHETIC_FILES[kind]
    plain = parse_positions(text)

    crlf = parse_positions(text.replace("\n", "\r\n").encode())

    assert list(crlf.time) == list(plain.time)
    assert list(crlf.values["up"]) == list(plain.values["up"])
    assert crlf.span == plain.span
    assert not crlf.truncated


def test_header_span_with_byte_order_mark() -> None:
    span = header_span(b"\xef\xbb\xbf" + POS_HEADER.encode())

    assert span == (day("2020-01-01"), day("2020-01-03"))


# --- the dataset on a local mirror --------------------------------------------


@pytest.fixture
def mirror_root(tmp_path: Path, shared_data: Path) -> str:
    return build_mirror(tmp_path, shared_data)


def test_dataset_aligns_spans(mirror_root: str) -> None:
    dataset = open_gage_positions(
        PRODUCT,
        station="P156,CAND",
        start="2006-06-01",
        end="2009-02-01",
        root=mirror_root,
    ).load()
    north = dataset.north.to_pandas()

    assert list(dataset.station.values) == ["P156", "CAND"]
    assert dataset.time.values[0] == day("2006-06-01")
    assert np.isnan(north.loc["P156", day("2006-06-07")])
    assert north.loc["P156", day("2006-06-08")] == -0.12280
    assert np.isnan(north.loc["CAND", day("2009-01-11")])
    assert north.loc["CAND", day("2009-01-10")] == 0.02493
    assert list(dataset.status.values) == ["ok", "ok"]


def test_dataset_station_coordinates(mirror_root: str) -> None:
    dataset = open_gage_positions(
        PRODUCT, station="P156", start="2010-01-01", end="2010-02-01", root=mirror_root
    ).load()

    assert float(dataset.latitude[0]) == 40.0244429509
    assert float(dataset.longitude[0]) == pytest.approx(-123.9061171351, abs=1e-9)
    assert float(dataset.height[0]) == 488.99986
    assert float(dataset.ref_y[0]) == -4059578.57836
    assert int(dataset.days[0]) == 31


def test_dataset_without_window_reads_spans(mirror_root: str) -> None:
    dataset = open_gage_positions(PRODUCT, station="P156,CAND", root=mirror_root)

    assert dataset.time.values[0] == day("1999-08-21")
    assert dataset.time.values[-1] == day("2015-03-14")


def test_dataset_wildcard_lists_mirror(mirror_root: str) -> None:
    dataset = open_gage_positions(
        PRODUCT,
        station="P15?,C*",
        start="2008-01-01",
        end="2008-01-05",
        root=mirror_root,
    )

    assert sorted(dataset.station.values) == ["CAND", "P156"]


def test_dataset_wildcard_without_match(mirror_root: str) -> None:
    with pytest.raises(InvalidRequestError, match="matches none"):
        open_gage_positions(
            PRODUCT,
            station="Z*",
            start="2008-01-01",
            end="2008-01-05",
            root=mirror_root,
        )


def test_dataset_missing_station_outcome(mirror_root: str) -> None:
    dataset = open_gage_positions(
        PRODUCT,
        station="P156,NONE",
        start="2008-01-01",
        end="2008-01-05",
        root=mirror_root,
        errors="ignore",
    ).load()
    table = position_outcome_table(dataset).set_index("station")

    assert table.loc["NONE", "status"] == "missing"
    assert "NONE.cwu.final_nam14.pos" in table.loc["NONE", "message"]
    assert table.loc["P156", "status"] == "ok"
    assert table.loc["P156", "days"] == 4
    assert np.isnan(dataset.north.sel(station="NONE")).all()


def test_dataset_missing_station_raises(mirror_root: str) -> None:
    dataset = open_gage_positions(
        PRODUCT, station="NONE", start="2008-01-01", end="2008-01-05", root=mirror_root
    )

    with pytest.raises(ObjectNotFoundError, match="NONE"):
        dataset.load()


def test_dataset_missing_station_warns(mirror_root: str) -> None:
    dataset = open_gage_positions(
        PRODUCT,
        station="NONE",
        start="2008-01-01",
        end="2008-01-05",
        root=mirror_root,
        errors="warn",
    )

    with pytest.warns(ReadOutcomeWarning, match="status 'missing'"):
        dataset.load()


def test_dataset_truncated_outcome(tmp_path: Path) -> None:
    text = (
        POS_HEADER
        + pos_row("20200101", 58849.5, 0.001)
        + pos_row("20200102", 58850.5, 0.002)
    )
    path = tmp_path / gage_path("TEST")
    path.parent.mkdir(parents=True)
    path.write_text(text[:-60])

    with pytest.warns(ReadOutcomeWarning, match="ends inside a row"):
        dataset = open_gage_positions(
            PRODUCT,
            station="TEST",
            start="2020-01-01",
            end="2020-01-03",
            root=str(tmp_path),
        ).load()

    assert str(dataset.status.values[0]) == "truncated"
    assert list(dataset.north.values[0]) == pytest.approx([0.001, np.nan], nan_ok=True)


def test_dataset_unreadable_outcome(tmp_path: Path) -> None:
    path = tmp_path / gage_path("JUNK")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"<html>not here</html>\n")

    dataset = open_gage_positions(
        PRODUCT,
        station="JUNK",
        start="2020-01-01",
        end="2020-01-03",
        root=str(tmp_path),
        errors="ignore",
    ).load()

    assert str(dataset.status.values[0]) == "unreadable"


def test_dataset_is_lazy_per_station(mirror_root: str) -> None:
    dataset = open_gage_positions(
        PRODUCT,
        station="P156,CAND",
        start="2008-01-01",
        end="2009-01-01",
        root=mirror_root,
    )
    graph = dataset.__dask_graph__()

    assert dataset.north.chunks == ((1, 1), (366,))
    assert len(graph) < 60
    assert len(pickle.dumps(dict(graph))) < 20_000


def test_dataset_reads_csv_variant(tmp_path: Path, shared_data: Path) -> None:
    target = tmp_path / gage_path("P403", "cwu.nam14.csv")
    target.parent.mkdir(parents=True)
    target.write_bytes((shared_data / "gnss_pos/P403.pbo.nam08.csv").read_bytes())

    dataset = open_gage_positions(
        PRODUCT,
        station="P403",
        start="2005-09-13",
        end="2005-09-15",
        format="csv",
        root=str(tmp_path),
    ).load()

    assert dataset.north.values[0] == pytest.approx([0.04854, 0.05597], abs=1e-12)
    assert np.isnan(dataset.corr_north_east.values).all()
    assert float(dataset.height[0]) == 284.67725


def test_dataset_rejects_bad_choice(mirror_root: str) -> None:
    with pytest.raises(InvalidRequestError, match="frame='itrf2020'"):
        open_gage_positions(PRODUCT, station="P156", frame="itrf2020", root=mirror_root)


def test_dataset_rejects_short_station(mirror_root: str) -> None:
    with pytest.raises(InvalidRequestError, match="four characters"):
        open_gage_positions(PRODUCT, station="P15", root=mirror_root)


# --- open_positions on files of every format ----------------------------------


def test_open_positions_frames_per_station(shared_data: Path) -> None:
    paths = [
        str(shared_data / ARCHIVE_FILES["P156"]),
        str(shared_data / "gnss_tenv3/TC01.NA.tenv3"),
        str(shared_data / "gnss_pos/P403.pbo.nam08.csv"),
        str(shared_data / "gnss_pos/P403.pbo.nam08.csv").replace("P403", "P999"),
    ]

    dataset = open_positions(
        paths, start="2006-06-08", end="2006-06-10", errors="ignore"
    )

    assert dataset.frame.dtype.kind == "U"
    assert list(dataset.frame.values) == ["ITRF08", "", "NAM08", ""]


def test_open_positions_chunks_auto(shared_data: Path) -> None:
    paths = [str(shared_data / ARCHIVE_FILES["P156"])]
    dataset = open_positions(paths, start="2006-06-08", end="2006-06-10")

    chunked = dataset.chunk("auto")

    assert chunked.station.dtype.kind == "U"
    assert chunked.url.dtype.kind == "U"
    assert chunked.north.values[0, 0] == -0.12280


def test_open_positions_mixed_formats(shared_data: Path) -> None:
    paths = [
        str(shared_data / "gnss_tenv3/LHAS.tenv3"),
        str(shared_data / "gnss_pos/P403.pbo.nam08.csv"),
        str(shared_data / ARCHIVE_FILES["P156"]),
        str(shared_data / "gnss_tenv3/TC01.NA.tenv3"),
    ]

    dataset = open_positions(paths, start="2006-06-08", end="2006-06-10").load()

    assert list(dataset.station.values) == ["LHAS", "P403", "P156", "TC01"]
    assert dataset.longitude.values[:3] == pytest.approx(
        [91.1039857924, -124.1408746693, -123.9061171351], abs=1e-9
    )
    assert dataset.north.values[2, 0] == -0.12280
    assert np.isnan(dataset.north.values[3]).all()
    assert list(dataset.status.values) == ["ok", "ok", "ok", "no_data_in_window"]


# --- the GAGE file server over HTTP -------------------------------------------


@pytest.fixture
def file_server() -> Iterator[LoopbackHttp]:
    server = LoopbackHttp("127.0.0.1")
    server.start()
    clear_web_listing_cache()
    yield server
    server.stop()
    clear_web_listing_cache()


def http_product(server: LoopbackHttp) -> dict[str, Any]:
    tier = {
        **PRODUCT["tiers"]["https"],
        "base_url": server.url("/archive/gnss/"),
        "allowed_hosts": ["127.0.0.1"],
    }
    return {**PRODUCT, "tiers": {"https": tier}}


def serve_archive(server: LoopbackHttp, shared_data: Path, token: str) -> None:
    def route(body: bytes):
        def reply(params: dict[str, list[str]]) -> Reply:
            seen = server.seen[-1].authorization
            return Reply(200, body) if seen == f"Bearer {token}" else Reply(401)

        return reply

    for station, name in ARCHIVE_FILES.items():
        body = (shared_data / name).read_bytes()
        server.routes["/archive/gnss/" + gage_path(station)] = route(body)
    listing = b"P156 40.02 -123.91 489.0\nCAND 35.94 -120.43 568.4\n"
    server.routes["/archive/gnss/products/position/gage_gps.igs14.txt"] = route(listing)


def test_http_reads_with_token(file_server: LoopbackHttp, shared_data: Path) -> None:
    token = fake_jwt()
    serve_archive(file_server, shared_data, token)

    dataset = open_gage_positions(
        http_product(file_server),
        station="P156,CAND",
        start="2008-01-01",
        end="2008-02-01",
        token=token,
    )
    requests_at_open = len(file_server.seen)
    graph_bytes = pickle.dumps(dict(dataset.__dask_graph__()))
    dataset = dataset.load()

    assert requests_at_open == 0
    assert list(dataset.status.values) == ["ok", "ok"]
    assert file_server.tokens_seen() == [f"Bearer {token}"] * 2
    assert token not in repr(dataset.attrs)
    assert token.encode() not in graph_bytes
    assert int(dataset.days.sum()) == 62


def test_http_wildcard_reads_station_list(
    file_server: LoopbackHttp, shared_data: Path
) -> None:
    token = fake_jwt()
    serve_archive(file_server, shared_data, token)

    dataset = open_gage_positions(
        http_product(file_server),
        station="P*",
        start="2008-01-01",
        end="2008-02-01",
        token=token,
    )

    assert list(dataset.station.values) == ["P156"]


def test_http_denied_outcome(file_server: LoopbackHttp, shared_data: Path) -> None:
    path = "/archive/gnss/" + gage_path("P156")
    file_server.routes[path] = lambda params: Reply(403, b"Forbidden")

    dataset = open_gage_positions(
        http_product(file_server),
        station="P156",
        start="2008-01-01",
        end="2008-02-01",
        token=fake_jwt(),
        errors="ignore",
    ).load()

    assert str(dataset.status.values[0]) == "access_denied"


def test_http_missing_outcome(file_server: LoopbackHttp, shared_data: Path) -> None:
    token = fake_jwt()
    serve_archive(file_server, shared_data, token)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReadOutcomeWarning)
        dataset = open_gage_positions(
            http_product(file_server),
            station="P156,ZZZZ",
            start="2008-01-01",
            end="2008-02-01",
            token=token,
            errors="warn",
        ).load()

    assert list(dataset.status.values) == ["ok", "missing"]


def test_open_positions_over_http(file_server: LoopbackHttp, shared_data: Path) -> None:
    body = (shared_data / "gnss_pos/P816.pbo.nam08.csv").read_bytes()
    file_server.routes["/ts/P816.pbo.nam08.csv"] = lambda params: Reply(200, body)

    dataset = open_positions(
        [file_server.url("/ts/P816.pbo.nam08.csv")],
        start="2013-09-06",
        end="2013-09-08",
    ).load()

    assert str(dataset.status.values[0]) == "ok"
    assert int(dataset.days[0]) == 2
    assert file_server.tokens_seen() == [None]


# --- an S3 mirror -------------------------------------------------------------


def test_s3_mirror_reads(s3, shared_data: Path) -> None:
    client = s3.client()
    create_bucket(client, "gage-mirror")
    for station, name in ARCHIVE_FILES.items():
        data = (shared_data / name).read_bytes()
        put_public_object(client, "gage-mirror", gage_path(station), data)

    dataset = open_gage_positions(
        PRODUCT,
        station="*",
        start="2008-01-01",
        end="2008-01-03",
        root="s3://gage-mirror",
        storage_options=s3.anonymous_storage_options(),
    ).load()

    assert list(dataset.station.values) == ["CAND", "P156"]
    assert list(dataset.status.values) == ["ok", "ok"]
    assert dataset.url.values[1] == f"s3://gage-mirror/{gage_path('P156')}"


# --- the intake v1 catalog entry ----------------------------------------------


def test_catalog_source_reads_mirror(mirror_root: str) -> None:
    import intake

    catalog = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    source = catalog.gage.positions(
        station=["P156"], start="2008-01-01", end="2008-01-11", root=mirror_root
    )

    dataset = source.read()

    assert int(dataset.days[0]) == 10
    assert source.discover()["npartitions"] == 1


def test_catalog_source_rejects_bad_station() -> None:
    import intake

    catalog = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))

    with pytest.raises(InvalidRequestError, match="invalid station"):
        catalog.gage.positions(station="P1-6")


# --- declared spans from the first bytes of a file ----------------------------


@pytest.mark.parametrize(
    ("name", "size", "first", "last"),
    [
        (ARCHIVE_FILES["P156"], 400, "2006-06-08", "2015-03-14"),
        (ARCHIVE_FILES["CAND"], 400, "1999-08-21", "2009-01-10"),
        ("gnss_pos/P403.pbo.nam08.csv", 300, "2005-09-13", "2017-02-14"),
    ],
)
def test_header_span_from_head(
    shared_data: Path, name: str, size: int, first: str, last: str
) -> None:
    head = (shared_data / name).read_bytes()[:size]

    assert header_span(head) == (day(first), day(last))


def test_header_span_of_tenv3_is_none(shared_data: Path) -> None:
    head = (shared_data / "gnss_tenv3/TC01.NA.tenv3").read_bytes()[:4096]

    assert header_span(head) is None


def test_dataset_without_window_reads_tenv3(tmp_path: Path, shared_data: Path) -> None:
    target = tmp_path / gage_path("TC01")
    target.parent.mkdir(parents=True)
    target.write_bytes((shared_data / "gnss_tenv3/TC01.NA.tenv3").read_bytes())

    dataset = open_gage_positions(PRODUCT, station="TC01", root=str(tmp_path))

    assert dataset.time.values[0] == day("2017-09-05")
    assert dataset.time.values[-1] == day("2021-12-11")


def test_plot_positions_draws_dataset(mirror_root: str) -> None:
    from intake_earthscope.plot import plot_positions

    dataset = open_gage_positions(
        PRODUCT,
        station="P156,CAND",
        start="2008-01-01",
        end="2008-03-01",
        root=mirror_root,
    )

    figure = plot_positions(dataset, stations=["P156"])

    assert len(figure.get_axes()) == 3


# --- damaged files, stale spans and duplicate ids in the dataset --------------


def test_dataset_bad_csv_date_outcome(tmp_path: Path) -> None:
    path = tmp_path / "TEST.csv"
    path.write_text(SYNTHETIC_FILES["csv"].replace("2020-01-02,", "2020-13-45,"))

    dataset = open_positions(
        [str(path)], start="2020-01-01", end="2020-01-04", errors="ignore"
    ).load()

    assert str(dataset.status.values[0]) == "unreadable"
    assert "2020-13-45" in str(dataset.message.values[0])


def test_dataset_damaged_row_warns(tmp_path: Path) -> None:
    text = pos_text()
    path = tmp_path / "TEST.pos"
    path.write_text(with_field(text, len(text.splitlines()) - 2, 10, "7"))

    with pytest.warns(ReadOutcomeWarning, match="invalid data row 2"):
        dataset = open_positions(
            [str(path)], start="2020-01-01", end="2020-01-04", errors="warn"
        ).load()

    assert str(dataset.status.values[0]) == "unreadable"


def test_dataset_stale_header_span_outcome(tmp_path: Path) -> None:
    # The header declares 2020-01-01 to 2020-01-03; the file runs to 01-05.
    path = tmp_path / "TEST.pos"
    path.write_text(pos_text(days=5))

    with pytest.warns(ReadOutcomeWarning, match="status 'outside_span'"):
        dataset = open_positions([str(path)], errors="warn").load()
    message = str(dataset.message.values[0])

    assert str(dataset.status.values[0]) == "outside_span"
    assert int(dataset.days[0]) == 3
    assert "2 of 5 rows" in message
    assert "2020-01-01 to 2020-01-03" in message


def test_dataset_given_window_not_outside_span(tmp_path: Path) -> None:
    path = tmp_path / "TEST.pos"
    path.write_text(pos_text(days=5))

    dataset = open_positions([str(path)], start="2020-01-02", end="2020-01-04").load()

    assert str(dataset.status.values[0]) == "ok"
    assert int(dataset.days[0]) == 2


def test_open_positions_duplicate_station_ids(tmp_path: Path) -> None:
    paths = [str(tmp_path / "DATA_a.pos"), str(tmp_path / "data_b.pos")]

    with pytest.raises(InvalidRequestError, match="DATA: .*DATA_a.pos, .*data_b.pos"):
        open_positions(paths, start="2020-01-01", end="2020-01-04")


@pytest.mark.parametrize("output_format", ["netcdf", "zarr"])
def test_export_reads_each_file_once(
    file_server: LoopbackHttp, tmp_path: Path, output_format: str
) -> None:
    served = {"AAAA.pos": pos_text(), "BBBB.pos": pos_text()[:-60]}
    for name, text in served.items():
        reply = Reply(200, text.encode())
        file_server.routes[f"/ts/{name}"] = lambda params, reply=reply: reply
    dataset = open_positions(
        [file_server.url(f"/ts/{name}") for name in served],
        start="2020-01-01",
        end="2020-01-04",
        errors="warn",
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_dataset(dataset, tmp_path / "out", output_format, progress=False)
    fetched = sorted(request.path for request in file_server.seen)
    outcomes = [w for w in caught if issubclass(w.category, ReadOutcomeWarning)]

    assert fetched == ["/ts/AAAA.pos", "/ts/BBBB.pos"]
    assert len(outcomes) == 1
    assert dataset.message.dtype.kind == "U"


def test_top_level_outcome_table_reads_positions(tmp_path: Path) -> None:
    from intake_earthscope import outcome_table

    path = tmp_path / "TEST.pos"
    path.write_text(pos_text())
    dataset = open_positions([str(path)], start="2020-01-01", end="2020-01-05").load()

    table = outcome_table(dataset)

    assert list(table["station"]) == ["TEST"]
    assert list(table["status"]) == ["ok"]
