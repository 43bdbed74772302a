"""Lazy, regular ``datetime64[ns]`` time coordinate for xarray.

A year of 100 Hz samples has 3.15e9 time labels, 25 GB as ``datetime64[ns]``.
:class:`TimeGridIndex` stores only the grid parameters and computes labels on
request, so a Dataset keeps that ``time`` coordinate in a few hundred bytes.

The labels of a grid are ``start_ns + round(phase_ns + k * step_ns)`` for
``k`` in ``[0, size)``, in nanoseconds since 1970-01-01 UTC. ``round`` rounds
half up. ``phase_ns`` is 0 for a grid built by :func:`time_coords`. Slicing
sets it to the fraction of a nanosecond by which the new first label was
rounded. That way a sliced grid reproduces the parent's labels even when
``step_ns`` is not a whole number of nanoseconds, such as 1e9 / 3 at 3 Hz.

Label-based selection follows :class:`pandas.DatetimeIndex`, with one
difference: a timezone-aware label is converted to UTC where pandas raises,
because the grid is defined in UTC.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from xarray.core.indexing import IndexSelResult
from xarray.indexes import (
    CoordinateTransformIndex,
    Index,
    PandasIndex,
)

from intake_earthscope.timelabels import (
    DTYPE,
    NAT_NS,
    check_method,
    describe,
    format_grid,
    format_label,
    labels_to_ns,
    not_found_message,
    scalar_as_array,
    slice_bound_ns,
    slice_step,
    string_bounds_ns,
    tolerance_ns,
)
from intake_earthscope.timetransform import TimeGridTransform, elapsed_ns

__all__ = ["TimeGridIndex", "TimeGridTransform", "time_coords"]

# The units pandas uses for the resolution of a DatetimeIndex, coarsest first.
_RESOLUTION_UNITS_NS = (
    86_400 * 10**9,
    3_600 * 10**9,
    60 * 10**9,
    10**9,
    10**6,
    10**3,
    1,
)


class TimeGridIndex(CoordinateTransformIndex):
    """Xarray index of a regular ``datetime64[ns]`` time coordinate.

    Labels are computed on request, so the coordinate stays lazy at any size.
    Build one with :meth:`from_grid` or :func:`time_coords`.

    Parameters
    ----------
    transform : TimeGridTransform
        The grid.

    Notes
    -----
    Positional slices with a positive step keep the index lazy. Integer-array
    positions and slices with a negative step return a
    :class:`xarray.indexes.PandasIndex` of the picked labels, which stores them
    in memory. Label selection follows :class:`pandas.DatetimeIndex`, including
    partial date strings.

    Examples
    --------
    >>> coords = time_coords(1_704_067_200 * 10**9, 1e7, 3)
    >>> ds = xr.Dataset(coords=coords)
    >>> ds.time.values
    array(['2024-01-01T00:00:00.000000000', '2024-01-01T00:00:00.010000000',
           '2024-01-01T00:00:00.020000000'], dtype='datetime64[ns]')
    """

    transform: TimeGridTransform

    def __init__(self, transform: TimeGridTransform) -> None:
        if not isinstance(transform, TimeGridTransform):
            raise TypeError(
                "transform must be a TimeGridTransform; got "
                f"{type(transform).__name__}. Use TimeGridIndex.from_grid."
            )
        super().__init__(transform)

    @classmethod
    def from_grid(
        cls, start_ns: int, step_ns: float, size: int, dim: str = "time"
    ) -> TimeGridIndex:
        """Build an index of ``start_ns + round(k * step_ns)`` for ``k < size``.

        Parameters
        ----------
        start_ns : int
            First label, in nanoseconds since 1970-01-01 UTC.
        step_ns : float
            Spacing between labels in nanoseconds, at least 1.
        size : int
            Number of labels.
        dim : str, default "time"
            Name of the dimension and of the coordinate.

        Returns
        -------
        TimeGridIndex

        Raises
        ------
        InvalidRequestError
            If a parameter is out of range.
        """
        return cls(TimeGridTransform(start_ns, step_ns, size, dim))

    @classmethod
    def from_variables(
        cls,
        variables: Mapping[Any, xr.Variable],
        *,
        options: Mapping[str, Any],
    ) -> TimeGridIndex:
        """Build an index from an evenly spaced ``datetime64`` coordinate.

        This is the hook behind ``ds.set_xindex("time", TimeGridIndex)``.

        Parameters
        ----------
        variables : dict-like
            One 1-dimensional ``datetime64`` variable.
        options : dict-like
            Unused.

        Returns
        -------
        TimeGridIndex

        Raises
        ------
        ValueError
            If there is not exactly one 1-dimensional variable, or its labels
            are not ``datetime64``, contain NaT, or are not evenly spaced by a
            whole number of at least 1 nanosecond.
        """
        if len(variables) != 1:
            raise ValueError(
                f"TimeGridIndex indexes exactly one coordinate; got {list(variables)}."
            )

        name, variable = next(iter(variables.items()))
        labels_ns = _regular_labels_ns(name, variable)

        step_ns = int(labels_ns[1] - labels_ns[0]) if len(labels_ns) > 1 else 1
        transform = TimeGridTransform(
            int(labels_ns[0]), step_ns, len(labels_ns), str(variable.dims[0])
        )
        transform.coord_names = (name,)
        return cls(transform)

    # xarray types the result as Self, but concatenating grids that do not
    # continue each other needs a PandasIndex, which xarray accepts at runtime.
    @classmethod
    def concat(  # type: ignore[override]
        cls,
        indexes: Sequence[Index],
        dim: Hashable,
        positions: Iterable[Iterable[int]] | None = None,
    ) -> Index:
        """Join indexes end to end along ``dim``.

        Parameters
        ----------
        indexes : sequence of Index
            Indexes to concatenate, in order.
        dim : Hashable
            Dimension to concatenate along.
        positions : list of integer arrays, optional
            Positions of each index's labels in the result.

        Returns
        -------
        Index
            A lazy TimeGridIndex when every index is a grid that continues
            the previous one with the same step, otherwise a PandasIndex of
            all the labels.
        """
        if positions is None:
            joined = _join_contiguous_grids(indexes)
            if joined is not None:
                return cls(joined)

        as_pandas = [
            PandasIndex(index.to_pandas_index(), dim, coord_dtype=DTYPE)
            for index in indexes
        ]
        return PandasIndex.concat(as_pandas, dim, positions)

    @property
    def start_ns(self) -> int:
        """First label, in nanoseconds since 1970-01-01 UTC."""
        return self.transform.start_ns

    @property
    def step_ns(self) -> float:
        """Spacing between labels, in nanoseconds."""
        return self.transform.step_ns

    @property
    def size(self) -> int:
        """Number of labels."""
        return self.transform.size

    @property
    def dim(self) -> str:
        """Name of the dimension."""
        return self.transform.dim

    @property
    def coord_name(self) -> Hashable:
        """Name of the coordinate variable."""
        return self.transform.coord_name

    def to_pandas_index(self) -> pd.DatetimeIndex:
        """Compute all labels as a :class:`pandas.DatetimeIndex`.

        xarray calls this for ``ds.indexes``, ``resample`` and ``groupby``.
        It needs 8 bytes of memory per label.

        Returns
        -------
        pandas.DatetimeIndex
        """
        labels = self.transform.generate_coords()[self.coord_name]
        # The labels are a new array, so pandas may keep it without a copy.
        return pd.DatetimeIndex(labels, name=self.coord_name, copy=False)

    def isel(
        self, indexers: Mapping[Any, int | slice | np.ndarray | xr.Variable]
    ) -> Index | None:
        """Select positions of the grid.

        Parameters
        ----------
        indexers : dict
            Maps the dimension name to a slice, an integer, an integer or
            boolean array, or a Variable of positions.

        Returns
        -------
        Index or None
            A lazy TimeGridIndex for a slice with a positive step, a
            PandasIndex of the picked labels for an array or a slice with a
            negative step, and None for a scalar or for positions on another
            dimension (a vectorized selection), which drops the index.

        Raises
        ------
        IndexError
            If a position is out of bounds.
        """
        indexer = indexers[self.dim]

        if isinstance(indexer, slice):
            if range(self.size)[indexer].step > 0:
                return type(self)(self.transform.slice(indexer))
            positions = np.arange(self.size)[indexer]
            return self._pandas_index_at(positions, self.dim)

        if isinstance(indexer, xr.Variable):
            # Like PandasIndex, keep no index for labels on another dimension,
            # such as the points of a vectorized selection.
            if indexer.dims != (self.dim,):
                return None
            positions = self._checked_positions(indexer.values)
            return self._pandas_index_at(positions, self.dim)

        if np.ndim(indexer) == 0:
            return None

        positions = self._checked_positions(np.asarray(indexer))
        return self._pandas_index_at(positions, self.dim)

    def sel(
        self,
        labels: dict[Any, Any],
        method: str | None = None,
        tolerance: Any = None,
    ) -> IndexSelResult:
        """Find the positions of time labels, as pandas does.

        Parameters
        ----------
        labels : dict
            Maps the coordinate name to one of: a scalar label
            (``numpy.datetime64``, :class:`pandas.Timestamp`,
            :class:`datetime.datetime`, ``obspy.UTCDateTime`` or an ISO 8601
            string), a slice of
            such labels, or a 1-dimensional list, array, Variable or DataArray
            of labels.
        method : {None, "nearest", "pad", "ffill", "backfill", "bfill"}
            None requires exact matches. The others pick the nearest label,
            the label at or before, or the label at or after.
        tolerance : str or timedelta-like, optional
            Maximum distance between a requested label and the picked label,
            such as ``"5ms"``. Only valid with ``method``.

        Returns
        -------
        IndexSelResult
            Positions along the dimension.

        Raises
        ------
        KeyError
            If a label is not found, or a string label is not a valid date.
        TypeError
            If a label is not datetime-like, or ``tolerance`` is not a
            timedelta.
        InvalidRequestError
            If ``method`` is not one of the values above, or ``tolerance``
            is negative or given without ``method``.
        NotImplementedError
            If ``method`` or ``tolerance`` is combined with a slice.

        Notes
        -----
        A slice includes both bounds and may have a step, which applies to
        the positions of the result. Bounds outside the grid are clipped. A
        string bound covers its whole period, as in pandas:
        ``slice("2024-01-01", "2024-01-31")`` ends on 2024-01-31T23:59:59.999999999.
        A scalar string coarser than the grid's resolution, such as
        ``"2024-01-01T01"`` on a 100 Hz grid, selects every label in that
        period and keeps the dimension.
        """
        label = labels[self.coord_name]
        fill_method = check_method(method, tolerance)

        if isinstance(label, slice):
            if method is not None or tolerance is not None:
                raise NotImplementedError(
                    "method and tolerance cannot be used with a slice of time "
                    "labels; select the bounds first with method='nearest'."
                )
            return IndexSelResult({self.dim: self._slice_positions(label)})

        if isinstance(label, Mapping):
            raise ValueError(
                f"cannot select time labels with a dict-like object; got {label!r}."
            )

        indexer = self._label_positions(label, fill_method, tolerance)
        return IndexSelResult({self.dim: indexer})

    def join(self, other: Index, how: str = "inner") -> TimeGridIndex:
        """Combine two grids that share their labels where they overlap.

        Parameters
        ----------
        other : TimeGridIndex
            The other grid. Unless either grid is empty, its step and phase
            must match this grid's, and its first label must be one of this
            grid's labels when extended.
        how : {"inner", "outer"}
            Keep the overlap or the whole span of both grids.

        Returns
        -------
        TimeGridIndex

        Raises
        ------
        ValueError
            If the grids have different steps or are offset from each other.
        """
        if not isinstance(other, TimeGridIndex):
            raise TypeError(f"cannot join a TimeGridIndex with {other!r}.")
        if how not in ("inner", "outer"):
            raise ValueError(f"how must be 'inner' or 'outer'; got {how!r}.")

        # An empty grid has no labels, whatever its start and step.
        if self.size == 0 or other.size == 0:
            empty, full = (self, other) if self.size == 0 else (other, self)
            return full if how == "outer" else empty

        offset = _grid_offset(self.transform, other.transform)
        if offset is None:
            raise ValueError(
                f"cannot align time grid {self!r} with {other!r}: their labels "
                "are not on one common grid. Resample one of them, or replace "
                "the index with ds.assign_coords(time=ds.time.values) to align "
                "on labels."
            )

        other_end = offset + other.size
        if how == "inner":
            first, stop = max(0, offset), min(self.size, other_end)
        else:
            first, stop = min(0, offset), max(self.size, other_end)

        size = max(stop - first, 0)
        return type(self)(self.transform.subgrid(first, size))

    def reindex_like(
        self, other: Index, method: str | None = None, tolerance: Any = None
    ) -> dict[Hashable, Any]:
        """Find the positions of ``other``'s labels in this grid.

        Parameters
        ----------
        other : Index
            Index whose labels are looked up, usually the result of
            :meth:`join`.
        method, tolerance
            As in :meth:`sel`.

        Returns
        -------
        dict
            Maps the dimension name to an int64 array, -1 where a label of
            ``other`` is not found.
        """
        fill_method = check_method(method, tolerance)
        labels_ns = other.to_pandas_index().as_unit("ns").asi8

        indexer = self._get_indexer(labels_ns, fill_method, tolerance)
        return {self.dim: indexer}

    def roll(self, shifts: Mapping[Any, int]) -> PandasIndex:  # type: ignore[override]
        """Roll the labels along the dimension.

        Rolled labels are no longer sorted, so the result is a PandasIndex
        that stores them in memory.

        Parameters
        ----------
        shifts : dict
            Maps the dimension name to the number of positions to roll by.

        Returns
        -------
        PandasIndex
        """
        labels = self.to_pandas_index()
        shift = shifts[self.dim] % self.size if self.size else 0

        rolled = labels[-shift:].append(labels[:-shift]) if shift else labels
        return PandasIndex(rolled, self.dim, coord_dtype=DTYPE)

    def equals(
        self, other: Index, *, exclude: frozenset[Hashable] | None = None
    ) -> bool:
        """Check whether ``other`` is a TimeGridIndex with the same labels.

        Parameters
        ----------
        other : Index
            Index to compare with.
        exclude : frozenset of hashable, optional
            Ignored, because a 1-dimensional index is never compared along an
            excluded dimension.

        Returns
        -------
        bool
        """
        if not isinstance(other, TimeGridIndex):
            return False
        # Like two empty pandas indexes, two empty grids have equal labels.
        if self.size == 0 and other.size == 0:
            return True
        return self.transform.equals(other.transform)

    def _repr_inline_(self, max_width: int) -> str:
        return f"{type(self).__name__} ({format_grid(self.transform)})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({format_grid(self.transform)})"

    def _checked_positions(self, positions: np.ndarray) -> np.ndarray:
        if positions.dtype.kind == "b":
            if positions.shape != (self.size,):
                raise IndexError(
                    f"boolean indexer of shape {positions.shape} does not match "
                    f"dimension {self.dim!r} of size {self.size}."
                )
            return np.flatnonzero(positions)

        if positions.dtype.kind not in "iu":
            raise IndexError(
                f"positions along {self.dim!r} must be integers; got dtype "
                f"{positions.dtype}."
            )

        positions = positions.astype(np.int64)
        positions = np.where(positions < 0, positions + self.size, positions)
        out_of_bounds = (positions < 0) | (positions >= self.size)
        if out_of_bounds.any():
            raise IndexError(
                f"positions {positions[out_of_bounds][:5].tolist()} are out of "
                f"bounds for dimension {self.dim!r} of size {self.size}."
            )
        return positions

    def _pandas_index_at(self, positions: np.ndarray, dim: Hashable) -> PandasIndex:
        labels = self.transform.forward({self.dim: positions})[self.coord_name]
        index = pd.DatetimeIndex(labels, name=self.coord_name)
        return PandasIndex(index, dim, coord_dtype=DTYPE)

    def _label_positions(
        self, label: Any, fill_method: str | None, tolerance: Any
    ) -> Any:
        values = (
            label.values if isinstance(label, xr.Variable | xr.DataArray) else label
        )

        indexer: Any
        if np.ndim(values) == 0 and not isinstance(values, np.ndarray):
            # A string selects a whole period only when it is a plain scalar,
            # because xarray cannot wrap a slice in the dims of a DataArray.
            partial = not isinstance(label, xr.Variable | xr.DataArray)
            indexer = self._scalar_position(values, fill_method, tolerance, partial)
        else:
            array = np.asarray(values)
            if array.dtype.kind == "b":
                indexer = array
            elif array.ndim == 0:
                indexer = self._scalar_position(array[()], fill_method, tolerance)
            else:
                indexer = self._array_positions(array, fill_method, tolerance)

        # Keep the label's dimensions so that xarray does vectorized indexing.
        if isinstance(label, xr.Variable):
            return xr.Variable(label.dims, indexer)
        if isinstance(label, xr.DataArray):
            return xr.DataArray(indexer, coords=label.coords, dims=label.dims)
        return indexer

    def _scalar_position(
        self,
        label: Any,
        fill_method: str | None,
        tolerance: Any,
        partial: bool = False,
    ) -> int | slice:
        if partial and isinstance(label, str) and fill_method is None:
            period = self._partial_string_positions(label)
            if period is not None:
                return period

        labels_ns = labels_to_ns(scalar_as_array(label), label)
        position = int(self._get_indexer(labels_ns, fill_method, tolerance)[0])
        if position < 0:
            raise KeyError(self._not_found_message(label, fill_method, tolerance))
        return position

    def _array_positions(
        self, labels: np.ndarray, fill_method: str | None, tolerance: Any
    ) -> np.ndarray:
        labels_ns = labels_to_ns(labels, labels)
        positions = self._get_indexer(labels_ns, fill_method, tolerance)

        missing = positions < 0
        if missing.any():
            first_missing = labels.ravel()[np.flatnonzero(missing)[0]]
            raise KeyError(
                f"{int(missing.sum())} of {missing.size} labels not found, the "
                f"first is {describe(first_missing)}. "
                + self._not_found_message(first_missing, fill_method, tolerance)
            )
        return positions

    def _not_found_message(
        self, label: Any, fill_method: str | None, tolerance: Any
    ) -> str:
        # No method finds a label in an empty grid, so suggest none.
        if self.size == 0:
            return (
                f"time label {describe(label)} is not in {self!r}, which has no "
                "labels; select from a dataset whose time dimension is not empty."
            )
        return not_found_message(label, self, fill_method, tolerance)

    def _partial_string_positions(self, label: str) -> slice | None:
        # pandas treats a date string coarser than the index resolution as the
        # period it names, e.g. "2024-01-01T01" as the hour from 01:00.
        lower_ns, upper_ns = string_bounds_ns(label, error=KeyError)
        if upper_ns - lower_ns + 1 <= _grid_resolution_ns(self.transform):
            return None
        if self.size == 0:
            return slice(0, 0)

        first_ns, last_ns = self.start_ns, self.transform.last_ns
        before = lower_ns < first_ns and upper_ns < first_ns
        after = lower_ns > last_ns and upper_ns > last_ns
        if before or after:
            raise KeyError(
                f"time label {label!r} covers {format_label(lower_ns)} to "
                f"{format_label(upper_ns)}, outside the grid "
                f"{format_label(first_ns)} to {format_label(last_ns)}."
            )

        return slice(self._count_before(lower_ns), self._count_at_or_before(upper_ns))

    def _slice_positions(self, label: slice) -> slice:
        step = slice_step(label.step)

        # pandas reads a reversed slice from its upper bound down.
        if step is not None and step < 0:
            return self._reversed_slice_positions(label, step)

        start = 0
        if label.start is not None:
            start = self._count_before(slice_bound_ns(label.start, "left"))

        stop = self.size
        if label.stop is not None:
            stop = self._count_at_or_before(slice_bound_ns(label.stop, "right"))

        return slice(start, max(stop, start), step)

    def _reversed_slice_positions(self, label: slice, step: int) -> slice:
        start = self.size - 1
        if label.start is not None:
            upper_ns = slice_bound_ns(label.start, "right")
            start = self._count_at_or_before(upper_ns) - 1

        stop = -1
        if label.stop is not None:
            lower_ns = slice_bound_ns(label.stop, "left")
            stop = self._count_before(lower_ns) - 1

        if start < 0 or stop >= start:
            return slice(0, 0, step)
        return slice(start, None if stop < 0 else stop, step)

    def _count_before(self, label_ns: int) -> int:
        return int(self._searchsorted(np.array([label_ns]), "left")[0])

    def _count_at_or_before(self, label_ns: int) -> int:
        return int(self._searchsorted(np.array([label_ns]), "right")[0])

    def _searchsorted(self, labels_ns: np.ndarray, side: str) -> np.ndarray:
        floor = self.transform.floor_positions(labels_ns)
        if side == "right":
            return floor + 1

        floor_ns = self._labels_ns(floor)
        exact = (floor >= 0) & (floor_ns == labels_ns)
        return floor + 1 - exact

    def _labels_ns(self, positions: np.ndarray) -> np.ndarray:
        # Positions of -1 or ``size`` mark a miss, and callers discard their labels.
        clipped = np.clip(positions, 0, max(self.size - 1, 0))
        return self.start_ns + self.transform._offsets(clipped)

    def _get_indexer(
        self, labels_ns: np.ndarray, fill_method: str | None, tolerance: Any
    ) -> np.ndarray:
        labels_ns = np.asarray(labels_ns, dtype=np.int64)
        pad = self.transform.floor_positions(labels_ns)
        pad_ns = self._labels_ns(pad)

        exact = (pad >= 0) & (pad_ns == labels_ns)
        backfill = np.where(exact, pad, pad + 1)
        backfill = np.where(backfill < self.size, backfill, -1)
        backfill_ns = self._labels_ns(backfill)

        # Unsigned subtraction gives the exact distance whenever the true
        # difference is not negative, even where int64 would overflow.
        pad_distance = labels_ns.view(np.uint64) - pad_ns.view(np.uint64)
        backfill_distance = backfill_ns.view(np.uint64) - labels_ns.view(np.uint64)

        if fill_method is None:
            indexer, distance = np.where(exact, pad, -1), pad_distance
        elif fill_method == "pad":
            indexer, distance = pad, pad_distance
        elif fill_method == "backfill":
            indexer, distance = backfill, backfill_distance
        else:
            indexer, distance = _nearest(pad, pad_distance, backfill, backfill_distance)

        if tolerance is not None:
            limit = tolerance_ns(tolerance, labels_ns.shape)
            indexer = np.where(distance <= limit, indexer, -1)

        return np.where(labels_ns == NAT_NS, -1, indexer)


def time_coords(
    start_ns: int, step_ns: float, size: int, dim: str = "time"
) -> xr.Coordinates:
    """Build a lazy ``time`` coordinate backed by a :class:`TimeGridIndex`.

    Parameters
    ----------
    start_ns : int
        First label, in nanoseconds since 1970-01-01 UTC.
    step_ns : float
        Spacing between labels in nanoseconds, at least 1. It may have a
        fractional part, for example ``1e9 / 3`` for 3 Hz.
    size : int
        Number of labels.
    dim : str, default "time"
        Name of the dimension and of the coordinate.

    Returns
    -------
    xarray.Coordinates
        Pass it as ``coords`` to :class:`xarray.Dataset` or
        :class:`xarray.DataArray`.

    Raises
    ------
    InvalidRequestError
        If a parameter is out of range.

    Examples
    --------
    >>> coords = time_coords(1_704_067_200 * 10**9, 1e7, 365 * 86_400 * 100)
    >>> ds = xr.Dataset(coords=coords)
    >>> ds.sizes["time"]
    3153600000
    """
    index = TimeGridIndex.from_grid(start_ns, step_ns, size, dim)
    return xr.Coordinates.from_xindex(index)


def _regular_labels_ns(name: Hashable, variable: xr.Variable) -> np.ndarray:
    if variable.ndim != 1 or variable.dtype.kind != "M":
        raise ValueError(
            f"TimeGridIndex needs a 1-dimensional datetime64 coordinate; "
            f"{name!r} has dims {variable.dims} and dtype {variable.dtype}."
        )

    labels_ns = variable.values.astype(DTYPE).view(np.int64)
    if labels_ns.size == 0 or (labels_ns == NAT_NS).any():
        raise ValueError(f"coordinate {name!r} is empty or contains NaT.")

    steps = np.diff(labels_ns)
    if steps.size and (steps[0] < 1 or (steps != steps[0]).any()):
        raise ValueError(
            f"coordinate {name!r} is not evenly spaced by a positive step; keep "
            "its default PandasIndex instead."
        )
    return labels_ns


def _join_contiguous_grids(indexes: Sequence[Index]) -> TimeGridTransform | None:
    all_grids = [
        index.transform for index in indexes if isinstance(index, TimeGridIndex)
    ]
    if len(all_grids) != len(indexes):
        return None

    grids = [grid for grid in all_grids if grid.size > 0]
    if not grids:
        return all_grids[0]

    joined = grids[0]
    for grid in grids[1:]:
        continuation = joined.subgrid(joined.size, grid.size)
        if grid.coord_names != joined.coord_names or not continuation.equals(grid):
            return None
        joined = joined.subgrid(0, joined.size + grid.size)

    return joined


def _grid_offset(grid: TimeGridTransform, other: TimeGridTransform) -> int | None:
    # Position in ``grid``, possibly negative or past its end, of ``other``'s first
    # label, when ``other`` is a piece of ``grid`` extended in both directions.
    if grid.coord_names != other.coord_names:
        return None

    elapsed = elapsed_ns(np.array([other.start_ns]), grid.start_ns)[0]
    offset = int(np.rint((elapsed - grid.phase_ns) / grid.step_ns))

    candidate = grid.subgrid(offset, other.size)
    return offset if candidate.equals(other) else None


def _nearest(
    pad: np.ndarray,
    pad_distance: np.ndarray,
    backfill: np.ndarray,
    backfill_distance: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    # Like pandas, prefer the later label when both are equally far.
    use_pad = (pad >= 0) & ((backfill < 0) | (pad_distance < backfill_distance))
    indexer = np.where(use_pad, pad, backfill)
    distance = np.where(use_pad, pad_distance, backfill_distance)
    return indexer, distance


def _grid_resolution_ns(grid: TimeGridTransform) -> int:
    # The coarsest unit that divides every label, as pandas computes the
    # resolution of a DatetimeIndex. A grid with a fractional step has whole
    # steps D only if its last label is start + (size - 1) * D, because the
    # rounding error of each label grows monotonically with its position.
    spacing = grid._offset(1) if grid.size > 1 else 0
    if grid._offset(max(grid.size - 1, 0)) != (grid.size - 1) * spacing:
        return 1

    for unit_ns in _RESOLUTION_UNITS_NS:
        if grid.start_ns % unit_ns == 0 and spacing % unit_ns == 0:
            return unit_ns
    return 1
