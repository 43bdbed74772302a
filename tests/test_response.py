"""Tests of instrument response removal against obspy's own Trace.remove_response.

The recordings and their response-level StationXML are real (the shared data
folder). The FDSN station service is the loopback HTTP server, serving the
real StationXML file.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import obspy
import pytest

from intake_earthscope.codes import SeedId
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import (
    IntakeEarthScopeWarning,
    InvalidRequestError,
    WebServiceError,
)
from intake_earthscope.place import Grid
from intake_earthscope.response import (
    GroupResponses,
    ResponseOptions,
    channel_responses,
    check_response_options,
    contiguous_runs,
    default_pre_filt,
    remove_chunk_response,
)
from intake_earthscope.tasks import ChunkResult
from intake_earthscope.webservices import close_client

from conftest import collection_spec, mirror
from loopback_http import LoopbackHttp, Reply

WBM_FILE = "CIWBM__LHZ___2022001.ms"
WBM_KEY = "continuous_waveforms/2022/2022_001/CIWBM__LHZ___2022001.ms"
ULN_FILE = "IU_ULN_00_LH1_2015-07-18T02.mseed"
ULN_KEY = "miniseed/IU/2015/199/ULN.IU.2015.199"
ULN_WINDOW = {"start": "2015-07-18T02:27:33", "end": "2015-07-18T05:27:33"}
ULN_REQUEST = {
    "network": "IU",
    "station": "ULN",
    "location": "00",
    "channel": "LH1",
    **ULN_WINDOW,
}
PRE_FILT = (0.002, 0.004, 0.4, 0.45)
STATION_QUERY = "/fdsnws/station/1/query"


@pytest.fixture
def wbm_root(tmp_path: Path, shared_data: Path) -> str:
    data = (shared_data / "miniseed" / WBM_FILE).read_bytes()
    return str(mirror(tmp_path, {WBM_KEY: data}))


@pytest.fixture
def wbm_xml(shared_data: Path) -> str:
    return str(shared_data / "stationxml" / "CI_WBM.xml")


@pytest.fixture
def uln_root(tmp_path: Path, shared_data: Path) -> str:
    data = (shared_data / "miniseed" / ULN_FILE).read_bytes()
    return str(mirror(tmp_path, {ULN_KEY: data}))


@pytest.fixture
def station_service(shared_data: Path) -> Iterator[LoopbackHttp]:
    """A station service on loopback that returns the real ULN StationXML."""
    body = (shared_data / "stationxml" / "IU_ULN_00_LH1.xml").read_bytes()
    server = LoopbackHttp("127.0.0.1")
    server.routes[STATION_QUERY] = lambda params: Reply(
        200, body, {"Content-Type": "application/xml"}
    )
    server.start()
    yield server
    server.stop()
    close_client()


def sage_with_service(
    server: LoopbackHttp, access: str = "anonymous"
) -> dict[str, Any]:
    """SAGE's collection mapping whose fdsn tier is the loopback server."""
    spec = collection_spec("sage")
    spec["tiers"]["fdsn"] = {
        "protocol": "fdsn",
        "base_url": server.url("/fdsnws/dataselect/1/"),
        "access": access,
        "allowed_hosts": ["127.0.0.1"],
    }
    return spec


def obspy_corrected(path: Path, inventory: Any, output: str, **options: Any) -> Any:
    trace = obspy.read(str(path))[0]
    trace.remove_response(inventory=inventory, output=output, **options)
    return trace.data


def open_wbm(root: str, **options: Any) -> Any:
    return open_waveforms(
        collection_spec("scedc"),
        network="CI",
        station="WBM",
        location="",
        channel="LHZ",
        start="2022-01-01",
        end="2022-01-02",
        root=root,
        **options,
    )


# Agreement with obspy


def test_velocity_matches_obspy(wbm_root: str, wbm_xml: str, shared_data: Path) -> None:
    dataset = open_wbm(wbm_root, remove_response="velocity", inventory=wbm_xml)
    expected = obspy_corrected(
        shared_data / "miniseed" / WBM_FILE,
        obspy.read_inventory(wbm_xml),
        "VEL",
        pre_filt=PRE_FILT,
    )

    values = dataset.waveform.values[0]

    assert values.shape == expected.shape
    np.testing.assert_allclose(values, expected, rtol=1e-10, atol=1e-20)


def test_velocity_sets_attributes(wbm_root: str, wbm_xml: str) -> None:
    dataset = open_wbm(wbm_root, remove_response="velocity", inventory=wbm_xml)

    assert dataset.waveform.attrs["units"] == "m/s"
    assert dataset.attrs["response_output"] == "velocity"
    assert dataset.attrs["response_pre_filt"] == "0.002, 0.004, 0.4, 0.45"
    assert dataset.attrs["response_water_level"] == "60"
    assert dataset.attrs["response_source"] == wbm_xml


def test_acceleration_with_options(
    wbm_root: str, wbm_xml: str, shared_data: Path
) -> None:
    options = {"pre_filt": (0.01, 0.02, 0.3, 0.4), "water_level": None}
    dataset = open_wbm(
        wbm_root, remove_response="acceleration", inventory=wbm_xml, **options
    )
    expected = obspy_corrected(
        shared_data / "miniseed" / WBM_FILE,
        obspy.read_inventory(wbm_xml),
        "ACC",
        **options,
    )

    np.testing.assert_allclose(
        dataset.waveform.values[0], expected, rtol=1e-10, atol=1e-20
    )
    assert dataset.waveform.attrs["units"] == "m/s**2"
    assert dataset.attrs["response_water_level"] == "none"


def test_counts_by_default(wbm_root: str, wbm_xml: str) -> None:
    dataset = open_wbm(wbm_root)

    assert dataset.waveform.attrs["units"] == "counts"
    assert "response_output" not in dataset.attrs


# The FDSN station service


def test_service_displacement_matches_obspy(
    station_service: LoopbackHttp, uln_root: str, shared_data: Path
) -> None:
    dataset = open_waveforms(
        sage_with_service(station_service),
        **ULN_REQUEST,
        root=uln_root,
        remove_response="displacement",
    )
    inventory = obspy.read_inventory(
        str(shared_data / "stationxml" / "IU_ULN_00_LH1.xml")
    )
    expected = obspy_corrected(
        shared_data / "miniseed" / ULN_FILE, inventory, "DISP", pre_filt=PRE_FILT
    )

    values = dataset.waveform.values[0]

    np.testing.assert_allclose(values, expected, rtol=1e-10, atol=1e-20)
    assert dataset.waveform.attrs["units"] == "m"
    assert dataset.attrs["response_source"].startswith("FDSN station service http")


def test_failed_service_names_inventory_option(uln_root: str) -> None:
    server = LoopbackHttp("127.0.0.1")
    server.routes[STATION_QUERY] = lambda params: Reply(400, b"bad request", {})
    server.start()
    try:
        with pytest.raises(WebServiceError) as caught:
            open_waveforms(
                sage_with_service(server),
                **ULN_REQUEST,
                root=uln_root,
                remove_response="velocity",
            )
    finally:
        server.stop()
        close_client()

    assert "pass inventory= with an obspy Inventory" in str(caught.value)


def test_service_asked_once_at_response_level(
    station_service: LoopbackHttp, uln_root: str
) -> None:
    dataset = open_waveforms(
        sage_with_service(station_service),
        **ULN_REQUEST,
        root=uln_root,
        remove_response="velocity",
    )
    dataset.load()

    queries = [seen for seen in station_service.seen if seen.path == STATION_QUERY]
    assert len(queries) == 1
    assert queries[0].query["level"] == ["response"]
    assert queries[0].query["cha"] == ["LH1"]


def test_service_without_token(station_service: LoopbackHttp, uln_root: str) -> None:
    # No token is configured in the tests: the token tier's station service
    # is asked without one, as EarthScope's public station service allows.
    dataset = open_waveforms(
        sage_with_service(station_service, access="earthscope"),
        **ULN_REQUEST,
        root=uln_root,
        remove_response="velocity",
    )

    assert station_service.tokens_seen() == [None]
    assert dataset.waveform.attrs["units"] == "m/s"


def test_graph_carries_requested_responses(
    station_service: LoopbackHttp, uln_root: str
) -> None:
    dataset = open_waveforms(
        sage_with_service(station_service),
        **ULN_REQUEST,
        root=uln_root,
        remove_response="velocity",
    )
    graph = dict(dataset.waveform.data.__dask_graph__())

    carried = [
        argument
        for task in graph.values()
        for argument in getattr(task, "args", ())
        if isinstance(argument, GroupResponses)
    ]

    assert len(carried) == 1
    assert [c.seed_id for c in carried[0].channels if c] == ["IU.ULN.00.LH1"]
    assert len(pickle.dumps(graph)) < 100_000


# Missing responses


def test_scedc_without_inventory_raises(wbm_root: str) -> None:
    with pytest.raises(InvalidRequestError, match="pass inventory="):
        open_wbm(wbm_root, remove_response="velocity")


def test_scedc_without_inventory_raises_before_io(tmp_path: Path) -> None:
    """The catalog entry checks where responses come from when it is made:
    the root is an empty folder, so any read would fail another way."""
    import intake

    from conftest import CATALOGS

    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))

    with pytest.raises(InvalidRequestError, match="pass inventory="):
        cat.scedc.miniseed(
            network="CI",
            station="WBM",
            channel="LHZ",
            start="2024-01-01",
            end="2024-01-02",
            root=str(tmp_path),
            remove_response="velocity",
        )


def test_missing_response_raises(wbm_root: str) -> None:
    inventory = channel_only_inventory("CI", "WBM", "", "LHZ")

    with pytest.raises(InvalidRequestError, match="no instrument response for CI"):
        open_wbm(wbm_root, remove_response="velocity", inventory=inventory)


def test_missing_response_warns_as_nan(wbm_root: str) -> None:
    inventory = channel_only_inventory("CI", "WBM", "", "LHZ")

    with pytest.warns(IntakeEarthScopeWarning, match="no instrument response"):
        dataset = open_wbm(
            wbm_root, remove_response="velocity", inventory=inventory, errors="warn"
        )
    dataset = dataset.load()

    assert dataset.status.values[0, 0] == "no_response"
    assert bool(np.isnan(dataset.waveform.values).all())
    assert dataset.attrs["response_missing"] == "CI.WBM..LHZ"


# Invalid inventories and pre-filters


def test_pre_filt_above_nyquist_raises(wbm_root: str, wbm_xml: str) -> None:
    with pytest.raises(InvalidRequestError, match="Nyquist frequency 0.5 Hz"):
        open_wbm(
            wbm_root,
            remove_response="velocity",
            inventory=wbm_xml,
            pre_filt=(0.002, 0.004, 4.0, 5.0),
        )


def test_options_reject_infinite_corner() -> None:
    with pytest.raises(InvalidRequestError, match="finite corner frequencies"):
        check_response_options("velocity", (0.002, 0.004, 0.4, float("inf")), 60)


@pytest.mark.parametrize("output", ["velocity", None])
def test_inventory_of_wrong_type_raises(wbm_root: str, output: str | None) -> None:
    with pytest.raises(InvalidRequestError, match="invalid inventory=42"):
        open_wbm(wbm_root, remove_response=output, inventory=42)


def test_inventory_lacking_channel_names_others(
    wbm_root: str, shared_data: Path
) -> None:
    inventory = str(shared_data / "stationxml" / "IU_ULN_00_LH1.xml")

    with pytest.raises(
        InvalidRequestError, match="inventory lacks the channel"
    ) as info:
        open_wbm(wbm_root, remove_response="velocity", inventory=inventory)

    assert "nearest the request: IU.ULN.00.LH1." in str(info.value)
    assert "station='WBM'" in str(info.value)


# Gaps and runs


def test_gap_corrects_each_run(shared_data: Path) -> None:
    inventory = obspy.read_inventory(
        str(shared_data / "stationxml" / "IU_ULN_00_LH1.xml")
    )
    trace = obspy.read(str(shared_data / "miniseed" / ULN_FILE))[0]
    samples = trace.data.astype(np.float64)
    samples[4000:4100] = np.nan
    options = ResponseOptions("velocity", PRE_FILT, 60.0)
    seed_id = SeedId("IU", "ULN", "00", "LH1")
    found = channel_responses(inventory, [seed_id], trace.stats.starttime.ns, 2**62)
    grid = Grid(trace.stats.starttime.ns, 1e9, samples.size)

    corrected = remove_chunk_response(
        chunk_of(samples), group_of(found[seed_id]), grid, 0, options
    ).waveform[0]

    assert bool(np.isnan(corrected[4000:4100]).all())
    assert int(np.isnan(corrected).sum()) == 100
    for begin, end in ((0, 4000), (4100, samples.size)):
        piece = trace.slice(
            trace.stats.starttime + begin, trace.stats.starttime + end - 1
        ).copy()
        piece.remove_response(inventory=inventory, output="VEL", pre_filt=PRE_FILT)
        np.testing.assert_allclose(corrected[begin:end], piece.data, rtol=1e-10)


def test_lone_sample_becomes_nan(shared_data: Path) -> None:
    inventory = obspy.read_inventory(
        str(shared_data / "stationxml" / "IU_ULN_00_LH1.xml")
    )
    seed_id = SeedId("IU", "ULN", "00", "LH1")
    start_ns = obspy.UTCDateTime("2015-07-18").ns
    found = channel_responses(inventory, [seed_id], start_ns, start_ns + 10**12)
    samples = np.array([1.0, np.nan, 2.0, 3.0, 4.0, np.nan])

    corrected = remove_chunk_response(
        chunk_of(samples),
        group_of(found[seed_id]),
        Grid(start_ns, 1e9, samples.size),
        0,
        ResponseOptions("velocity", PRE_FILT, 60.0),
    ).waveform[0]

    assert bool(np.isnan(corrected[[0, 1, 5]]).all())
    assert bool(np.isfinite(corrected[2:5]).all())


def test_contiguous_runs_bounds() -> None:
    values = np.array([np.nan, 1, 2, np.nan, np.nan, 3, 4, 5])

    assert contiguous_runs(values) == [(1, 3), (5, 8)]


# Options


def test_options_default_is_counts() -> None:
    assert check_response_options(None, "auto", 60) is None


def test_options_reject_unknown_output() -> None:
    with pytest.raises(InvalidRequestError, match="remove_response='speed'"):
        check_response_options("speed", "auto", 60)


@pytest.mark.parametrize("value", [(1, 2, 3), (0.4, 0.3, 0.2, 0.1), "a,b,c,d"])
def test_options_reject_pre_filt(value: object) -> None:
    with pytest.raises(InvalidRequestError, match="invalid pre_filt"):
        check_response_options("velocity", value, 60)


def test_options_parse_pre_filt_text() -> None:
    options = check_response_options("velocity", "0.01,0.02,8,9", "none")

    assert options is not None
    assert options.pre_filt == (0.01, 0.02, 8.0, 9.0)
    assert options.water_level is None


def test_options_reject_water_level() -> None:
    with pytest.raises(InvalidRequestError, match="invalid water_level=-3"):
        check_response_options("velocity", "auto", -3)


def test_default_pre_filt_at_40_hz() -> None:
    assert default_pre_filt(40.0) == (0.002, 0.004, 16.0, 18.0)


# Helpers


def channel_only_inventory(
    network: str, station: str, location: str, channel: str
) -> obspy.Inventory:
    """An inventory that names the channel but contains no response stages."""
    from obspy.core.inventory import Channel, Network, Station

    entry = Channel(channel, location, 34.0, -118.0, 100.0, 0.0, sample_rate=1.0)
    site = Station(station, 34.0, -118.0, 100.0, channels=[entry])
    return obspy.Inventory(networks=[Network(network, stations=[site])])


def chunk_of(samples: np.ndarray) -> ChunkResult:
    def one(value: Any, dtype: Any = np.float64) -> np.ndarray:
        return np.array([value], dtype=dtype)

    return ChunkResult(
        waveform=samples[np.newaxis, :].copy(),
        status=one("ok", "<U24"),
        valid_fraction=one(1.0),
        gap_count=one(0, np.int64),
        overlap_count=one(0, np.int64),
        conflict_count=one(0, np.int64),
        time_offset=one(0.0),
        max_shift=one(0.0),
        header_rate=one(1.0),
        tier=one("open", "<U16"),
    )


def group_of(channel: Any) -> GroupResponses:
    return GroupResponses((channel,))
