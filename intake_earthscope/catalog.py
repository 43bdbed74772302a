"""The shipped catalog: its path, its nested catalogs and ``intake.cat.earthscope``."""

from __future__ import annotations

import difflib
import os
import reprlib
import string
import sys
import threading
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from intake.catalog.local import YAMLFileCatalog

from intake_earthscope.errors import (
    CatalogError,
    CatalogFileError,
    CatalogFileNotFoundError,
    CatalogReadError,
)

if TYPE_CHECKING:
    import yaml

__all__ = ["ArchiveCatalog", "catalog_path", "check_entry_templates", "open_catalog"]


def catalog_path(version: int = 1) -> Path:
    """Return the path of the shipped catalog file.

    Parameters
    ----------
    version : {1, 2}
        The intake v1 catalog (``earthscope.yaml``) or its ``version: 2``
        twin (``earthscope_v2.yaml``).
    """
    name = "earthscope.yaml" if version == 1 else "earthscope_v2.yaml"
    installed = resources.files("intake_earthscope") / "catalogs" / name
    if installed.is_file():
        return Path(str(installed))
    # A source checkout keeps the catalogs beside the package.
    return Path(__file__).resolve().parent.parent / "catalogs" / name


def open_catalog(**kwargs: Any) -> Any:
    """Open the shipped v1 catalog with :func:`intake.open_catalog`."""
    import intake

    return intake.open_catalog(str(catalog_path()), **kwargs)


# Serialises the loads of nested catalog files across threads.
_load_lock = threading.RLock()


class ArchiveCatalog(YAMLFileCatalog):
    """A nested catalog of the shipped v1 catalog, such as ``sage``.

    It is intake's YAML file catalog, and keeps its driver name
    ``yaml_file_cat``. Only the data methods differ: intake raises a bare
    ``NotImplementedError`` for them, while this class names the catalog
    and the entries to call them on.

    Raises
    ------
    intake_earthscope.errors.CatalogFileNotFoundError
        When the entry is opened and its file does not exist, such as in a
        copy of the catalog folder that lacks the file. The other entries of
        the top-level catalog keep working.
    intake_earthscope.errors.CatalogFileError
        When the entry is opened and its file cannot be read (such as a
        folder or a symlink loop), is not valid YAML, is nested too deeply,
        is no intake catalog or has a part of a wrong type, such as ``metadata:
        5``. The message is one line that names the file, and the line and
        column or the part. The other entries keep working.
    intake_earthscope.errors.CatalogError
        When one of its entries is opened and a key or path template of that
        entry uses an unknown field (:func:`check_entry_templates`).
    intake_earthscope.errors.CatalogReadError
        From ``read()``, ``read_chunked()``, ``read_partition()`` and
        ``to_dask()`` (a ``NotImplementedError``).
    """

    def _load(self, reload: bool = False) -> None:
        import yaml
        from intake.catalog.exceptions import CatalogException

        if not isinstance(self.path, str | os.PathLike):
            # intake 2.0.9 fails on such a path with a bare TypeError.
            raise CatalogFileError(_path_missing_message(self.path, self.name))
        try:
            # The first load imports the entries' drivers, and dask with them;
            # threads that import dask at once can see it half-initialised.
            with _load_lock:
                super()._load(reload=reload)
        except CatalogFileError:
            raise
        except FileNotFoundError:
            name, listing = _opening_names(self.name)
            message = missing_file_message(str(self.path), name, listing)
            raise CatalogFileNotFoundError(message) from None
        except CatalogException as error:
            message = not_catalog_message(shown_path(str(self.path)), error)
            raise CatalogFileError(message) from None
        except (yaml.YAMLError, UnicodeDecodeError, OSError, RecursionError) as error:
            # intake decodes the file as UTF-8 before PyYAML reads it.
            message = file_fault_message(shown_path(str(self.path)), error)
            raise CatalogFileError(message) from None

    def parse(self, text: str) -> None:
        """Create the entries from the catalog text ``text``, as intake does.

        Raises
        ------
        intake_earthscope.errors.CatalogFileError
            If intake fails on a part of the file that has a wrong type, such
            as ``metadata: 5`` (:func:`catalog_shape_problem`).
        """
        from intake.catalog.exceptions import CatalogException

        location = shown_path(str(self.path))
        try:
            super().parse(text)
        except (AttributeError, TypeError, CatalogException) as error:
            # intake's own faults, and any without a wrongly typed part or a
            # driver that fails to import, keep their exception.
            message = shape_error_message(location, text)
            if message is None and isinstance(error, AttributeError | TypeError):
                message = driver_error_message(location, text)
            if message is None:
                raise
            raise CatalogFileError(message) from None

    def check_entry(self, name: str) -> None:
        """Check the driver and the key and path templates of the entry ``name``.

        Raises
        ------
        intake_earthscope.errors.CatalogError
            If intake loaded no driver for the entry, or a template uses an
            unknown field. The message names this catalog's file and the
            entry.
        """
        check_catalog_entry(self._entries[name], shown_path(str(self.path)))

    def _get_entry(self, name: str) -> Any:
        if name in self._entries:
            self.check_entry(name)
        return super()._get_entry(name)

    def read(self) -> NoReturn:
        raise self._read_error("read")

    def read_chunked(self) -> Iterator[Any]:
        raise self._read_error("read_chunked")

    def read_partition(self, i: Any) -> NoReturn:
        raise self._read_error("read_partition")

    def to_dask(self) -> NoReturn:
        raise self._read_error("to_dask")

    def _read_error(self, method: str) -> CatalogReadError:
        entries = ", ".join(sorted(self)) or "none"
        return CatalogReadError(
            f"{self.name!r} is a catalog, not a data source, so it has no "
            f"{method}(). Call it on one of its entries, as in "
            f"cat.{self.name}.<entry>.{method}(). Entries of {self.name!r}: "
            f"{entries}"
        )


def check_catalog_entry(entry: Any, location: str) -> None:
    """Check the driver and the key and path templates of intake's catalog
    ``entry``, which the catalog file ``location`` lists.

    Raises
    ------
    intake_earthscope.errors.CatalogError
        If intake loaded no driver for the entry, or a template uses an
        unknown field. The message names the file and the entry.
    """
    # intake 2.0.9 drops a driver that it cannot load, without a message.
    if not getattr(entry, "_plugin", True):
        problem = driver_problem(getattr(entry, "_driver", None))
        if problem is not None:
            raise CatalogError(
                f"catalog file {location!r}, entry {entry.name!r}: {problem}. "
                "Fix the driver in the catalog file"
            )
    args = entry.describe().get("args") or {}
    check_entry_templates(args, entry.name, location)


def driver_problem(driver: object) -> str | None:
    """Return why intake cannot load a catalog entry's ``driver``, or ``None``.

    ``driver`` is a driver name, a dotted path to a class, or a list of them,
    as a catalog file gives it. Other forms are intake's to check.
    """
    from intake.source import import_name, registry

    names = driver if isinstance(driver, list) else [driver]
    for name in names:
        if not isinstance(name, str) or name in registry:
            continue
        if "." not in name and ":" not in name:
            close = difflib.get_close_matches(name, list(registry), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return f"driver {name!r} is no installed intake driver{hint}"
        try:
            import_name(name)
        except (ImportError, AttributeError, ValueError, TypeError) as error:
            # importlib raises TypeError for a relative name such as "..csv".
            return f"driver {name!r} cannot be imported: {error}"
    return None


def driver_error_message(location: str, text: str) -> str | None:
    """Return the message for the first entry of the catalog text ``text``
    whose driver cannot be imported, or ``None`` if there is none.

    intake 2.0.9 parses a dotted driver path whose module lacks the class
    into a bare ``AttributeError``, which names neither the file nor the
    entry. ``location`` is the file, for the message.
    """
    import yaml
    from intake.utils import yaml_load

    try:
        data = yaml_load(text)
    except yaml.YAMLError:
        return None
    sources = data.get("sources") if isinstance(data, Mapping) else None
    for name, entry in _items(sources):
        driver = entry.get("driver") if isinstance(entry, Mapping) else None
        problem = driver_problem(driver)
        if problem is not None:
            return (
                f"cannot read catalog {location!r}: entry {name!r}: {problem}. "
                "Fix the driver in the catalog file"
            )
    return None


def check_entry_templates(
    args: Mapping[str, Any], entry: str, path: str | None = None
) -> None:
    """Check the fields of a catalog entry's key and path templates.

    The templates are the ``key_template`` of the entry's ``collection:``
    mapping and of its ``stations: stationxml:`` mapping, and the ``paths``
    and ``name_patterns`` of its GNSS ``product:`` mapping. Readers fill them
    only when they read, so a misspelt field such as ``{statoin}`` would
    otherwise fail late and without the file's name.

    Parameters
    ----------
    args : mapping
        The entry's ``args:`` mapping as the catalog file spells it.
    entry : str
        The entry's name, for the message.
    path : str, optional
        The catalog file that contains the entry, for the message.

    Raises
    ------
    intake_earthscope.errors.CatalogError
        If a template is no valid format string or uses a field that its
        reader does not fill. The message names the file (where known), the
        entry, the unknown field and the fields allowed.
    """
    checks = (
        ("collection", _check_collection_template),
        ("stations", _check_stationxml_template),
        ("product", _check_path_templates),
    )
    for part, check in checks:
        try:
            check(args)
        except CatalogError as error:
            where = f"catalog file {path!r}, entry {entry!r}" if path else ""
            where = where or f"catalog entry {entry!r}"
            shared = _shared_part_note(path, entry, part) if path else ""
            raise CatalogError(
                f"{where}: {error}. Fix the template in the catalog file{shared}"
            ) from None


def _check_collection_template(args: Mapping[str, Any]) -> None:
    _check_key_template(_mapping(args, "collection"))


def _check_stationxml_template(args: Mapping[str, Any]) -> None:
    _check_key_template(_mapping(_mapping(args, "stations"), "stationxml"))


def _check_key_template(spec: Mapping[str, Any]) -> None:
    from intake_earthscope.collection import KeyTemplate

    template = spec.get("key_template")
    if isinstance(template, str):
        KeyTemplate(template)


def _shared_part_note(path: str, entry: str, part: str) -> str:
    """Name the other entries of the v1 catalog file ``path`` that share the
    ``part`` mapping of ``entry`` through a YAML alias, or return ``""``.

    A fault in a shared mapping fails every entry that shares it, so the
    note names the entries that a fix makes usable again.
    """
    sources = _file_sources(path)
    mine = _mapping(_mapping(sources, entry), "args").get(part)
    if mine is None:
        return ""
    # PyYAML gives an alias the very object of its anchor.
    sharing = [
        name
        for name, spec in sources.items()
        if name != entry and _mapping(_mapping(sources, name), "args").get(part) is mine
    ]
    if not sharing:
        return ""
    quoted = [repr(name) for name in sorted([entry, *sharing])]
    names = f"{', '.join(quoted[:-1])} and {quoted[-1]}"
    return (
        f". Entries {names} share this {part} mapping through a YAML anchor "
        "and its aliases, so each of them fails until it is fixed"
    )


def _file_sources(path: str) -> Mapping[str, Any]:
    """Return the ``sources`` mapping of the catalog file ``path`` as parsed,
    or an empty mapping if the file cannot be read again."""
    import fsspec
    import yaml
    from intake.utils import yaml_load

    try:
        with fsspec.open(path, "rt", encoding="utf-8") as file:
            data = yaml_load(file.read())
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return _mapping(data, "sources") if isinstance(data, Mapping) else {}


def _check_path_templates(args: Mapping[str, Any]) -> None:
    from intake_earthscope.gnss.archive import PATH_FIELDS

    product = _mapping(args, "product")
    # The position reader adds the product's choices (analysis_center, ...)
    # to the standard fields.
    allowed = set(PATH_FIELDS) | set(_mapping(product, "choices"))
    for group in ("paths", "name_patterns"):
        for variant, template in _mapping(product, group).items():
            where = f"{group}.{variant}"
            _check_template_fields(str(template), where, allowed)


def _check_template_fields(template: str, where: str, allowed: set[str]) -> None:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise CatalogError(
            f"invalid path template {template!r} in {where}: {error}; write "
            "fields as {station}, and a literal brace as {{ or }}"
        ) from None

    unknown = {name for _, name, _, _ in parsed if name} - allowed
    if unknown:
        raise CatalogError(
            f"invalid path template {template!r} in {where}: unknown field(s) "
            f"{sorted(unknown)}; valid fields are {sorted(allowed)}"
        )


def _mapping(spec: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    # A part that is absent or no mapping is the reader's to reject.
    value = spec.get(key)
    return value if isinstance(value, Mapping) else {}


def missing_file_message(
    path: str, entry: str | None = None, listing: str | None = None
) -> str:
    """Return the message for the missing file ``path`` of a nested catalog.

    It names the file, the entry and the catalog file ``listing`` that lists
    it where known, and the fix: copy the shipped file of that name, or
    remove the entry. Local paths are absolute in the message.
    """
    path = shown_path(path)
    folder, _, name = path.replace("\\", "/").rpartition("/")
    shipped = catalog_path().parent / name
    if shipped.is_file() and str(shipped) != path:
        fix = f"copy {name} from {str(shipped.parent)!r} into {folder or '.'!r}"
    else:
        fix = f"restore {name} in {folder or '.'!r}"
    named = f" of entry {entry!r}" if entry else ""
    its_entry = f"the entry {entry!r}" if entry else "its entry"
    if listing:
        listing = shown_path(listing)
        return (
            f"nested catalog file {path!r}{named} listed in {listing!r} not "
            f"found: {fix}, or remove {its_entry} from {listing!r}"
        )
    return (
        f"nested catalog file {path!r}{named} not found: {fix}, or remove "
        f"{its_entry} from the catalog file that names it"
    )


def _path_missing_message(path: object, name: str | None) -> str:
    """Return the message for a nested catalog entry whose ``path`` argument
    is missing or no file name."""
    name, listing = _opening_names(name)
    where = f"entry {name!r}" if name else "a nested catalog entry"
    if listing:
        where += f" of {shown_path(str(listing))!r}"
    if path is None:
        problem = "has no path argument"
    else:
        problem = f"has the path {path!r}, which is no file name"
    return (
        f"{where} {problem}. Give its nested catalog file under args, such as "
        'path: "{{ CATALOG_DIR }}/sage.yaml"'
    )


def _opening_names(name: str | None) -> tuple[str | None, str | None]:
    """Return the name of the entry that opens a nested catalog (``name``
    where given) and the path of the catalog file that lists it, each
    ``None`` where unknown."""
    entry = _opening_entry()
    listing = getattr(getattr(entry, "_catalog", None), "path", None)
    return name or getattr(entry, "name", None), listing


def _opening_entry() -> Any | None:
    """Return intake's catalog entry that is opening a nested catalog, or
    ``None`` if no caller is one.

    intake 2.0.9 loads a nested catalog's file inside ``LocalCatalogEntry.get``
    and sets the catalog's entry and listing catalog only after the load, so
    only the caller's frame has them.
    """
    from intake.catalog.local import LocalCatalogEntry

    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        caller = frame.f_locals.get("self")
        if isinstance(caller, LocalCatalogEntry):
            return caller
        frame = frame.f_back
    return None


# Descriptions of the types that the checked parts of a catalog file need,
# for the message.
_EXPECTED = {
    "mapping": "a mapping of names to values",
    "number": "a number, such as 1",
    "driver": "a driver name, or a list or mapping of driver names",
}


def catalog_shape_problem(data: object) -> str | None:
    """Return the first part of a parsed v1 catalog file that has a wrong type.

    intake 2.0.9 reads some parts of a catalog file without checking their
    type, such as ``metadata: 5`` or an entry's ``args: [1, 2]``, and then
    fails with an ``AttributeError`` or ``TypeError`` that names neither
    the file nor the part. This names the part.

    Parameters
    ----------
    data : object
        The file's YAML as parsed.

    Returns
    -------
    str or None
        One sentence that names the part (as dotted keys), its value and the
        type it needs. ``None`` if the checked parts have their types, or if
        ``data`` is no mapping, because intake reports that itself.
    """
    if not isinstance(data, Mapping):
        return None
    for part, value, expected in _typed_parts(data):
        if not _has_type(value, expected):
            value_text = reprlib.repr(value)
            return (
                f"part {part!r} is {value_text} ({type(value).__name__}), but it must "
                f"be {_EXPECTED[expected]}"
            )
    return None


def _typed_parts(data: Mapping[Any, Any]) -> Iterator[tuple[str, object, str]]:
    # Each part present in the file, with the kind of value it needs.
    yield from _present(data, "", {"version": "number", "metadata": "mapping"})
    if data.get("version") == 2:
        yield from _v2_typed_parts(data)
        return

    metadata = data.get("metadata")
    if isinstance(metadata, Mapping):
        kinds = {"version": "number", "parameters": "mapping"}
        yield from _present(metadata, "metadata.", kinds)
        for name, spec in _items(metadata.get("parameters")):
            yield f"metadata.parameters.{name}", spec, "mapping"

    yield from _present(data, "", {"sources": "mapping"})
    for name, entry in _items(data.get("sources")):
        yield f"sources.{name}", entry, "mapping"
        if isinstance(entry, Mapping):
            kinds = {
                "driver": "driver",
                "args": "mapping",
                "metadata": "mapping",
                "parameters": "mapping",
            }
            yield from _present(entry, f"sources.{name}.", kinds)


def _v2_typed_parts(data: Mapping[Any, Any]) -> Iterator[tuple[str, object, str]]:
    # A version 2 file: intake's Catalog.from_dict calls items() on these.
    for group in ("entries", "data", "user_parameters", "aliases"):
        yield from _present(data, "", {group: "mapping"})


def _present(
    spec: Mapping[Any, Any], prefix: str, kinds: Mapping[str, str]
) -> Iterator[tuple[str, object, str]]:
    for key, kind in kinds.items():
        if key in spec:
            yield f"{prefix}{key}", spec[key], kind


def _items(value: object) -> list[tuple[Any, Any]]:
    return list(value.items()) if isinstance(value, Mapping) else []


def _has_type(value: object, expected: str) -> bool:
    if expected == "number":
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return value is None or number
    if expected == "driver":
        return isinstance(value, (str, list, Mapping))
    return isinstance(value, Mapping)


def shape_error_message(location: str, text: str) -> str | None:
    """Return the message for a wrongly typed part of the catalog text ``text``.

    ``location`` is the file, for the message. Returns ``None`` if the text
    is not valid YAML or :func:`catalog_shape_problem` finds no such part.
    """
    import yaml
    from intake.utils import yaml_load

    try:
        problem = catalog_shape_problem(yaml_load(text))
    except yaml.YAMLError:
        return None
    if problem is None:
        return None
    return f"cannot read catalog {location!r}: {problem}. Fix the file"


def file_fault_message(
    location: str, error: yaml.YAMLError | UnicodeDecodeError | OSError | RecursionError
) -> str:
    """Return the error of reading or parsing the catalog file ``location``
    as one line that names the file.

    A missing file is the caller's to report, because the fix differs
    between a top-level and a nested file.
    """
    if isinstance(error, OSError):
        # A symlink loop, a folder or a file without read permission.
        return unreadable_file_message(location, error)
    if isinstance(error, RecursionError):
        # PyYAML parses nested lists and mappings recursively.
        return too_deep_message(location)
    return yaml_error_message(location, error)


def unreadable_file_message(location: str, error: OSError) -> str:
    """Return an OS error other than a missing file, such as a symlink loop or
    a folder, as one line that names the catalog file ``location``."""
    reason = error.strerror or type(error).__name__
    return f"cannot read catalog {location!r}: {reason}. Fix or replace the file"


def too_deep_message(location: str) -> str:
    """Return the message for the catalog file ``location`` whose YAML nests
    too deeply for the parser's recursion."""
    return (
        f"cannot read catalog {location!r}: its YAML is nested too deeply to "
        "parse. Fix the file"
    )


def not_catalog_message(location: str, error: Exception) -> str:
    """Return intake's rejection of a YAML file that is no catalog (an empty
    file, a list, a text, entries that are no mappings) as one line."""
    problem = " ".join(str(error).split())
    return (
        f"cannot read catalog {location!r}: not an intake catalog: {problem}; "
        "give an intake catalog YAML file"
    )


def yaml_error_message(location: str, error: Exception) -> str:
    """Return the YAML parser's ``error`` as one line that names the file.

    PyYAML's marks count lines and columns from 0, editors from 1.
    """
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if mark is None or problem is None:
        # A ReaderError, such as for a byte that is not UTF-8, has no mark.
        problem = " ".join(str(error).split())
        return (
            f"cannot read catalog {location!r}: invalid YAML: {problem}. Fix the file"
        )

    message = (
        f"cannot read catalog {location!r}: invalid YAML at line "
        f"{mark.line + 1}, column {mark.column + 1}: {problem}"
    )
    context = getattr(error, "context", None)
    start = getattr(error, "context_mark", None)
    if context and start is not None:
        message += (
            f" ({context} that starts at line {start.line + 1}, "
            f"column {start.column + 1})"
        )
    return message + ". Fix the file"


def shown_path(path: str) -> str:
    """Return a catalog file's path as messages spell it: absolute and
    normalised for a local file, unchanged for a URL.

    intake makes ``{{ CATALOG_DIR }}`` absolute in nested catalog paths (and
    ``{{ CATALOG_DIR }}/sage.yaml`` becomes ``.../catalogs//sage.yaml``), so
    the top-level file is spelled absolute too.
    """
    return path if "://" in path else os.path.abspath(path)


def __getattr__(name: str) -> Any:
    # intake builds intake.cat from this attribute; build it on first use.
    if name == "earthscope":
        return open_catalog()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
