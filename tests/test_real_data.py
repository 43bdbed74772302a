"""Real recordings through a loopback S3 server and the shipped catalog.

Every placed sample is compared bit for bit with obspy's decoding of the
same file: obspy and this package both use libmseed, but obspy's merge,
trim and grid arithmetic are independent of ours.
"""

from __future__ import annotations

from pathlib import Path

import intake
import numpy as np
import obspy
import pytest

from intake_earthscope.dataset import outcome_table
from intake_earthscope.timeutil import parse_time

import mseedgen
from conftest import CATALOGS, OBSPY_CORE_DATA, OBSPY_MSEED_DATA, mirror, publish

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
BALST_KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
ULN = OBSPY_CORE_DATA / "IU_ULN_00_LH1_2015-07-18T02.mseed"
ULN_KEY = "miniseed/IU/2015/199/ULN.IU.2015.199"


def expected_row(trace: obspy.Trace, start: obspy.UTCDateTime, size: int) -> np.ndarray:
    """Place an obspy trace on a grid from ``start`` by nearest sample."""
    rate = trace.stats.sampling_rate
    first = int(round((trace.stats.starttime - start) * rate))
    row = np.full(size, np.nan)
    begin, end = max(first, 0), min(first + trace.stats.npts, size)
    row[begin:end] = trace.data[begin - first : end - first].astype(np.float64)
    return row


def catalog() -> intake.catalog.Catalog:
    return intake.open_catalog(str(CATALOGS / "earthscope.yaml"))


def test_station_day_matches_obspy(s3) -> None:
    publish(s3, "sage", {BALST_KEY: BALST.read_bytes()})
    source = catalog().sage.miniseed(
        network="CH",
        station="BALST",
        location="--",
        channel="LH?",
        start="2025-11-10",
        end="2025-11-11",
    )

    dataset = source.read()
    stream = obspy.read(str(BALST))
    start = obspy.UTCDateTime("2025-11-10")

    assert list(dataset.trace.values) == ["CH.BALST..LHE", "CH.BALST..LHZ"]
    assert dataset.attrs["sampling_rate"] == 1.0
    for trace in stream:
        placed = dataset.waveform.sel(trace=trace.id).values
        expected = expected_row(trace, start, dataset.sizes["time"])
        np.testing.assert_array_equal(placed, expected)


def test_day_starts_after_midnight(s3) -> None:
    # The LHZ day starts at 00:01:24.58: the previous day's object is absent,
    # which is no error, and the first 85 samples stay NaN.
    publish(s3, "sage", {BALST_KEY: BALST.read_bytes()})
    source = catalog().sage.miniseed(
        network="CH",
        station="BALST",
        location="",
        channel="LHZ",
        start="2025-11-10",
        end="2025-11-11",
    )

    dataset = source.read()
    row = dataset.waveform.sel(trace="CH.BALST..LHZ").values
    table = outcome_table(dataset)

    assert np.isnan(row[:85]).all()
    assert not np.isnan(row[85])
    assert table.loc[0, "status"] == "ok"
    assert table.loc[0, "time_offset"] == pytest.approx(0.42)
    assert table.loc[0, "max_shift"] <= 0.5


def test_sub_second_start_offset(s3) -> None:
    # ULN starts at 02:27:33.069538, 0.07 samples off a whole-second grid.
    publish(s3, "sage", {ULN_KEY: ULN.read_bytes()})
    source = catalog().sage.miniseed(
        network="IU",
        station="ULN",
        location="00",
        channel="LH1",
        start="2015-07-18T02:00:00",
        end="2015-07-18T06:00:00",
    )

    dataset = source.read()
    trace = obspy.read(str(ULN))[0]
    expected = expected_row(
        trace, obspy.UTCDateTime("2015-07-18T02:00:00"), dataset.sizes["time"]
    )

    np.testing.assert_array_equal(dataset.waveform.values[0], expected)
    assert float(dataset.time_offset.values[0, 0]) == pytest.approx(-0.069538)
    assert float(dataset.valid_fraction.values[0, 0]) == pytest.approx(10800 / 14400)


def _objects_from_shared(shared: Path) -> dict[str, bytes]:
    miniseed = shared / "miniseed"
    station_day = b"".join(
        (miniseed / f"TA.121A..{channel}.2016.242.D").read_bytes()
        for channel in ("LHE", "LHN", "LHZ")
    )
    return {
        "miniseed/TA/2016/242/121A.TA.2016.242": station_day,
        "miniseed/IU/2010/058/ANMO.IU.2010.058": (
            miniseed / "IU.ANMO.00.BHZ.2010.058.M"
        ).read_bytes(),
        "miniseed/II/2013/005/KAPI.II.2013.005": (
            miniseed / "II.KAPI.00.BHZ.2013.005.M"
        ).read_bytes(),
    }


def test_shared_station_day_channels(s3, shared_data) -> None:
    publish(s3, "sage", _objects_from_shared(shared_data))
    source = catalog().sage.miniseed(
        network="TA",
        station="121A",
        location="",
        channel="LH?",
        start="2016-08-29",
        end="2016-08-30",
    )

    dataset = source.read()
    start = obspy.UTCDateTime("2016-08-29")

    assert dataset.sizes["trace"] == 3
    for channel in ("LHE", "LHN", "LHZ"):
        trace = obspy.read(str(shared_data / f"miniseed/TA.121A..{channel}.2016.242.D"))
        placed = dataset.waveform.sel(trace=f"TA.121A..{channel}").values
        np.testing.assert_array_equal(placed, expected_row(trace[0], start, 86400))


def test_shared_steim1_and_20hz(s3, shared_data) -> None:
    publish(s3, "sage", _objects_from_shared(shared_data))
    cat = catalog()

    for network, station, day, name in (
        ("IU", "ANMO", "2010-02-27", "IU.ANMO.00.BHZ.2010.058.M"),
        ("II", "KAPI", "2013-01-05", "II.KAPI.00.BHZ.2013.005.M"),
    ):
        source = cat.sage.miniseed(
            network=network,
            station=station,
            location="00",
            channel="BHZ",
            start=day,
            end=str(np.datetime64(day) + np.timedelta64(1, "D")),
        )
        dataset = source.read()
        trace = obspy.read(str(shared_data / "miniseed" / name))[0]
        expected = expected_row(trace, obspy.UTCDateTime(day), dataset.sizes["time"])

        assert dataset.attrs["sampling_rate"] == 20.0
        np.testing.assert_array_equal(dataset.waveform.values[0], expected)


def test_gappy_day_counts_gaps(s3, shared_data) -> None:
    # US.OXF..BHZ 2002-110 has 4 gaps (5 traces in obspy); NCEDC layout.
    data = (shared_data / "miniseed/US.OXF..BHZ.2002.110.M").read_bytes()
    key = "continuous_waveforms/US/2002/2002.110/OXF.US.BHZ..D.2002.110"
    publish(s3, "ncedc", {key: data})
    source = catalog().ncedc.miniseed(
        network="US",
        station="OXF",
        location="",
        channel="BHZ",
        start="2002-04-20",
        end="2002-04-21",
    )

    dataset = source.read()
    stream = obspy.read(str(shared_data / "miniseed/US.OXF..BHZ.2002.110.M"))
    expected = np.full(dataset.sizes["time"], np.nan)
    for trace in stream:
        expected = np.where(
            np.isnan(expected),
            expected_row(trace, obspy.UTCDateTime("2002-04-20"), expected.size),
            expected,
        )

    np.testing.assert_array_equal(dataset.waveform.values[0], expected)
    assert int(dataset.gap_count.values[0, 0]) >= 4
    assert float(dataset.valid_fraction.values[0, 0]) < 1.0


def test_scedc_wildcard_station_listing(s3, shared_data) -> None:
    miniseed = shared_data / "miniseed"
    publish(
        s3,
        "scedc",
        {
            "continuous_waveforms/2022/2022_001/CIWBM__LHZ___2022001.ms": (
                miniseed / "CIWBM__LHZ___2022001.ms"
            ).read_bytes(),
            "continuous_waveforms/2022/2022_002/BKTHIS_LHZ00_2022002.ms": (
                miniseed / "BKTHIS_LHZ00_2022002.ms"
            ).read_bytes(),
        },
    )
    source = catalog().scedc.miniseed(
        network="CI,BK",
        station="*",
        location="*",
        channel="LHZ",
        start="2022-01-01",
        end="2022-01-03",
        errors="ignore",
    )

    dataset = source.read()
    table = outcome_table(dataset).set_index(["trace", "day"])

    assert list(dataset.trace.values) == ["BK.THIS.00.LHZ", "CI.WBM..LHZ"]
    assert table.loc[("CI.WBM..LHZ", np.datetime64("2022-01-01")), "status"] == "ok"
    assert (
        table.loc[("CI.WBM..LHZ", np.datetime64("2022-01-02")), "status"] == "missing"
    )
    assert table.loc[("BK.THIS.00.LHZ", np.datetime64("2022-01-02")), "status"] == "ok"
    trace = obspy.read(str(miniseed / "CIWBM__LHZ___2022001.ms"))[0]
    np.testing.assert_array_equal(
        dataset.waveform.sel(trace="CI.WBM..LHZ").values[:86400],
        expected_row(trace, obspy.UTCDateTime("2022-01-01"), 86400),
    )


def test_miniseed3_matches_miniseed2(s3, shared_data) -> None:
    miniseed = shared_data / "miniseed"
    publish(
        s3,
        "sage",
        {
            "miniseed/IU/2010/058/COLA.IU.2010.058": (
                miniseed / "testdata-3channel-signal.mseed2"
            ).read_bytes()
        },
    )
    publish(
        s3,
        "ncedc",
        {
            f"continuous_waveforms/IU/2010/2010.058/COLA.IU.{channel}.00.D.2010.058": (
                miniseed / "example_data.mseed"
            ).read_bytes()
            for channel in ("LH1", "LH2", "LHZ")
        },
    )
    request = dict(
        network="IU",
        station="COLA",
        location="00",
        channel="LH1,LH2,LHZ",
        start="2010-02-27T06:00:00",
        end="2010-02-27T09:00:00",
    )

    version2 = catalog().sage.miniseed(**request).read()
    version3 = catalog().ncedc.miniseed(**request).read()

    assert list(version2.trace.values) == list(version3.trace.values)
    np.testing.assert_array_equal(version2.waveform.values, version3.waveform.values)
    assert np.isfinite(version2.waveform.values).sum() == 3 * 4200


def test_scedc_wildcard_rate_leaves_out_other_channels(tmp_path, shared_data) -> None:
    wbm = (shared_data / "miniseed" / "CIWBM__LHZ___2022001.ms").read_bytes()
    start = parse_time("2022-01-01", "start")
    broadband = mseedgen.segment_bytes(
        "CI.WBM..BHZ", start, np.arange(4000, dtype=np.int32), 40.0
    )
    day = "continuous_waveforms/2022/2022_001"
    root = mirror(
        tmp_path,
        {
            f"{day}/CIWBM__LHZ___2022001.ms": wbm,
            f"{day}/CIWBM__BHZ___2022001.ms": broadband,
        },
    )

    dataset = (
        catalog()
        .scedc.miniseed(
            network="CI",
            station="WBM",
            location="",
            channel="?HZ",
            start="2022-01-01",
            end="2022-01-02",
            sampling_rate=1,
            root=str(root),
        )
        .read()
    )

    assert list(dataset.trace.values) == ["CI.WBM..LHZ"]
    assert list(dataset.status.values.ravel()) == ["ok"]
