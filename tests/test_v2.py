"""Tests of the intake v2 layer: the v2 catalog twin, its reader and parameters.

The reads run against a local mirror holding one real station-day object,
obspy's test file ``CH.BALST..LH_two_channels`` (CH.BALST LHE and LHZ at
1 Hz on 2025-11-10, day 314), laid out as the SAGE key template expects.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dask.array as da
import intake
import pandas as pd
import pytest
import xarray as xr
import yaml
from intake.readers.entry import Catalog
from intake.readers.readers import recommend

from intake_earthscope.browse import StationBrowser
from intake_earthscope.errors import (
    CatalogError,
    IgnoredParameterWarning,
    InvalidRequestError,
)
from intake_earthscope.gnss.v2_positions import GnssPositionReader
from intake_earthscope.v2 import (
    MiniseedCollection,
    MiniseedReader,
    RinexObsReader,
    StationList,
    StationsReader,
)

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"
V1_CATALOG = CATALOGS / "earthscope.yaml"
V2_CATALOG = CATALOGS / "earthscope_v2.yaml"
ARCHIVES = ("sage", "scedc", "ncedc")
STATION_ARCHIVES = ("sage", "scedc", "ncedc", "gage")
GNSS_ARCHIVES = ("gage", "noaa_cors", "geonet")

OBSPY_FILE = Path("io", "mseed", "tests", "data", "CH.BALST..LH_two_channels")
MIRROR_KEY = Path("miniseed", "CH", "2025", "314", "BALST.CH.2025.314")

REQUEST: dict[str, Any] = {
    "network": "CH",
    "station": "BALST",
    "location": "",
    "channel": "LH?",
    "start": "2025-11-10T00:00:00",
    "end": "2025-11-10T06:00:00",
}

POSITIONS_WINDOW = {"start": "2020-01-01", "end": "2020-01-03"}

# Modules the v2 module must not import, because intake imports it on every
# ``import intake``.
HEAVY_MODULES = ("xarray", "dask", "pymseed", "obspy", "s3fs", "pandas", "numpy")


@pytest.fixture(scope="module")
def mirror_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local mirror with SAGE's key layout and one station-day object."""
    spec = importlib.util.find_spec("obspy")
    assert spec is not None and spec.origin is not None, "obspy is not installed"
    source = Path(spec.origin).parent / OBSPY_FILE

    root = tmp_path_factory.mktemp("mirror")
    target = root / MIRROR_KEY
    target.parent.mkdir(parents=True)
    shutil.copyfile(source, target)
    return str(root)


@pytest.fixture
def cat() -> Catalog:
    return intake.open_catalog(str(V2_CATALOG))


def v1_collection(archive: str) -> dict[str, Any]:
    """Return the ``collection`` mapping of the archive's v1 YAML entry."""
    text = (CATALOGS / f"{archive}.yaml").read_text()
    return yaml.safe_load(text)["sources"]["miniseed"]["args"]["collection"]


def v1_dataset(mirror_root: str, **request: Any) -> xr.Dataset:
    v1 = intake.open_catalog(str(V1_CATALOG))
    return v1.sage.miniseed(root=mirror_root, **request).read()


def test_open_catalog_gives_v2_catalog(cat: Catalog) -> None:
    assert isinstance(cat, Catalog)
    assert cat.version == 2


def test_catalog_lists_entries(cat: Catalog) -> None:
    miniseed = [f"{archive}_miniseed" for archive in ARCHIVES]
    stations = [f"{archive}_stations" for archive in STATION_ARCHIVES]
    rinex = [f"{archive}_rinex_obs" for archive in GNSS_ARCHIVES]

    assert sorted(cat) == sorted([*miniseed, *stations, "gage_positions", *rinex])


def test_v1_catalog_lists_same_archives() -> None:
    v1 = intake.open_catalog(str(V1_CATALOG))

    assert sorted(v1) == sorted(ARCHIVES + GNSS_ARCHIVES)


@pytest.mark.parametrize("archive", ARCHIVES)
def test_collection_matches_v1_yaml(cat: Catalog, archive: str) -> None:
    reader = cat[f"{archive}_miniseed"]

    assert isinstance(reader, MiniseedReader)
    assert reader.data.collection == v1_collection(archive)


def v1_rinex_product(archive: str) -> dict[str, Any]:
    """Return the ``product`` mapping of the archive's v1 RINEX entry."""
    text = (CATALOGS / f"{archive}.yaml").read_text()
    return yaml.safe_load(text)["sources"]["rinex_obs"]["args"]["product"]


@pytest.mark.parametrize("archive", GNSS_ARCHIVES)
def test_rinex_product_matches_v1_yaml(cat: Catalog, archive: str) -> None:
    reader = cat(station="YORK", start="2015-02-13")[f"{archive}_rinex_obs"]

    assert isinstance(reader, RinexObsReader)
    assert reader.data.product == v1_rinex_product(archive)


@pytest.mark.parametrize("archive", GNSS_ARCHIVES)
def test_rinex_entry_metadata_names_archive(cat: Catalog, archive: str) -> None:
    metadata = cat[f"{archive}_rinex_obs"].metadata

    assert metadata["data_type"] == "rinex_obs"


@pytest.mark.parametrize("archive", ARCHIVES)
def test_parameters_leave_key_template_intact(cat: Catalog, archive: str) -> None:
    # intake formats every string argument with the parameter values, so a
    # single-brace key_template would come out filled in or without padding.
    reader = cat(**REQUEST)[f"{archive}_miniseed"]

    assert reader.data.collection == v1_collection(archive)


@pytest.mark.parametrize("archive", ARCHIVES)
def test_entry_metadata_names_archive(cat: Catalog, archive: str) -> None:
    metadata = cat[f"{archive}_miniseed"].metadata

    assert metadata["archive"] == archive
    assert metadata["data_type"] == "miniseed"


def test_reader_matches_v1_source(cat: Catalog, mirror_root: str) -> None:
    expected = v1_dataset(mirror_root, **REQUEST)

    dataset = cat(**REQUEST).sage_miniseed.read(root=mirror_root).load()

    xr.testing.assert_identical(dataset, expected)
    # The comparison means something only if samples were read.
    assert list(dataset.trace.values) == ["CH.BALST..LHE", "CH.BALST..LHZ"]
    assert (dataset.status.values == "ok").all()
    assert int(dataset.waveform.count()) > 40_000


def test_read_keywords_override_request(cat: Catalog, mirror_root: str) -> None:
    expected = cat(**REQUEST).sage_miniseed.read(root=mirror_root).load()

    dataset = cat.sage_miniseed.read(root=mirror_root, **REQUEST).load()

    xr.testing.assert_identical(dataset, expected)


def test_to_dask_returns_lazy_dataset(cat: Catalog, mirror_root: str) -> None:
    dataset = cat(**REQUEST).sage_miniseed.to_dask(root=mirror_root)

    assert isinstance(dataset, xr.Dataset)
    assert isinstance(dataset.waveform.data, da.Array)
    assert isinstance(dataset.status.data, da.Array)


def test_to_dask_equals_read(cat: Catalog, mirror_root: str) -> None:
    reader = cat(**REQUEST).sage_miniseed

    xr.testing.assert_identical(
        reader.to_dask(root=mirror_root).load(), reader.read(root=mirror_root).load()
    )


def test_channel_list_selects_one_trace(cat: Catalog, mirror_root: str) -> None:
    request = {**REQUEST, "channel": ["LHZ"]}
    expected = v1_dataset(mirror_root, **request)

    reader = cat(**request).sage_miniseed
    dataset = reader.read(root=mirror_root).load()

    assert reader.kwargs["request"]["channel"] == ["LHZ"]
    assert list(dataset.trace.values) == ["CH.BALST..LHZ"]
    xr.testing.assert_identical(dataset, expected)


def test_sampling_rate_parameter_reaches_core(cat: Catalog, mirror_root: str) -> None:
    dataset = cat(**REQUEST, sampling_rate=1.0).sage_miniseed.read(root=mirror_root)

    assert dataset.attrs["sampling_rate"] == 1.0


def test_tier_parameter_rejects_unknown(cat: Catalog, mirror_root: str) -> None:
    reader = cat(**REQUEST, tier="nearline").sage_miniseed

    with pytest.raises(InvalidRequestError, match="nearline"):
        reader.read(root=mirror_root)


def test_time_parameter_converts_to_utc(cat: Catalog) -> None:
    reader = cat(start="2025-11-10T01:00:00+01:00", end="2025-11-10").sage_miniseed
    request = reader.kwargs["request"]

    assert request["start"] == pd.Timestamp("2025-11-10T00:00:00Z")
    assert request["start"].tzname() == "UTC"
    assert request["end"] == pd.Timestamp("2025-11-10T00:00:00Z")


@pytest.mark.parametrize("name", ["start", "end"])
def test_time_parameter_rejects_bad_text(cat: Catalog, name: str) -> None:
    with pytest.raises(InvalidRequestError, match=f"invalid {name}='yesterday'"):
        cat(**{name: "yesterday"})["sage_miniseed"]


def test_codes_parameter_rejects_number(cat: Catalog) -> None:
    with pytest.raises(TypeError, match="invalid network=3: SEED codes are text"):
        cat(network=3)["sage_miniseed"]


def test_errors_parameter_rejects_unknown(cat: Catalog) -> None:
    with pytest.raises(ValueError, match="expected one of"):
        cat(errors="skip")["sage_miniseed"]


def test_default_request_misses_start(cat: Catalog) -> None:
    with pytest.raises(InvalidRequestError, match="missing start"):
        cat.sage_miniseed.read()


def test_unknown_request_key_raises(mirror_root: str) -> None:
    reader = MiniseedReader(
        MiniseedCollection(v1_collection("sage")), request={"netwrk": "CH"}
    )

    with pytest.raises(TypeError, match="netwrk"):
        reader.read(root=mirror_root)


def test_reader_without_catalog(mirror_root: str) -> None:
    expected = v1_dataset(mirror_root, **REQUEST)

    # intake wraps a plain mapping given first in the reader's datatype.
    reader = MiniseedReader(v1_collection("sage"), root=mirror_root, **REQUEST)
    dataset = reader.read().load()

    assert isinstance(reader.data, MiniseedCollection)
    xr.testing.assert_identical(dataset, expected)


def v1_positions_product() -> dict[str, Any]:
    """Return the ``product`` mapping of the v1 ``gage.positions`` entry."""
    text = (CATALOGS / "gage.yaml").read_text()
    return yaml.safe_load(text)["sources"]["positions"]["args"]["product"]


def test_positions_product_matches_v1_yaml(cat: Catalog) -> None:
    reader = cat["gage_positions"]

    assert isinstance(reader, GnssPositionReader)
    assert reader.data.product == v1_positions_product()


def test_positions_parameters_leave_paths_intact(cat: Catalog) -> None:
    reader = cat(station="P156", frame="igs14", **POSITIONS_WINDOW).gage_positions

    assert reader.data.product == v1_positions_product()
    assert reader.kwargs["request"]["frame"] == "igs14"


def test_positions_parameter_rejects_frame(cat: Catalog) -> None:
    with pytest.raises(ValueError, match="expected one of"):
        cat(frame="itrf2020")["gage_positions"]


def test_positions_reader_matches_v1_source(cat: Catalog, positions_root: str) -> None:
    v1 = intake.open_catalog(str(V1_CATALOG))
    expected = v1.gage.positions(
        station="SYNT", root=positions_root, **POSITIONS_WINDOW
    ).read()

    reader = cat(station="SYNT", **POSITIONS_WINDOW).gage_positions
    dataset = reader.to_dask(root=positions_root).load()

    xr.testing.assert_identical(dataset, expected)
    assert list(dataset.north.values[0]) == [0.001, 0.002]


@pytest.fixture(scope="module")
def positions_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local mirror with GAGE's position layout and one synthetic station."""
    root = tmp_path_factory.mktemp("positions")
    header = (
        "PBO Station Position Time Series. Reference Frame : NAM14\n"
        "Format Version: 1.1.0\n4-character ID: SYNT\n"
        "NEU Reference position :  40.0  236.0  100.0 (NAM14/WGS84)\n*header\n"
    )
    rows = "".join(
        f" 2020010{day} 120000 {58848.5 + day:.4f} 1 2 3 0.1 0.1 0.1 0 0 0 40 "
        f"236 100 {day / 1000:.5f} 0 0 0.001 0.001 0.003 0 0 0 final\n"
        for day in (1, 2)
    )
    target = root / "products/position/SYNT/SYNT.cwu.final_nam14.pos"
    target.parent.mkdir(parents=True)
    target.write_text(header + rows)
    return str(root)


def test_collection_rejects_bad_mapping() -> None:
    with pytest.raises(CatalogError, match="granularity"):
        MiniseedCollection({"name": "broken"})


def test_recommend_finds_reader() -> None:
    readers = recommend(MiniseedCollection)

    assert readers["importable"] == [MiniseedReader]


def v1_stations_args(archive: str) -> dict[str, Any]:
    """Return the args of the archive's v1 ``stations`` entry."""
    text = (CATALOGS / f"{archive}.yaml").read_text()
    return yaml.safe_load(text)["sources"]["stations"]["args"]


@pytest.mark.parametrize("archive", STATION_ARCHIVES)
def test_station_list_matches_v1_yaml(cat: Catalog, archive: str) -> None:
    # A station entry takes no start or end, so the request warns.
    with pytest.warns(IgnoredParameterWarning, match=f"{archive}_stations"):
        reader = cat(**REQUEST)[f"{archive}_stations"]
    expected = v1_stations_args(archive)

    assert isinstance(reader, StationsReader)
    assert reader.data.stations == expected["stations"]
    assert reader.data.collection == expected.get("collection")


@pytest.mark.parametrize("archive", STATION_ARCHIVES)
def test_station_entry_metadata(cat: Catalog, archive: str) -> None:
    metadata = cat[f"{archive}_stations"].metadata

    assert metadata["archive"] == archive
    assert metadata["data_type"] == "stations"


def test_stations_reader_matches_v1_source(
    cat: Catalog, s3, shared_data: Path, tmp_path: Path
) -> None:
    from conftest import publish

    data = (shared_data / "stationxml" / "CI_WBM.xml").read_bytes()
    publish(s3, "scedc", {"FDSNstationXML/CI/CI_WBM.xml": data})
    v1 = intake.open_catalog(str(V1_CATALOG))
    expected = v1.scedc.stations(station="WBM", cache_dir=str(tmp_path / "v1")).read()

    browser = cat(station="WBM").scedc_stations.read(cache_dir=tmp_path / "v2")

    assert isinstance(browser, StationBrowser)
    assert len(browser.df) == 40
    pd.testing.assert_frame_equal(browser.df, expected)


def test_station_list_rejects_unknown_kind() -> None:
    with pytest.raises(CatalogError, match="kind"):
        StationList({"name": "broken", "kind": "tide"})


def run_python(code: str, **environment: str) -> Any:
    """Run ``code`` in a fresh interpreter and return the JSON it prints."""
    env = {**os.environ, **environment}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def modules_added_by_v2() -> set[str]:
    """Top-level modules that importing the v2 module adds after intake."""
    code = (
        "import json, sys\n"
        "import intake\n"
        "before = set(sys.modules)\n"
        "import intake_earthscope.v2\n"
        "added = {name.split('.')[0] for name in set(sys.modules) - before}\n"
        "print(json.dumps(sorted(added)))\n"
    )
    # With startup imports off, intake does not import the v2 module itself.
    return set(run_python(code, INTAKE_IMPORT_ON_STARTUP="False"))


@pytest.mark.parametrize("module", HEAVY_MODULES)
def test_v2_import_skips_heavy_module(
    modules_added_by_v2: set[str], module: str
) -> None:
    assert module not in modules_added_by_v2


def test_import_intake_loads_v2_module() -> None:
    code = (
        "import json, sys\n"
        "import intake\n"
        "print(json.dumps('intake_earthscope.v2' in sys.modules))\n"
    )

    assert run_python(code) is True


def balst_inventory() -> Any:
    """CH.BALST LHE and LHZ with a one-stage velocity response (poles, zeros)."""
    import obspy
    from obspy.core.inventory import Channel, Network, Response, Station

    response = Response.from_paz(
        zeros=[0j, 0j],
        poles=[-0.037 + 0.037j, -0.037 - 0.037j],
        stage_gain=1.5e9,
        input_units="M/S",
        output_units="COUNTS",
    )
    channels = [
        Channel(code, "", 47.3, 7.7, 800.0, 0.0, sample_rate=1.0, response=response)
        for code in ("LHE", "LHZ")
    ]
    station = Station("BALST", 47.3, 7.7, 800.0, channels=channels)
    return obspy.Inventory(networks=[Network("CH", stations=[station])])


def test_remove_response_matches_v1(cat: Catalog, mirror_root: str) -> None:
    options = {"remove_response": "velocity", "pre_filt": "0.002,0.004,0.4,0.45"}
    inventory = balst_inventory()
    expected = v1_dataset(mirror_root, **REQUEST, **options, inventory=inventory)

    reader = cat(**REQUEST, **options).sage_miniseed
    dataset = reader.read(root=mirror_root, inventory=inventory).load()

    xr.testing.assert_identical(dataset, expected)
    assert dataset.waveform.attrs["units"] == "m/s"
    assert int(dataset.waveform.count()) > 40_000
    assert dataset.attrs["response_pre_filt"] == "0.002, 0.004, 0.4, 0.45"
