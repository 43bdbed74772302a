"""Benchmark opening, fetching, memory and import cost at scale.

Run it from the repository root with::

    .venv/bin/python bench/scale.py

Four measurements, each reported against an anchor measured in the same run:

* **open**: a year of 100 channel-day traces (36,500 chunks) opened with
  exact codes and a given rate, against rendering the 36,500 object keys
  with ``str.format`` alone. The pickled graph size per chunk is reported
  too.
* **fetch and decode**: eight 11 MB station-day objects (3 channels at
  40 Hz) on a loopback S3 server, computed through ``open_waveforms`` and
  dask's threaded scheduler, one thread per object, with the blocks returned
  as a list. The anchors are one concurrent s3fs ``cat`` of the same keys
  (the floor the targets name), the same GETs sent concurrently through
  this package's plain-HTTP client without decoding (the floor of its own
  transport), and the loop users write today: s3fs open, ``obspy.read``,
  merge and float conversion, one object after the other.
* **memory**: a reduction over a dataset eight times larger than the memory
  limit of a one-worker ``LocalCluster``; the peak resident memory of the
  worker process is compared with the limit.
* **import**: ``import intake`` in fresh interpreters with the plugin
  loaded, against the same import with the plugin blocked through intake's
  ``import_block_list``.

:func:`measure` returns the Markdown section; :func:`main` prints it.
"""

from __future__ import annotations

import io
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dask
import numpy as np
import obspy
import psutil
import pymseed
import yaml

from intake_earthscope.catalog import catalog_path
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.s3http import http_route
from intake_earthscope.storage import StorageSpec
from intake_earthscope.testing import (
    LoopbackS3,
    create_bucket,
    isolated_aws_environment,
    put_public_object,
)

OPEN_REPEATS = 5
FETCH_REPEATS = 9
IMPORT_REPEATS = 9
NEW_MEMORY_REPEATS = 4
# Longer than the delay after which a guest kernel with free page reporting
# hands free memory back to its host (PAGE_REPORTING_DELAY, 2 s, in Linux's
# mm/page_reporting.c).
IDLE_SECONDS = 3.0
OBJECTS = 8
OPEN_BUDGET_SECONDS = 1.0
IMPORT_BUDGET_SECONDS = 0.050
MEMORY_LIMIT_BYTES = 2**30
MEMORY_STATIONS = 128
FIRST_DAY = "2024-01-01"
FIRST_DAY_NS = 1_704_067_200 * 10**9


def collection(archive: str) -> dict:
    """Return the ``collection:`` mapping of a shipped catalog entry."""
    text = (catalog_path().parent / f"{archive}.yaml").read_text()
    return yaml.safe_load(text)["sources"]["miniseed"]["args"]["collection"]


def median_of(function: Callable[[], object], repeats: int) -> float:
    """Return the median wall time of ``repeats`` calls of ``function``."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


# Open ---------------------------------------------------------------------


def measure_open(empty_root: Path) -> dict[str, float]:
    """Time opening a year of 100 channel-day traces and rendering its keys."""
    spec = collection("ncedc")
    stations = [f"S{index:02d}" for index in range(25)]
    channels = ["HHZ", "HHN", "HHE", "HNZ"]

    def open_year() -> object:
        return open_waveforms(
            spec,
            network="BK",
            station=",".join(stations),
            location="00",
            channel=",".join(channels),
            start="2023-01-01",
            end="2024-01-01",
            sampling_rate=100.0,
            root=str(empty_root),
        )

    def render_keys() -> list[str]:
        template = spec["key_template"]
        return [
            template.format(
                network="BK", station=station, channel=channel, location="00",
                year="2023", doy=f"{doy:03d}",
            )
            for station in stations
            for channel in channels
            for doy in range(1, 366)
        ]  # fmt: skip

    dataset = open_year()
    chunks = dataset.waveform.data.npartitions
    graph_bytes = len(pickle.dumps(dataset.__dask_graph__()))
    return {
        "open": median_of(open_year, OPEN_REPEATS),
        "keys": median_of(render_keys, OPEN_REPEATS),
        "chunks": chunks,
        "graph_bytes_per_chunk": graph_bytes / chunks,
    }


# Fetch and decode ---------------------------------------------------------


def station_day(seed: int) -> bytes:
    """Encode a day of 3 channels at 40 Hz (about 11 MB of Steim2)."""
    traces = pymseed.MS3TraceList()
    rng = np.random.default_rng(seed)
    for channel in ("BHZ", "BHN", "BHE"):
        steps = np.rint(rng.normal(0.0, 40.0, 86_400 * 40)).astype(np.int64)
        traces.add_data(
            sourceid=pymseed.nslc2sourceid("XX", "STA", "00", channel),
            data_samples=np.cumsum(steps).astype(np.int32),
            sample_type="i",
            sample_rate=40.0,
            starttime=FIRST_DAY_NS,
        )
    records = traces.generate(
        max_record_length=4096,
        encoding=pymseed.DataEncoding.STEIM2,
        format_version=2,
    )
    return b"".join(records)


def publish_stations(server: LoopbackS3, data: bytes) -> tuple[str, list[str]]:
    """Store one station-day per station in the SAGE open-bucket layout."""
    tier = collection("sage")["tiers"]["open"]
    client = server.client(tier["region"])
    create_bucket(client, tier["bucket"], tier["region"])
    keys = []
    for index in range(OBJECTS):
        station = f"S{index:03d}"
        key = f"miniseed/XX/2024/001/{station}.XX.2024.001"
        put_public_object(client, tier["bucket"], key, _with_station(data, station))
        keys.append(key)
    return tier["bucket"], keys


def measure_fetch(server: LoopbackS3, data: bytes) -> dict[str, float]:
    """Time our path, the concurrent s3fs floor and the sequential loop."""
    import s3fs

    bucket, keys = publish_stations(server, data)
    options = server.anonymous_storage_options()
    paths = [f"{bucket}/{key}" for key in keys]
    # A user opens the catalog once, so its YAML is read outside the timing.
    sage = collection("sage")

    def floor() -> object:
        filesystem = s3fs.S3FileSystem(**options, skip_instance_cache=True)
        return filesystem.cat(paths)

    spec = StorageSpec(
        "s3", bucket, endpoint_url=options["client_kwargs"]["endpoint_url"]
    )
    route = http_route(spec)
    assert route is not None, "the loopback server has no plain-HTTP route"

    def plain() -> object:
        with ThreadPoolExecutor(OBJECTS) as pool:
            return list(pool.map(lambda key: route.get(spec, key, None, None), keys))

    def ours() -> object:
        dataset = open_waveforms(
            sage,
            network="XX",
            station=",".join(f"S{index:03d}" for index in range(OBJECTS)),
            location="00",
            channel="BHZ,BHN,BHE",
            start=FIRST_DAY,
            end="2024-01-02",
            sampling_rate=40.0,
            tier="open",
            neighbour_bytes=0,
            storage_options=options,
        )
        # The blocks are computed as a list, as the loop below returns its
        # arrays: concatenating 660 MB into one array would add a copy that
        # neither anchor makes.
        blocks = dataset.waveform.data.to_delayed().ravel().tolist()
        with dask.config.set(scheduler="threads", num_workers=OBJECTS):
            return dask.compute(*blocks)

    def loop() -> object:
        filesystem = s3fs.S3FileSystem(**options, skip_instance_cache=True)
        rows = []
        for path in paths:
            with filesystem.open(path, "rb") as handle:
                stream = obspy.read(io.BytesIO(handle.read()))
            stream.merge(method=1, fill_value=None)
            rows.extend(np.ma.filled(trace.data.astype(np.float64), np.nan)
                        for trace in stream)  # fmt: skip
        return rows

    ours()
    server_process = psutil.Process(server.pid)
    timings: dict[str, list[float]] = {"floor": [], "plain": [], "ours": [], "loop": []}
    cpu: dict[str, list[float]] = {
        "floor": [],
        "plain": [],
        "ours": [],
        "server_floor": [],
        "server_ours": [],
        "kernel_floor": [],
        "kernel_plain": [],
        "kernel_ours": [],
    }
    functions = (("floor", floor), ("plain", plain), ("ours", ours), ("loop", loop))
    for _ in range(FETCH_REPEATS):
        for name, function in functions:
            client_before = time.process_time()
            kernel_before = os.times().system
            server_before = cpu_seconds(server_process)
            began = time.perf_counter()
            function()
            timings[name].append(time.perf_counter() - began)
            if name in cpu:
                cpu[name].append(time.process_time() - client_before)
            if f"kernel_{name}" in cpu:
                cpu[f"kernel_{name}"].append(os.times().system - kernel_before)
            if name in ("floor", "ours"):
                served = cpu_seconds(server_process) - server_before
                cpu[f"server_{name}"].append(served)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    fastest = {f"{name}_fastest": min(values) for name, values in timings.items()}
    spent = {f"{name}_cpu": statistics.median(values) for name, values in cpu.items()}
    return medians | fastest | spent


def measure_new_memory() -> dict[str, float]:
    """Time writing blocks the size of ours' output into new memory.

    Each repetition writes the eight blocks (3 channels at 40 Hz, float64)
    twice: right after the blocks of the previous write were freed, and
    again after ``IDLE_SECONDS`` without new allocations. Both writes get
    memory the kernel must map and zero. Where the kernel also returns free
    memory to a hypervisor (virtio-balloon free page reporting), the second
    write finds that memory gone from the host and waits for it.
    """
    write_blocks()
    reused, idle = [], []
    for _ in range(NEW_MEMORY_REPEATS):
        write_blocks()
        reused.append(_seconds(write_blocks))
        time.sleep(IDLE_SECONDS)
        idle.append(_seconds(write_blocks))
    return {
        "blocks_reused": statistics.median(reused),
        "blocks_idle": statistics.median(idle),
    }


def write_blocks() -> list[np.ndarray]:
    """Fill new float64 blocks of ours' output size with NaN."""
    blocks = [np.empty((3, 86_400 * 40)) for _ in range(OBJECTS)]
    for block in blocks:
        block.fill(np.nan)
    return blocks


def _seconds(function: Callable[[], object]) -> float:
    began = time.perf_counter()
    function()
    return time.perf_counter() - began


def page_reporting() -> str:
    """Return the kernel's page reporting setting, or "" where none is set."""
    try:
        words = Path("/proc/cmdline").read_text().split()
    except OSError:
        return ""
    return next((word for word in words if word.startswith("page_reporting.")), "")


def cpu_seconds(process: psutil.Process) -> float:
    """Return the user and system CPU time a process has used."""
    times = process.cpu_times()
    return times.user + times.system


def _with_station(data: bytes, station: str) -> bytes:
    """Rewrite the station code of every 4096-byte miniSEED 2 record."""
    # The station is bytes 8 to 12 of the fixed header, padded with spaces.
    patched = bytearray(data)
    code = station.ljust(5).encode("ascii")
    for offset in range(0, len(patched), 4096):
        patched[offset + 8 : offset + 13] = code
    return bytes(patched)


# Memory -------------------------------------------------------------------


def measure_memory(root: Path) -> dict[str, float]:
    """Reduce a dataset 8x the worker's memory limit; return peak RSS / limit."""
    from distributed import Client, LocalCluster

    data = _one_channel_day()
    stations = [f"M{index:03d}" for index in range(MEMORY_STATIONS)]
    for station in stations:
        key = root / f"miniseed/XX/2024/001/{station}.XX.2024.001"
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(_with_station(data, station))

    dataset = open_waveforms(
        collection("sage"),
        network="XX",
        station=",".join(stations),
        location="00",
        channel="HHZ",
        start=FIRST_DAY,
        end="2024-01-02",
        sampling_rate=100.0,
        tier="open",
        neighbour_bytes=0,
        root=str(root),
    )
    dataset_bytes = dataset.waveform.nbytes

    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            memory_limit=MEMORY_LIMIT_BYTES,
        ) as cluster,
        Client(cluster) as client,
    ):
        (worker_pid,) = client.run(os.getpid).values()
        sampler = _PeakSampler(worker_pid)
        sampler.start()
        spread = dataset.waveform.std(dim="time").compute()
        sampler.stop()

    return {
        "dataset_over_limit": dataset_bytes / MEMORY_LIMIT_BYTES,
        "peak_over_limit": sampler.peak / MEMORY_LIMIT_BYTES,
        "traces_computed": int(np.isfinite(spread.values).sum()),
    }


def _one_channel_day() -> bytes:
    traces = pymseed.MS3TraceList()
    steps = np.rint(np.random.default_rng(7).normal(0.0, 40.0, 8_640_000))
    traces.add_data(
        sourceid=pymseed.nslc2sourceid("XX", "STA", "00", "HHZ"),
        data_samples=np.cumsum(steps).astype(np.int32),
        sample_type="i",
        sample_rate=100.0,
        starttime=FIRST_DAY_NS,
    )
    records = traces.generate(
        max_record_length=4096, encoding=pymseed.DataEncoding.STEIM2, format_version=2
    )
    return b"".join(records)


class _PeakSampler:
    """Poll a process's resident memory every 20 ms and keep the largest."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._stop.wait(0.02):
            try:
                text = status.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith("VmRSS:"):
                    self.peak = max(self.peak, int(line.split()[1]) * 1024)


# Import -------------------------------------------------------------------


def measure_import() -> dict[str, float]:
    """Time ``import intake`` with and without the plugin in fresh processes."""
    code = "import time; t = time.perf_counter(); import intake; " \
        "print(time.perf_counter() - t)"  # fmt: skip
    blocked = {**os.environ, "INTAKE_IMPORT_BLOCK_LIST": "['intake_earthscope']"}
    timings: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(IMPORT_REPEATS):
        for name, environment in (("with", dict(os.environ)), ("without", blocked)):
            output = subprocess.run(
                [sys.executable, "-c", code],
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            )
            timings[name].append(float(output.stdout.strip().splitlines()[-1]))
    return {name: statistics.median(values) for name, values in timings.items()}


# Report -------------------------------------------------------------------


def measure() -> str:
    """Run every measurement and return the Markdown section."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="intake-earthscope-scale-") as tmp:
        directory = Path(tmp)
        (directory / "empty").mkdir()
        (directory / "aws").mkdir()
        opened = measure_open(directory / "empty")
        imported = measure_import()
        with isolated_aws_environment(directory / "aws"), LoopbackS3() as server:
            fetched = measure_fetch(server, station_day(seed=3))
        fetched |= measure_new_memory()
        memory = measure_memory(directory / "memory")
    return render(opened, fetched, memory, imported, load)


def render(
    opened: dict[str, float],
    fetched: dict[str, float],
    memory: dict[str, float],
    imported: dict[str, float],
    load: float,
) -> str:
    """Render the measurements as a Markdown section of ratios."""
    growth = imported["with"] - imported["without"]
    # Client and server CPU time of ours, spread over every core: no schedule
    # of that work can take less wall time.
    cpu_bound = (fetched["ours_cpu"] + fetched["server_ours_cpu"]) / os.cpu_count()
    rows = [
        ("open a year of 100 channels ÷ render its 36,500 keys",
         opened["open"] / opened["keys"], "as low as possible"),
        ("open a year of 100 channels ÷ 1 s budget",
         opened["open"] / OPEN_BUDGET_SECONDS, "< 1"),
        ("pickled graph bytes per chunk ÷ 200",
         opened["graph_bytes_per_chunk"] / 200, "< 1"),
        ("fetch and decode 8 objects ÷ concurrent s3fs fetch",
         fetched["ours"] / fetched["floor"], "≤ 1.1"),
        ("sequential s3fs + ObsPy loop ÷ ours (× faster)",
         fetched["loop"] / fetched["ours"], "≥ 2.5"),
        ("sequential s3fs + ObsPy loop ÷ concurrent s3fs fetch (the cap above)",
         fetched["loop"] / fetched["floor"], ""),
        ("fetch and decode 8 objects ÷ concurrent plain-HTTP fetch (for context)",
         fetched["ours"] / fetched["plain"], ""),
        ("concurrent plain-HTTP fetch ÷ concurrent s3fs fetch (for context)",
         fetched["plain"] / fetched["floor"], ""),
        ("fastest run of ours ÷ fastest concurrent s3fs fetch (for context)",
         fetched["ours_fastest"] / fetched["floor_fastest"], ""),
        ("client CPU time ÷ wall time, concurrent s3fs fetch (for context)",
         fetched["floor_cpu"] / fetched["floor"], ""),
        ("S3 server CPU time ÷ client CPU time, concurrent s3fs fetch (for context)",
         fetched["server_floor_cpu"] / fetched["floor_cpu"], ""),
        ("client CPU time, ours ÷ concurrent s3fs fetch (for context)",
         fetched["ours_cpu"] / fetched["floor_cpu"], ""),
        ("client CPU time, ours ÷ concurrent plain-HTTP fetch (for context)",
         fetched["ours_cpu"] / fetched["plain_cpu"], ""),
        ("client CPU time, plain-HTTP fetch ÷ s3fs fetch (for context)",
         fetched["plain_cpu"] / fetched["floor_cpu"], ""),
        ("least time ours can take on these cores ÷ concurrent s3fs fetch "
         "(for context)", cpu_bound / fetched["floor"], ""),
        ("kernel CPU time, ours ÷ client CPU time of the s3fs fetch (for context)",
         fetched["kernel_ours_cpu"] / fetched["floor_cpu"], ""),
        ("kernel CPU time, plain-HTTP fetch ÷ client CPU time of the s3fs fetch "
         "(for context)", fetched["kernel_plain_cpu"] / fetched["floor_cpu"], ""),
        ("kernel CPU time, s3fs fetch ÷ its client CPU time (for context)",
         fetched["kernel_floor_cpu"] / fetched["floor_cpu"], ""),
        ("new blocks of ours' size, memory freed just before ÷ concurrent s3fs "
         "fetch (for context)", fetched["blocks_reused"] / fetched["floor"], ""),
        (f"new blocks of ours' size, {IDLE_SECONDS:g} s after the last free ÷ "
         "concurrent s3fs fetch (for context)",
         fetched["blocks_idle"] / fetched["floor"], ""),
        (f"dataset size ÷ worker memory limit ({MEMORY_LIMIT_BYTES >> 20} MiB)",
         memory["dataset_over_limit"], "≥ 8"),
        ("peak worker memory ÷ memory limit",
         memory["peak_over_limit"], "< 1"),
        ("import intake with plugin ÷ without",
         imported["with"] / imported["without"], ""),
        ("import time growth ÷ 50 ms budget",
         growth / IMPORT_BUDGET_SECONDS, "< 1"),
    ]  # fmt: skip
    table = ["| measure | ratio | target | met |", "|---|---|---|---|"]
    table += [
        f"| {name} | {value:.3g} | {target} | {verdict(value, target)} |"
        for name, value, target in rows
    ]
    return "\n".join(
        [
            "## Scale: open, fetch, memory, import",
            "",
            "Written by `bench/scale.py` (see its docstring for the method). "
            f"1-minute load average {load:.1f} when it began, on "
            f"{os.cpu_count()} cores. Each time is the median of "
            f"{OPEN_REPEATS} (open), {FETCH_REPEATS} (fetch) or "
            f"{IMPORT_REPEATS} (import) interleaved runs.",
            "",
            *table,
            "",
            "The fetch is bound by the client, not by the loopback S3 server: "
            "the server's CPU time is the fraction of the client's given above. "
            "s3fs runs every request of a process on one event-loop thread, "
            "which receives the bytes through aiohttp and checks each whole "
            "object against the CRC32 that moto returns (boto3 sent it when "
            "the object was stored). Ours sends the same GETs as plain HTTP "
            "requests with urllib3, one per dask thread, and checks the same "
            "CRC32 with zlib (intake_earthscope/s3http.py). The "
            "plain-HTTP fetch is that transport alone, without decoding: the "
            "floor of our own path. Ours adds Steim-2 decoding and 660 MB of "
            "float64 blocks written into fresh memory; its client CPU time is "
            "the multiple above of each fetch's. Its CPU time and the "
            "server's while it ran, spread over all cores, give the least "
            "wall time any schedule of that work could take. The loop's own "
            "ratio to the s3fs fetch caps how much faster than the loop any "
            "reader on s3fs can be here. The ratio of the fastest runs shows "
            "how close ours comes when the machine is quiet, and the targets "
            "are judged on the medians. The kernel's CPU time of each client is "
            "given too, over the s3fs fetch's client CPU time. Ours spends more "
            "of it than the plain-HTTP fetch, which receives the same bytes: "
            "the difference is the mapping and zeroing of new memory for the "
            "blocks.",
            "",
            new_memory_paragraph(fetched),
            "",
            f"The memory run reduced {memory['traces_computed']} station-days of "
            "one 100 Hz channel each to their standard deviations on one worker "
            "process with two threads.",
            "",
        ]
    )


def new_memory_paragraph(fetched: dict[str, float]) -> str:
    """Explain the cost of new memory with the blocks written alone."""
    reused = fetched["blocks_reused"] / fetched["floor"]
    idle = fetched["blocks_idle"] / fetched["floor"]
    text = (
        "Writing blocks of ours' size into new memory, with no fetch and no "
        f"decoding, took {reused:.2f} times the s3fs fetch's time when the "
        f"previous blocks had been freed just before, and {idle:.2f} times it "
        f"{IDLE_SECONDS:g} s after the last free. The cost grows with the bytes "
        "of new memory, so it falls on ours and hardly on the fetches, which "
        "hold only the objects' bytes."
    )
    setting = page_reporting()
    if not setting:
        return text
    return (
        f"{text} This machine's kernel runs with `{setting}` under a "
        "hypervisor: it hands free memory back to the host about 2 s after it "
        "is freed, and a later write into such memory waits while the host "
        "maps it again. The methods of each repetition run one after the "
        "other, so ours meets part of that wait, and how much changes from run "
        "to run."
    )


def verdict(value: float, target: str) -> str:
    """Return "yes" or "no" for a target such as "≤ 1.1", "" for none."""
    for sign, satisfied in (
        ("≤", lambda bound: value <= bound),
        ("≥", lambda bound: value >= bound),
        ("<", lambda bound: value < bound),
    ):
        if target.startswith(sign):
            return "yes" if satisfied(float(target[len(sign) :])) else "no"
    return ""


def main() -> None:
    """Print the section."""
    print(measure())


if __name__ == "__main__":
    main()
