"""Intake v2 layer: a collection datatype, its reader and three user parameters.

intake imports this module on every ``import intake`` (entry point group
``intake.imports``), so at import time it imports nothing beyond intake and
the standard library. The reader imports the core (xarray, dask, pymseed,
s3fs) when it reads, and the time parameter imports pandas when it converts a
value.

The catalog ``catalogs/earthscope_v2.yaml`` uses these classes. Its user
parameters carry the v1 names (``network``, ``start``, ...), and its entries
pass them to the reader inside one ``request`` mapping. intake 2.0.9 treats a
top-level reader argument whose name equals a user parameter as a new value
for that parameter and drops it from the reader's arguments, so the request
arguments have to sit one level down.
"""

from __future__ import annotations

import datetime as dt
import difflib
import numbers
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import intake
from intake.readers.datatypes import BaseData
from intake.readers.readers import BaseReader
from intake.readers.user_parameters import (
    BaseUserParameter,
    OptionsUserParameter,
    SimpleUserParameter,
)

from intake_earthscope.errors import (
    CatalogError,
    IgnoredParameterWarning,
    InvalidRequestError,
    InvalidTypeError,
    UnknownArgumentError,
    warn_at_caller,
)
from intake_earthscope.gnss import v2_positions  # noqa: F401 - registers the GNSS reader
from intake_earthscope.gnss.v2_rinex import RinexObsProduct, RinexObsReader  # noqa: F401
from intake_earthscope.readerargs import (
    FDSN_NAMES,
    SEED_ID_NAMES,
    check_catalog_call,
    check_fdsn_names,
    merge_request,
)

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "CATALOG_CALL_NAMES",
    "REQUEST_KEYS",
    "STATION_REQUEST_KEYS",
    "ChoiceParameter",
    "CodesParameter",
    "IgnoredParameterCheck",
    "MiniseedCollection",
    "MiniseedReader",
    "OptionalParameter",
    "StationList",
    "StationsReader",
    "TimeParameter",
    "check_catalog_arguments",
]

#: Keys of the ``request`` mapping, which are keyword arguments of
#: :func:`intake_earthscope.dataset.open_waveforms`.
REQUEST_KEYS = (
    "network",
    "station",
    "location",
    "channel",
    "start",
    "end",
    "sampling_rate",
    "rate_tolerance",
    "errors",
    "tier",
    "remove_response",
    "pre_filt",
    "water_level",
)


#: The user parameters of the shipped v2 catalog, which its call
#: ``cat(name=value)`` takes. The catalog file also declares intake's
#: ``CATALOG_DIR``, ``CATALOG_PATH`` and ``STORAGE_OPTIONS``.
CATALOG_CALL_NAMES = (
    *REQUEST_KEYS,
    "analysis_center",
    "solution",
    "frame",
    "format",
    "variant",
)


def check_catalog_arguments(unknown: Mapping[str, object]) -> None:
    """Reject names that reached a data description from the catalog call,
    and suggest the closest parameter for a misspelt one.

    intake passes each name that the catalog declares no parameter for to
    every data description, but not the catalog's parameters. So the
    suggestions come from the parameters of the shipped catalog. Values are
    not repeated, because a misplaced one may be a secret.
    """
    undeclared = sorted(name for name in unknown if name in CATALOG_CALL_NAMES)
    if undeclared:
        # A copy of the shipped catalog whose user_parameters lost the name.
        raise UnknownArgumentError(
            f"the catalog call got parameter {undeclared[0]}, which the shipped "
            "catalog declares but this catalog file does not: add it under "
            "user_parameters in the catalog file, or list the names this one "
            "takes with cat.user_parameters"
        )
    suggestions = {}
    for name in unknown:
        if name in FDSN_NAMES or name in SEED_ID_NAMES:
            continue
        close = difflib.get_close_matches(name, CATALOG_CALL_NAMES, n=1)
        if close:
            suggestions[name] = close[0]
    if not suggestions:
        check_catalog_call(unknown)
        return

    sentences = [
        f"the catalog call got unknown parameter {name}: did you mean {close}=?"
        for name, close in suggestions.items()
    ]
    others = {name: value for name, value in unknown.items() if name not in suggestions}
    try:
        check_catalog_call(others)
    except UnknownArgumentError as error:
        sentences.append(str(error))
    else:
        sentences.append("List the names it takes with cat.user_parameters")
    # Each suggestion ends with "?", so the next sentence starts a new one.
    text = sentences[0] + "".join(f" {s[0].upper()}{s[1:]}" for s in sentences[1:])
    raise UnknownArgumentError(text)


class MiniseedCollection(BaseData):
    """A miniSEED waveform collection, described by its catalog mapping.

    Parameters
    ----------
    collection : mapping
        The ``collection:`` mapping of the catalog YAML (name, granularity,
        key template, tiers), as the v1 entries give it.
    metadata : dict, optional
        Intake metadata.
    entry : str, optional
        The catalog entry that reads the collection, for messages.
    catalog_path : str, optional
        The catalog file, for messages; the catalog passes
        ``"{CATALOG_PATH}"``.

    Raises
    ------
    intake_earthscope.errors.CatalogError
        If the mapping lacks a required field or names an unsupported value,
        or its key template uses an unknown field. Given ``entry``, the
        template's message names the entry and the catalog file.
    """

    structure = {"array", "timeseries"}

    def __init__(
        self,
        collection: Mapping[str, Any],
        metadata: dict[str, Any] | None = None,
        entry: str | None = None,
        catalog_path: str | None = None,
        **unknown: object,
    ) -> None:
        check_catalog_arguments(unknown)
        # Check the mapping now, so that a bad catalog fails when the entry is
        # opened. The reader hands the plain mapping to the core.
        _check_templates({"collection": collection}, entry, catalog_path)
        _build_collection(collection, entry, catalog_path)
        self.collection = dict(collection)
        super().__init__(metadata)

    @property
    def name(self) -> str:
        """Collection name, such as ``"sage.miniseed"``."""
        return str(self.collection["name"])


class MiniseedReader(BaseReader):
    """Read a request from a :class:`MiniseedCollection` into a lazy Dataset.

    The reader calls :func:`intake_earthscope.dataset.open_waveforms`. Its
    arguments are that function's keyword arguments. A catalog passes the
    request in a ``request`` mapping, and arguments given by name override
    the keys of that mapping.

    Parameters
    ----------
    data : MiniseedCollection or mapping
        The collection to read. intake wraps a plain ``collection`` mapping,
        given as the first positional argument, in a ``MiniseedCollection``.
    request : mapping, optional
        Any of ``network``, ``station``, ``location``, ``channel``,
        ``start``, ``end``, ``sampling_rate``, ``rate_tolerance``, ``errors``,
        ``tier``, ``remove_response``, ``pre_filt`` and ``water_level``.
    **kwargs
        Keyword arguments of ``open_waveforms``, such as ``root``,
        ``storage_options``, ``inventory``, ``neighbour_bytes`` or a request
        key.

    Notes
    -----
    ``read()`` and ``to_dask()`` both return the lazy dataset, and neither
    reads sample bytes; call ``.load()`` on the result to read them. Both
    list the archive and read record headers (unless ``inventory`` names the
    channels) to plan the dataset.

    Examples
    --------
    >>> import intake  # doctest: +SKIP
    >>> cat = intake.open_catalog("catalogs/earthscope_v2.yaml")  # doctest: +SKIP
    >>> reader = cat(network="IU", station="ANMO", location="00",
    ...              channel="BH?", start="2024-01-01",
    ...              end="2024-01-02").sage_miniseed  # doctest: +SKIP
    >>> ds = reader.to_dask()  # doctest: +SKIP
    """

    implements = {MiniseedCollection}
    imports = {"xarray", "dask", "pymseed", "s3fs"}
    func = "intake_earthscope.dataset:open_waveforms"
    output_instance = "xarray:Dataset"

    def _read(
        self,
        data: MiniseedCollection,
        request: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> xr.Dataset:
        from intake_earthscope.collection import Collection, check_tier
        from intake_earthscope.dataset import open_waveforms

        check_fdsn_names(kwargs)
        # The catalog default "" selects the collection's default tier, as in v1.
        arguments = merge_request(request, kwargs, REQUEST_KEYS, defaults=("tier",))
        check_tier(Collection.from_yaml(data.collection), arguments.get("tier"))
        return open_waveforms(data.collection, **arguments)

    def to_dask(self, **kwargs: Any) -> xr.Dataset:
        """Return the lazy dataset, with ``kwargs`` overriding the reader's arguments.

        intake 2.0.9 returns a Pipeline for a method that a reader lacks
        instead of raising ``AttributeError``, so the v1 name is defined here.
        """
        return self.read(**kwargs)


def _check_templates(
    args: Mapping[str, Any], entry: str | None, catalog_path: str | None
) -> None:
    """Check the key templates of a v2 entry's data, as v1 entries are checked
    when opened (:func:`intake_earthscope.catalog.check_entry_templates`).

    Without ``entry`` (data built in Python) the readers' own checks apply.
    """
    from intake_earthscope.catalog import check_entry_templates

    if not entry:
        return
    check_entry_templates(args, entry, _filled_path(catalog_path))


def _filled_path(catalog_path: str | None) -> str | None:
    """Return the catalog file that intake filled in for ``{CATALOG_PATH}``,
    or ``None`` for a catalog built without ``from_yaml_file``, which leaves
    the field unfilled."""
    if catalog_path and "{" not in catalog_path:
        return catalog_path
    return None


def _build_collection(
    collection: Mapping[str, Any], entry: str | None, catalog_path: str | None
) -> None:
    """Build a v2 entry's collection, naming the file and entry where it fails.

    intake fills a field in single braces, ``{station}``, with the catalog
    parameter of that name before this package reads the template, so a key
    template field that the reader needs is then gone, and the message tells
    the user to double the braces. Without ``entry`` (data built in Python) the
    collection's own message is raised.
    """
    from intake_earthscope.collection import Collection

    try:
        Collection.from_yaml(collection)
    except CatalogError as error:
        if not entry:
            raise
        path = _filled_path(catalog_path)
        where = f"catalog file {path!r}, " if path else ""
        hint = ""
        if "lacks field(s)" in str(error):
            hint = (
                ". In a v2 catalog file, write each key_template field in "
                "double braces, such as {{station}}: intake fills single braces "
                "with the catalog's own parameters"
            )
        raise CatalogError(f"{where}entry {entry!r}: {error}{hint}") from None


#: Keys of the ``request`` mapping of a stations entry: the codes that narrow
#: the fetched table (keyword arguments of
#: :func:`intake_earthscope.browse.open_stations`).
STATION_REQUEST_KEYS = ("network", "station", "location", "channel")


class StationList(BaseData):
    """The source of a collection's station table, as its catalog describes it.

    Parameters
    ----------
    stations : mapping
        The ``stations:`` mapping of the catalog (the source of the table).
    collection : mapping, optional
        The waveform collection that the browser's ``to_dask`` reads.
    metadata : dict, optional
        Intake metadata.
    entry : str, optional
        The catalog entry that reads the table, for messages.
    catalog_path : str, optional
        The catalog file, for messages; the catalog passes
        ``"{CATALOG_PATH}"``.

    Raises
    ------
    intake_earthscope.errors.CatalogError
        If the mapping names an unknown kind of station, or a key template
        of it or of ``collection`` uses an unknown field. Given ``entry``,
        the template's message names the entry and the catalog file.
    """

    structure = {"table"}

    def __init__(
        self,
        stations: Mapping[str, Any],
        collection: Mapping[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        entry: str | None = None,
        catalog_path: str | None = None,
        **unknown: object,
    ) -> None:
        from intake_earthscope.stationfetch import station_kind

        check_catalog_arguments(unknown)
        args = {"stations": stations, "collection": collection or {}}
        _check_templates(args, entry, catalog_path)
        station_kind(stations)
        self.stations = dict(stations)
        self.collection = dict(collection) if collection is not None else None
        super().__init__(metadata)


class StationsReader(BaseReader):
    """Fetch a :class:`StationList` into a searchable station browser.

    The reader calls :func:`intake_earthscope.browse.open_stations` and
    returns its :class:`~intake_earthscope.browse.StationBrowser`.

    Parameters
    ----------
    data : StationList
        The station source.
    request : mapping, optional
        Any of ``network``, ``station``, ``location`` and ``channel``.
    **kwargs
        Keyword arguments of ``open_stations``, such as ``cache_dir``,
        ``max_age``, ``root``, ``storage_options`` or ``token``.

    Examples
    --------
    >>> import intake  # doctest: +SKIP
    >>> cat = intake.open_catalog("catalogs/earthscope_v2.yaml")  # doctest: +SKIP
    >>> browser = cat(station="WBM").scedc_stations.read()  # doctest: +SKIP
    >>> browser.search(channel="LH?").df  # doctest: +SKIP
    """

    implements = {StationList}
    imports = {"pandas", "obspy"}
    func = "intake_earthscope.browse:open_stations"
    output_instance = "intake_earthscope.browse:StationBrowser"

    def _read(
        self,
        data: StationList,
        request: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        from intake_earthscope.browse import open_stations

        arguments = merge_request(request, kwargs, STATION_REQUEST_KEYS)
        return open_stations(data.stations, data.collection, **arguments)


#: A valid value of each code parameter, for error messages.
_CODE_EXAMPLES = {
    "network": "IU",
    "station": "ANMO",
    "location": "00",
    "channel": "BH?,HH?",
}


class IgnoredParameterCheck:
    """Check of one catalog call for parameters that the chosen entry ignores.

    intake 2.0.9 passes every value of a catalog call, ``cat(name=value)``,
    to every entry, so an entry without that parameter reads as if it were
    unset. The v2 catalog builds one check per entry when the entry is
    opened, and the check warns about each parameter that the call set to a
    value other than its default and that the entry does not use.

    Parameters
    ----------
    entry : str
        Name of the entry in the catalog.
    uses : list of str
        The catalog parameters that the entry passes to its reader.
    parameters : mapping
        Each catalog parameter's name, mapped to its value in this call and
        its default as a two-item list.
    metadata : dict, optional
        Intake metadata, which intake passes to every data description.

    Warns
    -----
    intake_earthscope.errors.IgnoredParameterWarning
        Once, naming the entry and every parameter it ignores.
    """

    def __init__(
        self,
        entry: str,
        uses: list[str],
        parameters: Mapping[str, list[Any]],
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.entry = entry
        self.ignored = {
            name: value
            for name, (value, default) in parameters.items()
            if name not in uses and not _same_value(value, default)
        }
        if self.ignored:
            warn_at_caller(
                self._message(uses), IgnoredParameterWarning, skip_dirs=_INTAKE_DIRS
            )

    def _message(self, uses: list[str]) -> str:
        names = " or ".join(self.ignored)
        values = ", ".join(
            f"{name}={_shown(value)}" for name, value in self.ignored.items()
        )
        return (
            f"catalog entry {self.entry!r} does not use {names}, so it ignores "
            f"{values} set in the catalog call. The entry uses "
            f"{', '.join(uses)}. Leave the other parameters at their defaults for it"
        )


def _shown(value: object) -> str:
    if isinstance(value, dt.datetime):
        return repr(value.isoformat())
    return repr(value)


def _same_value(value: object, default: object) -> bool:
    # The readers read None as the empty default of sampling_rate (0.0), tier
    # and remove_response (""). None of water_level, whose default is 60.0,
    # means no water level, so only a falsy default matches None.
    if value is None and default is not None and not default:
        return True
    # A value whose == gives no single bool, such as an array, counts as set.
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


# intake's frames sit between the caller's catalog call and a check.
_INTAKE_DIRS = (os.path.dirname(os.path.abspath(intake.__file__)),)


class CodesParameter(BaseUserParameter):
    """SEED code pattern(s): one string (a comma list) or a list of strings.

    Wildcards ``?`` and ``*`` are allowed. The core checks the patterns when
    the reader reads.

    Parameters
    ----------
    default : str or list of str
        Value used when the caller gives none; ``""`` leaves it unset.
    description : str
        Help text.
    name : str, optional
        The parameter's name in the catalog (``network``, ``station``,
        ``location`` or ``channel``), for error messages. A catalog file sets
        it next to ``cls``.
    """

    def coerce(self, value: object) -> str | list[str]:
        """Return ``value`` as a string or a list of strings.

        Raises
        ------
        InvalidTypeError
            If ``value`` is neither a string nor a sequence of strings (an
            :class:`~intake_earthscope.errors.InvalidRequestError` and a
            ``TypeError``).
        """
        if isinstance(value, str):
            return value
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
        raise InvalidTypeError(self._invalid_message(value))

    def _invalid_message(self, value: object) -> str:
        # A catalog file sets the attributes without calling __init__, so
        # ``name`` is missing where the file does not set it.
        name = getattr(self, "name", "")
        items = list(value) if isinstance(value, list | tuple) else [value]
        # numbers.Real covers NumPy's numbers too, such as a cell of a table
        # read without dtype=str, without importing NumPy here.
        numbers_given = [
            item
            for item in items
            if isinstance(item, numbers.Real) and not isinstance(item, bool)
        ]
        number = bool(numbers_given)
        zeros = " A number drops leading zeros, so quote the code." if number else ""
        if not name:
            return (
                f"invalid SEED codes {value!r}: give the codes as text, such as "
                f"'IU' or 'BH?,HH?', or as a list of strings.{zeros}"
            )
        if number:
            # codes imports NumPy, which importing this module must not.
            from intake_earthscope.codes import lost_zero_message

            return lost_zero_message(name, numbers_given[0])
        example = _CODE_EXAMPLES.get(name, "IU")
        return (
            f"invalid SEED codes {value!r} for {name}: give {name} as text, such "
            f"as {name}={example!r}, or as a list of strings"
        )

    def _validate(self, value: object) -> bool:
        return isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        )


class TimeParameter(BaseUserParameter):
    """A UTC time, kept as a timezone-aware ``pandas.Timestamp``.

    intake 2.0.9 has no datetime parameter type. This one accepts what the
    core accepts: ISO 8601 text, ``datetime``, ``numpy.datetime64``,
    ``pandas.Timestamp`` or ``obspy.UTCDateTime``. Times without a zone are
    taken as UTC. ``None`` or ``""`` leaves the time unset, and the reader
    then raises a "missing start" or "missing end" error.

    Parameters
    ----------
    default : str, datetime or None
        Value used when the caller gives none.
    description : str
        Help text.
    name : str, optional
        The parameter's name in the catalog (``start`` or ``end``), for error
        messages. A catalog file sets it next to ``cls``.
    """

    def coerce(self, value: object) -> dt.datetime | None:
        """Convert ``value`` to a UTC ``pandas.Timestamp`` (``None`` if unset).

        Raises
        ------
        intake_earthscope.errors.InvalidRequestError
            If ``value`` cannot be read as a time (a ``ValueError``).
        """
        if value is None or (isinstance(value, str) and not value.strip()):
            return None

        import pandas as pd

        from intake_earthscope.timeutil import parse_time

        # A catalog file sets ``name`` next to ``cls``, without __init__.
        name = getattr(self, "name", "") or "time"
        return pd.Timestamp(parse_time(value, name), unit="ns", tz="UTC")

    def _validate(self, value: object) -> bool:
        return value is None or isinstance(value, dt.datetime)


class ChoiceParameter(OptionsUserParameter):
    """One value out of ``options``, rejected with a message that lists them.

    intake 2.0.9's ``OptionsUserParameter`` rejects a value with a bare
    ``ValueError("Could not validate %s with %s", ...)``, so this subclass
    raises a message that names the value and the choices.

    Parameters
    ----------
    options : list
        The allowed values.
    dtype : type
        Builtin type of the values, such as ``str``.
    default : object
        Value used when the caller gives none; one of ``options``.
    description : str
        Help text.
    name : str, optional
        The parameter's name in the catalog, for error messages (set in
        the catalog file, next to ``options``).
    """

    # Text after the choices in the error message: how values are matched.
    matching = ""

    def set_default(self, value: object) -> None:
        """Set the value used when the caller gives none.

        Raises
        ------
        intake_earthscope.errors.InvalidRequestError
            If ``value`` is not one of ``options`` (a ``ValueError``).
        """
        if not self.validate(value):
            # A catalog file sets the attributes without calling __init__, so
            # ``name`` may be missing and ``options`` is its list as written.
            name = getattr(self, "name", "")
            named = f"{name}={value!r}" if name else f"value {value!r}"
            options = self.options
            listed = options if isinstance(options, list) else sorted(options)
            raise InvalidRequestError(
                f"invalid {named}: expected one of {listed}{self.matching}"
            )
        super().set_default(value)


class CaselessChoiceParameter(ChoiceParameter):
    """A :class:`ChoiceParameter` of text that ignores case.

    The value is passed on in lower case, as the options are kept. Reference
    frames are one such choice: a header writes NAM14 where a file name has
    nam14.
    """

    matching = " (in any case)"

    def coerce(self, value: object) -> object:
        """Return ``value`` as ``dtype``, text in lower case."""
        value = super().coerce(value)
        return value.lower() if isinstance(value, str) else value


class OptionalParameter(SimpleUserParameter):
    """A value of ``dtype``, or None for the meaning the reader gives None.

    ``SimpleUserParameter`` turns None into ``float(None)`` or ``"None"``.
    This one keeps None, and keeps text as given, so that the core reads
    ``"none"`` and names the parameter when the text is not a number.

    Parameters
    ----------
    dtype : type
        Builtin type of the values, such as ``float``.
    default : object
        Value used when the caller gives none.
    description : str
        Help text.
    """

    def coerce(self, value: object) -> object:
        """Return None and text unchanged, and other values as ``dtype``."""
        if value is None or isinstance(value, str):
            return value
        return super().coerce(value)

    def _validate(self, value: object) -> bool:
        return value is None or isinstance(value, str | self._dtype)
