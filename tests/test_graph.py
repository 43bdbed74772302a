"""Lazy graph layers: no task is built at open, culling builds only what a
selection needs, and the pickled graph stays small per chunk."""

from __future__ import annotations

import pickle

import dask
import numpy as np
import pytest
import xarray as xr
from dask._task_spec import GraphNode

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.graph import FieldLayer, UnitLayer

from conftest import OBSPY_MSEED_DATA, collection_spec, mirror

STATIONS = ",".join(f"S{index:02d}" for index in range(25))
CHANNELS = "HHZ,HHN,HHE,HNZ"


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    """A year of 100 channel-day traces: 36,500 chunks, opened without I/O."""
    root = tmp_path_factory.mktemp("empty-mirror")
    return open_waveforms(
        collection_spec("ncedc"),
        network="BK",
        station=STATIONS,
        location="00",
        channel=CHANNELS,
        start="2023-01-01",
        end="2024-01-01",
        sampling_rate=100.0,
        root=str(root),
    )


def layers(dataset: xr.Dataset) -> list[object]:
    return list(dataset.__dask_graph__().layers.values())


def test_year_request_has_one_chunk_per_object(year: xr.Dataset) -> None:
    assert year.waveform.data.numblocks == (100, 365)


def test_open_builds_no_task(year: xr.Dataset) -> None:
    kinds = {type(layer) for layer in layers(year)}

    assert kinds == {UnitLayer, FieldLayer}
    assert not any(layer.is_materialized() for layer in layers(year))


def test_pickled_graph_is_small_per_chunk(year: xr.Dataset) -> None:
    payload = pickle.dumps(year.__dask_graph__())

    assert len(payload) / year.waveform.data.npartitions < 200


def test_cull_builds_only_selected_tasks(year: xr.Dataset) -> None:
    selection = year.waveform.isel(trace=slice(0, 2), time=slice(0, 2 * 8_640_000))
    array = selection.data

    (graph,) = dask.optimize(array)
    tasks = dict(graph.__dask_graph__())

    # Each trace is a group of its own: its two days need their own reads,
    # the read of the third day (samples past midnight) and the neighbour.
    reads = [key for key in tasks if key[0].startswith("earthscope-read-")]
    neighbours = [key for key in tasks if key[0].startswith("earthscope-neighbour-")]
    assert len(reads) == 2 * 3
    assert len(neighbours) == 2
    assert all(isinstance(task, GraphNode) for task in tasks.values())
    assert len(tasks) < 40


def test_unit_layer_keys_and_dependencies() -> None:
    layer = UnitLayer(("r", "n", "c"), groups=2, days=3, build=_build)

    assert len(layer) == 2 * (1 + 2 * 3)
    assert len(list(layer)) == len(layer)
    assert ("c", 1, 2) in layer
    assert ("c", 2, 0) not in layer
    assert ("x", 0, 0) not in layer
    assert layer.get_dependencies(("c", 0, 0), set()) == {
        ("r", 0, 0),
        ("n", 0),
        ("r", 0, 1),
    }
    assert layer.get_dependencies(("c", 1, 2), set()) == {("r", 1, 2), ("r", 1, 1)}
    with pytest.raises(KeyError):
        layer[("r", 0, 3)]


def test_unit_layer_cull_reports_no_outside_keys() -> None:
    layer = UnitLayer(("r", "n", "c"), groups=2, days=3, build=_build)

    culled, external = layer.cull({("c", 0, 1)}, set())

    assert set(dict(culled)) == {("c", 0, 1), ("r", 0, 0), ("r", 0, 1), ("r", 0, 2)}
    assert all(not keys for keys in external.values())


def test_field_layer_depends_on_its_chunk() -> None:
    layer = FieldLayer("f", "c", "waveform", groups=1, days=2, pick=getattr)

    culled, external = layer.cull({("f", 0, 1)}, set())

    assert list(dict(culled)) == [("f", 0, 1)]
    assert external == {("f", 0, 1): {("c", 0, 1)}}


def test_lazy_graph_computes_the_real_day(tmp_path) -> None:
    data = (OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels").read_bytes()
    root = mirror(tmp_path, {"miniseed/CH/2025/314/BALST.CH.2025.314": data})
    dataset = open_waveforms(
        collection_spec("sage"),
        network="CH",
        station="BALST",
        location="",
        channel="LH?",
        start="2025-11-10",
        end="2025-11-11",
        root=str(root),
    )

    loaded = dataset.load()

    assert list(loaded.status.values.ravel()) == ["ok", "ok"]
    assert np.isfinite(loaded.waveform.values).sum() > 80_000


def _build(kind: str, group: int, day: int | None) -> tuple[object, tuple]:
    return (tuple, ((kind, group, day),))
