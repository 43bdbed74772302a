"""Parsing, checking and formatting of time labels for the time grid index.

Labels are handled as int64 nanoseconds since 1970-01-01 UTC, the values of
``datetime64[ns]``. The functions here convert selection labels, slice bounds
and tolerances to those integers, check the ``method`` argument of ``sel``, and
format labels and grids for error messages and reprs.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.timeutil import is_utcdatetime

if TYPE_CHECKING:
    from intake_earthscope.timegrid import TimeGridIndex
    from intake_earthscope.timetransform import TimeGridTransform

__all__ = [
    "DTYPE",
    "INT64_MAX",
    "INT64_MIN",
    "NAT_NS",
    "check_method",
    "describe",
    "format_grid",
    "format_label",
    "labels_to_ns",
    "not_found_message",
    "scalar_as_array",
    "slice_bound_ns",
    "slice_step",
    "string_bounds_ns",
    "tolerance_ns",
]

DTYPE = np.dtype("datetime64[ns]")
INT64_MIN = int(np.iinfo(np.int64).min)
INT64_MAX = int(np.iinfo(np.int64).max)

# ``datetime64[ns]`` stores NaT as the minimum int64. Labels before 1677 or after
# 2262 cannot be stored, so they become these sentinels, which sort before and
# after every valid label.
NAT_NS = INT64_MIN
_BEFORE_RANGE_NS = INT64_MIN + 1
_AFTER_RANGE_NS = INT64_MAX

_FILL_METHODS = {
    "pad": "pad",
    "ffill": "pad",
    "backfill": "backfill",
    "bfill": "backfill",
    "nearest": "nearest",
}


def check_method(method: str | None, tolerance: Any) -> str | None:
    if method is None:
        if tolerance is not None:
            raise InvalidRequestError(
                f"tolerance={tolerance!r} needs a method; pass method='nearest', "
                "'pad' or 'backfill' as well."
            )
        return None

    if method not in _FILL_METHODS:
        raise InvalidRequestError(
            f"method must be None or one of {sorted(_FILL_METHODS)}; got {method!r}."
        )
    return _FILL_METHODS[method]


def tolerance_ns(tolerance: Any, shape: tuple[int, ...]) -> np.ndarray:
    values = np.asarray(tolerance)
    if values.dtype.kind in "iufcb":
        raise TypeError(
            f"tolerance must be a timedelta such as '5ms' or pd.Timedelta(5, 'ms'); "
            f"got {tolerance!r}, which has no unit."
        )

    if values.ndim == 0:
        limit_ns = pd.Timedelta(tolerance).as_unit("ns").value
        limits = np.full(shape, limit_ns, dtype=np.int64)
    else:
        limits = pd.to_timedelta(values.ravel()).as_unit("ns").asi8.reshape(shape)

    if (limits < 0).any():
        raise InvalidRequestError(f"tolerance must not be negative; got {tolerance!r}.")
    return limits.view(np.uint64)


def scalar_as_array(label: Any) -> np.ndarray:
    # An object array would turn a datetime64[ns] scalar into a plain int, and
    # a number must keep its numeric dtype to be rejected.
    if is_utcdatetime(label):
        return np.array([label.ns], dtype=np.int64).view(DTYPE)
    if isinstance(label, np.datetime64 | str | bool | int | float | np.number):
        return np.array([label])
    return np.array([label], dtype=object)


def labels_to_ns(labels: np.ndarray, original: Any) -> np.ndarray:
    # Naive labels are read as UTC, aware ones are converted to UTC.
    if labels.size == 0:
        # ``np.asarray([])`` is float64, and pandas selects nothing with it.
        return np.empty(labels.shape, dtype=np.int64)
    if labels.dtype.kind in "iufcbm":
        raise TypeError(
            f"time labels must be datetime-like (numpy.datetime64, pandas.Timestamp, "
            f"datetime.datetime or an ISO 8601 string); got {describe(original)}."
        )

    flat = labels.ravel()
    if flat.dtype == object:
        flat = np.array([_utc_as_datetime64(label) for label in flat], dtype=object)
    if flat.dtype == np.dtype("datetime64"):
        # A unitless datetime64 can only be NaT, which pandas cannot parse.
        flat = flat.astype("datetime64[s]")

    try:
        parsed = _parse_datetimes(flat)
    except (ValueError, TypeError) as error:
        raise KeyError(
            f"cannot read {describe(original)} as time labels; use ISO 8601 "
            "strings such as '2024-01-01T01:00:00' or numpy.datetime64 values."
        ) from error

    return _datetimes_to_ns(parsed).reshape(labels.shape)


def _utc_as_datetime64(label: Any) -> Any:
    # pandas cannot read obspy.UTCDateTime, which keeps integer nanoseconds.
    return np.datetime64(label.ns, "ns") if is_utcdatetime(label) else label


def _parse_datetimes(flat: np.ndarray) -> pd.DatetimeIndex:
    # pandas infers one string format from the first element, so strings in
    # mixed formats need a second, slower pass.
    try:
        parsed = pd.to_datetime(flat, utc=True)
    except ValueError:
        if flat.dtype.kind not in "OUS":
            raise
        parsed = pd.to_datetime(flat, utc=True, format="mixed")
    return pd.DatetimeIndex(parsed).tz_localize(None)


def describe(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.size > 3:
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, np.str_):
        return repr(str(value))
    return repr(value)


def _datetimes_to_ns(index: pd.DatetimeIndex) -> np.ndarray:
    try:
        return index.as_unit("ns").asi8
    except pd.errors.OutOfBoundsDatetime:
        pass

    # Labels outside 1677-2262 become sentinels that sort before or after the grid.
    seconds = index.as_unit("s").asi8
    missing = index.isna()
    before = ~missing & (seconds < INT64_MIN // 10**9 + 1)
    after = ~missing & (seconds > INT64_MAX // 10**9 - 1)
    inside = ~(missing | before | after)

    result = np.full(len(index), NAT_NS, dtype=np.int64)
    result[inside] = index[inside].as_unit("ns").asi8
    result[before] = _BEFORE_RANGE_NS
    result[after] = _AFTER_RANGE_NS
    return result


def string_bounds_ns(label: str, error: type[Exception]) -> tuple[int, int]:
    # pd.Period infers the resolution of a date string as pandas indexing does,
    # but drops a UTC offset, which is applied here instead.
    try:
        period = pd.Period(label)
        utc_offset = pd.Timestamp(label).utcoffset()
    except (ValueError, TypeError) as exc:
        raise error(
            f"cannot read time label {label!r} as a date; use ISO 8601 such as "
            "'2024-01-01T01:00:00'."
        ) from exc

    if pd.isna(period):
        raise error(f"time label {label!r} is NaT; give a date.")

    shift_ns = 0 if utc_offset is None else pd.Timedelta(utc_offset).value
    lower_ns = _period_start_ns(period) - shift_ns
    upper_ns = _period_start_ns(period + 1) - 1 - shift_ns
    return lower_ns, upper_ns


def _period_start_ns(period: pd.Period) -> int:
    try:
        return period.start_time.as_unit("ns").value
    except pd.errors.OutOfBoundsDatetime:
        return _BEFORE_RANGE_NS if period.year < 1970 else _AFTER_RANGE_NS


def slice_bound_ns(bound: Any, side: str) -> int:
    if isinstance(bound, xr.Variable | xr.DataArray):
        bound = bound.values
    if isinstance(bound, np.ndarray):
        if bound.ndim != 0:
            raise ValueError(
                f"a slice bound must be a scalar time label; got an array of "
                f"shape {bound.shape}."
            )
        bound = bound[()]

    if isinstance(bound, str):
        lower_ns, upper_ns = string_bounds_ns(bound, error=TypeError)
        return lower_ns if side == "left" else upper_ns
    if is_utcdatetime(bound):
        return int(bound.ns)

    if isinstance(bound, datetime.date) and not isinstance(bound, datetime.datetime):
        bound = pd.Timestamp(bound)

    if not isinstance(bound, np.datetime64 | datetime.datetime):
        raise TypeError(
            f"slice bounds must be datetime-like or ISO 8601 strings; got "
            f"{bound!r} of type {type(bound).__name__}."
        )

    bound_ns = int(labels_to_ns(scalar_as_array(bound), bound)[0])
    if bound_ns == NAT_NS:
        raise TypeError("a slice bound must not be NaT; use None for an open end.")
    return bound_ns


def slice_step(step: Any) -> int | None:
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, int | np.integer):
        raise TypeError(f"slice step must be an integer; got {step!r}.")
    if step == 0:
        raise ValueError("slice step cannot be zero.")
    return int(step)


def not_found_message(
    label: Any, index: TimeGridIndex, fill_method: str | None, tolerance: Any
) -> str:
    label = describe(label)
    if fill_method is None:
        return (
            f"time label {label} is not in {index!r}; pass method='nearest' "
            "(optionally with tolerance) to select the closest label. xarray "
            "applies method= to every index of the selection, so select the "
            "trace in a call of its own."
        )
    if tolerance is not None:
        return (
            f"no time label within tolerance={tolerance!r} of {label} with "
            f"method={fill_method!r} in {index!r}; widen the tolerance."
        )
    side = "at or before" if fill_method == "pad" else "at or after"
    return (
        f"no time label {side} {label} in {index!r}; pick a label inside the "
        "grid or use method='nearest'."
    )


def format_label(value_ns: int) -> str:
    if value_ns in (_BEFORE_RANGE_NS, _AFTER_RANGE_NS):
        return "before 1677" if value_ns == _BEFORE_RANGE_NS else "after 2262"
    return str(np.datetime64(value_ns, "ns"))


def _format_step(step_ns: float) -> str:
    if step_ns != int(step_ns):
        return f"{step_ns:.10g} ns"

    whole_ns = int(step_ns)
    for unit, unit_ns in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if whole_ns % unit_ns == 0:
            return f"{whole_ns // unit_ns} {unit}"
    return f"{whole_ns} ns"


def format_grid(grid: TimeGridTransform) -> str:
    return (
        f"start={format_label(grid.start_ns)}, step={_format_step(grid.step_ns)}, "
        f"size={grid.size}"
    )
