"""The waveform request: user parameters checked and normalised before any I/O."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import fsspec
import numpy as np
import pandas as pd

from intake_earthscope.codes import CODE_KINDS, parse_codes
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.timeutil import (
    NS_PER_DAY,
    check_window_order,
    day_start,
    format_ns,
    parse_time,
)

__all__ = [
    "ERROR_POLICIES",
    "WaveformRequest",
    "check_options",
    "check_root",
    "check_root_query",
    "mirror_directory",
    "optional_rate",
    "request_codes",
    "request_end",
    "request_time",
    "url_without_login",
]

ERROR_POLICIES = ("raise", "warn", "ignore")

# Header rates of one channel differ in the 6th to 8th significant digit
# (100.0 against 100.000008). libmseed merges records whose rates agree to
# within this relative tolerance, and this package does the same by default.
DEFAULT_RATE_TOLERANCE = 1e-4

# Maximum span of a start-end request (20 years), whose plan has a chunk per
# day and trace group. Event windows are not held to it, because they list and
# read only the days they touch.
_LONGEST_REQUEST_DAYS = 366 * 20


@dataclass(frozen=True)
class WaveformRequest:
    """A normalised waveform request.

    Attributes
    ----------
    network, station, location, channel : tuple of str
        Upper-case code patterns (wildcards ``?`` and ``*``); the blank
        location is ``""``.
    start_ns, end_ns : int
        Window ``[start, end)`` in nanoseconds since 1970 UTC.
    sampling_rate : float or None
        Rate the caller picked; ``None`` means the channels' common rate.
    rate_tolerance : float
        Relative difference under which two rates count as one.
    errors : {"raise", "warn", "ignore"}
        What to do about objects that are missing or unreadable.
    """

    network: tuple[str, ...]
    station: tuple[str, ...]
    location: tuple[str, ...]
    channel: tuple[str, ...]
    start_ns: int
    end_ns: int
    sampling_rate: float | None = None
    rate_tolerance: float = DEFAULT_RATE_TOLERANCE
    errors: str = "raise"

    @classmethod
    def build(
        cls,
        *,
        network: object = None,
        station: object = None,
        location: object = None,
        channel: object = None,
        start: object = None,
        end: object = None,
        sampling_rate: object = None,
        rate_tolerance: object = DEFAULT_RATE_TOLERANCE,
        errors: object = "raise",
    ) -> WaveformRequest:
        """Check and normalise user parameters.

        Raises
        ------
        InvalidRequestError
            Naming the parameter, the bad value and the fix.
        """
        start_ns = request_time(start, "start")
        end_ns = request_end(end, start_ns)
        check_window_order(start_ns, end_ns)
        days = (end_ns - start_ns) / 86_400e9
        if days > _LONGEST_REQUEST_DAYS:
            raise InvalidRequestError(
                f"invalid time window: start={format_ns(start_ns)} to "
                f"end={format_ns(end_ns)} is {days:.0f} days, longer than the "
                f"maximum of {_LONGEST_REQUEST_DAYS} days (20 years); split the "
                "request into shorter spans"
            )

        if errors not in ERROR_POLICIES:
            raise InvalidRequestError(
                f"invalid errors={errors!r}: expected one of {list(ERROR_POLICIES)}"
            )

        return cls(
            network=_required_codes(network, "network"),
            station=_required_codes(station, "station"),
            location=request_codes("*" if location is None else location, "location"),
            channel=request_codes("*" if channel is None else channel, "channel"),
            start_ns=start_ns,
            end_ns=end_ns,
            sampling_rate=optional_rate(sampling_rate),
            rate_tolerance=_tolerance(rate_tolerance),
            errors=str(errors),
        )

    def codes(self, kind: str) -> tuple[str, ...]:
        """Return the patterns of one code kind."""
        return getattr(self, kind)

    def rates_agree(self, first: float, second: float) -> bool:
        """Return whether two rates count as one under the tolerance."""
        return abs(first - second) <= self.rate_tolerance * max(first, second)


def request_time(value: object, name: str) -> int:
    """Convert ``start`` or ``end`` to nanoseconds since 1970 UTC.

    Like :func:`~intake_earthscope.timeutil.parse_time`, and it names a
    duration given in place of a time as such, also as text: intake passes
    catalog parameters as text, so ``pd.Timedelta("1D")`` arrives as
    ``"1 days 00:00:00"``.

    Raises
    ------
    InvalidRequestError
        If ``value`` is missing, a duration or not a time.
    """
    if _is_duration(value):
        raise _duration_as_time(value, name)
    try:
        return parse_time(value, name)
    except InvalidRequestError:
        if _duration_text(value) is None:
            raise
        raise _duration_as_time(value, name) from None


def _duration_as_time(value: object, name: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"invalid {name}={value!r}: {name} is a time, not a duration. Give "
        "a time such as '2024-01-01T06:00', or add the duration to one, as "
        "in pd.Timestamp('2024-01-01') + pd.Timedelta(hours=6)"
    )


def request_codes(value: object, kind: str) -> tuple[str, ...]:
    """Normalise one code parameter, as :func:`~intake_earthscope.codes.parse_codes`.

    A one-dimensional numpy array, pandas Series or Index of strings (a
    column of a station table) counts as a list. A SEED id and codes
    separated by spaces are rejected with the codes to give instead.

    Raises
    ------
    InvalidRequestError
        Naming the parameter, the bad value and the fix.
    """
    value = _listed(value)
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, list | tuple):
        for item in items:
            if isinstance(item, str):
                _check_code_text(item, kind)
    return parse_codes(value, kind)


def _listed(value: object) -> object:
    """Return a one-dimensional array, Series or Index of codes as a list."""
    if isinstance(value, np.ndarray | pd.Series | pd.Index) and value.ndim == 1:
        return value.tolist()
    return value


def request_end(end: object, start_ns: int) -> int:
    """Convert ``end`` to nanoseconds since 1970 UTC, as :func:`request_time`.

    A duration given in place of the end time, such as ``"1D"``, is
    rejected with the end time that ``start_ns`` plus the duration gives.

    Raises
    ------
    InvalidRequestError
        If ``end`` is missing, a duration or not a time.
    """
    try:
        return request_time(end, "end")
    except InvalidRequestError:
        duration = pd.Timedelta(end) if _is_duration(end) else _duration_text(end)
        if duration is None or duration is pd.NaT:
            raise
        raise _duration_as_end(end, duration, start_ns) from None


def _duration_as_end(
    end: object, duration: pd.Timedelta, start_ns: int
) -> InvalidRequestError:
    suggested_ns = start_ns + int(duration.value)
    if not _EARLIEST_NS <= suggested_ns <= _LATEST_NS:
        return InvalidRequestError(
            f"invalid end={end!r}: end is a time, not a duration, and start "
            "plus this duration is outside the years 1677 to 2262 that "
            "nanosecond times cover; give an end time such as '2024-01-02'"
        )
    suggested = format_ns(suggested_ns)
    message = (
        f"invalid end={end!r}: end is a time, not a duration, so give start "
        f"plus the duration: end={suggested!r}"
    )
    clock = isinstance(end, str) and _CLOCK_TEXT.fullmatch(end.strip())
    if clock and duration.value < NS_PER_DAY:
        same_day = format_ns(day_start(start_ns) + int(duration.value))
        # From a start at midnight, both readings give the same end.
        if same_day != suggested:
            message += f". For a time of day, give the date too: end={same_day!r}"
    return InvalidRequestError(message)


# The times that int64 nanoseconds since 1970 can hold (NaT is the lowest).
_EARLIEST_NS = int(pd.Timestamp.min.value)
_LATEST_NS = int(pd.Timestamp.max.value)


def _is_duration(value: object) -> bool:
    return isinstance(value, dt.timedelta | np.timedelta64)


# Duration text as pandas reads it ("1D", "2h30min", "PT6H") and as intake
# writes a timedelta parameter ("1 days 00:00:00", "6:00:00"). A bare number
# is no duration here, because pandas reads it as nanoseconds.
_UNIT_OR_CLOCK = re.compile(r"[A-Za-z:]")

# "H:MM:SS", as str(datetime.timedelta) writes a duration under a day. It
# could also be meant as a time of day.
_CLOCK_TEXT = re.compile(r"\d{1,2}:\d{2}:\d{2}(\.\d+)?")


def _duration_text(value: object) -> pd.Timedelta | None:
    """Return ``value`` as a duration where it is duration text, else None."""
    if not isinstance(value, str) or not _UNIT_OR_CLOCK.search(value):
        return None
    try:
        duration = pd.Timedelta(value.strip())
    except (TypeError, ValueError, OverflowError):
        return None
    return None if duration is pd.NaT else duration


def _check_code_text(item: str, kind: str) -> None:
    """Reject a SEED id or codes separated by spaces in one code item."""
    parts = item.strip().split(".")
    if len(parts) == 4:
        pairs = zip(CODE_KINDS, parts, strict=True)
        codes = ", ".join(f"{name}={part!r}" for name, part in pairs)
        raise InvalidRequestError(
            f"invalid {kind}={item!r}: a SEED id, not a {kind} code. Give its "
            f"four codes by name, as in {codes}"
        )

    words = item.split()
    if len(words) > 1:
        raise InvalidRequestError(
            f"invalid {kind} code {item!r}: codes contain no spaces, so separate "
            f"several codes with commas, as in {kind}={','.join(words)!r}"
        )


def _required_codes(value: object, kind: str) -> tuple[str, ...]:
    value = _listed(value)
    if value is None or value == "":
        raise InvalidRequestError(
            f"missing {kind}: give a code such as 'IU', a comma list, or '*' "
            "(a wildcard lists the archive)"
        )
    return request_codes(value, kind)


# Rates outside this range are no seismic or geodetic sampling (a sample
# every 28 hours up to a MHz) and would overflow the grid arithmetic.
_SLOWEST_RATE = 1e-5
_FASTEST_RATE = 1e6
# Beyond 1 % a channel's records drift by more than a sample within minutes.
_LARGEST_TOLERANCE = 0.01


def optional_rate(value: object) -> float | None:
    """Return a requested sampling rate in Hz, or None where none was given.

    None, an empty string and 0 (the catalogs' default) mean no rate.

    Raises
    ------
    InvalidRequestError
        If ``value`` is not a rate between the slowest and fastest allowed.
    """
    if value is None or value == "" or value == "None":
        return None
    if isinstance(value, bool):
        raise InvalidRequestError(
            f"invalid sampling_rate={value!r}: expected samples per second, "
            "such as 40 or 0.1"
        )
    try:
        rate = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(
            f"invalid sampling_rate={value!r}: expected samples per second, "
            "such as 40 or 0.1"
        ) from error
    if rate == 0:
        # Zero is the catalog default: take the channels' common rate.
        return None
    if not math.isfinite(rate) or not _SLOWEST_RATE <= rate <= _FASTEST_RATE:
        raise InvalidRequestError(
            f"invalid sampling_rate={value!r}: must be samples per second between "
            f"{_SLOWEST_RATE:g} and {_FASTEST_RATE:g}"
        )
    return rate


def _tolerance(value: object) -> float:
    try:
        tolerance = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(
            f"invalid rate_tolerance={value!r}: expected a relative tolerance "
            "such as 1e-4"
        ) from error
    if not 0 <= tolerance <= _LARGEST_TOLERANCE:
        raise InvalidRequestError(
            f"invalid rate_tolerance={value!r}: must be between 0 and "
            f"{_LARGEST_TOLERANCE} (a relative difference; the default is 1e-4)"
        )
    return tolerance


# fsspec protocols whose URLs name a host rather than a bucket: a mirror's
# root must be a directory or a bucket and prefix of an object store.
HOST_PROTOCOLS = ("ftp", "sftp", "ssh", "smb", "http", "https", "webhdfs", "hdfs")


def check_root(root: object) -> None:
    """Check a mirror's ``root=`` before any I/O.

    A local root must be an existing directory. A URL root must use
    ``file://`` or an object store protocol registered with fsspec, and its
    objects are not looked up here.

    Raises
    ------
    InvalidRequestError
        Naming the root, what is wrong with it and what to give instead.
    """
    if not isinstance(root, str | os.PathLike):
        raise InvalidRequestError(
            f"invalid root={root!r}: expected a directory, a file:// URL or an "
            "s3://bucket/prefix URL"
        )
    text = os.fspath(root)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme and scheme != "file":
        _check_url_root(text, scheme)
        return
    path = mirror_directory(text) or "/"
    if os.path.isdir(path):
        return
    problem = "not a directory" if os.path.exists(path) else "no such directory"
    if path != text:
        # A URL or "~" names the path that was looked for.
        problem = f"{problem} {path!r}"
    raise InvalidRequestError(
        f"invalid root={root!r}: {problem}; give the top of a mirror with the "
        "archive's key layout"
    )


def mirror_directory(root: str) -> str:
    """Return the absolute directory of a local mirror's ``root``: a path,
    which may start with ``~``, or a ``file://`` URL.

    The path of a URL is percent-decoded, so ``file:///data/my%20mirror``
    names the directory ``/data/my mirror``. Escapes that are not UTF-8,
    such as ``%FF``, stand for those bytes of the file name. A plain path is
    taken as it is, with any ``%`` in it.

    Raises
    ------
    InvalidRequestError
        If a ``file://`` URL names a host, such as ``file://data/sage``,
        whose first part would otherwise be dropped, or if a URL has no
        absolute path (``file://``, ``file:data``).
    """
    if not root.lower().startswith("file:"):
        # The top directory "/" becomes "", the form that storage spec roots use.
        return os.path.abspath(os.path.expanduser(root)).rstrip("/")

    if root.lower().startswith("file://"):
        host, slash, rest = root[len("file://") :].partition("/")
        if host.lower() not in ("", "localhost"):
            raise InvalidRequestError(
                f"invalid root={root!r}: a file:// URL takes an absolute path "
                f"after its three slashes, not the host {host!r}. Give "
                f"file:///{host}/{rest} or the path {host}/{rest}"
            )
        encoded = slash + rest
    else:
        # RFC 8089 allows file:/path, with one slash and no authority.
        encoded = root[len("file:") :]
    if not encoded.startswith("/"):
        # Without this check, the empty path of file:// would name the
        # current directory.
        raise InvalidRequestError(
            f"invalid root={root!r}: a file URL takes an absolute path, such "
            "as file:///data/sage. Give such a URL or a plain path"
        )
    # surrogateescape keeps bytes that are not UTF-8 as os.fsdecode does
    # with a UTF-8 file system encoding, so the path names the folder with
    # those bytes.
    path = unquote(encoded, errors="surrogateescape")
    return os.path.abspath(path).rstrip("/")


def _check_url_root(text: str, scheme: str) -> None:
    """Check a ``root=`` URL other than ``file://``.

    Messages show the URL without its login and its query string.
    """
    redacted = _redacted_root(text)
    if _has_password(text):
        raise InvalidRequestError(
            f"invalid root={redacted!r}: the URL contains a login "
            "(NAME:PASSWORD@), which messages would show and which fsspec "
            "does not send to object stores. Remove it, and give the "
            "credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "storage_options={'profile': NAME}"
        )
    if not text.split("://", 1)[1].partition("?")[0].strip("/"):
        raise InvalidRequestError(
            f"invalid root={redacted!r}: the URL names no bucket; give "
            f"{scheme}://BUCKET or {scheme}://BUCKET/PREFIX"
        )
    known = set(fsspec.available_protocols()) | set(fsspec.registry)
    if scheme in HOST_PROTOCOLS or scheme not in known:
        raise InvalidRequestError(
            f"invalid root={redacted!r}: mirrors are read from a directory, a "
            "file:// URL or an object store URL such as s3://bucket/prefix"
        )
    check_root_query(text)


def check_root_query(root: str) -> None:
    """Reject a ``root=`` URL with a query string, which reads would drop.

    The message names the root without the query, because a query such as
    a shared access signature is a secret.

    Raises
    ------
    InvalidRequestError
        If ``root`` is a URL, other than ``file://``, with a ``?`` in it.
    """
    scheme, separator, rest = root.partition("://")
    if not separator or scheme.lower() == "file" or "?" not in rest:
        return
    redacted = _redacted_root(root)
    raise InvalidRequestError(
        f"invalid root={redacted!r}: the URL has a query string (?...), which "
        "the mirror's reads would drop, and which this message leaves out "
        "because it may contain a signature. Give the root without it, and "
        "give settings such as a version or credentials in storage_options "
        "(on the command line --storage-option NAME=VALUE)"
    )


def _redacted_root(url: str) -> str:
    """Return ``url`` without its password and query string, for messages."""
    return url_without_login(url).partition("?")[0]


def _url_parts(url: str) -> tuple[str, str, str]:
    """Split ``url`` into the text up to ``://``, its user and host part, and
    the rest from the first ``/`` after the host on.

    A URL without ``://``, such as the root of a storage spec
    (``container@account/path``), starts with its user and host part.
    """
    scheme, separator, rest = url.partition("://")
    if not separator or "/" in scheme:
        scheme, separator, rest = "", "", url
    authority, slash, path = rest.partition("/")
    if ":" in authority and "@" not in authority and "@" in path:
        # A password may contain "/", as AWS secret access keys do. No
        # bucket or container name contains ":", so the login then runs to
        # the first "@".
        login, at, after = rest.partition("@")
        host, slash, path = after.partition("/")
        authority = login + at + host
    return scheme + separator, authority, slash + path


def _has_password(url: str) -> bool:
    # A user without a password stays allowed: adlfs URLs name the container
    # that way (abfs://container@account.dfs.core.windows.net/path).
    _, authority, _ = _url_parts(url)
    user, at, _ = authority.rpartition("@")
    return bool(at) and ":" in user


def url_without_login(url: str) -> str:
    """Return ``url`` without a ``NAME:PASSWORD@`` login, for messages.

    A user without a password is kept, because adlfs URLs name the
    container that way (``abfs://container@account/path``). ``url`` may
    also lack its ``scheme://``, as the root of a storage spec does.
    """
    if not _has_password(url):
        return url
    scheme, authority, path = _url_parts(url)
    return scheme + authority.rpartition("@")[2] + path


def check_options(
    root: object, storage_options: object, neighbour_bytes: object
) -> None:
    """Check the storage options of a request before any I/O.

    Raises
    ------
    InvalidRequestError
        Naming the option, the bad value and what is expected.
    """
    if root is not None:
        check_root(root)
    if storage_options is not None and not isinstance(storage_options, Mapping):
        raise InvalidRequestError(
            f"invalid storage_options={storage_options!r}: expected a mapping "
            "such as {'anon': True}"
        )
    valid_bytes = neighbour_bytes is None or (
        isinstance(neighbour_bytes, int)
        and not isinstance(neighbour_bytes, bool)
        and neighbour_bytes >= 0
    )
    if not valid_bytes:
        raise InvalidRequestError(
            f"invalid neighbour_bytes={neighbour_bytes!r}: expected a byte count "
            "of at least 0, or None to read the whole previous object"
        )
