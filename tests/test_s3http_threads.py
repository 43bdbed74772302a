"""Many threads reading one object over plain HTTP at once, on moto.

A window read sends ranged GETs from 8 range threads while dask threads
read other objects, all through one urllib3 pool per process. Each read
must return the bytes of its own range, and each thread's attempt deadline
must stay its own.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from intake_earthscope import s3http
from intake_earthscope.storage import read_bytes
from intake_earthscope.testing import LoopbackS3, create_bucket, put_public_object

from conftest import s3_spec

BUCKET = "thread-bucket"
REGION = "us-east-2"
# Two megabytes whose every byte depends on its offset, so a misplaced or
# swapped body shows.
DATA = bytes(random.Random(7).getrandbits(8) for _ in range(2 * 2**20))


@pytest.mark.timeout(120)
def test_concurrent_ranges_own_bytes(s3: LoopbackS3, monkeypatch) -> None:
    # A pool of its own, so that no later test finds these connections to
    # the moto server in the pool.
    monkeypatch.setattr(s3http, "_pools", {})
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "urllib3")
    s3http.clear_routes()
    client = s3.client(REGION)
    create_bucket(client, BUCKET, REGION)
    for number in range(4):
        put_public_object(client, BUCKET, f"object{number}", DATA[number:])
    spec = s3_spec(s3.endpoint_url, BUCKET, REGION)
    chooser = random.Random(11)
    reads = []
    for _ in range(200):
        number = chooser.randrange(4)
        start = chooser.randrange(len(DATA) - number)
        end = start + chooser.choice([1, 100, 65_537, 300_000])
        reads.append((number, start, end))
    reads += [(number, None, None) for number in range(4)]

    def read(item: tuple[int, int | None, int | None]) -> bool:
        number, start, end = item
        expected = DATA[number:][start:end]
        return read_bytes(spec, f"object{number}", start, end) == expected

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(read, reads))

    assert results.count(False) == 0
