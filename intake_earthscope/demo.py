"""``make demo``: real recordings from a loopback S3 server to a dask reduction.

The demo starts moto's S3 server on 127.0.0.1 (a port the OS picks), files
real station recordings that obspy's wheel carries under the real bucket
names and key layouts, opens the shipped catalog against that server, shows
the lazy dataset, computes an hourly reduction with dask, prints what each
chunk read and writes a quick-look PNG. Nothing leaves this machine.

Run it with ``python -m intake_earthscope.demo [OUTPUT_DIR]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import obspy

from intake_earthscope.catalog import catalog_path
from intake_earthscope.testing import (
    LoopbackS3,
    create_bucket,
    isolated_aws_environment,
    put_public_object,
)

OBSPY_DATA = Path(obspy.__file__).parent
RECORDINGS = {
    # A full 1 Hz station-day of CH.BALST (LHE and LHZ), filed as the SAGE
    # open-data bucket files a station-day: every channel in one object.
    "miniseed/CH/2025/314/BALST.CH.2025.314": (
        OBSPY_DATA / "io/mseed/tests/data/CH.BALST..LH_two_channels"
    ),
    # Three hours of IU.ULN.00.LH1 on 2015-07-18 (day 199).
    "miniseed/IU/2015/199/ULN.IU.2015.199": (
        OBSPY_DATA / "core/tests/data/IU_ULN_00_LH1_2015-07-18T02.mseed"
    ),
}
BUCKET = "earthscope-geophysical-data"
REGION = "us-east-2"


def main(argv: list[str] | None = None) -> int:
    """Run the demo; write the PNG to ``argv[0]`` (default ``demo-output``)."""
    args = sys.argv[1:] if argv is None else argv
    output = Path(args[0] if args else "demo-output").resolve()
    output.mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)

    _say(
        "This demo reads a LOCAL COPY of real station recordings (from obspy's "
        "wheel) served by an S3 server on 127.0.0.1, not EarthScope itself."
    )
    with tempfile.TemporaryDirectory() as scratch, isolated_aws_environment(scratch):
        with LoopbackS3() as server:
            _publish(server)
            os.environ["AWS_ENDPOINT_URL_S3"] = server.endpoint_url
            _say(f"S3 server: {server.endpoint_url} (bucket {BUCKET}, {REGION})")
            _run(output)
    return 0


def _publish(server: LoopbackS3) -> None:
    client = server.client(REGION)
    create_bucket(client, BUCKET, REGION)
    for key, path in RECORDINGS.items():
        put_public_object(client, BUCKET, key, path.read_bytes())
        _say(f"  s3://{BUCKET}/{key}  <- {path.name} ({path.stat().st_size} bytes)")


def _run(output: Path) -> None:
    import dask
    import intake

    cat = intake.open_catalog(str(catalog_path()))
    _say(f"catalog {catalog_path()}: {list(cat)}")
    source = cat.sage.miniseed(
        network="CH",
        station="BALST",
        location="--",
        channel="LH?",
        start="2025-11-10",
        end="2025-11-11",
    )

    began = time.perf_counter()
    dataset = source.to_dask()
    _say(f"\nlazy dataset, opened in {time.perf_counter() - began:.2f} s:")
    print(dataset)
    _say(
        f"\ntraces {', '.join(dataset.trace.values.tolist())}, "
        f"{dataset.attrs['sampling_rate']} Hz, "
        f"chunks {dataset.waveform.data.chunks}; no sample has been read yet."
    )

    # One compute: the reduction and the outcome variables share the read
    # tasks, so each object is fetched once.
    lazy_hourly = dataset.waveform.resample(time="1h").std()
    _say("\ncomputing the hourly standard deviation with dask ...")
    hourly, loaded = dask.compute(lazy_hourly, dataset)
    print(hourly.to_pandas().T.round(1).head(6))

    _report_chunks(loaded)
    _plot(loaded, hourly, output / "quicklook.png")
    _partial_day(cat)


def _partial_day(cat) -> None:
    # ULN recorded three hours that start 0.069538 s after a whole second.
    source = cat.sage.miniseed(
        network="IU",
        station="ULN",
        location="00",
        channel="LH1",
        start="2015-07-18T02:00:00",
        end="2015-07-18T06:00:00",
    )
    dataset = source.read()
    _say(
        "\nIU.ULN.00.LH1, 02:00-06:00 (the recording covers 02:27-05:27): "
        f"valid fraction {float(dataset.valid_fraction[0, 0]):.3f}, samples "
        "shifted by "
        f"{float(dataset.time_offset[0, 0]) * 1e3:.3f} ms onto the 1 s grid "
        f"(at most {float(dataset.max_shift[0, 0]):.3f} of a sample)"
    )


def _report_chunks(dataset) -> None:
    from intake_earthscope.dataset import outcome_table

    table = outcome_table(dataset)
    table["object_key"] = table["object_key"].str.replace(f"s3://{BUCKET}/", "")
    _say("\nwhat each chunk read (one row per trace and object):")
    columns = [
        "trace",
        "object_key",
        "status",
        "valid_fraction",
        "gap_count",
        "time_offset",
    ]
    print(table[columns].to_string(index=False))


def _plot(dataset, hourly, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    # Each hour is drawn from its start to the next one's, so the last hour
    # needs its end as one more step edge.
    edges = np.append(
        hourly.time.values, hourly.time.values[-1] + np.timedelta64(1, "h")
    )
    for trace in dataset.trace.values:
        row = dataset.waveform.sel(trace=trace)
        axes[0].plot(row.time.values, row.values, linewidth=0.4, label=str(trace))
        steps = hourly.sel(trace=trace).values
        axes[1].stairs(steps, edges, baseline=None)
    axes[0].set_ylabel("counts")
    axes[0].legend(loc="upper right")
    axes[0].set_title("CH.BALST 2025-11-10 (local copy of a real recording)")
    axes[1].set_ylabel("hourly std (counts)")
    axes[1].legend([str(trace) for trace in dataset.trace.values], loc="upper right")
    axes[1].set_xlabel("time (UTC)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    _say(f"\nquick-look plot written to {path}")


def _say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
