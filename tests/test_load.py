"""A thousand chunk reads on a process cluster while a tenth of requests fail.

Twenty stations by fifty days of tiny objects sit on the moto S3 server
behind a fault proxy. The same dataset is computed once with the proxy
passing everything through and once with seeded 503, SlowDown, reset and
truncated-body faults on about 10% of the requests. The clean run reads in
the test process with dask's threads (half the time of a cluster run), the
faulty run on a two-process LocalCluster. Both must return the same
samples, every unit ``ok``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from distributed import Client, LocalCluster

from intake_earthscope.dataset import open_waveforms
from intake_earthscope.testing import put_public_object
from intake_earthscope.timeutil import parse_time

import mseedgen
from conftest import bucket_of, collection_spec, publish
from faultproxy import FaultProxy, FaultRule

STATIONS = [f"S{index:02d}" for index in range(20)]
DAYS = 50
RATE = 0.01
SAMPLES_PER_DAY = 864
FIRST_DAY_NS = parse_time("2024-01-01", "start")


def values(station: int, day: int) -> np.ndarray:
    return np.arange(10, dtype=np.int32) + 1000 * station + 10 * day


def objects() -> dict[str, bytes]:
    found = {}
    for index, station in enumerate(STATIONS):
        for day in range(1, DAYS + 1):
            start = FIRST_DAY_NS + (day - 1) * 86_400 * 10**9
            key = f"miniseed/XX/2024/{day:03d}/{station}.XX.2024.{day:03d}"
            found[key] = mseedgen.segment_bytes(
                f"XX.{station}.00.UHZ", start, values(index, day), RATE, version=3
            )
    return found


def expected_waveform() -> np.ndarray:
    expected = np.full((len(STATIONS), DAYS * SAMPLES_PER_DAY), np.nan)
    for index in range(len(STATIONS)):
        for day in range(1, DAYS + 1):
            first = (day - 1) * SAMPLES_PER_DAY
            expected[index, first : first + 10] = values(index, day)
    return expected


def publish_concurrently(s3, stored: dict[str, bytes]) -> None:
    publish(s3, "sage", {})
    bucket, region = bucket_of("sage")
    client = s3.client(region)

    def put(item: tuple[str, bytes]) -> None:
        put_public_object(client, bucket, *item)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(put, stored.items()))


@pytest.mark.cluster
@pytest.mark.timeout(180)
def test_thousand_reads_under_faults(s3, monkeypatch) -> None:
    publish_concurrently(s3, objects())
    # With a tenth of requests failing, five attempts would lose one of the
    # 1,000 units in about 1% of runs; ten make that about 1e-7.
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "10")
    proxy = FaultProxy(s3.endpoint_url).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
    dataset = open_waveforms(
        collection_spec("sage"),
        network="XX",
        station=STATIONS,
        location="00",
        channel="UHZ",
        start="2024-01-01",
        end=str(np.datetime64("2024-01-01") + np.timedelta64(DAYS, "D")),
        tier="open",
        sampling_rate=RATE,
        errors="warn",
        # One GET per object: without it s3fs sends a HEAD first.
        storage_options={"max_concurrency": 1},
    )[["waveform", "status"]]
    faults = [
        FaultRule("503", probability=0.03, seed=1),
        FaultRule("slowdown", probability=0.03, seed=2),
        FaultRule("reset", probability=0.02, seed=3),
        FaultRule("truncate", probability=0.02, seed=4),
    ]

    try:
        # The clean run reads in this process; it costs half the cluster's.
        clean = dataset.compute(scheduler="threads")
        clean_requests = len(proxy.seen)
        proxy.rules = faults
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=4,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            ) as cluster,
            Client(cluster),
        ):
            faulty = dataset.compute()
    finally:
        proxy.stop()
    injected = proxy.injected()

    assert clean.sizes["day"] == DAYS
    assert clean.sizes["trace"] == len(STATIONS)
    np.testing.assert_array_equal(clean.waveform.values, expected_waveform())
    np.testing.assert_array_equal(faulty.waveform.values, clean.waveform.values)
    assert (clean.status.values == "ok").all()
    assert (faulty.status.values == "ok").all()
    assert clean_requests >= len(STATIONS) * DAYS
    assert sum(injected.values()) >= 0.05 * (len(proxy.seen) - clean_requests)
    assert all(injected[rule.fault] > 0 for rule in faults)
