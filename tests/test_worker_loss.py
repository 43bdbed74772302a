"""A dask worker process killed while it reads.

Three station-days sit behind a fault proxy that delays the first GET of
day 2 for five seconds. While it is held, the test kills a worker process
that is running read tasks (SIGKILL, as the kernel's out-of-memory killer
does). The nanny starts a new worker, the scheduler runs the lost tasks
again, and the day read and the window read must return the samples of
an undisturbed read, with every status ``ok``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from clusters import process_cluster
from distributed import Client

from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.recordindex import forget_indexes
from intake_earthscope.testing import LoopbackS3

import mseedgen
from conftest import collection_spec, publish
from faultproxy import FaultProxy, FaultRule

RATE = 20.0
CODES = {"network": "XX", "station": "STA", "location": "00", "channel": "BHZ"}
TIMES = ["2024-01-01T00:30:00", "2024-01-02T00:20:00", "2024-01-03T00:10:00"]


def key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def hour_of(day: int) -> bytes:
    """The first hour of a day, XX.STA.00.BHZ at 20 Hz."""
    start = mseedgen.nstime(f"2024-01-{day:02d}T00:00:00Z")
    values = (np.arange(3600 * 20) % 500 + 1000 * day).astype(np.int32)
    return mseedgen.segment_bytes("XX.STA.00.BHZ", start, values, RATE)


def open_days() -> xr.Dataset:
    return open_waveforms(
        collection_spec("sage"),
        tier="open",
        start="2024-01-01",
        end="2024-01-04",
        sampling_rate=RATE,
        **CODES,
    )


def open_event_windows() -> xr.Dataset:
    return open_windows(
        collection_spec("sage"),
        TIMES,
        10.0,
        10.0,
        tier="open",
        sampling_rate=RATE,
        **CODES,
    )


def reading_worker(client: Client) -> str:
    """Return the address of a worker that runs a read task."""
    processing = client.processing()
    for address, keys in processing.items():
        if any("read" in str(task) for task in keys):
            return address
    busy = [address for address, keys in processing.items() if keys]
    assert busy, "no worker runs a task while the GET is held"
    return busy[0]


@pytest.fixture
def index_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("INTAKE_EARTHSCOPE_CACHE_DIR", str(folder))
    forget_indexes()
    yield folder
    forget_indexes()


@pytest.mark.cluster
@pytest.mark.timeout(120)
@pytest.mark.parametrize("opener", [open_days, open_event_windows])
def test_killed_worker_tasks_rerun(
    s3: LoopbackS3,
    index_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    opener: Callable[[], xr.Dataset],
) -> None:
    publish(s3, "sage", {key(day): hour_of(day) for day in (1, 2, 3)})
    expected = opener().load(scheduler="sync")
    forget_indexes()

    with FaultProxy(s3.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        # The held reply must not time out: the kill, not a retry, is tested.
        monkeypatch.setenv("INTAKE_EARTHSCOPE_READ_TIMEOUT", "30")
        dataset = opener()
        proxy.rules = [FaultRule("slow", key="STA.XX.2024.002", limit=1, delay=5.0)]
        with (
            process_cluster() as cluster,
            Client(cluster) as client,
        ):
            pids = client.run(os.getpid)
            future = client.compute(dataset)
            deadline = time.monotonic() + 20
            while not proxy.injected() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert proxy.injected(), "the GET of day 2 was never held"
            os.kill(pids[reading_worker(client)], signal.SIGKILL)
            loaded = future.result(timeout=60)

    np.testing.assert_array_equal(loaded.waveform.values, expected.waveform.values)
    assert (loaded.status.values == "ok").all()
