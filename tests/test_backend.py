"""Tests of the ``engine="miniseed"`` xarray backend on real and synthetic files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

from intake_earthscope.backend import MiniseedBackendEntrypoint
from intake_earthscope.errors import (
    DecodeError,
    IntakeEarthScopeWarning,
    InvalidRequestError,
    MixedSamplingRateError,
    ObjectNotFoundError,
)
from intake_earthscope.interop import from_obspy
from intake_earthscope.testing import LoopbackS3, create_bucket, put_public_object

import mseedgen
from conftest import OBSPY_MSEED_DATA

TA_LHZ = "TA.121A..LHZ.2016.242.D"
MSEED2 = "testdata-3channel-signal.mseed2"
MSEED3 = "example_data.mseed"


def open_miniseed(path: object, **kwargs: object) -> xr.Dataset:
    return xr.open_dataset(path, engine="miniseed", **kwargs)  # type: ignore[arg-type]


def test_archive_file_matches_obspy(shared_data: Path) -> None:
    path = shared_data / "miniseed" / TA_LHZ
    trace = obspy.read(str(path))[0]

    dataset = open_miniseed(path)

    assert list(dataset.trace.values) == ["TA.121A..LHZ"]
    assert dataset.time.values[0] == np.datetime64(trace.stats.starttime.ns, "ns")
    np.testing.assert_array_equal(dataset.waveform.values[0], trace.data)


def test_engine_guessed_from_name(shared_data: Path) -> None:
    dataset = xr.open_dataset(shared_data / "miniseed" / TA_LHZ)

    assert dataset.attrs["sampling_rate"] == 1.0
    assert dataset.sizes["time"] == 86_400


def test_miniseed3_matches_miniseed2(shared_data: Path) -> None:
    version2 = open_miniseed(shared_data / "miniseed" / MSEED2).load()
    version3 = open_miniseed(shared_data / "miniseed" / MSEED3).load()

    assert list(version3.trace.values) == [
        "IU.COLA.00.LH1",
        "IU.COLA.00.LH2",
        "IU.COLA.00.LHZ",
    ]
    xr.testing.assert_identical(version3.drop_attrs(), version2.drop_attrs())


def test_miniseed3_matches_obspy(shared_data: Path) -> None:
    # obspy 1.4 reads miniSEED 2 only: compare with the version 2 twin.
    stream = obspy.read(str(shared_data / "miniseed" / MSEED2))
    expected = from_obspy(stream)

    dataset = open_miniseed(shared_data / "miniseed" / MSEED3)

    assert sum(trace.stats.npts for trace in stream) == int(dataset.waveform.count())
    xr.testing.assert_equal(dataset.waveform, expected.waveform)


def test_gap_is_nan(tmp_path: Path) -> None:
    synthetic = mseedgen.gap(seconds=10.0, gap_seconds=5.0, rate=20.0, version=3)
    path = tmp_path / "gap.ms"
    path.write_bytes(synthetic.data)

    waveform = open_miniseed(path).waveform.values[0]

    assert waveform.size == 500
    assert int(np.isnan(waveform).sum()) == synthetic.facts["missing_samples"]
    assert bool(np.isnan(waveform[200:300]).all())
    np.testing.assert_array_equal(waveform[300:], np.arange(300, 500))


def test_open_is_lazy(tmp_path: Path, shared_data: Path) -> None:
    path = tmp_path / "copy.mseed"
    path.write_bytes((shared_data / "miniseed" / TA_LHZ).read_bytes())
    dataset = open_miniseed(path)
    path.unlink()

    # The samples are read on access, so the removed file is noticed then.
    with pytest.raises(ObjectNotFoundError, match="copy.mseed"):
        dataset.waveform.values  # noqa: B018


def test_dask_chunks_match(shared_data: Path) -> None:
    path = shared_data / "miniseed" / TA_LHZ
    expected = open_miniseed(path).waveform.values

    chunked = open_miniseed(path, chunks={"time": 20_000})

    assert chunked.waveform.chunks == ((1,), (20_000,) * 4 + (6_400,))
    np.testing.assert_array_equal(chunked.waveform.values, expected)


def test_drop_variables(shared_data: Path) -> None:
    dataset = open_miniseed(
        shared_data / "miniseed" / MSEED3, drop_variables=["waveform", "station"]
    )

    assert "waveform" not in dataset
    assert "station" not in dataset.coords
    assert dataset.sizes["trace"] == 3


def test_file_object_opens(shared_data: Path) -> None:
    data = (shared_data / "miniseed" / TA_LHZ).read_bytes()

    dataset = open_miniseed(io.BytesIO(data))

    assert int(dataset.waveform.count()) == 86_400


def test_s3_url_with_storage_options(s3: LoopbackS3, shared_data: Path) -> None:
    client = s3.client("us-east-1")
    create_bucket(client, "waveforms", "us-east-1")
    data = (shared_data / "miniseed" / TA_LHZ).read_bytes()
    put_public_object(client, "waveforms", "ta/121A.LHZ.mseed", data)

    dataset = open_miniseed(
        "s3://waveforms/ta/121A.LHZ.mseed",
        backend_kwargs={"storage_options": s3.anonymous_storage_options()},
    )

    assert list(dataset.trace.values) == ["TA.121A..LHZ"]
    assert int(dataset.waveform.count()) == 86_400


def test_mixed_rates_need_sampling_rate(tmp_path: Path, shared_data: Path) -> None:
    path = tmp_path / "mixed.mseed"
    path.write_bytes(
        (OBSPY_MSEED_DATA / "test.mseed").read_bytes()
        + (shared_data / "miniseed" / TA_LHZ).read_bytes()
    )

    with pytest.raises(MixedSamplingRateError, match="NL.HGN.00.BHZ at 40 Hz"):
        open_miniseed(path)
    dataset = open_miniseed(path, sampling_rate=1.0)
    assert list(dataset.trace.values) == ["TA.121A..LHZ"]


@pytest.fixture
def two_rates_file(tmp_path: Path, shared_data: Path) -> Path:
    """One channel: an hour at 1 Hz, then an hour at 2 Hz."""
    slow = obspy.read(str(shared_data / "miniseed" / TA_LHZ))[0]
    slow.data = slow.data[:3600]
    fast = slow.copy()
    fast.stats.sampling_rate = 2.0
    fast.stats.starttime += 3600
    path = tmp_path / "two_rates.mseed"
    obspy.Stream([slow, fast]).write(str(path), format="MSEED")
    return path


def test_one_channel_two_rates_raises(two_rates_file: Path) -> None:
    with pytest.raises(
        MixedSamplingRateError,
        match=r"^TA\.121A\.\.LHZ changes sampling rate: 1 Hz from .*, 2 Hz from ",
    ):
        open_miniseed(two_rates_file)


def test_one_channel_keeps_chosen_rate(two_rates_file: Path) -> None:
    with pytest.warns(IntakeEarthScopeWarning, match="rates other than 1 Hz"):
        dataset = open_miniseed(two_rates_file, sampling_rate=1.0)

    assert dataset.sizes["time"] == 3600
    assert dataset.time.values[0] == np.datetime64("2016-08-29T00:00:00", "ns")
    assert int(dataset.waveform.count()) == 3600
    assert list(dataset.status.values) == ["rate_mismatch"]


def test_truncated_file_reports_status(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / "miniseed" / TA_LHZ).read_bytes()
    path = tmp_path / "cut.mseed"
    # 33 whole 512-byte records, then part of the 34th.
    path.write_bytes(data[: 33 * 512 + 199])

    with pytest.warns(IntakeEarthScopeWarning, match="ends inside the record at byte"):
        dataset = open_miniseed(path)

    assert list(dataset.status.values) == ["truncated"]
    assert int(dataset.waveform.count()) == dataset.sizes["time"]


def test_whole_file_status_ok(shared_data: Path) -> None:
    dataset = open_miniseed(shared_data / "miniseed" / MSEED3)

    assert list(dataset.status.values) == ["ok", "ok", "ok"]


def test_not_miniseed_raises(tmp_path: Path) -> None:
    path = tmp_path / "notes.mseed"
    path.write_bytes(b"plain text, not records " * 10)

    with pytest.raises(DecodeError, match="invalid miniSEED") as caught:
        open_miniseed(path)

    assert "notes.mseed" in str(caught.value)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError, match="absent.mseed"):
        open_miniseed(tmp_path / "absent.mseed")


@pytest.mark.parametrize(
    "name",
    ["a.mseed", "a.ms", "a.MINISEED", "IU.ANMO.00.BHZ.2010.058.M", "x.D"],
)
def test_guess_from_suffix(name: str) -> None:
    assert MiniseedBackendEntrypoint().guess_can_open(name)


def test_guess_from_magic_bytes(tmp_path: Path, shared_data: Path) -> None:
    path = tmp_path / "BALST.CH.2025.314"
    path.write_bytes((shared_data / "miniseed" / MSEED3).read_bytes())

    assert MiniseedBackendEntrypoint().guess_can_open(str(path))


def test_decode_times_true_accepted(tmp_path: Path) -> None:
    synthetic = mseedgen.gap(seconds=10.0, gap_seconds=5.0, rate=20.0, version=3)
    path = tmp_path / "gap.ms"
    path.write_bytes(synthetic.data)

    plain = open_miniseed(path)
    decoded = open_miniseed(
        path, decode_times=True, mask_and_scale=True, use_cftime=False
    )

    xr.testing.assert_identical(plain, decoded)


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("decode_times", False, "computed from the record headers"),
        ("mask_and_scale", False, "without a fill value"),
        ("decode_coords", False, "set by the engine"),
        ("use_cftime", True, "NumPy datetime64"),
    ],
)
def test_decoding_option_rejected(
    tmp_path: Path, option: str, value: bool, reason: str
) -> None:
    synthetic = mseedgen.gap(seconds=10.0, gap_seconds=5.0, rate=20.0, version=3)
    path = tmp_path / "gap.ms"
    path.write_bytes(synthetic.data)

    with pytest.raises(InvalidRequestError) as raised:
        open_miniseed(path, **{option: value})

    assert f"{option}={value}" in str(raised.value)
    assert reason in str(raised.value)
    assert "Leave the option out" in str(raised.value)


def test_empty_file_named(tmp_path: Path) -> None:
    path = tmp_path / "empty.mseed"
    path.write_bytes(b"")

    with pytest.raises(DecodeError) as raised:
        open_miniseed(path)

    assert "empty file (0 bytes)" in str(raised.value)
    assert str(path) in str(raised.value)


def test_bytes_rejected_briefly() -> None:
    with pytest.raises(TypeError) as raised:
        open_miniseed(b"x" * 100_000)

    assert "a bytes object, 100,000 bytes long" in str(raised.value)
    assert "io.BytesIO" in str(raised.value)
    assert len(str(raised.value)) < 300


def test_unknown_keyword_lists_accepted(tmp_path: Path) -> None:
    synthetic = mseedgen.gap(seconds=10.0, gap_seconds=5.0, rate=20.0, version=3)
    path = tmp_path / "gap.ms"
    path.write_bytes(synthetic.data)

    with pytest.raises(TypeError) as raised:
        open_miniseed(path, sampling_rat=20.0)

    assert "sampling_rat" in str(raised.value)
    assert "'sampling_rate'" in str(raised.value)


def test_guess_rejects_netcdf(tmp_path: Path) -> None:
    path = tmp_path / "data.nc"
    xr.Dataset({"a": ("x", [1, 2])}).to_netcdf(path)

    assert not MiniseedBackendEntrypoint().guess_can_open(str(path))


def gap_file(tmp_path: Path) -> Path:
    synthetic = mseedgen.gap(seconds=10.0, gap_seconds=5.0, rate=20.0, version=3)
    path = tmp_path / "gap.ms"
    path.write_bytes(synthetic.data)
    return path


def test_decode_cf_false_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        open_miniseed(gap_file(tmp_path), decode_cf=False)

    message = str(raised.value)
    assert "invalid decode_cf=False" in message
    assert "no CF-encoded variables" in message
    assert "Leave decode_cf out" in message


def test_decode_cf_false_wins_over_true(tmp_path: Path) -> None:
    # xarray turns every decoding option off under decode_cf=False.
    with pytest.raises(InvalidRequestError, match="invalid decode_cf=False"):
        open_miniseed(gap_file(tmp_path), decode_cf=False, decode_times=True)


def test_decode_cf_true_accepted(tmp_path: Path) -> None:
    path = gap_file(tmp_path)

    decoded = open_miniseed(path, decode_cf=True)

    xr.testing.assert_identical(open_miniseed(path), decoded)


def test_decode_cf_false_in_open_mfdataset(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="invalid decode_cf=False"):
        xr.open_mfdataset(
            [gap_file(tmp_path)],
            engine="miniseed",
            decode_cf=False,
            combine="nested",
            concat_dim="file",
        )


def test_one_option_false_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        open_miniseed(gap_file(tmp_path), decode_times=False)

    assert "invalid decode_times=False" in str(raised.value)
    assert "decode_cf" not in str(raised.value)


def test_unknown_argument_omits_decoders(tmp_path: Path) -> None:
    with pytest.raises(TypeError) as raised:
        MiniseedBackendEntrypoint().open_dataset(gap_file(tmp_path), chunk_size=5)

    message = str(raised.value)
    assert "['chunk_size']" in message
    assert "'rate_tolerance'" in message
    assert "decode_times" not in message
