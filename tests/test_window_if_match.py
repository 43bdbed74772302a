"""Window reads whose later ranged GETs carry the first GET's ETag in If-Match.

The proxy of ``test_first_get_replies`` sits on 127.0.0.1 between the reader
and the moto server and changes replies: it replies 412 where it should not,
ignores If-Match, or gives the object an ETag moto would never send. Whatever
it does, each window ends with an outcome, its samples come from one version
of the object, and the record index cached on the way gives right samples to
the next read.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import xarray as xr
from test_first_get_replies import (  # noqa: F401 (_fresh_routes is autouse)
    REORDERED,
    TIMES,
    Edit,
    EditingProxy,
    Exchange,
    _fresh_routes,
    day_bytes,
    samples_swapped_day,
    store,
    whole_day,
    windows,
)
from test_windows import (  # noqa: F401 (_index_cache is an autouse fixture)
    CODES,
    _index_cache,
    assert_equal_to_cuts,
    cut,
)

from intake_earthscope import open_windows, s3http
from intake_earthscope.errors import EarthScopeError, ObjectChangedError
from intake_earthscope.testing import LoopbackS3

from conftest import collection_spec


def precondition_failed(exchange: Exchange) -> None:
    """Turn the reply into a 412 without a body."""
    exchange.status = 412
    exchange.body = b""
    exchange.headers = {"Content-Length": "0"}


def test_412_on_first_get(s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 412 to the first GET, which sent no If-Match, is a read failure of
    the object, not a sign that it changed."""
    store(s3, day_bytes())

    def first_fails(exchange: Exchange) -> None:
        if exchange.byte_range == "bytes=0-32767":
            precondition_failed(exchange)

    with EditingProxy(s3.endpoint_url, first_fails) as proxy:
        with pytest.raises(EarthScopeError, match="Precondition Failed") as raised:
            windows(proxy, monkeypatch)

    assert not isinstance(raised.value, ObjectChangedError)
    assert not [e for e in proxy.seen if "If-Match" in e.sent_with]


def test_412_to_every_if_match(s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that replies 412 to every If-Match makes the windows read the
    object whole, once, instead of looping."""
    store(s3, day_bytes())

    def fail_if_match(exchange: Exchange) -> None:
        if "If-Match" in exchange.sent_with:
            precondition_failed(exchange)

    with EditingProxy(s3.endpoint_url, fail_if_match) as proxy:
        dataset = windows(proxy, monkeypatch)

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    assert_equal_to_cuts(dataset, whole_day(), TIMES, 20.0)
    assert set(dataset.read_mode.values.ravel()) == {"whole_object"}
    assert 412 in [e.status for e in proxy.seen]


class IfMatchIgnoringProxy(EditingProxy):
    """Forward requests without If-Match, as a server that ignores it."""

    def exchange(self, method: str, path: str, headers: dict[str, str]) -> Exchange:
        forwarded = {k: v for k, v in headers.items() if k.lower() != "if-match"}
        return super().exchange(method, path, forwarded)


def rewrite_after_first_get(s3: LoopbackS3, data: bytes) -> Callable[[Exchange], None]:
    """Return an edit that stores ``data`` right after the first 32 KiB GET."""
    rewritten = threading.Event()

    def rewrite(exchange: Exchange) -> None:
        first_get = exchange.byte_range == "bytes=0-32767" and exchange.status == 206
        if first_get and not rewritten.is_set():
            rewritten.set()
            store(s3, data)

    return rewrite


@pytest.mark.parametrize("second", ["swapped", "reordered"])
def test_if_match_ignored_rewrite(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch, second: str
) -> None:
    """Where the server ignores If-Match, a rewrite after the first GET still
    gives the windows the samples of one version."""
    data = samples_swapped_day() if second == "swapped" else day_bytes(REORDERED)
    store(s3, day_bytes())
    edit = rewrite_after_first_get(s3, data)

    with IfMatchIgnoringProxy(s3.endpoint_url, edit) as proxy:
        dataset = windows(proxy, monkeypatch)

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    assert_equal_to_cuts(dataset, whole_day(), TIMES, 20.0)


def test_rewrite_back_after_whole_read(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the object is written back to its first version, which has the
    first tag again, a read gets that version's samples, whatever the whole
    read of the rewritten object cached."""
    first = day_bytes()
    store(s3, first)
    edit = rewrite_after_first_get(s3, day_bytes(REORDERED))
    with IfMatchIgnoringProxy(s3.endpoint_url, edit) as proxy:
        windows(proxy, monkeypatch)

    store(s3, first)
    with EditingProxy(s3.endpoint_url) as proxy:
        dataset = windows(proxy, monkeypatch)

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    assert_equal_to_cuts(dataset, whole_day(), TIMES, 20.0)


class TagMappingProxy(EditingProxy):
    """Give the object the ETag ``tag`` in place of moto's, and map If-Match
    back, as a server whose ETags look otherwise would."""

    def __init__(self, upstream: str, tag: str, edit: Edit | None = None) -> None:
        super().__init__(upstream, edit or (lambda exchange: None))
        self.tag = tag
        self.real: set[str] = set()

    def exchange(self, method: str, path: str, headers: dict[str, str]) -> Exchange:
        sent = headers.get("If-Match")
        if sent == self.tag and self.real:
            headers = {**headers, "If-Match": next(iter(self.real))}
        exchange = super().exchange(method, path, headers)
        exchange.sent_with["If-Match"] = sent or ""
        if "ETag" in exchange.headers and not self.real:
            self.real.add(exchange.headers["ETag"])
        if exchange.headers.get("ETag") in self.real:
            exchange.headers["ETag"] = self.tag
        return exchange


ODD_TAGS = {
    "long": '"' + "0123456789abcdef" * 500 + '"',
    "separators": '"a, b; c=d/e\\f"',
    "inner quote": '"ab"cd"',
    "list": '"abc", "def"',
}


@pytest.mark.parametrize("tag", list(ODD_TAGS.values()), ids=list(ODD_TAGS))
def test_odd_etag_windows(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch, tag: str
) -> None:
    """An ETag that is long or contains separators goes back unchanged in
    If-Match, and the windows stay ranged reads."""
    store(s3, day_bytes())

    with TagMappingProxy(s3.endpoint_url, tag) as proxy:
        dataset = windows(proxy, monkeypatch)

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    assert_equal_to_cuts(dataset, whole_day(), TIMES, 20.0)
    assert set(dataset.read_mode.values.ravel()) == {"ranged"}
    sent = {e.sent_with["If-Match"] for e in proxy.seen if e.method == "GET"}
    assert sent == {"", tag}


@pytest.mark.parametrize("tag", list(ODD_TAGS.values()), ids=list(ODD_TAGS))
def test_odd_etag_rewrite(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch, tag: str
) -> None:
    """After a rewrite, the 412 to an odd ETag makes a whole read."""
    store(s3, day_bytes())
    edit = rewrite_after_first_get(s3, samples_swapped_day())

    with TagMappingProxy(s3.endpoint_url, tag, edit) as proxy:
        dataset = windows(proxy, monkeypatch)

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    assert_equal_to_cuts(dataset, whole_day(), TIMES, 20.0)
    assert 412 in [e.status for e in proxy.seen]


def test_threads_during_rewrites(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loads in four threads while every third GET of the object swaps it
    between three versions: each window contains the samples of one version, and
    the index cached on the way serves a later read right."""
    versions = [day_bytes(), day_bytes(REORDERED), samples_swapped_day()]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    cuts = []
    for data in versions:
        store(s3, data)
        cuts.append(whole_day())
    store(s3, versions[0])
    lock = threading.Lock()
    count = itertools.count(1)

    def swap(exchange: Exchange) -> None:
        if exchange.method != "GET" or exchange.status not in (200, 206):
            return
        with lock:
            number = next(count)
            if number % 3 == 0:
                store(s3, versions[number // 3 % len(versions)])

    starts = np.datetime64("2024-01-01T00:00:30") + np.arange(24) * np.timedelta64(
        417, "s"
    )
    batches = [[str(t) for t in starts[n::4]] for n in range(4)]

    with EditingProxy(s3.endpoint_url, swap) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        s3http.clear_routes()
        with ThreadPoolExecutor(4) as pool:
            loaded = list(pool.map(load_windows, batches))

    for dataset, times in zip(loaded, batches, strict=True):
        for number, reference in enumerate(times):
            row = dataset.waveform.values[number]
            expected = [cut(whole, reference, 20.0, row.shape[-1]) for whole in cuts]
            assert any(np.array_equal(row, e, equal_nan=True) for e in expected)
    store(s3, versions[0])
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    s3http.clear_routes()
    assert_equal_to_cuts(load_windows(TIMES), cuts[0], TIMES, 20.0)


def load_windows(times: list[str]) -> xr.Dataset:
    return open_windows(collection_spec("sage"), times, 20.0, 20.0, **CODES).load()
