"""Grid arithmetic of a regular ``datetime64[ns]`` time coordinate.

:class:`TimeGridTransform` maps positions to labels and back without storing
labels. :mod:`intake_earthscope.timegrid` wraps it in an xarray index.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
from xarray.indexes import CoordinateTransform

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.timelabels import (
    DTYPE,
    INT64_MAX,
    INT64_MIN,
    NAT_NS,
    format_grid,
)

__all__ = ["TimeGridTransform", "elapsed_ns"]

# Positions per block of the float64 arithmetic of a fractional step, so that
# its temporaries take 2 MiB each, whatever the number of labels.
_BLOCK_POSITIONS = 2**18


class TimeGridTransform(CoordinateTransform):
    """Regular ``datetime64[ns]`` grid ``start_ns + round(phase_ns + k * step_ns)``.

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
    phase_ns : float, default 0.0
        Fraction of a nanosecond added before rounding, in ``[-0.5, 0.5)``.
        Slicing sets it, so that a sliced grid keeps its parent's labels.

    Raises
    ------
    InvalidRequestError
        If a parameter is out of range or the last label does not fit in
        ``datetime64[ns]`` (years 1677 to 2262).

    Notes
    -----
    ``round`` rounds half up, so that shifting the grid by whole nanoseconds
    never changes which way a tie goes. Internally the step is kept as a whole
    number of nanoseconds plus a fraction, and label offsets are computed as
    ``k * whole + round(phase_ns + k * fraction)``. The first term is exact in
    int64. The second is float64, whose relative error of about 1e-16 can move
    a label by 1 ns only where the exact value lies that close to a tie.
    """

    start_ns: int
    phase_ns: float

    def __init__(
        self,
        start_ns: int,
        step_ns: float,
        size: int,
        dim: str = "time",
        *,
        phase_ns: float = 0.0,
    ) -> None:
        _check_grid_arguments(start_ns, step_ns, size, phase_ns)
        super().__init__([dim], {dim: int(size)}, dtype=DTYPE)

        self.start_ns = int(start_ns)
        self.phase_ns = float(phase_ns)
        self._step_whole_ns = math.floor(step_ns)
        self._step_fraction_ns = float(step_ns) - self._step_whole_ns

        self._check_last_label()

    @property
    def coord_name(self) -> Hashable:
        """Name of the coordinate variable."""
        return self.coord_names[0]

    @property
    def dim(self) -> str:
        """Name of the dimension."""
        return self.dims[0]

    @property
    def size(self) -> int:
        """Number of labels."""
        return self.dim_size[self.dim]

    @property
    def step_ns(self) -> float:
        """Spacing between labels, in nanoseconds."""
        return self._step_whole_ns + self._step_fraction_ns

    @property
    def last_ns(self) -> int:
        """Last label in nanoseconds, or ``start_ns`` for an empty grid."""
        return self.start_ns + self._offset(max(self.size - 1, 0))

    def forward(self, dim_positions: dict[str, Any]) -> dict[Hashable, Any]:
        """Compute the labels at integer positions of the grid.

        Parameters
        ----------
        dim_positions : dict
            Maps the dimension name to an array of positions, of any shape.
            Positions outside ``[0, size)`` extend the grid.

        Returns
        -------
        dict
            Maps the coordinate name to a ``datetime64[ns]`` array.
        """
        positions = np.asarray(dim_positions[self.dim])

        if positions.dtype.kind in "iu":
            labels_ns = self._offsets(positions.astype(np.int64, copy=False))
            labels_ns += self.start_ns
        else:
            labels_ns = self._labels_at_fractional(positions.astype(np.float64))

        # ``[()]`` returns a scalar for a scalar position and a view otherwise.
        return {self.coord_name: labels_ns.view(DTYPE)[()]}

    def generate_coords(
        self, dims: tuple[str, ...] | None = None
    ) -> dict[Hashable, Any]:
        """Compute every label of the grid.

        The positions and then the labels fill one int64 buffer, so the peak
        memory is the labels' size (8 bytes each) plus small blocks.

        Parameters
        ----------
        dims : tuple of str, optional
            Ignored, because the grid has only one dimension.

        Returns
        -------
        dict
            Maps the coordinate name to a ``datetime64[ns]`` array.
        """
        # NOTE: dask.base.tokenize and xr.map_blocks land here for every
        # label, because xarray 2026.9 hashes a variable's values and offers
        # no hook for a computed coordinate (the guide gives the workaround).
        labels_ns = np.arange(self.size, dtype=np.int64)
        self._offsets(labels_ns, out=labels_ns)
        labels_ns += self.start_ns
        return {self.coord_name: labels_ns.view(DTYPE)}

    def reverse(self, coord_labels: dict[Hashable, Any]) -> dict[str, Any]:
        """Compute the fractional grid positions of ``datetime64`` labels.

        Parameters
        ----------
        coord_labels : dict
            Maps the coordinate name to an array of ``datetime64`` labels.

        Returns
        -------
        dict
            Maps the dimension name to a float64 array of positions, NaN
            where a label is NaT.
        """
        labels = np.asarray(coord_labels[self.coord_name]).astype(DTYPE)
        labels_ns = labels.view(np.int64)

        elapsed = elapsed_ns(labels_ns, self.start_ns)
        positions = (elapsed - self.phase_ns) / self.step_ns

        return {self.dim: np.where(labels_ns == NAT_NS, np.nan, positions)}

    def equals(
        self,
        other: CoordinateTransform,
        exclude: frozenset[Hashable] | None = None,
    ) -> bool:
        """Check whether ``other`` is a time grid with the same labels.

        Parameters
        ----------
        other : CoordinateTransform
            Transform to compare with.
        exclude : frozenset of hashable, optional
            Ignored, because a 1-dimensional transform is never compared
            along an excluded dimension.

        Returns
        -------
        bool

        Notes
        -----
        The step fractions and phases may differ by float rounding when two
        grids were reached by different slices of one parent. They count as
        equal when the difference moves no label by more than 0.001 ns.
        """
        if not isinstance(other, TimeGridTransform):
            return False

        same_layout = (
            self.coord_names == other.coord_names
            and self.dim_size == other.dim_size
            and self.start_ns == other.start_ns
            and self._step_whole_ns == other._step_whole_ns
        )
        if not same_layout:
            return False

        fraction_drift = abs(self._step_fraction_ns - other._step_fraction_ns)
        phase_drift = abs(self.phase_ns - other.phase_ns)
        return bool(fraction_drift * self.size + phase_drift < 1e-3)

    def slice(self, sl: slice) -> TimeGridTransform:
        """Select a positional slice with a positive step, lazily.

        Parameters
        ----------
        sl : slice
            Positional slice, as for a sequence of length ``size``.

        Returns
        -------
        TimeGridTransform
            Grid whose labels are this grid's labels at the sliced positions.

        Raises
        ------
        ValueError
            If the slice step is zero or negative, because a decreasing grid
            is not a TimeGridTransform.
        """
        picked = range(self.size)[sl]
        if picked.step < 0:
            raise ValueError(
                f"slice step must be positive for a lazy time grid; got {sl.step}. "
                "Index with an array of positions to reverse the grid."
            )

        return self.subgrid(picked.start, len(picked), picked.step)

    def subgrid(self, first: int, size: int, stride: int = 1) -> TimeGridTransform:
        """Build the grid of this grid's labels at ``first + j * stride``.

        Parameters
        ----------
        first : int
            Position of the new first label. It may be negative or beyond
            ``size`` to extend this grid.
        size : int
            Number of labels of the new grid.
        stride : int, default 1
            Positive number of positions between consecutive new labels.

        Returns
        -------
        TimeGridTransform
        """
        carry = self.phase_ns + first * self._step_fraction_ns
        carry_ns = math.floor(carry + 0.5)

        stride_fraction = stride * self._step_fraction_ns
        stride_fraction_whole = math.floor(stride_fraction)

        new = TimeGridTransform(
            self.start_ns + first * self._step_whole_ns + carry_ns,
            self.step_ns * stride,
            size,
            self.dim,
            phase_ns=carry - carry_ns,
        )

        # The float ``step_ns * stride`` may round, so keep the exact parts.
        new._step_whole_ns = stride * self._step_whole_ns + stride_fraction_whole
        new._step_fraction_ns = stride_fraction - stride_fraction_whole
        new.coord_names = self.coord_names
        return new

    def floor_positions(self, labels_ns: np.ndarray) -> np.ndarray:
        """Find the last position whose label is at or before each label.

        Parameters
        ----------
        labels_ns : numpy.ndarray
            int64 nanoseconds since the epoch, without NaT.

        Returns
        -------
        numpy.ndarray
            int64 positions in ``[-1, size)``, -1 where a label is before the
            first label of the grid.
        """
        labels_ns = np.asarray(labels_ns, dtype=np.int64)
        result = np.full(labels_ns.shape, -1, dtype=np.int64)
        if self.size == 0:
            return result

        inside = labels_ns >= self.start_ns
        targets = labels_ns[inside]

        # The float estimate can be off by a few positions, so step it to the
        # exact floor.
        elapsed = elapsed_ns(targets, self.start_ns)
        estimate = np.floor((elapsed - self.phase_ns) / self.step_ns)
        positions = np.clip(estimate, 0, self.size - 1).astype(np.int64)

        result[inside] = self._correct_floor(positions, targets)
        return result

    def _correct_floor(self, positions: np.ndarray, targets: np.ndarray) -> np.ndarray:
        # Position 0 is at or before every target, so stepping back stops there.
        too_late = self.start_ns + self._offsets(positions) > targets
        while too_late.any():
            positions = positions - too_late
            too_late = self.start_ns + self._offsets(positions) > targets

        advance = self._next_label_at_or_before(positions, targets)
        while advance.any():
            positions = positions + advance
            advance = self._next_label_at_or_before(positions, targets)

        return positions

    def _next_label_at_or_before(
        self, positions: np.ndarray, targets: np.ndarray
    ) -> np.ndarray:
        following = np.minimum(positions + 1, self.size - 1)
        following_ns = self.start_ns + self._offsets(following)
        return (positions + 1 < self.size) & (following_ns <= targets)

    def _offset(self, position: int) -> int:
        fractional = self.phase_ns + position * self._step_fraction_ns
        return position * self._step_whole_ns + math.floor(fractional + 0.5)

    def _offsets(
        self, positions: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Compute the label offsets of int64 ``positions`` into ``out``.

        ``out`` may be ``positions`` itself. A new int64 array is returned
        when it is None.
        """
        if out is None:
            out = np.empty(np.shape(positions), dtype=np.int64)
        if self._step_fraction_ns == 0.0:
            # Every position rounds the same phase, so no float array is needed.
            np.multiply(positions, self._step_whole_ns, out=out)
            out += math.floor(self.phase_ns + 0.5)
            return out

        flat_positions = np.reshape(positions, -1)
        flat_out = out.reshape(-1)
        for first in range(0, flat_positions.size, _BLOCK_POSITIONS):
            block = slice(first, first + _BLOCK_POSITIONS)
            self._block_offsets(flat_positions[block], flat_out[block])
        return out

    def _block_offsets(self, positions: np.ndarray, out: np.ndarray) -> None:
        # The rounded part comes first, because ``out`` may be ``positions``.
        rounded = positions * self._step_fraction_ns
        rounded += self.phase_ns
        rounded += 0.5
        np.floor(rounded, out=rounded)

        np.multiply(positions, self._step_whole_ns, out=out)
        out += rounded.astype(np.int64)

    def _labels_at_fractional(self, positions: np.ndarray) -> np.ndarray:
        # NOTE: this rounds twice, at the whole position and then for the
        # remainder, so a label may differ by 1 ns from a single rounding of
        # ``phase_ns + p * step_ns``. Integer positions round once.
        finite = np.isfinite(positions)
        whole = np.floor(np.where(finite, positions, 0.0))

        offsets = self._offsets(whole.astype(np.int64))
        extra = np.floor((positions - whole) * self.step_ns + 0.5)
        labels_ns = (
            self.start_ns + offsets + np.where(finite, extra, 0).astype(np.int64)
        )

        return np.where(finite, labels_ns, NAT_NS)

    def _check_last_label(self) -> None:
        if self.size == 0:
            return

        last_ns = self.last_ns
        if last_ns > INT64_MAX:
            raise InvalidRequestError(
                f"time grid from start_ns={self.start_ns} with step_ns="
                f"{self.step_ns} and size={self.size} ends after the last "
                "datetime64[ns] (2262-04-11); reduce size or step_ns."
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({format_grid(self)})"


def _check_grid_arguments(
    start_ns: int, step_ns: float, size: int, phase_ns: float
) -> None:
    if isinstance(start_ns, bool) or not isinstance(start_ns, int | np.integer):
        raise InvalidRequestError(
            f"start_ns must be an integer count of nanoseconds since 1970-01-01 "
            f"UTC; got {start_ns!r}. Convert with pd.Timestamp(t).value."
        )
    if not INT64_MIN < int(start_ns) <= INT64_MAX:
        raise InvalidRequestError(
            f"start_ns must fit in datetime64[ns] and not be NaT; got {start_ns}."
        )

    if not (isinstance(step_ns, int | float | np.number) and step_ns >= 1):
        raise InvalidRequestError(
            f"step_ns must be a number of nanoseconds of at least 1; got "
            f"{step_ns!r}. For a sampling rate r in Hz, pass 1e9 / r."
        )
    if not math.isfinite(step_ns):
        raise InvalidRequestError(f"step_ns must be finite; got {step_ns!r}.")

    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 0:
        raise InvalidRequestError(f"size must be a non-negative integer; got {size!r}.")

    if not -0.5 <= phase_ns < 0.5:
        raise InvalidRequestError(f"phase_ns must be in [-0.5, 0.5); got {phase_ns!r}.")


def elapsed_ns(labels_ns: np.ndarray, start_ns: int) -> np.ndarray:
    # ``labels_ns - start_ns`` can overflow int64, and float64 loses whole
    # nanoseconds near 1.7e18, so subtract as unsigned and then apply the sign.
    labels_ns = np.asarray(labels_ns, dtype=np.int64)
    start = np.int64(start_ns)

    after = labels_ns >= start
    forward_gap = labels_ns.view(np.uint64) - start.view(np.uint64)
    backward_gap = start.view(np.uint64) - labels_ns.view(np.uint64)

    return np.where(
        after, forward_gap.astype(np.float64), -backward_gap.astype(np.float64)
    )
