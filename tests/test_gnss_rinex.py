"""RINEX observations: the parser, the lazy dataset, its outcomes and catalogs.

Real files come from the shared data folder (see its PROVENANCE.md). The
session's moto S3 server serves the NOAA CORS and GeoNet layouts. The
loopback HTTP server serves the GAGE layout, checks the bearer token and
serves an HTML index of the RINEX 3 day directory. Synthetic files come from
:mod:`intake_earthscope.gnss.rinexgen`.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import pickle
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import hatanaka
import intake
import ncompress
import numpy as np
import pytest
import yaml

from intake_earthscope.errors import (
    DecodeError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
    StorageUnavailableError,
)
from intake_earthscope.gnss.archive import clear_web_listing_cache
from intake_earthscope.gnss.rinex import TruncatedStreamError, parse, read_rinex
from intake_earthscope.gnss.rinex_dataset import (
    clear_rinex_cache,
    open_rinex_obs,
    rinex_outcome_table,
)
from intake_earthscope.gnss.rinex_source import RinexObsSource
from intake_earthscope.gnss.rinexgen import (
    rinex2_text,
    rinex3_text,
    synthetic_observations,
)
from intake_earthscope.testing import create_bucket, put_public_object

from loopback_http import LoopbackHttp, Reply, fake_jwt

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"
START = dt.datetime(2015, 2, 13)
YORK = "york0440.15d"
AC66 = "ac660270.18o.Z"
P433 = "P43300USA_R_20190012056_17M_15S_MO.crx.bz2"
CEDA = "CEDA00USA_R_20182100000_23H_15S_MO.rnx.gz"


def product(archive: str) -> dict[str, Any]:
    text = (CATALOGS / f"{archive}.yaml").read_text()
    return yaml.safe_load(text)["sources"]["rinex_obs"]["args"]["product"]


def real(shared_data: Path, name: str) -> bytes:
    return (shared_data / "rinex" / name).read_bytes()


def synthetic_v2(sv: list[str], epochs: int = 20, seed: int = 1) -> tuple[Any, ...]:
    codes = ["C1", "L1", "L2", "P2", "S1", "S2"]
    times, values = synthetic_observations(START, epochs, 30.0, sv, codes, seed)
    return times, values, rinex2_text("SYNT", times, sv, values)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    clear_rinex_cache()
    clear_web_listing_cache()
    yield
    clear_rinex_cache()
    clear_web_listing_cache()


@pytest.fixture
def file_server() -> Iterator[LoopbackHttp]:
    server = LoopbackHttp("127.0.0.1")
    server.start()
    yield server
    server.stop()


# -- parser on real files ---------------------------------------------------


def georinex_values(path: Path, sv: list[str], code: str) -> np.ndarray:
    import georinex

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = georinex.load(path)
    return loaded[code].sel(sv=sv).values


@pytest.mark.parametrize(("name", "code"), [(AC66, "P2"), (P433, "C2I")])
def test_parse_matches_georinex(shared_data: Path, name: str, code: str) -> None:
    found = read_rinex(real(shared_data, name))
    order = np.argsort(found.sv)
    sv = [found.sv[i] for i in order]

    expected = georinex_values(shared_data / "rinex" / name, sv, code)

    np.testing.assert_allclose(found.values[code][:, order], expected, atol=1e-3)


def test_parse_york_hatanaka_day(shared_data: Path) -> None:
    found = read_rinex(real(shared_data, YORK))

    assert found.times.size == 2880
    assert len(found.sv) == 30
    assert found.header.marker == "YORK"
    assert found.header.interval == 30.0
    assert len(found.values) == 11


def test_parse_york_first_value_from_text(shared_data: Path) -> None:
    # crx2rnx output, epoch 1, G07's first field (L1): "-5936986.221".
    found = read_rinex(real(shared_data, YORK))

    assert found.values["L1"][0, found.sv.index("G07")] == -5936986.221


def test_parse_ceda_galileo_and_glonass_only(shared_data: Path) -> None:
    found = read_rinex(real(shared_data, CEDA))

    assert {sv[0] for sv in found.sv} == {"E", "R"}
    assert found.header.receiver == "SEPT POLARX5"
    assert found.times[0] == np.datetime64("2018-07-29T00:00:15", "ns").astype(int)


def test_parse_ceda_values_from_text(shared_data: Path) -> None:
    # First epoch: "E11  47309988.776 6 248615668.09306        37.250    47309987.539 7"
    # with Galileo codes C1C L1C S1C C6C. C2P is a GLONASS code, so E11 has NaN.
    found = read_rinex(real(shared_data, CEDA))
    e11 = found.sv.index("E11")

    assert found.values["C1C"][0, e11] == 47309988.776
    assert found.values["L1C"][0, e11] == 248615668.093
    assert found.values["S1C"][0, e11] == 37.25
    assert found.values["C6C"][0, e11] == 47309987.539
    assert np.isnan(found.values["C2P"][0, e11])


# -- parser edge cases on synthetic text ------------------------------------


def test_parse_more_than_12_satellites_in_rinex2_epoch() -> None:
    sv = [f"G{n:02d}" for n in range(1, 16)] + ["R17", "S38"]
    times, values, text = synthetic_v2(sv)

    found = parse(text)
    order = [found.sv.index(name) for name in sv]

    assert sorted(found.sv) == sorted(sv)
    np.testing.assert_array_equal(found.times, times)
    np.testing.assert_array_equal(found.values["P2"][:, order], values["P2"])


def test_parse_prn_above_36_kept() -> None:
    sv = ["G05", "C40", "S38", "E36"]
    codes = {"G": ["C1C", "L1C"], "C": ["C2I", "L2I"], "S": ["C1C"], "E": ["C1C"]}
    times, values = synthetic_observations(
        START, 5, 30.0, sv, ["C1C", "L1C", "C2I", "L2I"]
    )

    found = parse(rinex3_text("SYNT", times, sv, values, codes))

    assert sorted(found.sv) == ["C40", "E36", "G05", "S38"]


def test_parse_rinex3_absent_code_is_nan() -> None:
    sv = ["G05", "C40"]
    codes = {"G": ["C1C", "L1C"], "C": ["C2I"]}
    times, values = synthetic_observations(START, 4, 30.0, sv, ["C1C", "L1C", "C2I"])
    values["C1C"][:, 1] = np.nan
    values["L1C"][:, 1] = np.nan
    values["C2I"][:, 0] = np.nan

    found = parse(rinex3_text("SYNT", times, sv, values, codes))
    beidou = found.sv.index("C40")

    assert np.isnan(found.values["L1C"][:, beidou]).all()
    np.testing.assert_array_equal(found.values["C2I"][:, beidou], values["C2I"][:, 1])


def test_parse_blank_values_are_nan() -> None:
    times, values, text = synthetic_v2(["G01", "G02"], epochs=50, seed=3)

    found = parse(text)
    order = [found.sv.index(name) for name in ["G01", "G02"]]

    assert np.isnan(values["S1"]).any()
    np.testing.assert_array_equal(found.values["S1"][:, order], values["S1"])


def test_parse_more_than_9_codes_in_rinex2_header() -> None:
    codes = ["C1", "C2", "C5", "L1", "L2", "L5", "P1", "P2", "S1", "S2", "S5"]
    times, values = synthetic_observations(START, 3, 30.0, ["G01"], codes)

    found = parse(rinex2_text("SYNT", times, ["G01"], values))

    assert found.header.codes["*"] == codes
    assert found.values["S5"][0, 0] == values["S5"][0, 0]


def event_text() -> bytes:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=3)
    head, body = text.split(b"END OF HEADER\n")
    lines = body.split(b"\n")
    event = (
        b" 15  2 13  0  0 45.0000000  4  2\n"
        + b"     1    L1".ljust(60)
        + b"# / TYPES OF OBSERV\n"
        + b"THE RECEIVER WAS RESET".ljust(60)
        + b"COMMENT\n"
        + b" 15  2 13  0  1  0.0000000  1  1G01\n"
        + b"  12345678.125\n"
    )
    return head + b"END OF HEADER\n" + b"\n".join(lines) + event


def test_parse_event_flag_4_applies_new_codes() -> None:
    found = parse(event_text())

    assert found.times.size == 4
    assert found.values["L1"][3, found.sv.index("G01")] == 12345678.125


def test_parse_event_flag_4_leaves_earlier_codes() -> None:
    found = parse(event_text())

    assert np.isnan(found.values["P2"][3]).all()
    assert np.isfinite(found.values["P2"][0]).any()


def test_parse_power_failure_epoch_is_kept() -> None:
    times, values, text = synthetic_v2(["G01", "G02"], epochs=3)
    first_epoch = b" 15  2 13  0  0  0.0000000  0  2"

    assert first_epoch in text
    found = parse(text.replace(first_epoch, first_epoch[:28] + b"1  2"))

    np.testing.assert_array_equal(found.times, times)
    assert found.values["L1"][0, 0] == values["L1"][0, 0]


def test_parse_blank_system_letter_means_gps() -> None:
    _, _, text = synthetic_v2(["G05"], epochs=1)

    found = parse(text.replace(b"  0  1G05", b"  0  1 05"))

    assert found.sv == ["G05"]


# -- truncation and wrong input -----------------------------------------------


def test_truncated_mid_epoch_keeps_epochs_before_cut() -> None:
    times, _, text = synthetic_v2(["G01", "G02", "G03"], epochs=10)
    cut = text.rindex(b"\n 15", 0, len(text) - 1) + 40

    found = read_rinex(text[:cut])

    assert found.truncated
    np.testing.assert_array_equal(found.times, times[:-1])


def test_truncated_gzip_stream_is_reported() -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=200)
    packed = gzip.compress(text)

    found = read_rinex(packed[: len(packed) // 2])

    assert found.truncated
    assert 0 < found.times.size < 200


def test_truncated_hatanaka_bzip2_keeps_epochs(shared_data: Path) -> None:
    whole = bz2.decompress(real(shared_data, P433))

    found = read_rinex(bz2.compress(whole[: len(whole) // 2]))

    assert found.truncated
    assert 0 < found.times.size < 70


def test_garbage_line_stops_as_corrupt() -> None:
    times, _, text = synthetic_v2(["G01", "G02"], epochs=6)
    cut = text.index(b"\n 15  2 13  0  2") + 1

    found = parse(text[:cut] + b"this line is not RINEX at all\n" + text[cut:])

    assert found.corrupt
    assert not found.truncated
    np.testing.assert_array_equal(found.times, times[:4])


def test_short_satellite_list_is_corrupt() -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=2)

    found = parse(text.replace(b"  0  2G01G02", b"  0  3G01G02", 1))

    assert found.corrupt


def test_empty_text_is_wrong_format() -> None:
    with pytest.raises(DecodeError, match="RINEX VERSION / TYPE"):
        read_rinex(b"")


def test_miniseed_bytes_are_wrong_format() -> None:
    record = b"000001D " + bytes(range(256)) * 2

    with pytest.raises(DecodeError, match="not a RINEX file"):
        read_rinex(record)


def test_navigation_file_is_wrong_format() -> None:
    line = f"{2.11:9.2f}           N: GPS NAV DATA".ljust(60) + "RINEX VERSION / TYPE"

    with pytest.raises(DecodeError, match="not a RINEX observation file"):
        read_rinex(line.encode() + b"\n")


def test_bzip2_cut_inside_first_block_is_truncated() -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=200)
    packed = bz2.compress(text)

    with pytest.raises(TruncatedStreamError, match="bzip2 stream ends"):
        read_rinex(packed[: len(packed) // 2])


def test_bzip2_cut_keeps_blocks_before_cut() -> None:
    # Level 1 makes 100 kB blocks, so the blocks before the cut decode.
    _, _, text = synthetic_v2(["G01", "G02", "G03"], epochs=600)
    packed = bz2.compress(text, compresslevel=1)

    found = read_rinex(packed[: len(packed) * 3 // 4])

    assert found.truncated
    assert "bzip2" in found.message
    assert 0 < found.times.size < 600


def test_hatanaka_bzip2_cut_in_first_block(shared_data: Path) -> None:
    data = real(shared_data, P433)

    with pytest.raises(TruncatedStreamError, match="bzip2"):
        read_rinex(data[:20000])


# -- malformed headers --------------------------------------------------------


def blank_count(text: bytes, label: bytes, start: int, stop: int) -> bytes:
    """Blank columns ``start:stop`` of the first header line with ``label``."""
    lines = text.split(b"\n")
    index = next(k for k, line in enumerate(lines) if label in line)
    line = lines[index]
    lines[index] = line[:start] + b" " * (stop - start) + line[stop:]
    return b"\n".join(lines)


def test_header_types_without_count_raises() -> None:
    _, _, text = synthetic_v2(["G05"], epochs=3)

    with pytest.raises(DecodeError, match="TYPES OF OBSERV' header line 8"):
        parse(blank_count(text, b"# / TYPES OF OBSERV", 0, 6))


def test_header_v3_types_without_system_raises() -> None:
    times, values = synthetic_observations(START, 3, 30.0, ["G05"], ["C1C"])
    text = rinex3_text("SYNT", times, ["G05"], values, {"G": ["C1C"]})

    with pytest.raises(DecodeError, match="SYS / # / OBS TYPES"):
        parse(blank_count(text, b"SYS / # / OBS TYPES", 0, 1))


def header_mutations(line: bytes) -> Iterator[bytes]:
    """Yield damaged copies of one header line, its label kept."""
    body, label = line[:60], line[60:]
    yield b" " * 60 + label
    yield b"x" * 60 + label
    yield b"    -3" + body[6:] + label
    yield b"  1e3" + body[5:] + label
    yield b"G  x" + body[4:] + label
    yield b"Q" + body[1:] + label
    for size in (1, 5, 9, 20, 41):
        yield body[:size].ljust(60) + label
    yield line[:65]


def header_texts() -> Iterator[bytes]:
    codes = ["C1", "L1", "L2", "P2", "S1", "S2", "C2", "C5", "L5", "S5"]
    times, values = synthetic_observations(START, 2, 30.0, ["G05", "R07"], codes)
    yield rinex2_text("SYNT", times, ["G05", "R07"], values)
    by_system = {"G": [f"C{n}C" for n in range(1, 10)] * 2, "R": ["C1C"]}
    names = sorted({c for codes in by_system.values() for c in codes})
    times, values = synthetic_observations(START, 2, 30.0, ["G05", "R07"], names)
    yield rinex3_text("SYNT", times, ["G05", "R07"], values, by_system)


def test_header_fuzz_raises_decode_error_only() -> None:
    unexpected = []
    for text in header_texts():
        head, body = text.split(b"END OF HEADER\n")
        lines = head.split(b"\n")
        for index in range(len(lines) - 1):
            for damaged in header_mutations(lines[index]):
                mutated = lines[:index] + [damaged] + lines[index + 1 :]
                try:
                    parse(b"\n".join(mutated) + b"END OF HEADER\n" + body)
                except DecodeError:
                    continue
                except Exception as error:  # noqa: BLE001 - collected for the assert
                    unexpected.append((damaged, type(error).__name__))

    assert unexpected == []


def test_header_fuzz_in_event_is_corrupt() -> None:
    text = event_text().replace(b"     1    L1", b"          L1")

    found = parse(text)

    assert found.corrupt
    assert "TYPES OF OBSERV" in found.message
    assert found.times.size == 3


def test_missing_end_of_header_is_corrupt() -> None:
    _, _, text = synthetic_v2(["G05"], epochs=3)

    found = parse(text.replace(b"END OF HEADER", b"COMMENT      "))

    assert found.corrupt
    assert "missing END OF HEADER" in found.message
    assert found.times.size == 0


def test_unix_compress_cut_inside_header_is_corrupt() -> None:
    _, _, text = synthetic_v2(["G05"], epochs=3)

    found = read_rinex(ncompress.compress(text[:500]))

    assert found.corrupt
    assert "missing END OF HEADER" in found.message


def gzip_cut(text: bytes) -> bytes:
    """Return a gzip stream of ``text`` that lacks its end marker."""
    packer = zlib.compressobj(wbits=31)
    return packer.compress(text) + packer.flush(zlib.Z_SYNC_FLUSH)


def test_gzip_cut_inside_header_is_truncated() -> None:
    _, _, text = synthetic_v2(["G05"], epochs=3)

    found = read_rinex(gzip_cut(text[:500]))

    assert found.truncated
    assert not found.corrupt
    assert "inside the RINEX header" in found.message


def test_gzip_cut_inside_first_line_raises() -> None:
    _, _, text = synthetic_v2(["G05"], epochs=3)

    with pytest.raises(TruncatedStreamError, match="gzip stream ends"):
        read_rinex(gzip_cut(text[:30]))


def test_gzip_cut_inside_hatanaka_header_raises(shared_data: Path) -> None:
    compact = bz2.decompress(real(shared_data, P433))

    with pytest.raises(TruncatedStreamError, match="so Hatanaka decoding failed"):
        read_rinex(gzip_cut(compact[:200]))


# -- satellite ids --------------------------------------------------------------


def test_rinex3_count_too_big_adds_no_satellite() -> None:
    sv = ["G05", "G12"]
    times, values = synthetic_observations(START, 3, 30.0, sv, ["C1C"])
    lines = rinex3_text("SYNT", times, sv, values, {"G": ["C1C"]}).split(b"\n")
    second = [i for i, line in enumerate(lines) if line.startswith(b">")][1]
    lines[second] = lines[second][:32] + b"%3d" % (int(lines[second][32:35]) + 1)

    found = parse(b"\n".join(lines))

    assert found.sv == ["G05", "G12"]
    assert found.corrupt
    assert "invalid satellite id '> 2'" in found.message
    np.testing.assert_array_equal(found.times, times[:1])


@pytest.mark.parametrize("raw", [b"X02", b"M02", b"#02"])
def test_rinex2_unknown_system_letter_is_corrupt(raw: bytes) -> None:
    times, _, text = synthetic_v2(["G01", "G02"], epochs=3)
    lines = text.split(b"\n")
    last = [i for i, line in enumerate(lines) if line.startswith(b" 15  2")][-1]
    lines[last] = lines[last].replace(b"G02", raw)

    found = parse(b"\n".join(lines))

    assert found.corrupt
    assert found.sv == ["G01", "G02"]
    np.testing.assert_array_equal(found.times, times[:2])


def test_rinex3_blank_system_letter_is_corrupt() -> None:
    times, values = synthetic_observations(START, 2, 30.0, ["G05"], ["C1C"])
    text = rinex3_text("SYNT", times, ["G05"], values, {"G": ["C1C"]})

    found = parse(text.replace(b"\nG05", b"\n 05"))

    assert found.corrupt
    assert found.sv == []


# -- the lazy dataset over S3 (NOAA CORS and GeoNet layouts) ----------------


def publish(s3: Any, archive: str, objects: dict[str, bytes]) -> None:
    tier = product(archive)["tiers"]["open"]
    client = s3.client(tier["region"])
    create_bucket(client, tier["bucket"], tier["region"])
    for key, data in objects.items():
        put_public_object(client, tier["bucket"], key, data)


def test_noaa_cors_day_over_s3(s3: Any, shared_data: Path) -> None:
    key = "rinex/2015/044/york/york0440.15d.gz"
    publish(s3, "noaa_cors", {key: gzip.compress(real(shared_data, YORK))})

    ds = open_rinex_obs(
        product("noaa_cors"),
        "YORK",
        "2015-02-13",
        "2015-02-14",
        storage_options=s3.anonymous_storage_options(),
    )
    loaded = ds.load()

    assert loaded.sizes["time"] == 2880
    assert loaded["L1"].sel(sv="G07").values[0] == -5936986.221
    assert list(loaded["status"].values) == ["ok"]


def test_geonet_days_with_missing_day_over_s3(s3: Any, shared_data: Path) -> None:
    # GeoNet serves plain .YYo.gz files. The AC66 excerpt is used as a GeoNet
    # station on 2018-01-27, and 2018-01-28 is absent.
    text = hatanaka.decompress(real(shared_data, AC66))
    key = "gnss/rinex/2018/027/ac660270.18o.gz"
    publish(s3, "geonet", {key: gzip.compress(text)})

    with pytest.warns(ReadOutcomeWarning, match="2018-01-28: missing"):
        ds = open_rinex_obs(
            product("geonet"),
            "AC66",
            "2018-01-27",
            "2018-01-29",
            errors="warn",
            storage_options=s3.anonymous_storage_options(),
        )
    table = rinex_outcome_table(ds)

    assert list(table["status"]) == ["ok", "missing"]
    assert ds.sizes["time"] == 23
    assert int(ds["L1"].notnull().sum()) > 0


def test_missing_bucket_days_missing(s3: Any) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = open_rinex_obs(
            product("noaa_cors"),
            "YORK",
            "2015-02-13",
            "2015-02-15",
            errors="warn",
            root="s3://nosuch/prefix",
            storage_options=s3.anonymous_storage_options(),
        )
    texts = [str(w.message) for w in caught if w.category is ReadOutcomeWarning]

    assert list(ds["status"].values) == ["missing", "missing"]
    assert any("bucket 'nosuch' does not exist" in text for text in texts)


def test_missing_day_raises_by_default(tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError, match="errors='warn'") as caught:
        open_rinex_obs(
            product("noaa_cors"), "YORK", "2015-02-13", "2015-02-14", root=str(tmp_path)
        )

    # The key is named once, inside the file's URL.
    assert str(caught.value).count("york0440.15d") == 1


def write(root: Path, key: str, data: bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_outcomes_of_bad_days(tmp_path: Path) -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=40)
    day = "rinex/2015/{doy}/synt/synt{doy}0.15d.gz"
    write(tmp_path, day.format(doy="044"), gzip.compress(text))
    write(tmp_path, day.format(doy="045"), gzip.compress(text)[:300])
    write(tmp_path, day.format(doy="046"), b"not gzip at all, a text file")
    write(tmp_path, day.format(doy="047"), b"\x1f\x8b broken gzip")
    write(tmp_path, day.format(doy="048"), b"")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReadOutcomeWarning)
        ds = open_rinex_obs(
            product("noaa_cors"),
            "SYNT",
            "2015-02-13",
            "2015-02-18",
            errors="ignore",
            root=str(tmp_path),
        )

    assert list(ds["status"].values) == [
        "ok",
        "truncated",
        "unreadable",
        "unreadable",
        "unreadable",
    ]


def test_truncated_day_warns_under_raise(tmp_path: Path) -> None:
    times, _, text = synthetic_v2(["G01", "G02"], epochs=40)
    cut = text.rindex(b"\n 15", 0, len(text) - 1) + 40
    write(tmp_path, "rinex/2015/044/synt/synt0440.15d.gz", gzip.compress(text[:cut]))

    with pytest.warns(ReadOutcomeWarning, match="truncated"):
        ds = open_rinex_obs(
            product("noaa_cors"), "SYNT", "2015-02-13", "2015-02-14", root=str(tmp_path)
        )

    np.testing.assert_array_equal(ds["time"].values.astype(np.int64), times[:-1])


def write_days(root: Path, days: dict[str, bytes]) -> None:
    for doy, data in days.items():
        write(root, f"rinex/2015/{doy}/synt/synt{doy}0.15d.gz", data)


def open_days(root: Path, days: int, errors: str) -> Any:
    end = (START + dt.timedelta(days=days)).date().isoformat()
    return open_rinex_obs(
        product("noaa_cors"), "SYNT", "2015-02-13", end, errors=errors, root=str(root)
    )


@pytest.mark.parametrize("errors", ["warn", "ignore"])
def test_bad_header_day_is_unreadable(tmp_path: Path, errors: str) -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=10)
    broken = blank_count(text, b"# / TYPES OF OBSERV", 0, 6)
    write_days(tmp_path, {"044": gzip.compress(text), "045": gzip.compress(broken)})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReadOutcomeWarning)
        ds = open_days(tmp_path, 2, errors)
    table = rinex_outcome_table(ds)

    assert list(table["status"]) == ["ok", "unreadable"]
    assert "TYPES OF OBSERV' header line" in table["message"][1]
    assert list(table["epochs"]) == [10, 0]


def test_missing_end_of_header_day_raises(tmp_path: Path) -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=10)
    broken = text.replace(b"END OF HEADER", b"COMMENT      ")
    write_days(tmp_path, {"044": gzip.compress(text), "045": gzip.compress(broken)})

    with pytest.raises(DecodeError, match="unreadable: missing END OF HEADER"):
        open_days(tmp_path, 2, "raise")


def test_day_cut_inside_header_raises(tmp_path: Path) -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=10)
    write_days(tmp_path, {"044": gzip.compress(text), "045": gzip_cut(text[:500])})

    with pytest.raises(DecodeError, match="truncated: gzip stream ends"):
        open_days(tmp_path, 2, "raise")


def test_bzip2_day_cut_in_first_block(tmp_path: Path) -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=200)
    packed = bz2.compress(text)
    write_days(tmp_path, {"044": gzip.compress(text), "045": packed[:1000]})

    ds = open_days(tmp_path, 2, "ignore")
    table = rinex_outcome_table(ds)

    assert list(table["status"]) == ["ok", "truncated"]
    assert "bzip2 stream ends" in table["message"][1]


def test_dataset_is_lazy_one_chunk_per_day(tmp_path: Path) -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=30)
    for doy in ("044", "045"):
        write(tmp_path, f"rinex/2015/{doy}/synt/synt{doy}0.15d.gz", gzip.compress(text))

    # Both files hold day 044's epochs, so day 045 has none inside its window.
    with pytest.warns(ReadOutcomeWarning, match="no epoch inside the window"):
        ds = open_rinex_obs(
            product("noaa_cors"), "SYNT", "2015-02-13", "2015-02-15", root=str(tmp_path)
        )

    assert ds["L1"].chunks == ((30,), (2,))
    assert list(ds["status"].values) == ["ok", "no_data_in_window"]


def test_dataset_graph_carries_no_bytes(tmp_path: Path) -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=30)
    write(tmp_path, "rinex/2015/044/synt/synt0440.15d.gz", gzip.compress(text))
    ds = open_rinex_obs(
        product("noaa_cors"), "SYNT", "2015-02-13", "2015-02-14", root=str(tmp_path)
    )

    graph = pickle.dumps(dict(ds["L1"].data.__dask_graph__()))

    assert b"OBSERVATION DATA" not in graph
    assert len(graph) < 20_000


def test_chunk_refetches_after_cache_is_cleared(tmp_path: Path) -> None:
    times, values, text = synthetic_v2(["G01", "G02"], epochs=30)
    write(tmp_path, "rinex/2015/044/synt/synt0440.15d.gz", gzip.compress(text))
    ds = open_rinex_obs(
        product("noaa_cors"), "SYNT", "2015-02-13", "2015-02-14", root=str(tmp_path)
    )
    clear_rinex_cache()

    with dask.config.set(scheduler="sync"):
        loaded = ds["P2"].values

    np.testing.assert_array_equal(loaded, values["P2"])


def test_indicators_keep_lli_and_ssi_digits(tmp_path: Path) -> None:
    _, _, text = synthetic_v2(["G01", "G02", "G03", "G04"], epochs=5, seed=4)
    write(tmp_path, "rinex/2015/044/synt/synt0440.15d.gz", gzip.compress(text))

    ds = open_rinex_obs(
        product("noaa_cors"),
        "SYNT",
        "2015-02-13",
        "2015-02-14",
        root=str(tmp_path),
        indicators=True,
    ).load()

    # rinexgen writes LLI 1 on every seventh satellite column from the
    # fourth (G04 here) and SSI 5 + column % 4.
    assert ds["L1_lli"].dtype == np.int8
    assert (ds["L1_lli"].sel(sv="G04").values == 1).any()
    assert (ds["L1_lli"].sel(sv="G01").values == -1).all()
    assert ds["S2_ssi"].sel(sv="G02").values[0] == 6


# -- GAGE over HTTPS with the bearer token ------------------------------------


def gage_product(server: LoopbackHttp) -> dict[str, Any]:
    spec = product("gage")
    spec["tiers"]["https"]["base_url"] = server.url("/archive/gnss/")
    spec["tiers"]["https"]["allowed_hosts"] = ["127.0.0.1"]
    return spec


def guarded(
    server: LoopbackHttp, token: str, body: bytes, content_type: str = ""
) -> Any:
    """Return a route that serves ``body`` only to requests with the token."""
    headers = {"Content-Type": content_type} if content_type else {}

    def route(params: dict[str, list[str]]) -> Reply:
        # The server records each request before it calls the route.
        if server.seen[-1].authorization != f"Bearer {token}":
            return Reply(401, b"login required")
        return Reply(200, body, headers)

    return route


def test_gage_rinex2_over_https(file_server: LoopbackHttp, shared_data: Path) -> None:
    token = fake_jwt()
    packed = hatanaka.compress(real(shared_data, YORK), compression="none")
    path = "/archive/gnss/rinex/obs/2015/044/york0440.15d.Z"
    file_server.routes[path] = guarded(file_server, token, ncompress.compress(packed))

    ds = open_rinex_obs(
        gage_product(file_server), "YORK", "2015-02-13", "2015-02-14", token=token
    )

    assert ds.sizes["time"] == 2880
    assert file_server.tokens_seen() == [f"Bearer {token}"]
    assert token not in repr(ds.attrs)
    assert token.encode() not in pickle.dumps(dict(ds["L1"].data.__dask_graph__()))


def test_gage_rinex3_lists_day_directory(
    file_server: LoopbackHttp, shared_data: Path
) -> None:
    token = fake_jwt()
    name = "P43300USA_R_20190010000_01D_15S_MO.crx.bz2"
    index = (
        b'<html><a href="../">Parent</a>'
        b'<a href="AC6600USA_R_20190010000_01D_15S_MO.crx.gz">AC66</a>'
        b'<a href="' + name.encode() + b'">P433</a></html>'
    )
    base = "/archive/gnss/rinex3/obs/2019/001/"
    file_server.routes[base] = guarded(file_server, token, index, "text/html")
    file_server.routes[base + name] = guarded(
        file_server, token, real(shared_data, P433)
    )

    ds = open_rinex_obs(
        gage_product(file_server),
        "P433",
        "2019-01-01",
        "2019-01-02",
        variant="rinex3",
        token=token,
    )

    assert ds.sizes == {"time": 70, "sv": 37, "day": 1}
    assert str(ds["path"].values[0]).endswith(name)
    assert "C2I" in ds


def test_gage_wrong_token_raises(file_server: LoopbackHttp) -> None:
    path = "/archive/gnss/rinex/obs/2015/044/york0440.15d.Z"
    file_server.routes[path] = guarded(file_server, "another-token", b"RINEX")

    with pytest.raises(PermissionError, match="denied"):
        open_rinex_obs(
            gage_product(file_server),
            "YORK",
            "2015-02-13",
            "2015-02-14",
            token=fake_jwt(),
        )


def test_gage_denied_is_an_outcome(file_server: LoopbackHttp) -> None:
    path = "/archive/gnss/rinex/obs/2015/044/york0440.15d.Z"
    file_server.routes[path] = lambda params: Reply(403, b"forbidden")

    with pytest.warns(ReadOutcomeWarning, match="denied"):
        ds = open_rinex_obs(
            gage_product(file_server),
            "YORK",
            "2015-02-13",
            "2015-02-14",
            errors="warn",
            token=fake_jwt(),
        )

    assert list(ds["status"].values) == ["access_denied"]


def test_gage_server_error_raises_unavailable(file_server: LoopbackHttp) -> None:
    path = "/archive/gnss/rinex/obs/2015/044/york0440.15d.Z"
    file_server.routes[path] = lambda params: Reply(503, b"down")

    with pytest.raises(StorageUnavailableError, match="unreachable"):
        open_rinex_obs(
            gage_product(file_server),
            "YORK",
            "2015-02-13",
            "2015-02-14",
            token=fake_jwt(),
        )


# -- catalogs ---------------------------------------------------------------


def test_v1_catalog_entry_reads_mirror(tmp_path: Path) -> None:
    times, values, text = synthetic_v2(["G01", "S38"], epochs=12)
    write(tmp_path, "gnss/rinex/2015/044/synt0440.15o.gz", gzip.compress(text))
    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))

    source = cat.geonet.rinex_obs(
        station="SYNT", start="2015-02-13", end="2015-02-14", root=str(tmp_path)
    )
    ds = source.read()

    assert isinstance(source, RinexObsSource)
    assert source.discover()["npartitions"] == 1
    np.testing.assert_array_equal(ds["S1"].sel(sv=["G01", "S38"]).values, values["S1"])


def test_v2_catalog_entry_reads_mirror(tmp_path: Path) -> None:
    times, values, text = synthetic_v2(["G01", "S38"], epochs=12)
    write(tmp_path, "gnss/rinex/2015/044/synt0440.15o.gz", gzip.compress(text))
    cat = intake.open_catalog(str(CATALOGS / "earthscope_v2.yaml"))

    reader = cat(station="SYNT", start="2015-02-13", end="2015-02-14")[
        "geonet_rinex_obs"
    ]
    ds = reader.read(root=str(tmp_path))

    np.testing.assert_array_equal(ds["L2"].sel(sv=["G01", "S38"]).values, values["L2"])


def test_mirror_read_names_mirror(tmp_path: Path) -> None:
    _, _, text = synthetic_v2(["G01", "G02"], epochs=10)
    write_days(tmp_path, {"044": gzip.compress(text)})

    ds = open_days(tmp_path, days=1, errors="raise")
    again = open_days(ds.attrs["storage"], days=1, errors="raise")

    assert ds.attrs["tier"] == f"mirror {tmp_path}"
    assert ds.attrs["storage"] == tmp_path.as_uri()
    assert again.attrs["storage"] == ds.attrs["storage"]
