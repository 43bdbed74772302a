"""Write a loaded selection to NetCDF or Zarr, atomically.

The output appears under its final name only once it is complete: the data
go to ``<output>.partial`` first, which is renamed at the end.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import sys
from collections.abc import Hashable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from intake_earthscope.errors import InvalidRequestError

logger = logging.getLogger(__name__)

__all__ = [
    "FORMATS",
    "LOADED_STATUSES",
    "IncompleteUnit",
    "IncompleteWindow",
    "check_directory",
    "check_output",
    "check_writer",
    "export_dataset",
    "incomplete_units",
    "open_output",
    "units_not_loaded",
    "windows_not_loaded",
]

FORMATS = ("netcdf", "zarr")

# Outcome values that mean a unit loaded in full: "ok" in every product.
LOADED_STATUSES = ("ok",)

# The package that writes each format, imported by xarray only when it writes.
# Both come with the ``export`` extra.
WRITER_PACKAGES = {"netcdf": ("NetCDF", "h5netcdf"), "zarr": ("Zarr", "zarr")}


def export_dataset(
    dataset: xr.Dataset,
    output: str | os.PathLike[str],
    output_format: str,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Compute ``dataset`` and write it to ``output``.

    Parameters
    ----------
    dataset : xarray.Dataset
        A lazy or loaded dataset, such as a source's ``to_dask()``.
    output : path
        File (NetCDF) or directory (Zarr) to create.
    output_format : {"netcdf", "zarr"}
        NetCDF is written with h5netcdf, Zarr with the zarr package (both in
        the ``export`` extra).
    overwrite : bool
        Replace an existing output; otherwise an existing output is an error.
    progress : bool
        Show dask's progress bar on standard error (local schedulers only).

    Returns
    -------
    pathlib.Path
        The output path.

    Raises
    ------
    InvalidRequestError
        If the format is unknown, its writer package is not installed, the
        output's directory does not exist or is not writable, or the output
        exists and ``overwrite`` is false.
        ``overwrite`` replaces files and Zarr stores only: any other
        directory is kept and raises.
    """
    check_writer(output_format)
    target = Path(output)
    _check_target(target, overwrite)

    partial = target.with_name(target.name + ".partial")
    _remove(partial)
    writable = _writable(dataset)
    if output_format == "zarr":
        writable = _even_chunks(writable)
    logger.info("writing %s to %s", output_format, target)
    try:
        with _progress_bar(progress):
            if output_format == "netcdf":
                writable.to_netcdf(partial, engine="h5netcdf")
            else:
                writable.to_zarr(partial, mode="w", zarr_format=2, consolidated=True)
    except BaseException:
        # An interrupted or failed write leaves nothing that looks finished.
        _remove(partial)
        raise

    if overwrite:
        _remove(target)
    os.replace(partial, target)
    return target


def check_writer(output_format: str) -> None:
    """Check that ``output_format`` is known and its writer package imports.

    Raises
    ------
    InvalidRequestError
        If the format is unknown, or its writer (h5netcdf for NetCDF, zarr
        for Zarr) or a package the writer needs is not installed.
    """
    if output_format not in FORMATS:
        raise InvalidRequestError(
            f"invalid output format {output_format!r}: expected one of {FORMATS}"
        )
    label, package = WRITER_PACKAGES[output_format]
    try:
        importlib.import_module(package)
    except ImportError as error:
        missing = error.name or package
        raise InvalidRequestError(
            f"{label} export needs the {missing} package, which is not installed: "
            'pip install "intake-earthscope[export]" (in a clone of the '
            'repository: pip install -e ".[export]")'
        ) from None


def check_output(
    output: str | os.PathLike[str],
    overwrite: bool,
    overwrite_option: str = "overwrite=True",
) -> None:
    """Check that ``output`` can be written, before any data are read.

    Parameters
    ----------
    output : path
        File (NetCDF) or directory (Zarr) to create.
    overwrite : bool
        Whether an existing output may be replaced.
    overwrite_option : str
        How the caller spells the overwrite option, named in the error for an
        existing output (``--overwrite`` on the command line).

    Raises
    ------
    InvalidRequestError
        As :func:`export_dataset` does for its output.
    """
    _check_target(Path(output), overwrite, overwrite_option)


def check_directory(output: str | os.PathLike[str]) -> None:
    """Check that the directory of ``output`` exists and is writable.

    Raises
    ------
    InvalidRequestError
        Naming the directory.
    """
    target = Path(output).absolute()
    directory = target.parent
    if not directory.is_dir():
        raise InvalidRequestError(
            f"cannot write {str(target)!r}: directory {str(directory)!r} does not "
            "exist; create it first"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InvalidRequestError(
            f"cannot write {str(target)!r}: directory {str(directory)!r} is not "
            "writable"
        )


def _check_target(
    target: Path, overwrite: bool, overwrite_option: str = "overwrite=True"
) -> None:
    check_directory(target)
    if not (target.exists() or target.is_symlink()):
        return
    if not overwrite:
        raise InvalidRequestError(
            f"output {str(target)!r} exists: remove it or pass {overwrite_option}"
        )
    if target.is_dir() and not target.is_symlink() and not _is_zarr_store(target):
        raise InvalidRequestError(
            f"output {str(target)!r} is a directory that is no Zarr store: "
            "overwrite replaces files and Zarr stores only, so name a new output"
        )


def _is_zarr_store(path: Path) -> bool:
    markers = (".zgroup", ".zattrs", ".zmetadata", "zarr.json")
    return any((path / marker).is_file() for marker in markers)


def units_not_loaded(output: str | os.PathLike[str], output_format: str) -> int:
    """Count the units of a written output whose ``status`` is not a full load.

    Outputs without a ``status`` variable count as complete.
    """
    return len(incomplete_units(output, output_format))


class IncompleteUnit(NamedTuple):
    """A unit of a written output that did not load fully.

    Attributes
    ----------
    trace : str
        The trace's ``NET.STA.LOC.CHA`` code, or the station's code for GNSS
        outputs. It is ``""`` where the output names neither.
    day : str
        The UTC day as ``YYYY-MM-DD``, or ``""`` for outputs without a ``day``
        dimension, such as GNSS positions.
    status : str
        The unit's outcome, such as ``"missing"`` (the statuses are listed in
        :mod:`intake_earthscope.outcomes`).
    kind : str
        What the units of the output are, in the plural: ``"trace-days"``,
        ``"station-days"`` (RINEX), ``"stations"`` (GNSS positions) or
        ``"days"``.
    """

    trace: str
    day: str
    status: str
    kind: str = "trace-days"


def incomplete_units(
    output: str | os.PathLike[str], output_format: str
) -> list[IncompleteUnit]:
    """List the units of a written output whose ``status`` is not a full load.

    Parameters
    ----------
    output : path
        NetCDF file or Zarr store written by :func:`export_dataset` from a
        waveform (``status`` on trace and day), GNSS position (on station)
        or RINEX (on day) dataset.
    output_format : {"netcdf", "zarr"}
        The output's format.

    Returns
    -------
    list of IncompleteUnit
        One item per unit whose ``status`` is not in :data:`LOADED_STATUSES`,
        in trace order and then in day order. Outputs without a ``status``
        variable give an empty list.
    """
    with open_output(output, output_format) as written:
        if "status" not in written.variables:
            return []
        status = written["status"]
        # The day comes last, so that the units of one trace are adjacent.
        has_day = "day" in status.dims
        dims = [dim for dim in status.dims if dim != "day"]
        if has_day:
            dims.append("day")
        # Zarr text may come back as NumPy's StringDType, so the values become
        # Python strings, as in windows_not_loaded.
        statuses = np.asarray(status.transpose(*dims).values.tolist(), dtype=object)
        labels = [_unit_labels(written, str(dim)) for dim in dims]
        station = str(written.attrs.get("station", ""))

    kind = _unit_kind(has_day, len(dims) > has_day, bool(station))
    units = []
    for index in np.ndindex(statuses.shape):
        value = str(statuses[index])
        if value in LOADED_STATUSES:
            continue
        names = [labels[axis][position] for axis, position in enumerate(index)]
        day = names.pop() if has_day else ""
        units.append(IncompleteUnit(" ".join(names) or station, day, value, kind))
    return units


def _unit_kind(has_day: bool, has_other: bool, one_station: bool) -> str:
    """Name the units of an output whose ``status`` has a ``day`` dimension
    or not, other dimensions or not, and a station attribute or not."""
    if has_day and has_other:
        return "trace-days"
    if has_day:
        return "station-days" if one_station else "days"
    return "stations"


def _unit_labels(written: xr.Dataset, dim: str) -> list[str]:
    """Label each position along ``dim``: UTC dates for days, else the
    coordinate's values, or the positions where there is no coordinate."""
    if dim not in written.coords:
        return [str(position) for position in range(written.sizes[dim])]
    values = written[dim].values
    if np.issubdtype(values.dtype, np.datetime64):
        return [str(day) for day in values.astype("datetime64[D]")]
    return [str(value) for value in values.tolist()]


class IncompleteWindow(NamedTuple):
    """A (window, trace) pair of a windows output that did not load fully.

    Attributes
    ----------
    position : int
        Index of the window along the ``window`` dimension.
    trace : str
        The trace's ``NET.STA.LOC.CHA`` code.
    status : str
        The pair's outcome, such as ``"missing"`` (the statuses are listed in
        :mod:`intake_earthscope.outcomes`).
    """

    position: int
    trace: str
    status: str


def windows_not_loaded(
    output: str | os.PathLike[str], output_format: str
) -> list[IncompleteWindow]:
    """List the (window, trace) pairs of a written windows output that did not
    load fully.

    Parameters
    ----------
    output : path
        NetCDF file or Zarr store written from
        :func:`~intake_earthscope.windows.open_windows` or a source's
        ``windows()``.
    output_format : {"netcdf", "zarr"}
        The output's format.

    Returns
    -------
    list of IncompleteWindow
        One item per pair whose ``status`` is not in :data:`LOADED_STATUSES`,
        in window order and then in trace order.

    Raises
    ------
    InvalidRequestError
        If the output has no ``status`` variable on ``(window, trace)``.
    """
    with open_output(output, output_format) as written:
        status = written.variables.get("status")
        if status is None or set(status.dims) != {"window", "trace"}:
            raise InvalidRequestError(
                f"output {str(output)!r} is not a windows dataset: expected a "
                "'status' variable on (window, trace)"
            )
        # xarray 2026.9 with zarr 3.1 reads Zarr text as NumPy's StringDType,
        # which does not cast to fixed-width unicode, so use Python strings.
        statuses = status.transpose("window", "trace").values.tolist()
        traces = [str(trace) for trace in written["trace"].values.tolist()]

    return [
        IncompleteWindow(position, traces[column], str(value))
        for position, row in enumerate(statuses)
        for column, value in enumerate(row)
        if str(value) not in LOADED_STATUSES
    ]


def open_output(output: str | os.PathLike[str], output_format: str) -> xr.Dataset:
    """Open an output that :func:`export_dataset` wrote, lazily.

    Parameters
    ----------
    output : str or path-like
        The NetCDF file or Zarr store.
    output_format : {"netcdf", "zarr"}
        The output's format.

    Returns
    -------
    xarray.Dataset
        The output, opened with h5netcdf or as consolidated Zarr.
    """
    if output_format == "zarr":
        return xr.open_zarr(output, consolidated=True)
    return xr.open_dataset(output, engine="h5netcdf")


def _writable(dataset: xr.Dataset) -> xr.Dataset:
    # NumPy's variable-width StringDType is not understood by the NetCDF and
    # Zarr writers. xarray 2026.9 computes a lazy object array once to pick a
    # dtype and then again to write it. So both become fixed-width unicode.
    converted = {}
    for name, variable in dataset.variables.items():
        if isinstance(variable.dtype, np.dtypes.StringDType):
            converted[name] = _fixed_width(variable)
        elif variable.dtype == object:
            text = _object_text(str(name), variable)
            if text is not None:
                converted[name] = text
    return dataset.assign_coords(
        {n: v for n, v in converted.items() if n in dataset.coords}
    ).assign({n: v for n, v in converted.items() if n not in dataset.coords})


def _fixed_width(variable: xr.Variable) -> xr.Variable:
    """Load StringDType text and cast it to ``"<U.."`` as wide as its longest value.

    NumPy cannot cast StringDType to ``str`` without a width. Such text comes
    from a store that xarray read, such as a Zarr export, so loading it reads
    that store, not the miniSEED objects. The store's encoding is dropped,
    because its variable-length text codec does not fit the new dtype.
    """
    values = variable.to_numpy()
    width = int(np.strings.str_len(values).max(initial=1))
    return xr.Variable(variable.dims, values.astype(f"<U{width}"), variable.attrs)


def _object_text(name: str, variable: xr.Variable) -> xr.Variable | None:
    """Cast object-dtype text to ``"<U.."``, with "" where a value is missing.

    ``xr.merge`` and ``where`` leave NaN in the cells they fill, and make
    text variables object arrays. Text in memory gets the width of its
    longest value. A lazy outcome variable gets the width it is built with,
    so it stays lazy. Other variables are left to xarray and return None.
    """
    if variable.chunks is None:
        values = variable.to_numpy()
        missing = pd.isnull(values)
        present = values[~missing]
        # Without a string there is nothing to show that the values are text.
        if present.size == 0 or not all(isinstance(v, str) for v in present):
            return None
        text = np.where(missing, "", values).astype(str)
        return xr.Variable(variable.dims, text, variable.attrs)

    width = _text_widths().get(name)
    if width is None:
        return None
    dtype = np.dtype(f"<U{width}")
    text = variable.data.map_blocks(_blank_missing, dtype, dtype=dtype)
    return xr.Variable(variable.dims, text, variable.attrs)


def _blank_missing(block: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.where(pd.isnull(block), "", block).astype(dtype)


def _text_widths() -> dict[str, int]:
    """Map the name of each text outcome variable to its width in characters."""
    # Imported here, because the command line checks its output with this
    # module before it imports the readers.
    from intake_earthscope.dataset import OUTCOME_VARIABLES
    from intake_earthscope.gnss.position_dataset import MESSAGE_WIDTH
    from intake_earthscope.windows import WINDOW_OUTCOMES

    widths = {"message": MESSAGE_WIDTH}
    for name, (dtype, _, _) in {**OUTCOME_VARIABLES, **WINDOW_OUTCOMES}.items():
        if np.dtype(dtype).kind == "U":
            widths[name] = np.dtype(dtype).itemsize // 4
    return widths


def _even_chunks(dataset: xr.Dataset) -> xr.Dataset:
    # Zarr stores one chunk size per dimension, so its writer rejects dask
    # chunks that differ, except for a smaller last one. Window chunks follow
    # the days of the reference times, trace chunks the channels of each
    # station, and a request that starts after midnight has a short first
    # day. Such dimensions are rechunked to their largest chunk along them,
    # so a chunk is at most as long as the reader's longest on each dimension.
    # A variable whose encoding sets its Zarr chunks gets those as dask
    # chunks, so that no two tasks write to one Zarr chunk.
    sizes: dict[str, int] = {}
    encoded: dict[Hashable, dict[Hashable, int]] = {}
    for name, variable in dataset.variables.items():
        if variable.chunks is None:
            continue
        chunks = _encoded_chunks(variable)
        if chunks is not None:
            encoded[name] = chunks
            continue
        for dim, dim_chunks in zip(variable.dims, variable.chunks, strict=True):
            if not _zarr_can_store(dim_chunks):
                sizes[str(dim)] = max(sizes.get(str(dim), 0), max(dim_chunks))
    if not sizes and not encoded:
        return dataset

    logger.debug("rechunking %s and %s for the Zarr writer", sizes, encoded)
    rechunked = {
        name: variable.chunk(
            encoded.get(name) or {d: sizes[d] for d in variable.dims if d in sizes}
        )
        for name, variable in dataset.variables.items()
        if variable.chunks is not None
    }
    return dataset.assign_coords(
        {n: v for n, v in rechunked.items() if n in dataset.coords}
    ).assign({n: v for n, v in rechunked.items() if n not in dataset.coords})


def _encoded_chunks(variable: xr.Variable) -> dict[Hashable, int] | None:
    """Return the Zarr chunks that ``encoding["chunks"]`` sets, by dimension.

    Returns None where the encoding sets none, or sets a shape of another
    rank, which xarray's writer then reports itself.
    """
    chunks = variable.encoding.get("chunks")
    if not isinstance(chunks, tuple | list) or len(chunks) != variable.ndim:
        return None
    return dict(zip(variable.dims, (int(size) for size in chunks), strict=True))


def _zarr_can_store(chunks: tuple[int, ...]) -> bool:
    return len(set(chunks[:-1])) <= 1 and chunks[-1] <= chunks[0]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class _progress_bar:
    """Show dask's progress bar on standard error while the block runs."""

    def __init__(self, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from dask.diagnostics import ProgressBar

            self._bar = ProgressBar(out=sys.stderr)

    def __enter__(self) -> None:
        if self._bar is not None:
            self._bar.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
