"""Window reads whose first GET meets odd replies, through a loopback proxy.

A window read of an S3 object takes the object's size and version tag from
the reply to its first ranged GET instead of a HEAD. The proxy here sits on
127.0.0.1 between the reader and the moto server. Each test changes the
replies through it: it drops or weakens the ETag, gives HEAD another ETag
than GET, ignores the range, or rewrites the object after the first GET. Whatever the
replies, each window's samples must equal the same stretch of the whole day
read by ``open_waveforms``, and a cached record index of an older version
of the object must not place records at the wrong offsets.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest
import xarray as xr
from test_windows import (  # noqa: F401 (_index_cache is an autouse fixture)
    CODES,
    _index_cache,
    assert_equal_to_cuts,
    channel_bytes,
    key,
)

from intake_earthscope import open_waveforms, open_windows, s3http
from intake_earthscope.recordindex import forget_indexes
from intake_earthscope.testing import LoopbackS3

import mseedgen
from conftest import bucket_of, collection_spec, publish
from loopback_http import LoopbackServer

BUCKET, REGION = bucket_of("sage")
DAY = mseedgen.nstime("2024-01-01T00:00:00Z")
HOURS = 3
TIMES = [
    "2024-01-01T00:00:30",
    "2024-01-01T00:30:00",
    "2024-01-01T01:10:00",
    "2024-01-01T02:40:00",
]

# A change a test makes to an upstream reply before the proxy sends it on.
Edit = Callable[["Exchange"], None]


@dataclass
class Exchange:
    """A request and the upstream reply, which an edit may change."""

    method: str
    path: str
    byte_range: str | None
    status: int
    headers: dict[str, str]
    body: bytes
    # Headers of the request, as the reader sent them.
    sent_with: dict[str, str] = field(default_factory=dict)


@dataclass
class EditingProxy:
    """Forward GET and HEAD to the moto server, changing replies by ``edit``."""

    upstream: str
    edit: Edit = lambda exchange: None
    # Forward GETs without their Range header, as a server that ignores it.
    drop_range: bool = False
    seen: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.upstream)
        self._address = (parsed.hostname, parsed.port)
        self._lock = threading.Lock()
        self._server = LoopbackServer(_handler_for(self))
        self.url = self._server.url

    def __enter__(self) -> EditingProxy:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    def exchange(self, method: str, path: str, headers: dict[str, str]) -> Exchange:
        asked = headers.get("Range")
        request_headers = dict(headers)
        if self.drop_range:
            headers = {k: v for k, v in headers.items() if k.lower() != "range"}
        connection = http.client.HTTPConnection(*self._address, timeout=30)
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            sent = {
                name: value
                for name, value in response.getheaders()
                if name.lower() not in ("connection", "transfer-encoding")
            }
        finally:
            connection.close()
        exchange = Exchange(
            method, path, asked, response.status, sent, body, request_headers
        )
        with self._lock:
            self.seen.append(exchange)
        self.edit(exchange)
        return exchange


def _handler_for(proxy: EditingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802 - http.server's method name
            self._forward("GET")

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's method name
            self._forward("HEAD")

        def _forward(self, method: str) -> None:
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in ("connection", "keep-alive")
            }
            exchange = proxy.exchange(method, self.path, headers)
            self.send_response(exchange.status)
            for name, value in exchange.headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            length = exchange.headers.get("Content-Length", "0")
            if method == "GET":
                length = str(len(exchange.body))
            self.send_header("Content-Length", length)
            self.end_headers()
            if method == "GET":
                self.wfile.write(exchange.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def day_bytes(order: tuple[str, ...] = ("BHZ", "BHN", "BHE")) -> bytes:
    """Three hours of BHZ/BHE in 512-byte records and BHN in 4096-byte ones.

    Records of the same time sit in ``order``. Every order gives the same
    records, at other offsets, so the object keeps its size.
    """
    lengths = {"BHZ": 512, "BHN": 4096, "BHE": 512}
    parts = [
        channel_bytes(channel, DAY, HOURS * 3600.0, 20.0, lengths[channel], seed)
        for seed, channel in enumerate(("BHZ", "BHN", "BHE"))
    ]
    return mseedgen.interleave(*(parts[("BHZ", "BHN", "BHE").index(c)] for c in order))


def samples_swapped_day() -> bytes:
    """The day of ``day_bytes`` with the same size and record offsets, but the
    samples of BHZ and BHE swapped."""
    seeds = {"BHZ": 2, "BHN": 1, "BHE": 0}
    parts = [
        channel_bytes(channel, DAY, HOURS * 3600.0, 20.0, length, seeds[channel])
        for channel, length in {"BHZ": 512, "BHN": 4096, "BHE": 512}.items()
    ]
    return mseedgen.interleave(*parts)


@pytest.fixture(autouse=True)
def _fresh_routes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    s3http.clear_routes()
    yield
    s3http.clear_routes()


def store(s3: LoopbackS3, data: bytes) -> None:
    publish(s3, "sage", {key(1): data})


def whole_day() -> xr.DataArray:
    dataset = open_waveforms(
        collection_spec("sage"),
        start="2024-01-01",
        end="2024-01-01T03:00:00",
        **CODES,
    ).load()
    return dataset.waveform


def windows(proxy: EditingProxy, monkeypatch: pytest.MonkeyPatch) -> xr.Dataset:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
    s3http.clear_routes()
    return open_windows(collection_spec("sage"), TIMES, 20.0, 20.0, **CODES).load()


def no_etag(exchange: Exchange) -> None:
    exchange.headers.pop("ETag", None)


REORDERED = ("BHE", "BHN", "BHZ")


def test_rewritten_days_keep_size() -> None:
    assert len(day_bytes(REORDERED)) == len(day_bytes())
    assert day_bytes(REORDERED) != day_bytes()
    assert len(samples_swapped_day()) == len(day_bytes())
    assert samples_swapped_day() != day_bytes()


def test_rewrite_without_etag_stale_index(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ETags, the index cached of the first version of the day has
    the size of the second, whose records sit at other offsets."""
    store(s3, day_bytes())
    with EditingProxy(s3.endpoint_url, no_etag) as proxy:
        windows(proxy, monkeypatch)
        store(s3, day_bytes(REORDERED))
        forget_indexes()
        dataset = windows(proxy, monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    whole = whole_day()
    assert_equal_to_cuts(dataset, whole, TIMES, 20.0)


def get_without_etag(exchange: Exchange) -> None:
    if exchange.method == "GET":
        exchange.headers.pop("ETag", None)


def get_with_weak_etag(exchange: Exchange) -> None:
    if exchange.method == "GET" and "ETag" in exchange.headers:
        exchange.headers["ETag"] = "W/" + exchange.headers["ETag"]


@pytest.mark.parametrize("edit", [get_without_etag, get_with_weak_etag])
def test_get_etag_unlike_head_stays_ranged(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch, edit: Edit
) -> None:
    """A GET whose ETag is missing or weak, where the HEAD's is strong, is no
    sign of a rewrite: the windows stay ranged reads."""
    store(s3, day_bytes())
    with EditingProxy(s3.endpoint_url, edit) as proxy:
        dataset = windows(proxy, monkeypatch)

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    assert_equal_to_cuts(dataset, whole_day(), TIMES, 20.0)
    assert set(dataset.read_mode.values.ravel()) == {"ranged"}


def test_ranges_ignored_by_server(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every GET of a server that ignores Range returns the whole object."""
    store(s3, day_bytes())
    with EditingProxy(s3.endpoint_url, drop_range=True) as proxy:
        dataset = windows(proxy, monkeypatch)

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    assert_equal_to_cuts(dataset, whole_day(), TIMES, 20.0)
    assert {e.status for e in proxy.seen if e.method == "GET"} <= {200, 404}


def test_rewrite_after_first_get(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The object is rewritten, same size and other samples, right after the
    first GET of a window read."""
    store(s3, day_bytes())
    rewritten = threading.Event()

    def rewrite(exchange: Exchange) -> None:
        if exchange.byte_range == "bytes=0-32767" and exchange.status == 206:
            if not rewritten.is_set():
                rewritten.set()
                store(s3, samples_swapped_day())

    with EditingProxy(s3.endpoint_url, rewrite) as proxy:
        dataset = windows(proxy, monkeypatch)

    assert rewritten.is_set()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    assert_equal_to_cuts(dataset, whole_day(), TIMES, 20.0)


def test_rewrite_seen_by_if_match(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a rewrite, the next ranged GET, sent with the first GET's ETag in
    If-Match, gets HTTP 412, and the windows read the new version whole."""
    store(s3, day_bytes())
    rewritten = threading.Event()

    def rewrite(exchange: Exchange) -> None:
        first_get = exchange.byte_range == "bytes=0-32767" and exchange.status == 206
        if first_get and not rewritten.is_set():
            rewritten.set()
            store(s3, samples_swapped_day())

    with EditingProxy(s3.endpoint_url, rewrite) as proxy:
        dataset = windows(proxy, monkeypatch)

    statuses = [exchange.status for exchange in proxy.seen]
    assert 412 in statuses
    assert set(dataset.read_mode.values.ravel()) == {"whole_object"}
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    assert_equal_to_cuts(dataset, whole_day(), TIMES, 20.0)


def window_gets(proxy: EditingProxy) -> tuple[Exchange, list[Exchange]]:
    """Return the first GET of the window read of the stored day (its 32 KiB)
    and the GETs of the object after it. The GETs before it learn the
    sampling rate, or find the day before missing."""
    gets = [exchange for exchange in proxy.seen if exchange.method == "GET"]
    position = next(
        index
        for index, exchange in enumerate(gets)
        if exchange.byte_range == "bytes=0-32767" and exchange.status == 206
    )
    first = gets[position]
    return first, [get for get in gets[position + 1 :] if get.path == first.path]


def test_ranged_gets_send_first_etag(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every GET after the first requests the version the first one read."""
    store(s3, day_bytes())

    with EditingProxy(s3.endpoint_url) as proxy:
        windows(proxy, monkeypatch)

    first, later = window_gets(proxy)
    assert "If-Match" not in first.sent_with
    assert later
    assert {get.sent_with.get("If-Match") for get in later} == {first.headers["ETag"]}


def test_weak_etag_sends_no_if_match(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A weak ETag never matches in If-Match, so no GET sends it."""
    store(s3, day_bytes())

    with EditingProxy(s3.endpoint_url, get_with_weak_etag) as proxy:
        windows(proxy, monkeypatch)

    first, later = window_gets(proxy)
    assert later
    assert not [get for get in [first, *later] if "If-Match" in get.sent_with]


def test_windows_of_one_object_from_threads(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loads in four threads share the index this process keeps of the
    object, each starting from its own first GET."""
    store(s3, day_bytes())
    starts = np.datetime64("2024-01-01T00:00:30") + np.arange(24) * np.timedelta64(
        417, "s"
    )
    batches = [[str(t) for t in starts[n::4]] for n in range(4)]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    whole = whole_day()

    def load(times: list[str]) -> xr.Dataset:
        return open_windows(collection_spec("sage"), times, 20.0, 20.0, **CODES).load()

    with ThreadPoolExecutor(4) as pool:
        loaded = list(pool.map(load, batches))

    for dataset, times in zip(loaded, batches, strict=True):
        assert_equal_to_cuts(dataset, whole, times, 20.0)
        assert set(dataset.status.values.ravel()) == {"ok"}


@pytest.mark.parametrize("count", [63, 64, 65], ids=["shorter", "exact", "longer"])
def test_objects_near_first_get_length(
    s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    """Objects of 63, 64 and 65 records of 512 bytes, around the 32 KiB of
    the first GET."""
    data = channel_bytes("BHZ", DAY, 3600.0, 20.0, 512, 0)
    records = mseedgen.records(data)[:count]
    store(s3, b"".join(records))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    whole = whole_day()
    end = whole.time.values[~np.isnan(whole.values[0])][-1]
    times = [str(whole.time.values[100]), str(end - np.timedelta64(5, "s"))]
    with EditingProxy(s3.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        dataset = open_windows(
            collection_spec("sage"), times, 4.0, 4.0, **{**CODES, "channel": "BHZ"}
        ).load()

    assert_equal_to_cuts(dataset, whole, times, 4.0)
    assert set(dataset.status.values.ravel()) == {"ok"}
    assert not [e for e in proxy.seen if e.method == "HEAD"]


def test_first_get_redirected(s3: LoopbackS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """A redirect of the first GET sends the object's reads through s3fs,
    which gets the size from a HEAD request."""
    store(s3, day_bytes())
    redirected = threading.Event()

    def redirect(exchange: Exchange) -> None:
        first_get = exchange.byte_range == "bytes=0-32767" and key(1) in exchange.path
        if first_get and not redirected.is_set():
            redirected.set()
            exchange.status = 307
            exchange.headers = {"Location": "http://127.0.0.1:9/elsewhere"}
            exchange.body = b""

    with EditingProxy(s3.endpoint_url, redirect) as proxy:
        dataset = windows(proxy, monkeypatch)

    assert redirected.is_set()
    assert [e.method for e in proxy.seen].count("HEAD") >= 1
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint_url)
    assert_equal_to_cuts(dataset, whole_day(), TIMES, 20.0)
