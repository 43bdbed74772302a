"""StorageSpec: identity cached once, pickles, copies, equality and hashing."""

from __future__ import annotations

import dataclasses
import pickle
from concurrent.futures import ThreadPoolExecutor

from intake_earthscope.storage import StorageSpec


def spec(**changes: object) -> StorageSpec:
    fields = {
        "protocol": "s3",
        "root": "bucket",
        "region": "us-east-2",
        "storage_options": {"anon": True, "client_kwargs": {"verify": False}},
        "tier": "open",
    }
    return StorageSpec(**{**fields, **changes})


def test_equal_specs_hash_alike() -> None:
    first, second = spec(), spec()
    first_identity = first.identity

    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1
    assert first_identity == second.identity


def test_pickles_before_and_after_identity() -> None:
    original = spec()
    before = pickle.dumps(original)
    identity = original.identity
    after = pickle.dumps(original)

    assert before == after
    assert pickle.loads(after) == original
    assert pickle.loads(after).identity == identity
    assert hash(pickle.loads(before)) == hash(original)


def test_replace_computes_new_identity() -> None:
    original = spec()
    identity = original.identity

    moved = dataclasses.replace(original, region="us-west-2")
    same = dataclasses.replace(original)

    assert moved.identity != identity
    assert same.identity == identity
    assert same == original


def test_identity_same_across_threads() -> None:
    shared = spec()

    with ThreadPoolExecutor(max_workers=8) as pool:
        identities = set(pool.map(lambda _: shared.identity, range(32)))

    assert identities == {spec().identity}
