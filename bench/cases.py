"""Benchmark inputs: one real 1 Hz station-day and four synthetic 100 Hz ones.

Each :class:`Case` describes what is requested (traces and grid). Its bytes are
built once per run by :func:`write_inputs` and stored as ``<name>.mseed`` in a
work directory, so every method and every memory-measuring subprocess reads
the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import obspy
import pymseed

from intake_earthscope.codes import SeedId
from intake_earthscope.decode import Grid

NS_PER_SECOND = 1_000_000_000
DAY_SECONDS = 86_400

# 2025-11-10 is the day of the ObsPy test file. The synthetic days use it too.
DAY_START_NS = 1_762_732_800 * NS_PER_SECOND

SYNTHETIC_RATE = 100.0
SYNTHETIC_SAMPLES = int(SYNTHETIC_RATE) * DAY_SECONDS
RECORD_LENGTH = 4096

GAP_SEGMENTS = 5_000
GAP_SEGMENT_SAMPLES = 1_700

BALST_FILE = Path("io", "mseed", "tests", "data", "CH.BALST..LH_two_channels")


@dataclass(frozen=True)
class Case:
    """One benchmark input and the request made of it."""

    name: str
    title: str
    traces: tuple[SeedId, ...]
    grid: Grid
    subset: bool
    build: Callable[[], bytes]

    @property
    def key(self) -> str:
        """File name of the input inside the work directory."""
        return f"{self.name}.mseed"


def define_cases() -> list[Case]:
    """Return the five benchmark cases, without building their bytes."""
    day_1hz = Grid(DAY_START_NS, NS_PER_SECOND, DAY_SECONDS)
    day_100hz = Grid(DAY_START_NS, NS_PER_SECOND / SYNTHETIC_RATE, SYNTHETIC_SAMPLES)
    high_gain = _station_channels(("HHZ", "HHN", "HHE"))
    return [
        Case(
            "a",
            "real 1 Hz station-day, 2 channels (CH.BALST LHE, LHZ; 512-byte records)",
            _station_channels(
                ("LHE", "LHZ"), network="CH", station="BALST", location=""
            ),
            day_1hz,
            subset=False,
            build=read_balst,
        ),
        Case(
            "b",
            "synthetic 100 Hz station-day, 3 channels of 8.64 M samples",
            high_gain,
            day_100hz,
            subset=False,
            build=build_three_channels,
        ),
        Case(
            "c",
            "synthetic 100 Hz station-day of 6 channels, 1 channel requested",
            high_gain[:1],
            day_100hz,
            subset=True,
            build=build_six_channels,
        ),
        Case(
            "d",
            f"synthetic 100 Hz day, 1 channel in {GAP_SEGMENTS:,} segments "
            f"of {GAP_SEGMENT_SAMPLES:,} samples with gaps",
            high_gain[:1],
            day_100hz,
            subset=False,
            build=build_many_gaps,
        ),
        Case(
            "e",
            f"synthetic 100 Hz day, 1 channel of {GAP_SEGMENTS * GAP_SEGMENT_SAMPLES:,}"
            " samples without gaps (as many samples as (d))",
            high_gain[:1],
            day_100hz,
            subset=False,
            build=build_gap_free,
        ),
    ]


def write_inputs(cases: list[Case], directory: Path) -> dict[str, int]:
    """Write each case's bytes to ``directory`` and return their sizes by name."""
    sizes = {}
    for case in cases:
        data = case.build()
        (directory / case.key).write_bytes(data)
        sizes[case.name] = len(data)
    return sizes


def read_balst() -> bytes:
    """Return ObsPy's test file of two 1 Hz channels of CH.BALST on 2025-11-10."""
    return Path(obspy.__file__).parent.joinpath(BALST_FILE).read_bytes()


def build_three_channels() -> bytes:
    """Write one day of HHZ, HHN and HHE at 100 Hz as Steim2 records."""
    return _encode_day(("HHZ", "HHN", "HHE"), seed=1)


def build_six_channels() -> bytes:
    """Write one day of six 100 Hz channels: HH? and the HN? accelerometer."""
    return build_three_channels() + _encode_day(("HNZ", "HNN", "HNE"), seed=2)


def build_many_gaps() -> bytes:
    """Write one HHZ day as evenly spaced segments separated by short gaps."""
    # 5,000 segments of 1,700 samples spread over 8.64 M grid samples leave
    # a gap of 28 samples (0.28 s) after each segment.
    stride = SYNTHETIC_SAMPLES // GAP_SEGMENTS
    step_ns = int(NS_PER_SECOND / SYNTHETIC_RATE)
    walk = _random_walk(GAP_SEGMENTS * GAP_SEGMENT_SAMPLES, seed=3)

    traces = pymseed.MS3TraceList()
    for index in range(GAP_SEGMENTS):
        first = index * GAP_SEGMENT_SAMPLES
        traces.add_data(
            sourceid=_sourceid("HHZ"),
            data_samples=walk[first : first + GAP_SEGMENT_SAMPLES],
            sample_type="i",
            sample_rate=SYNTHETIC_RATE,
            starttime=DAY_START_NS + index * stride * step_ns,
        )
    return _generate(traces)


def build_gap_free() -> bytes:
    """Write the samples of :func:`build_many_gaps` as one HHZ run from midnight."""
    traces = pymseed.MS3TraceList()
    traces.add_data(
        sourceid=_sourceid("HHZ"),
        data_samples=_random_walk(GAP_SEGMENTS * GAP_SEGMENT_SAMPLES, seed=3),
        sample_type="i",
        sample_rate=SYNTHETIC_RATE,
        starttime=DAY_START_NS,
    )
    return _generate(traces)


def _encode_day(channels: tuple[str, ...], seed: int) -> bytes:
    traces = pymseed.MS3TraceList()
    for offset, channel in enumerate(channels):
        traces.add_data(
            sourceid=_sourceid(channel),
            data_samples=_random_walk(SYNTHETIC_SAMPLES, seed=seed * 10 + offset),
            sample_type="i",
            sample_rate=SYNTHETIC_RATE,
            starttime=DAY_START_NS,
        )
    return _generate(traces)


def _generate(traces: pymseed.MS3TraceList) -> bytes:
    records = traces.generate(
        max_record_length=RECORD_LENGTH,
        encoding=pymseed.DataEncoding.STEIM2,
        format_version=2,
    )
    return b"".join(records)


def _random_walk(count: int, seed: int) -> np.ndarray:
    """Return int32 counts whose sample-to-sample steps are normal, sigma 40.

    Steim2 stores the differences, so one day of one channel encodes to about
    9 MB (about 9 bits per sample).
    """
    rng = np.random.default_rng(seed)
    steps = np.rint(rng.normal(0.0, 40.0, count)).astype(np.int64)
    return np.cumsum(steps).astype(np.int32)


def _sourceid(channel: str) -> str:
    return pymseed.nslc2sourceid("XX", "STA", "00", channel)


def _station_channels(
    channels: tuple[str, ...],
    network: str = "XX",
    station: str = "STA",
    location: str = "00",
) -> tuple[SeedId, ...]:
    return tuple(SeedId(network, station, location, channel) for channel in channels)
