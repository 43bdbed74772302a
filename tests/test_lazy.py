"""Laziness, listing cost, graph contents, endpoints and dask clusters."""

from __future__ import annotations

import logging
import pickle

import dask
import intake
import numpy as np
import pytest
from clusters import process_cluster
from dask._task_spec import Task
from distributed import Client

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import IntakeEarthScopeWarning
from intake_earthscope.storage import StorageSpec

from conftest import CATALOGS, OBSPY_MSEED_DATA, collection_spec, mirror, publish

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
DAYS = ("313", "314", "315")


def balst_week() -> dict[str, bytes]:
    """The same real station-day filed under three consecutive days."""
    data = BALST.read_bytes()
    return {f"miniseed/CH/2025/{day}/BALST.CH.2025.{day}": data for day in DAYS}


def storage_records(caplog: pytest.LogCaptureFixture, verb: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "intake_earthscope.storage" and record.msg.startswith(verb)
    ]


def sage(**parameters):
    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    return cat.sage.miniseed(**parameters)


def test_open_reads_no_samples(s3, caplog) -> None:
    publish(s3, "sage", balst_week())
    caplog.set_level(logging.DEBUG, logger="intake_earthscope")
    source = sage(
        network="CH",
        station="BALST",
        location="",
        channel="LHE,LHZ",
        start="2025-11-10",
        end="2025-11-12",
        sampling_rate=1.0,
        tier="open",
    )

    dataset = source.to_dask()

    assert dataset.sizes == {"trace": 2, "time": 2 * 86400, "day": 2}
    assert storage_records(caplog, "fetching") == []
    assert storage_records(caplog, "listing") == []


def test_auto_tier_lists_networks_once(s3, caplog) -> None:
    publish(s3, "sage", balst_week())
    caplog.set_level(logging.DEBUG, logger="intake_earthscope")
    request = dict(
        network="CH",
        station="BALST",
        location="",
        channel="LHE",
        start="2025-11-10",
        end="2025-11-11",
        sampling_rate=1.0,
    )

    first = sage(**request).to_dask()
    second = sage(**request).to_dask()

    assert storage_records(caplog, "listing") == [
        "listing s3://earthscope-geophysical-data/miniseed/"
    ]
    assert first.attrs["tier"] == "open"
    assert second.attrs["tier"] == "open"


def test_rate_from_small_ranged_read(s3, caplog) -> None:
    publish(s3, "sage", balst_week())
    caplog.set_level(logging.DEBUG, logger="intake_earthscope")

    source = sage(
        network="CH",
        station="BALST",
        location="",
        channel="LHE",
        start="2025-11-10",
        end="2025-11-11",
    )
    source.discover()
    fetches = storage_records(caplog, "fetching")

    assert len(fetches) == 1
    assert fetches[0].endswith("bytes 0-16384")


def test_chunk_per_station_object(s3, caplog) -> None:
    publish(s3, "sage", balst_week())
    source = sage(
        network="CH",
        station="BALST",
        location="",
        channel="LH?",
        start="2025-11-10",
        end="2025-11-12",
    )
    dataset = source.to_dask()
    caplog.set_level(logging.DEBUG, logger="intake_earthscope")

    dataset.waveform.mean(dim="time").compute()
    fetched = [message.split()[1] for message in storage_records(caplog, "fetching")]

    assert dataset.waveform.data.chunks == ((2,), (86400, 86400))
    assert sorted(fetched) == sorted(set(fetched))
    assert len(fetched) == 3


def test_spill_crosses_midnight(s3) -> None:
    publish(s3, "sage", balst_week())
    source = sage(
        network="CH",
        station="BALST",
        location="",
        channel="LHZ",
        start="2025-11-10",
        end="2025-11-12",
    )

    dataset = source.read()
    row = dataset.waveform.values[0]

    # Every day's object contains the same 2025-11-10 recording, whose last
    # record runs to 00:03:50 of 2025-11-11. Those minutes reach the second
    # chunk twice (spill of day 314, own object of day 315): identical
    # samples collapse into one and count as overlaps, not conflicts.
    # The last sample, 00:03:50.58, rounds to grid index 86400 + 231.
    assert not np.isnan(row[86400 : 86400 + 232]).any()
    assert np.isnan(row[86400 + 232 :]).all()
    assert int(dataset.overlap_count.values[0, 1]) == 232
    assert int(dataset.conflict_count.values[0, 1]) == 0


def test_spill_into_missing_day_has_rate(s3) -> None:
    """Samples from the previous day's object carry that object's header rate."""
    week = balst_week()
    publish(s3, "sage", {key: data for key, data in week.items() if "314" in key})
    source = sage(
        network="CH",
        station="BALST",
        location="",
        channel="LHZ",
        start="2025-11-10",
        end="2025-11-12",
        sampling_rate=1.0,
        errors="ignore",
    )

    dataset = source.read()

    assert str(dataset.status.values[0, 1]) == "missing"
    assert int(np.count_nonzero(~np.isnan(dataset.waveform.values[0, 86400:]))) == 232
    assert float(dataset.header_rate.values[0, 1]) == 1.0


def test_wildcards_list_touched_prefixes(s3, caplog) -> None:
    publish(s3, "sage", balst_week())
    caplog.set_level(logging.DEBUG, logger="intake_earthscope")
    request = dict(
        network="C?",
        station="B*",
        location="",
        channel="LHZ",
        start="2025-11-10",
        end="2025-11-11",
    )

    # Without a token only the open tier's networks are matched, and a
    # warning reports it.
    with pytest.warns(IntakeEarthScopeWarning, match="open tier's networks only"):
        sage(**request).discover()
    first = storage_records(caplog, "listing")
    caplog.clear()
    with pytest.warns(IntakeEarthScopeWarning):
        sage(**request).discover()
    second = storage_records(caplog, "listing")

    assert sorted(first) == sorted(set(first))
    assert any(message.endswith(("miniseed", "miniseed/")) for message in first)
    assert any(message.endswith("miniseed/CH/2025/314") for message in first)
    assert not any("2025/316" in message for message in first)
    assert second == []


def test_graph_holds_no_file_objects(s3) -> None:
    publish(s3, "sage", balst_week())
    dataset = sage(
        network="CH",
        station="BALST",
        location="",
        channel="LH?",
        start="2025-11-10",
        end="2025-11-12",
    ).to_dask()

    graph = dict(dataset.waveform.data.__dask_graph__())
    payload = pickle.dumps(graph)
    values = [value for task in graph.values() for value in _flatten(task)]

    assert not any(hasattr(value, "read") for value in values)
    assert not any(type(value).__module__.startswith("s3fs") for value in values)
    assert any(isinstance(value, StorageSpec) for value in values)
    assert len(payload) < 50_000


def _flatten(task):
    if isinstance(task, Task):
        yield task.func
        yield from _flatten(task.args)
    elif isinstance(task, tuple | list):
        for item in task:
            yield from _flatten(item)
    else:
        yield task


def test_graph_size_independent_of_segments() -> None:
    # A plan for 20 stations over 30 days is built without I/O when codes
    # are exact and the rate is given; the graph grows with objects only.
    spec = collection_spec("sage")
    stations = ",".join(f"S{i:03d}" for i in range(20))
    dataset = open_waveforms(
        spec,
        network="XX",
        station=stations,
        location="00",
        channel="BHZ",
        start="2024-01-01",
        end="2024-01-31",
        sampling_rate=40.0,
        tier="open",
    )
    graph = dataset.waveform.data.__dask_graph__()

    assert dataset.waveform.data.npartitions == 20 * 30
    assert len(graph) < 20 * 30 * 4 + 20
    assert len(pickle.dumps(dict(graph))) < 20 * 30 * 2_000


def test_storage_options_endpoint(s3, monkeypatch) -> None:
    publish(s3, "sage", balst_week())
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    source = sage(
        network="CH",
        station="BALST",
        location="",
        channel="LHZ",
        start="2025-11-10",
        end="2025-11-11",
        storage_options={"client_kwargs": {"endpoint_url": s3.endpoint_url}},
    )

    dataset = source.read()

    assert dataset.status.values[0, 0] == "ok"
    assert dataset.attrs["storage"].startswith("s3://earthscope-geophysical-data")


def test_local_mirror_directory(tmp_path) -> None:
    root = mirror(tmp_path / "mirror", balst_week())
    for given in (str(root), f"file://{root}"):
        dataset = sage(
            network="CH",
            station="BALST",
            location="",
            channel="LHE",
            start="2025-11-10",
            end="2025-11-11",
            root=given,
        ).read()
        assert float(dataset.valid_fraction.values[0, 0]) > 0.99


def test_threaded_scheduler_matches_sync(s3) -> None:
    publish(s3, "sage", balst_week())
    dataset = sage(
        network="CH",
        station="BALST",
        location="",
        channel="LH?",
        start="2025-11-10",
        end="2025-11-12",
    ).to_dask()

    with dask.config.set(scheduler="threads"):
        threaded = dataset.waveform.values
    with dask.config.set(scheduler="sync"):
        synchronous = dataset.waveform.values

    np.testing.assert_array_equal(threaded, synchronous)


@pytest.mark.cluster
def test_local_cluster_processes(s3, monkeypatch) -> None:
    publish(s3, "sage", balst_week())
    # Workers get the endpoint only through storage_options, proving the
    # options travel in the graph rather than through the environment.
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    source = sage(
        network="CH",
        station="BALST",
        location="",
        channel="LH?",
        start="2025-11-10",
        end="2025-11-12",
        storage_options={"client_kwargs": {"endpoint_url": s3.endpoint_url}},
    )
    dataset = source.to_dask()
    expected = source.read().waveform.resample(time="1h").std()

    with (
        process_cluster() as cluster,
        Client(cluster),
    ):
        result = dataset.waveform.resample(time="1h").std().compute()

    np.testing.assert_allclose(result.values, expected.values)
    assert result.sizes == {"trace": 2, "time": 48}
