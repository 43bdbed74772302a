"""Filesystems and HTTP clients belong to the process that made them.

The parent reads first, so fsspec's instance cache, s3fs's event loop and
this package's httpx client all exist before ``fork``. Children of a
fork-started pool must then build their own and still read the right bytes.
The process-based LocalCluster case is in test_lazy.py and test_load.py.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator

import pytest

from intake_earthscope import webservices
from intake_earthscope.collection import Collection
from intake_earthscope.storage import StorageSpec, read_bytes
from intake_earthscope.webservices import WebServiceSpec, close_client, https_get

from conftest import collection_spec, publish
from loopback_http import LoopbackHttp, Reply

OBJECTS = {
    f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}": bytes([day]) * 900
    for day in range(1, 7)
}


def open_spec() -> StorageSpec:
    tier = Collection.from_yaml(collection_spec("sage")).tier("open")
    return StorageSpec.for_tier(tier)


def read_in_child(key: str) -> tuple[bytes, bool]:
    """Read one object; return it and whether this process made the filesystem."""
    spec = open_spec()
    data = read_bytes(spec, key)
    return data, spec.filesystem()._pid == os.getpid()


def fetch_in_child(base_url: str) -> tuple[bytes, bool]:
    """Fetch one file; return it and whether this process made the HTTP client."""
    spec = WebServiceSpec(base_url, allowed_hosts=("127.0.0.1",))
    data = https_get(spec, "day.bin")
    return data, webservices._client_pid == os.getpid()


def fork_pool() -> multiprocessing.pool.Pool:
    return multiprocessing.get_context("fork").Pool(2)


@pytest.fixture
def files() -> Iterator[LoopbackHttp]:
    server = LoopbackHttp("127.0.0.1")
    server.routes["/archive/day.bin"] = lambda params: Reply(200, b"file" * 250)
    server.start()
    yield server
    server.stop()
    close_client()


@pytest.mark.timeout(120)
def test_fork_pool_reads_s3(s3) -> None:
    publish(s3, "sage", OBJECTS)
    keys = sorted(OBJECTS)
    parent = read_bytes(open_spec(), keys[0])

    with fork_pool() as pool:
        results = pool.map(read_in_child, keys)

    assert parent == OBJECTS[keys[0]]
    assert [data for data, _ in results] == [OBJECTS[key] for key in keys]
    assert all(own for _, own in results)


@pytest.mark.timeout(120)
def test_fork_pool_reads_https(files) -> None:
    base_url = files.url("/archive/")
    parent = fetch_in_child(base_url)

    with fork_pool() as pool:
        results = pool.map(fetch_in_child, [base_url] * 4)

    assert parent == (b"file" * 250, True)
    assert [data for data, _ in results] == [b"file" * 250] * 4
    assert all(own for _, own in results)
