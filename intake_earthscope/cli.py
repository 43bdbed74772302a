"""The ``intake-earthscope`` command line.

Exit codes, the same for every command:

===  ==============================================================
0    success
1    the command ran and failed: data not found (also a channel that
     ``--inventory`` lacks), a nested catalog file missing or damaged
     (``list`` prints the other entries and marks those unavailable),
     storage or service unavailable; also, without a message, when the
     reader of the output closed it (``| head``)
2    invalid usage: unknown command, entry or parameter, an invalid
     value (argparse's own code), a ``--catalog`` file that is missing or
     damaged, or no writer package for ``export``
3    authentication needed or rejected: run ``es login``; ``auth`` exits
     with 3 when it finds no usable token
4    ``export`` wrote its output, but some units did not load fully
     (their outcomes are in the output's ``status`` variable)
130  interrupted (Ctrl-C); an export leaves no partial output
===  ==============================================================
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import re
import shlex
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from intake_earthscope import __version__
from intake_earthscope.errors import (
    CatalogError,
    CatalogFileError,
    CatalogFileNotFoundError,
    CredentialsError,
    EarthScopeError,
    IntakeEarthScopeWarning,
    InvalidRequestError,
    LoginServiceUnavailableError,
    NoMatchingChannelError,
)
from intake_earthscope.readerargs import FDSN_NAMES
from intake_earthscope.redact import SECRET_NAME_PARTS, is_secret_name

if TYPE_CHECKING:
    from intake_earthscope.timesfile import ReferenceTimes

logger = logging.getLogger(__name__)

__all__ = ["main"]

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_PARTIAL = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  the command ran and failed (data not found, a nested catalog file
     missing or damaged, also where list marks entries unavailable, or
     storage unavailable)
  2  invalid usage or an invalid value, or export's writer package missing
  3  authentication needed or rejected, also where auth finds no usable
     token: run `es login`
  4  export wrote its output, but some units did not load fully
  130  interrupted (Ctrl-C); an export leaves no partial output
"""

# Request parameters common to the catalog entries, offered as options so
# that scripts need not spell ``-p NAME=VALUE`` for them.
SHORTCUT_PARAMETERS = ("network", "station", "location", "channel", "start", "end")

# Request parameters that messages name in Python's spelling, such as
# "pass errors='warn'". The command line spells them as options instead.
# A name counts only at the start of the text or after a space, a bracket or
# a comma. After "?", "&", "/" or "-" it belongs to a URL's query, a path or
# an option already spelled for the command line.
_PYTHON_PARAMETER = re.compile(
    r"(?<![^\s(\[,;])"
    r"(errors|sampling_rate|neighbour_bytes|tier|rate_tolerance|remove_response"
    r"|pre_filt|water_level|frame|analysis_center|solution|format|variant"
    r"|root|inventory|network|station|location|channel|start|end|before|after)"
    r"=(?:'([^']*)'|([^\s,;:)'\"]*))"
)
_OWN_OPTIONS = (*SHORTCUT_PARAMETERS, "root", "inventory", "before", "after")
# "missing start: give an ISO 8601 time" names a shortcut option by its
# parameter's bare name.
_MISSING_PARAMETER = re.compile(rf"\bmissing ({'|'.join(SHORTCUT_PARAMETERS)}):")
# The token= and profile= that auth's messages name, without a value, are
# the options --token and --profile of the auth command.
_AUTH_PARAMETER = re.compile(r"(?<![\w-])(token|profile)=(?=[\s,;)]|$)")
# Advice to pass a value "as text", as in "Pass location='01' as text", is
# for Python callers. Every value typed on the command line is text already.
_AS_TEXT = re.compile(r"(\b\w+='[^']*') as text\b")

# The library gives a Python cause for a code that lost its leading zero: a
# number, or a pandas table read without dtype=str. Every value typed on the
# command line is text, so there the zero was lost before, where the code
# was kept as a number.
_PYTHON_ZERO_CAUSE = re.compile(
    r"a number, or a table read without dtype=str, (drops the leading zero"
    r"|drops leading zeros)"
)
_COMMAND_LINE_ZERO_CAUSE = r"a spreadsheet or a script that keeps codes as numbers \1"

# storage_options that messages spell as a Python mapping of one entry, such
# as storage_options={'anon': False}, or of one entry of client_kwargs. Only
# endpoint_url is respelled from client_kwargs, because s3fs also takes it at
# the top level, where --storage-option puts it.
_PYTHON_STORAGE_OPTION = re.compile(
    r"storage_options=\{(?:'client_kwargs': \{'(endpoint_url)': ([^{}']+)\}"
    r"|'(\w+)': ([^{}]+?))\}"
)
# The setting that chose an endpoint, as messages name it.
_PYTHON_STORAGE_SETTING = re.compile(r"\bstorage_options (endpoint_url)\b")

# argparse reads a bare "--" after an option as the end of the options, so
# the blank location code needs the "=" form or the other spelling.
BLANK_LOCATION_HELP = 'give the blank code as --location -- or --location ""'


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        The exit code (see the module documentation).
    """
    parser = _parser()
    arguments = _joined_negative_values(list(sys.argv[1:] if argv is None else argv))
    args, unknown = parser.parse_known_args([_blank_location(a) for a in arguments])
    if unknown:
        return _reject_unknown(parser, args, unknown)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    with _sdk_errors_on_one_line(), _warnings_on_one_line():
        return _run(args.run, args)


def _joined_negative_values(arguments: list[str]) -> list[str]:
    """Join ``--before -30s`` into ``--before=-30s``, and ``--minlatitude
    -1e1`` and ``--loc --`` likewise.

    argparse takes a value that starts with "-" and is no plain number for
    an option, and then reports only that --before expected one argument.
    Joined, the value reaches the duration check, whose message explains how
    before and after count, or the check of degrees. A lone ``--`` ends
    argparse's options, but after a location option it can only be the
    blank location code.
    """
    joined: list[str] = []
    position = 0
    while position < len(arguments):
        argument = arguments[position]
        following = arguments[position + 1] if position + 1 < len(arguments) else ""
        negative = argument in _SIGNED_OPTIONS and _looks_negative(following)
        blank = _is_location_option(argument) and following == "--"
        if negative or blank:
            joined.append(f"{argument}={following}")
            position += 2
            continue
        joined.append(argument)
        position += 1
    return joined


# Options whose values may start with a minus sign: durations and degrees.
_SIGNED_OPTIONS = (
    "--before",
    "--after",
    "--minlatitude",
    "--maxlatitude",
    "--minlongitude",
    "--maxlongitude",
    "--latitude",
    "--longitude",
    "--maxradius",
    "--minradius",
)


def _looks_negative(text: str) -> bool:
    return len(text) > 1 and text[0] == "-" and (text[1].isdigit() or text[1] == ".")


# The FDSN web services' short names of the codes, which obspy and FDSN
# users type, are aliases of the code options. argparse would read --net,
# --loc and --cha as abbreviations, but --sta starts both --station and
# --start.
CODE_ALIASES = {
    "network": "--net",
    "station": "--sta",
    "location": "--loc",
    "channel": "--cha",
}

# obspy's and FDSN's names of request options, such as --starttime. Those
# without an alias stop with the option to give instead.
_OBSPY_OPTIONS = tuple(f"--{name}" for name in FDSN_NAMES)

# Commands that take the request options --network ... --end.
_REQUEST_COMMANDS = ("export", "availability", "search")


def _reject_unknown(
    parser: argparse.ArgumentParser, args: argparse.Namespace, unknown: list[str]
) -> int:
    """Report the options that argparse did not recognize, and return the
    usage exit code."""
    command_name = getattr(args, "command_name", None)
    obspy_options = _obspy_options(command_name, unknown)
    if obspy_options:
        _error(_obspy_options_message(obspy_options, command_name))
        return EXIT_USAGE
    # The command's own usage, not the top-level one that argparse prints.
    command_parser = getattr(args, "command_parser", parser)
    command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return EXIT_USAGE


def _obspy_options(command_name: str | None, unknown: list[str]) -> list[str]:
    """Return the obspy and FDSN names among the unknown options of a request
    command.

    argparse puts an unrecognized option in ``unknown`` but assigns the value
    of each option it recognizes, so a value spelled like an obspy option is
    never named here.
    """
    if command_name not in _REQUEST_COMMANDS:
        return []
    found: list[str] = []
    for argument in unknown:
        name = argument.partition("=")[0]
        if name in _OBSPY_OPTIONS and name not in found:
            found.append(name)
    return found


def _obspy_options_message(options: list[str], command_name: str | None) -> str:
    noun = "option" if len(options) == 1 else "options"
    names = [option.removeprefix("--") for option in options]
    return (
        f"unknown {noun} {' and '.join(options)}: use {_our_names(names)} "
        f"(run `intake-earthscope {command_name} --help`)"
    )


def _our_names(names: list[str]) -> str:
    """Return which options to give for obspy's and FDSN's names of parameters.

    obspy's clients take starttime and endtime, and net, sta, loc and cha are
    the short names of the FDSN web services.
    """
    uses = []
    for name in names:
        origin = "obspy" if name.endswith("time") else "FDSN"
        uses.append(f"--{FDSN_NAMES[name]} for {origin}'s {name}")
    return " and ".join(uses)


def _command_line_spelling(text: str) -> str:
    """Respell the request parameters a message names as command-line options.

    ``errors='warn'`` becomes ``-p errors=warn``, ``root=`` becomes
    ``--root`` and ``location='00'`` becomes ``--location 00``.
    ``storage_options={'anon': False}`` becomes ``--storage-option anon=false``
    (:func:`_command_line_storage_options`). The words "as text" after a
    parameter go, as in ``Pass location='01' as text``, and the Python cause
    of a lost leading zero becomes one a shell user meets.
    """

    def respell(match: re.Match[str]) -> str:
        name, quoted, bare = match.groups()
        if quoted is not None and not quoted.strip() and name == "location":
            return "--location=--"
        value = quoted if quoted is not None else bare
        if name in _OWN_OPTIONS:
            # A bare "root=" names the option, without a value.
            return f"--{name} {shlex.quote(value)}" if quoted or bare else f"--{name}"
        return f"-p {shlex.quote(f'{name}={value}')}"

    text = _AS_TEXT.sub(r"\1", text)
    text = _PYTHON_ZERO_CAUSE.sub(_COMMAND_LINE_ZERO_CAUSE, text)
    text = _MISSING_PARAMETER.sub(r"missing --\1:", text)
    return _command_line_storage_options(_PYTHON_PARAMETER.sub(respell, text))


def _auth_spelling(error: Exception) -> str:
    """Respell the token= and profile= of an auth message as auth's options."""
    return _AUTH_PARAMETER.sub(r"--\1", _command_line_spelling(str(error)))


def _command_line_storage_options(text: str) -> str:
    """Respell the storage_options a message names as --storage-option items.

    ``storage_options={'client_kwargs': {'endpoint_url': URL}}`` becomes
    ``--storage-option endpoint_url=URL``, and the setting name
    ``storage_options endpoint_url`` becomes ``--storage-option endpoint_url``.
    """

    def respell(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        value = _command_line_value(match.group(2) or match.group(4))
        return f"--storage-option {shlex.quote(f'{name}={value}')}"

    text = _PYTHON_STORAGE_OPTION.sub(respell, text)
    return _PYTHON_STORAGE_SETTING.sub(r"--storage-option \1", text)


def _command_line_value(python: str) -> str:
    """Return the --storage-option text of a Python value in a message.

    Booleans become true and false, as :func:`_storage_option_value` reads
    them. Placeholders such as NAME and URL stay as they are.
    """
    text = python.strip()
    if text in ("True", "False"):
        return text.lower()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return text


# Warnings wait here until the command prints its next line or ends, so
# that they do not break into the line of export's progress bar.
_pending_warnings: list[str] = []


@contextlib.contextmanager
def _warnings_on_one_line() -> Iterator[None]:
    # A warning of a read names the object and the fix. The file and source
    # line inside the package that issued it mean nothing to a shell user.
    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        from intake_earthscope.outcomes import without_task_hint

        text = without_task_hint(str(message))
        _pending_warnings.append(_command_line_spelling(text))

    try:
        with _package_warnings_shown(show):
            yield
    finally:
        _print_pending_warnings()


def _print_pending_warnings() -> None:
    while _pending_warnings:
        text = _pending_warnings.pop(0)
        print(f"intake-earthscope: warning: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _package_warnings_shown(show: Callable[..., None]) -> Iterator[None]:
    with warnings.catch_warnings():
        # The command owns the process: unless python -W or PYTHONWARNINGS
        # chose other filters, each distinct warning of the package is shown
        # once. Other warnings keep their filters, so that the deprecation
        # and resource warnings Python and libraries hide stay hidden.
        if not sys.warnoptions:
            warnings.filterwarnings("default", category=IntakeEarthScopeWarning)
        warnings.showwarning = show
        yield


def _blank_location(argument: str) -> str:
    # argparse drops a value of "--", which is how SEED spells the blank
    # location code, so it is passed on as two spaces, the other spelling.
    # The names are --loc and the abbreviations of --location that argparse
    # accepts (--loca, --locat, ...).
    name, _, value = argument.partition("=")
    if _is_location_option(name) and value == "--":
        return f"{name}=  "
    return argument


def _is_location_option(name: str) -> bool:
    """Return whether ``name`` is --loc or an abbreviation argparse accepts."""
    return name.startswith(CODE_ALIASES["location"]) and "--location".startswith(name)


class _OneLineHandler(logging.Handler):
    """Print a log record's message alone, without its traceback, on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        _error(f"{record.name}: {record.getMessage()}")


@contextlib.contextmanager
def _sdk_errors_on_one_line() -> Iterator[None]:
    # earthscope-sdk 1.9.3 logs a failed token refresh at ERROR with the
    # whole httpx traceback, though the command reports the failure itself.
    # So while it runs, SDK records below ERROR are dropped and the rest
    # print as one line each. The logger is restored for callers of main().
    sdk_logger = logging.getLogger("earthscope_sdk")
    saved = (sdk_logger.level, sdk_logger.propagate)
    handler = _OneLineHandler()
    sdk_logger.setLevel(logging.ERROR)
    sdk_logger.propagate = False
    sdk_logger.addHandler(handler)
    try:
        yield
    finally:
        sdk_logger.removeHandler(handler)
        sdk_logger.setLevel(saved[0])
        sdk_logger.propagate = saved[1]


def _run(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return int(command(args))
    except InvalidRequestError as error:
        _error(_command_line_spelling(str(error)))
        # Data not found exits 1, an invalid value 2.
        return EXIT_PROBLEM if isinstance(error, NoMatchingChannelError) else EXIT_USAGE
    except CatalogError as error:
        # A nested catalog file that is missing or damaged is no fault of the
        # command line, so its entries cannot be served. The --catalog file
        # itself raises InvalidRequestError, because the user named it.
        _error(_command_line_spelling(str(error)))
        return EXIT_PROBLEM
    except (EarthScopeError, IntakeEarthScopeWarning) as error:
        # A warning arrives here as an exception where python -W error or
        # PYTHONWARNINGS=error made it one.
        _error(_command_line_spelling(str(error)))
        return _failure_exit_code(error)
    except BrokenPipeError:
        # The program reading the output (head, grep -q) closed it, so
        # stop without a message.
        _close_stdout()
        return EXIT_PROBLEM
    except OSError as error:
        # A file the command reads or writes: a full disk, a vanished
        # directory, a permission changed while the command ran.
        _error(f"{type(error).__name__}: {error}")
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED


def _close_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's
    flush at exit does not fail on the closed pipe once more."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        # A replaced sys.stdout (io.StringIO under a test) has no descriptor.
        pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intake-earthscope",
        description=(
            "EarthScope and peer seismic and GNSS archives for intake, xarray and "
            "dask: list and describe the catalog, search stations, show "
            "availability, export data."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    _add_list(commands)
    _add_describe(commands)
    _add_search(commands)
    _add_availability(commands)
    _add_export(commands)
    _add_auth(commands)
    return parser


def _command(
    commands: Any, name: str, help_text: str, description: str
) -> argparse.ArgumentParser:
    command = commands.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.set_defaults(command_parser=command, command_name=name)
    return command


def _add_catalog_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog",
        metavar="PATH",
        help="intake v1 catalog YAML to read (default: the catalog shipped with the "
        "package)",
    )


def _add_request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("entry", help="catalog entry, such as sage.miniseed")
    for name in SHORTCUT_PARAMETERS:
        help_text = f"the entry's {name} parameter"
        if name in _SHORTCUT_DETAILS:
            help_text += f"; {_SHORTCUT_DETAILS[name]}"
        parser.add_argument(f"--{name}", *_aliases(name), help=help_text)
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other parameter of the entry (repeatable), such as -p tier=open",
    )
    parser.add_argument(
        "--root",
        help="read a mirror with the archive's layout (directory or fsspec URL)",
    )
    _add_storage_option(parser)
    parser.add_argument(
        "--inventory",
        metavar="STATIONXML",
        help="StationXML file with the channels' rates and responses (needed "
        "for -p remove_response=... on SCEDC and NCEDC)",
    )
    _add_catalog_option(parser)


def _add_storage_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fsspec storage option for --root and the archive (repeatable): "
        "true and false become booleans, other values stay text (anon, "
        "requester_pays, use_ssl and version_aware take only true or false). "
        "A --root on S3 is read unsigned unless given anon=false (sign with "
        "the AWS_* variables or ~/.aws) or profile=NAME. Names of secrets "
        f"(containing {', '.join(SECRET_NAME_PARTS)}) are rejected, because "
        "other users can read command lines",
    )


def _aliases(name: str) -> list[str]:
    return [CODE_ALIASES[name]] if name in CODE_ALIASES else []


_SHORTCUT_DETAILS = {
    "location": BLANK_LOCATION_HELP,
    "start": "UTC time, ISO 8601 such as 2025-11-10 or 2025-11-10T06:00",
    "end": "UTC time, ISO 8601, exclusive",
}


def _add_list(commands: Any) -> None:
    command = _command(
        commands,
        "list",
        "list the entries of the catalog's nested catalogs",
        "List every entry of the catalog as CATALOG.ENTRY, the nested catalog "
        "and its entry, with its description. A nested catalog whose file "
        "cannot be read, that nests a file containing it, or that sits two "
        "levels deep is listed as unavailable, with the reason.",
    )
    _add_catalog_option(command)
    command.set_defaults(run=_list)


def _add_describe(commands: Any) -> None:
    command = _command(
        commands,
        "describe",
        "show an entry's parameters and where its data live",
        "Show an entry's description, parameters (type, default, choices) and "
        "the tiers and key layout of its collection.",
    )
    command.add_argument("entry", help="catalog entry, such as sage.miniseed")
    _add_catalog_option(command)
    command.set_defaults(run=_describe)


def _add_search(commands: Any) -> None:
    command = _command(
        commands,
        "search",
        "search the stations of a collection",
        "Search the station table of a collection by codes, a box, a radius "
        "around a point or a time window, and print the matching rows.",
    )
    command.add_argument("entry", help="stations entry, such as sage.stations")
    command.add_argument(
        "--seed-id",
        metavar="ID",
        help="SEED id(s) NET.STA.LOC.CHA or NET.STA, comma-separated, wildcards "
        "allowed, such as IU.ANMO.00.BHZ or IU.ANMO..BHZ (blank location)",
    )
    for name in ("network", "station"):
        command.add_argument(
            f"--{name}", *_aliases(name), help=f"{name} code(s), wildcards allowed"
        )
    command.add_argument(
        "--location",
        *_aliases("location"),
        help=f"location code(s), wildcards allowed; {BLANK_LOCATION_HELP}",
    )
    command.add_argument(
        "--channel", *_aliases("channel"), help="channel code(s), wildcards allowed"
    )
    command.add_argument("--start", help="start of the time window, UTC, ISO 8601")
    command.add_argument(
        "--end", help="end of the time window, UTC, ISO 8601, exclusive"
    )

    for name in ("minlatitude", "maxlatitude", "minlongitude", "maxlongitude"):
        command.add_argument(f"--{name}", type=_number_text, help="box corner, degrees")
    command.add_argument(
        "--latitude", type=_number_text, help="centre of a radius search, degrees north"
    )
    command.add_argument(
        "--longitude", type=_number_text, help="centre of a radius search, degrees east"
    )
    command.add_argument("--maxradius", type=_number_text, help="radius in degrees")
    command.add_argument(
        "--minradius", type=_number_text, help="inner radius of a ring search, degrees"
    )

    command.add_argument(
        "--root",
        help=(
            "read the station metadata from a mirror with the archive's layout "
            "(StationXML objects or station lists; sage.stations always asks "
            "the FDSN station service)"
        ),
    )
    command.add_argument(
        "--max-age",
        type=_seconds,
        metavar="SECONDS",
        help=(
            "reuse a station table fetched less than SECONDS ago (default "
            "86400, one day); 0 fetches it again, as after files were added to "
            "a mirror"
        ),
    )
    _add_storage_option(command)
    command.add_argument(
        "--format",
        choices=("table", "csv"),
        default="table",
        help="print an aligned table (default) or CSV",
    )
    _add_catalog_option(command)
    command.set_defaults(run=_search)


def _seconds(text: str) -> float:
    """Return an option's number of seconds, which must be 0 or more."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(
            f"invalid number of seconds: {text!r}; give 0 or more, such as 3600"
        )
    return seconds


def _number_text(text: str) -> str:
    """Check that an option's value is a number, and return it as typed.

    The search converts it, so that its messages echo the value as the user
    typed it (``134``, not ``134.0``).
    """
    try:
        float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    return text


def _add_availability(commands: Any) -> None:
    command = _command(
        commands,
        "availability",
        "show which objects exist for a request",
        "List the objects a request of a waveform entry (such as "
        "sage.miniseed) would read, one row per object and "
        "day, from the archive's listings (no object is downloaded). Where "
        "the archive stores one object per station and day, its row has a "
        "blank channel.",
    )
    _add_request_options(command)
    command.add_argument(
        "--format",
        choices=("table", "csv"),
        default="table",
        help="print an aligned table (default) or CSV",
    )
    command.add_argument("--plot", metavar="PNG", help="also save a plot to PNG")
    command.set_defaults(run=_availability)


def _add_export(commands: Any) -> None:
    command = _command(
        commands,
        "export",
        "write a selection to NetCDF or Zarr",
        "Load a selection through the catalog and write it to NetCDF (.nc) or "
        "Zarr (.zarr), with a progress bar where standard error is a terminal. "
        'The writers come with the export extra: pip install ".[export]" in '
        "a clone of the repository. With --times-file or --time, export event "
        "windows instead of the --start/--end span: each window starts --before "
        "ahead of its reference time and ends --after past it, for every trace "
        "of the request.",
    )
    _add_request_options(command)
    _add_window_options(command)
    command.add_argument("output", help="output path ending in .nc or .zarr")
    command.add_argument(
        "--format",
        choices=("netcdf", "zarr"),
        help="output format (default: from the output's suffix)",
    )
    command.add_argument(
        "--overwrite", action="store_true", help="replace an existing output"
    )
    command.add_argument(
        "--no-progress",
        action="store_true",
        help="do not show the progress bar, which is shown only where standard "
        "error is a terminal",
    )
    command.set_defaults(run=_export)


def _add_window_options(command: argparse.ArgumentParser) -> None:
    # The parser prints descriptions as written, so the lines break here.
    group = command.add_argument_group(
        "event windows",
        "Reference times come from --times-file, then from each --time, and the\n"
        "windows keep that order. Times are UTC, ISO 8601: a time with a zone\n"
        "(Z, +02:00) is converted to UTC. --before and --after have no default,\n"
        "so give both. The output holds waveform(window, trace, lag) and the\n"
        "outcome variables (status, valid_fraction ...) per window and trace.",
    )
    group.add_argument(
        "--times-file",
        metavar="CSV",
        help="comma-separated file with a header line and one reference time per row",
    )
    group.add_argument(
        "--time-column",
        metavar="NAME",
        help=f"column of --times-file with the times (default: {TIME_COLUMN})",
    )
    group.add_argument(
        "--time",
        action="append",
        default=[],
        metavar="TIME",
        help="a reference time, such as 2025-11-10T03:00:00 (repeatable)",
    )
    group.add_argument(
        "--before",
        metavar="DURATION",
        help=f"data before each reference time: {WINDOW_OFFSET_FORMS} "
        "(required for windows)",
    )
    group.add_argument(
        "--after",
        metavar="DURATION",
        help=f"data after each reference time: {WINDOW_OFFSET_FORMS} (required "
        "for windows); --before plus --after is at most one day",
    )


# The forms of --before and --after, the same as windows(before=, after=)
# takes from Python. pandas reads the units, so "m" and "min" are minutes.
WINDOW_OFFSET_FORMS = (
    "seconds, such as 60, or a duration with a unit, such as 30s, 2min or 1h"
)


def _add_auth(commands: Any) -> None:
    command = _command(
        commands,
        "auth",
        "show the EarthScope token in use and which tiers it can read",
        "Show where the EarthScope token comes from, when it expires, and "
        "which tiers of the SAGE collection are usable now. Never prints a "
        "secret.",
    )
    # A profile names where the SDK keeps its tokens, so it excludes --token.
    source = command.add_mutually_exclusive_group()
    source.add_argument("--profile", help="earthscope-sdk profile to use")
    source.add_argument(
        "--token",
        help="path to a tokens.json to use (a token itself is better passed "
        "through EARTHSCOPE_TOKEN, which does not show in the process list)",
    )
    command.add_argument(
        "--network",
        default="IU",
        help="network whose restricted-tier credentials to try (default IU)",
    )
    command.set_defaults(run=_auth)


def _list(args: argparse.Namespace) -> int:
    catalog = _open_catalog(args.catalog)
    unavailable = []
    for name, entry in _entries(catalog):
        problem = _entry_problem(entry)
        if problem is not None:
            _print(f"{name:<24} unavailable: {problem}")
            unavailable.append(name)
            continue
        _print(f"{name:<24} {entry.describe().get('description', '')}")
    if not unavailable:
        return EXIT_OK
    # The other entries stay usable, but a script that checks a catalog
    # with `list` learns from the exit code that some are not.
    noun = "entry is" if len(unavailable) == 1 else "entries are"
    _error(f"{len(unavailable)} {noun} unavailable: {', '.join(unavailable)}")
    return EXIT_PROBLEM


def _entry_problem(entry: Any) -> CatalogError | None:
    """Return the error that opening ``entry`` would raise for a fault of its
    catalog file, or ``None`` if the file has no such fault."""
    if isinstance(entry, _UnavailableCatalog):
        return entry.error
    try:
        _check_entry(entry)
    except CatalogError as error:
        return error
    return None


def _describe(args: argparse.Namespace) -> int:
    entry = _entry(_open_catalog(args.catalog), args.entry)
    info = entry.describe()
    _print(f"{args.entry}: {info.get('description', '')}")
    _print(f"driver: {', '.join(info.get('driver') or [])}")
    _print(f"container: {info.get('container', '')}")

    parameters = info.get("user_parameters") or []
    if parameters:
        _print("parameters:")
    for parameter in parameters:
        _print("  " + _describe_parameter(parameter))
    extra = _keyword_arguments(entry, parameters, info.get("args") or {})
    if extra:
        _print(f"keyword arguments (see the user guide): {', '.join(extra)}")

    for line in _describe_layout(info.get("args") or {}):
        _print(line)
    return EXIT_OK


# Arguments that the catalog entry fills in itself.
_ENTRY_ARGUMENTS = frozenset({"collection", "product", "metadata", "stations"})


def _keyword_arguments(
    entry: Any, parameters: list[dict[str, Any]], entry_args: dict[str, Any]
) -> list[str]:
    """List the arguments the entry's driver takes beyond its catalog parameters.

    GNSS station lists have no network, location or channel codes, so their
    entries reject those names and they are left out here.
    """
    from intake_earthscope.readerargs import keyword_names
    from intake_earthscope.stationfetch import station_kind
    from intake_earthscope.stationmatch import SEISMIC_CODE_CRITERIA

    drivers = getattr(entry, "_plugin", None) or []
    if not drivers:
        return []
    left_out = {parameter["name"] for parameter in parameters} | _ENTRY_ARGUMENTS
    stations = entry_args.get("stations")
    if isinstance(stations, dict) and station_kind(stations) == "gnss":
        left_out |= set(SEISMIC_CODE_CRITERIA)
    return [name for name in keyword_names(drivers[0].__init__) if name not in left_out]


def _describe_parameter(parameter: dict[str, Any]) -> str:
    text = f"{parameter['name']} ({parameter.get('type', 'str')})"
    text += f" default {parameter.get('default')!r}"
    if parameter.get("allowed"):
        text += f", one of {parameter['allowed']}"
    description = parameter.get("description")
    return f"{text}: {description}" if description else text


def _describe_layout(entry_args: dict[str, Any]) -> list[str]:
    from intake_earthscope.browse import station_source_lines

    layout = entry_args.get("collection") or entry_args.get("product")
    if not isinstance(layout, dict):
        return []
    lines = station_source_lines(entry_args)
    if layout.get("key_template"):
        lines.append(f"key template: {layout['key_template']}")
    for variant, template in (layout.get("paths") or {}).items():
        lines.append(f"path ({variant}): {template}")
    lines.append("tiers:")
    for name, tier in (layout.get("tiers") or {}).items():
        place = tier.get("bucket") or tier.get("base_url") or tier.get("root")
        region = f", region {tier['region']}" if tier.get("region") else ""
        access = tier.get("access", "anonymous")
        lines.append(
            f"  {name}: {tier.get('protocol', 's3')} {place}{region}, access {access}"
        )
    return lines


def _search(args: argparse.Namespace) -> int:
    from intake_earthscope.browse import search_stations

    names = _search_criteria()
    criteria = {
        name: value
        for name, value in vars(args).items()
        if name in names and value is not None
    }
    storage_options = _storage_options(args.storage_option)
    if storage_options:
        criteria["storage_options"] = storage_options
    if args.max_age is not None:
        criteria["max_age"] = args.max_age
    catalog = _open_catalog(args.catalog)
    entry = _entry(catalog, args.entry)
    entry_args = entry.describe().get("args") or {}
    if "stations" not in entry_args:
        # The stations entry of the same archive, where it has one.
        sibling = f"{args.entry.partition('.')[0]}.stations"
        entries = {name for name, _ in _entries(catalog)}
        example = sibling if sibling in entries else "sage.stations"
        raise InvalidRequestError(
            f"invalid entry {args.entry!r}: not a stations entry; search one "
            f"such as {example} (run `intake-earthscope list`)"
        )
    with warnings.catch_warnings(record=True) as caught:
        try:
            table = search_stations(entry_args, **criteria)
        except InvalidRequestError as error:
            # Respell seed_id= and the other criteria as the options of search.
            text = _search_option_spelling(str(error))
            raise type(error)(text) from None
    _show_search_warnings(caught)
    _print_table(table, args.format)
    # A search that matches nothing is no failure: its hint is on stderr.
    return EXIT_OK


def _show_search_warnings(caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        if not issubclass(warning.category, IntakeEarthScopeWarning):
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
            continue
        text = _command_line_spelling(str(warning.message))
        _pending_warnings.append(_search_option_spelling(text))
    _print_pending_warnings()


def _search_option_spelling(text: str) -> str:
    """Respell the search criteria a message names, such as ``minlatitude=60``,
    as the options of ``search``, such as ``--minlatitude 60``."""
    names = "|".join(name for name in _search_criteria() if name != "root")
    pattern = rf"(?<![\w-])({names})=(?:'([^']*)'|([^\s,;:)'\"?]*))"

    def respell(match: re.Match[str]) -> str:
        option = "--" + match.group(1).replace("_", "-")
        value = match.group(2) if match.group(2) is not None else match.group(3)
        return f"{option} {value}" if value else f"{option} VALUE"

    return re.sub(pattern, respell, _AS_TEXT.sub(r"\1", text))


def _search_criteria() -> tuple[str, ...]:
    """Return the names of the criteria that ``search`` passes on."""
    from intake_earthscope.stationmatch import CODE_CRITERIA, REGION_CRITERIA

    return (*CODE_CRITERIA, "start", "end", *REGION_CRITERIA, "root")


def _availability(args: argparse.Namespace) -> int:
    _check_request(args)

    from intake_earthscope.availability import availability, plot_availability
    from intake_earthscope.export import check_directory

    entry = _entry(_open_catalog(args.catalog), args.entry)
    if "stations" in (entry.describe().get("args") or {}):
        # A stations entry carries the collection its StationXML files sit
        # in, but takes no time window, so it cannot list objects by day.
        raise InvalidRequestError(
            f"invalid entry {args.entry!r}: a stations entry, which has no "
            "objects by day; give a waveform entry such as sage.miniseed, or "
            f"list the stations with `intake-earthscope search {args.entry}`"
        )
    collection = _collection_of(
        entry, args.entry, "not a waveform entry; give one such as sage.miniseed"
    )
    parameters = _parameters(args, entry)
    _check_listing_parameters(args.entry, parameters)
    if args.plot:
        check_directory(args.plot)
    table = availability(collection, **parameters)
    _print_table(table, args.format)
    if args.plot:
        plot_availability(table, path=args.plot)
        _error(f"wrote {args.plot}")
    return EXIT_OK


_AVAILABILITY_OPTIONS = (*SHORTCUT_PARAMETERS, "tier", "root", "storage_options")


def _check_listing_parameters(entry: str, parameters: dict[str, Any]) -> None:
    """Reject the entry's parameters that availability does not use, such as
    -p errors=warn, which only reads of the data take."""
    unused = sorted(set(parameters) - set(_AVAILABILITY_OPTIONS))
    if unused:
        spelled = " and ".join(f"-p {name}" for name in unused)
        raise InvalidRequestError(
            f"availability of {entry} does not use {spelled}: it lists objects by "
            "their codes, days, --tier, --root and storage options alone, so "
            "give those parameters to export instead"
        )


def _export(args: argparse.Namespace) -> int:
    if args.times_file is not None or args.time:
        return _export_windows(args)
    # Checks that need no catalog come first, because reading the catalog
    # imports the readers, and with them xarray, dask and intake.
    _check_no_window_options(args)
    output_format = _output_format(args)
    _check_request(args)

    _check_not_stations(args.catalog, args.entry)
    _check_output(args, output_format)
    source = _open_source(args)
    written = _write(source.to_dask(), args, output_format)

    _report_missing_days(written, output_format)
    return _report_units(written, output_format)


def _report_missing_days(written: Path, output_format: str) -> None:
    """Warn about each station of a GNSS positions output that loaded fully
    but lacks days inside its data.

    The exit code stays 0 for them, because their files were read in full,
    as a waveform day with gaps keeps the status ``ok``.
    """
    from intake_earthscope.export import open_output
    from intake_earthscope.gnss.position_dataset import missing_days_notes

    with open_output(written, output_format) as output:
        notes = missing_days_notes(output)
    for station, message in notes:
        _pending_warnings.append(f"station {station}: {message}")
    _print_pending_warnings()


def _report_units(written: Path, output_format: str) -> int:
    from intake_earthscope.export import incomplete_units

    units = incomplete_units(written, output_format)
    if not units:
        return EXIT_OK

    _error(
        f"{len(units)} of the output's {_unit_word(units)} did not load "
        "fully: see its 'status' variable"
    )
    for unit in units[:NAMED_UNITS]:
        where = " ".join(label for label in (unit.trace, unit.day) if label)
        _error(f"  {where}: {unit.status}")
    if len(units) > NAMED_UNITS:
        _error(f"  and {len(units) - NAMED_UNITS} more")
    return EXIT_PARTIAL


def _unit_word(units: list[Any]) -> str:
    """Name the kind of unit: trace-days, station-days, stations or days."""
    return str(units[0].kind)


# Units named one per line after a partial export. The output's status
# variable lists every unit.
NAMED_UNITS = 20


def _output_format(args: argparse.Namespace) -> str:
    return args.format or _format_from_suffix(args.output)


def _check_output(args: argparse.Namespace, output_format: str) -> None:
    """Check the writer package of ``output_format`` and the output path."""
    from intake_earthscope.export import check_output, check_writer

    check_writer(output_format)
    check_output(args.output, args.overwrite, overwrite_option="--overwrite")


def _check_request(args: argparse.Namespace) -> None:
    """Check -p NAME=VALUE and the order of --start and --end, before the
    catalog is read."""
    _check_window_order(_given_parameters(args))
    _storage_options(args.storage_option)


def _write(dataset: Any, args: argparse.Namespace, output_format: str) -> Path:
    from intake_earthscope.export import export_dataset

    written = export_dataset(
        dataset,
        args.output,
        output_format,
        overwrite=args.overwrite,
        progress=_show_progress(args),
    )
    _error(f"wrote {written}")
    return written


def _show_progress(args: argparse.Namespace) -> bool:
    # dask's bar redraws its line with carriage returns, which only a
    # terminal shows as one line. A pipe or a log file would get every frame.
    return not args.no_progress and sys.stderr.isatty()


def _check_no_window_options(args: argparse.Namespace) -> None:
    window_options = [
        f"--{name.replace('_', '-')}"
        for name in ("before", "after", "time_column")
        if getattr(args, name) is not None
    ]
    if window_options:
        raise InvalidRequestError(
            f"{' and '.join(window_options)} can only be used with event windows: give "
            "the reference times with --times-file or --time"
        )


def _check_not_stations(catalog_path: str | None, name: str) -> None:
    # A stations entry's to_dask() needs a time window, which export does not
    # pass. It would fail only after fetching the table (from the FDSN
    # station service for sage.stations, even with --root), so reject it now.
    entry = _entry(_open_catalog(catalog_path), name)
    if "stations" in (entry.describe().get("args") or {}):
        raise InvalidRequestError(
            f"invalid entry {name!r}: a stations entry, which export does not "
            "write; export a waveform or GNSS entry such as sage.miniseed, or "
            f"list the stations with `intake-earthscope search {name}`"
        )


def _format_from_suffix(path: str) -> str:
    stripped = path.rstrip("/")
    if stripped.endswith(".zarr"):
        return "zarr"
    if stripped.endswith((".nc", ".nc4", ".netcdf")):
        return "netcdf"
    raise InvalidRequestError(
        f"cannot tell the format of output {path!r}: end it in .nc or .zarr, or "
        "give --format netcdf|zarr"
    )


# Event windows: reference times from a CSV file and from --time options.

TIME_COLUMN = "time"

# Windows named one per line after a partial window export. The output's
# status variable lists every window.
NAMED_WINDOWS = 20

# Response parameters, which windows do not use because they are read in
# counts.
_RESPONSE_PARAMETERS = ("remove_response", "pre_filt", "water_level")


def _export_windows(args: argparse.Namespace) -> int:
    import numpy as np

    # As in _export, the checks that need no catalog come first.
    _check_window_options(args)
    references = _reference_times(args)
    before_ns, after_ns = _window_offsets(args)
    output_format = _output_format(args)

    _check_window_entry(args)
    _check_output(args, output_format)
    source = _open_source(args)
    times = np.array(references.values, dtype="datetime64[ns]")
    before, after = np.timedelta64(before_ns, "ns"), np.timedelta64(after_ns, "ns")
    dataset = source.windows(times, before, after)
    written = _write(dataset, args, output_format)
    return _report_windows(written, output_format, references)


def _check_window_options(args: argparse.Namespace) -> None:
    span = [f"--{name}" for name in ("start", "end") if getattr(args, name)]
    if span:
        raise InvalidRequestError(
            f"{' and '.join(span)} cannot be used with event windows, which span "
            "--before to --after around each reference time: leave "
            f"{'them' if len(span) > 1 else 'it'} out"
        )
    response = [name for name in _param_names(args) if name in _RESPONSE_PARAMETERS]
    if response:
        raise InvalidRequestError(
            f"-p {response[0]} cannot be used with event windows, which are "
            "written in counts: leave it out, or export a span with --start and "
            "--end instead of --times-file and --time"
        )

    missing = [
        f"--{name}" for name in ("before", "after") if getattr(args, name) is None
    ]
    if missing:
        raise InvalidRequestError(
            f"missing {' and '.join(missing)}: event windows need the seconds of "
            "data before and after each reference time, such as --before 60 "
            "--after 120"
        )
    if args.time_column is not None and args.times_file is None:
        raise InvalidRequestError(
            "--time-column names a column of --times-file: give the file too, "
            "or leave --time-column out"
        )
    if args.time_column is not None and not args.time_column.strip():
        raise InvalidRequestError(
            "invalid --time-column '': give the name of the column of times, "
            f"or leave the option out for {TIME_COLUMN!r}"
        )


def _param_items(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Return the name and value of each -p NAME=VALUE, in the order given."""
    items = []
    for item in args.param:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise InvalidRequestError(f"invalid --param {item!r}: write NAME=VALUE")
        items.append((name.strip(), value))
    return items


def _param_names(args: argparse.Namespace) -> list[str]:
    return [name for name, _ in _param_items(args)]


def _param_value(args: argparse.Namespace, name: str) -> str | None:
    values = [value.strip() for key, value in _param_items(args) if key == name]
    return values[-1] if values else None


def _window_offsets(args: argparse.Namespace) -> tuple[int, int]:
    """Read --before and --after as windows() reads them, and check that
    the window they make is at most one day long.

    Returns the two offsets in nanoseconds.
    """
    from intake_earthscope.timesfile import LONGEST_WINDOW_NS, window_offset_ns
    from intake_earthscope.timeutil import NS_PER_SECOND

    forms = WINDOW_OFFSET_FORMS
    before_ns = window_offset_ns(args.before, "before", forms=forms, number_text=True)
    after_ns = window_offset_ns(args.after, "after", forms=forms, number_text=True)
    # The values as typed, quoted where the shell would need it.
    before, after = shlex.quote(args.before), shlex.quote(args.after)
    total = before_ns + after_ns
    if total == 0:
        raise InvalidRequestError(
            f"invalid window: --before {before} and --after {after} leave no "
            "time; give a positive number of seconds for at least one"
        )
    if total > LONGEST_WINDOW_NS:
        raise InvalidRequestError(
            f"invalid window: --before {before} plus --after {after} is "
            f"{total / NS_PER_SECOND:g} s, longer than one day "
            f"({LONGEST_WINDOW_NS / NS_PER_SECOND:g} s); export a long span with "
            "--start and --end instead"
        )
    return before_ns, after_ns


def _check_window_entry(args: argparse.Namespace) -> None:
    _check_not_stations(args.catalog, args.entry)
    entry = _entry(_open_catalog(args.catalog), args.entry)
    collection = _collection_of(
        entry,
        args.entry,
        "event windows are read from miniSEED entries, such as sage.miniseed; "
        "export this entry with --start and --end",
    )
    _check_window_tier(args, collection)


def _collection_of(entry: Any, name: str, fix: str) -> dict[str, Any]:
    """Return the waveform collection mapping of a catalog entry.

    Raises InvalidRequestError naming the entry and ``fix`` where the entry
    has none (a station or GNSS entry).
    """
    collection = (entry.describe().get("args") or {}).get("collection")
    if not isinstance(collection, dict):
        raise InvalidRequestError(f"invalid entry {name!r}: {fix}")
    return collection


def _check_window_tier(args: argparse.Namespace, collection: dict[str, Any]) -> None:
    # Windows are read with ranged reads of archive objects, which a web
    # service does not serve. windows() would raise NotImplementedError, but
    # only after it looked for a token that the service tier needs.
    tiers = collection.get("tiers") or {}
    name = _param_value(args, "tier") or collection.get("default_tier")
    if (tiers.get(name) or {}).get("protocol") != "fdsn":
        return
    archives = [key for key, tier in tiers.items() if tier.get("protocol") != "fdsn"]
    raise InvalidRequestError(
        f"invalid tier={name} for event windows: the tier is a web service, "
        "and windows are read with ranged reads of archive objects; choose one "
        f"of the archive tiers {archives}, or export a span with --start and "
        "--end"
    )


def _reference_times(args: argparse.Namespace) -> ReferenceTimes:
    from intake_earthscope.timesfile import (
        ReferenceTimes,
        parse_reference,
        read_time_cells,
    )

    references = ReferenceTimes()
    if args.times_file is not None:
        column = args.time_column or TIME_COLUMN
        for line, text in read_time_cells(args.times_file, column):
            where = f"on line {line} of {args.times_file!r} (column {column!r})"
            value = parse_reference(text, where, "give a valid time or remove the row")
            references.add(value, f"line {line} of {args.times_file}")

    for text in args.time:
        value = parse_reference(text, "given with --time", "give a valid time")
        references.add(value, "--time")

    if not references.values:
        raise InvalidRequestError(
            f"no reference times: times file {args.times_file!r} has a header "
            "but no rows; add one row per time, or give --time"
        )
    return references


def _report_windows(
    written: Path, output_format: str, references: ReferenceTimes
) -> int:
    from intake_earthscope.export import windows_not_loaded
    from intake_earthscope.timeutil import format_ns

    by_window: dict[int, list[str]] = {}
    for item in windows_not_loaded(written, output_format):
        by_window.setdefault(item.position, []).append(f"{item.trace} {item.status}")
    if not by_window:
        return EXIT_OK

    verb = "has" if len(by_window) == 1 else "have"
    _error(
        f"{len(by_window)} of the output's {len(references.values)} windows {verb} "
        "traces that did not load fully: see its 'status' variable"
    )
    for position in list(by_window)[:NAMED_WINDOWS]:
        time = format_ns(references.values[position])
        origin = references.origins[position]
        _error(f"  window {time} ({origin}): {', '.join(by_window[position])}")
    if len(by_window) > NAMED_WINDOWS:
        _error(f"  and {len(by_window) - NAMED_WINDOWS} more windows")
    return EXIT_PARTIAL


def _open_catalog(path: str | None) -> Any:

    import intake
    from intake.catalog import Catalog
    from intake.catalog.local import YAMLFilesCatalog

    from intake_earthscope.catalog import catalog_path, shown_path

    location = path or str(catalog_path())
    absolute = shown_path(location)
    if os.path.isdir(location):
        # intake would read a folder as a pattern of catalog files.
        raise InvalidRequestError(
            f"catalog {absolute!r} is a folder: give its top-level catalog "
            f"file, such as {os.path.join(absolute, 'earthscope.yaml')!r}"
        )
    with warnings.catch_warnings(), _catalog_file_errors(location):
        # intake 2.0.9 warns about shell commands for string parameter defaults.
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        catalog = intake.open_catalog(location)
    if not isinstance(catalog, Catalog):
        # A version: 2 file gives intake's v2 catalog, which has no walk().
        raise InvalidRequestError(
            f"catalog {absolute!r} is an intake v2 catalog, which the command "
            f"line does not read: give a v1 catalog such as {str(catalog_path())!r}, "
            "or open this one in Python with intake.open_catalog"
        )
    if isinstance(catalog, YAMLFilesCatalog) and not list(catalog):
        # intake 2.0.9 opens a name without .yaml or .yml as a pattern of
        # catalog files, which a CSV file of event times matches as none.
        raise InvalidRequestError(
            f"catalog {absolute!r} has no entries: intake reads a name that does "
            "not end in .yaml or .yml as a pattern of catalog files, and no YAML "
            "catalog matches it; give an intake catalog YAML file"
        )
    return catalog


@contextlib.contextmanager
def _catalog_file_errors(
    location: str, entry: str | None = None, listing: str | None = None
) -> Iterator[None]:
    """Raise the errors of opening the catalog file ``location`` as one line
    that names the file.

    ``entry`` is the entry of the top-level catalog ``listing`` that nests
    the file, or ``None`` for the top-level file itself.

    Raises
    ------
    CatalogFileError
        If a nested catalog's file is missing (``CatalogFileNotFoundError``),
        not valid YAML or no intake catalog.
    InvalidRequestError
        If the top-level file is missing, cannot be read (a folder, a symlink
        loop), is not valid YAML, is nested too deeply or is no intake
        catalog.
    """
    import yaml
    from intake.catalog.exceptions import CatalogException

    from intake_earthscope.catalog import (
        file_fault_message,
        missing_file_message,
        shown_path,
    )

    # A nested file's fault fails its entry alone; the top-level file's fails
    # the command.
    fault: type[EarthScopeError] = (
        InvalidRequestError if entry is None else CatalogFileError
    )
    try:
        yield
    except EarthScopeError:
        # The nested catalog's own message, as Python callers get it.
        raise
    except FileNotFoundError:
        if entry is None:
            absolute = shown_path(location)
            raise InvalidRequestError(f"catalog not found: {absolute!r}") from None
        missing = missing_file_message(location, entry, listing)
        raise CatalogFileNotFoundError(missing) from None
    except (yaml.YAMLError, OSError, RecursionError) as error:
        raise fault(file_fault_message(shown_path(location), error)) from None
    except (CatalogException, AttributeError, ValueError, TypeError, KeyError) as error:
        message = _not_catalog_message(location, error)
        if message is None:
            raise
        raise fault(message) from None


def _not_catalog_message(location: str, error: Exception) -> str | None:
    """Return intake's ``error`` for the file ``location`` that is no catalog
    as one line, or ``None`` to let ``error`` through.

    A part of the file with a wrong type, such as ``metadata: 5``, is named
    where intake fails on it. Other ``AttributeError`` exceptions are no
    fault of the file, and pass.
    """
    from intake.catalog.exceptions import CatalogException

    from intake_earthscope.catalog import (
        driver_error_message,
        not_catalog_message,
        shape_error_message,
        shown_path,
    )

    text = _catalog_text(location)
    absolute = shown_path(location)
    message = shape_error_message(absolute, text) if text is not None else None
    if message is None and text is not None and isinstance(error, TypeError):
        # intake imports a relative driver name such as "..csv" with a bare
        # TypeError.
        message = driver_error_message(absolute, text)
    if message is not None:
        return message
    if isinstance(error, CatalogException):
        return not_catalog_message(absolute, error)
    if isinstance(error, AttributeError):
        return None
    # A file that is no catalog fails in the YAML parser or in intake's
    # reading of the parsed mapping.
    return (
        f"cannot read catalog {absolute!r}: {type(error).__name__}: "
        f"{error}; give an intake catalog YAML file"
    )


def _catalog_text(location: str) -> str | None:
    """Return the text of the catalog file ``location``, or ``None`` if it
    cannot be read again."""
    import fsspec

    try:
        with fsspec.open(location, "rt", encoding="utf-8") as file:
            return str(file.read())
    except (OSError, ValueError):
        return None


class _UnavailableCatalog:
    """A nested catalog that the command line cannot serve: its file is
    missing, not valid YAML or no catalog, it nests the file that lists it,
    or it is nested two levels deep.

    ``list`` shows it as unavailable, and using one of its entries raises
    ``error``, while the other entries keep working.
    """

    def __init__(self, error: CatalogError) -> None:
        self.error = error


def _entries(catalog: Any) -> list[tuple[str, Any]]:
    # intake's walk(depth=2) prints the error of a nested catalog that fails
    # to open and skips it, so nested catalogs are opened here.
    leaves: list[tuple[str, Any]] = []
    for name, entry in catalog.walk(depth=1).items():
        if entry.describe().get("container") != "catalog":
            leaves.append((name, entry))
            continue
        looping = _self_nesting_error(catalog, name, entry)
        if looping is not None:
            leaves.append((name, _UnavailableCatalog(looping)))
            continue
        try:
            nested = _nested_catalog(catalog, name, entry)
        except CatalogFileError as error:
            leaves.append((name, _UnavailableCatalog(error)))
            continue
        for inner, leaf in nested.walk(depth=1).items():
            full_name = f"{name}.{inner}"
            if leaf.describe().get("container") == "catalog":
                deeper = _too_deep_error(catalog, nested, full_name, leaf)
                leaves.append((full_name, _UnavailableCatalog(deeper)))
            else:
                leaves.append((full_name, leaf))
    return sorted(leaves, key=lambda item: item[0])


def _nested_catalog(catalog: Any, name: str, entry: Any) -> Any:
    """Open the nested catalog ``entry`` and read its entries.

    Raises
    ------
    CatalogFileError
        If the nested catalog's file is missing, not valid YAML or no intake
        catalog.
    """
    listing = getattr(catalog, "path", None)
    with _catalog_file_errors(_nested_path(catalog, entry), name, listing):
        nested = entry()
        nested.walk(depth=1)
    return nested


def _self_nesting_error(catalog: Any, name: str, entry: Any) -> CatalogError | None:
    """Return the error for a nested catalog entry whose file is the catalog
    file that lists it, or ``None`` for any other entry.

    Such a catalog contains itself, so its entries would repeat without end.
    """
    from intake_earthscope.catalog import shown_path

    listing = str(getattr(catalog, "path", "") or "")
    nested = _nested_path(catalog, entry)
    if not listing or not _same_file(nested, listing):
        return None
    return CatalogError(
        f"catalog file {shown_path(listing)!r}, entry {name!r}: the entry nests "
        "the catalog file that lists it, so its entries would repeat without "
        "end. Point its path at another catalog file, or remove the entry"
    )


def _same_file(first: str, second: str) -> bool:
    """Return whether two catalog paths name one file (local paths are
    resolved, so a link or a "//" does not hide it)."""
    if "://" in first or "://" in second:
        return first == second
    return os.path.realpath(first) == os.path.realpath(second)


def _too_deep_error(
    catalog: Any, nested: Any, full_name: str, entry: Any
) -> CatalogError:
    """Return the error for a catalog nested inside the nested catalog
    ``nested`` of ``catalog``, whose entries the command line does not read.

    Where its file is one of the two that contain it, the message names the
    loop instead.
    """
    from intake_earthscope.catalog import shown_path

    path = _nested_path(nested, entry)
    listings = [str(getattr(c, "path", "") or "") for c in (catalog, nested)]
    if any(listing and _same_file(path, listing) for listing in listings):
        return CatalogError(
            f"catalog file {shown_path(listings[1])!r}, entry "
            f"{full_name.rpartition('.')[2]!r}: the entry nests "
            f"{shown_path(path)!r}, a catalog file that contains it, so its "
            "entries would repeat without end. Point its path at another "
            "catalog file, or remove the entry"
        )
    return CatalogError(
        f"{full_name!r} is a catalog nested two levels deep, and the command "
        "line reads the entries of nested catalogs one level deep only: give "
        f"its file with --catalog {shlex.quote(shown_path(path))}, or open it "
        f"in Python as cat.{full_name}"
    )


def _nested_path(catalog: Any, entry: Any) -> str:
    """Return the file of a nested catalog entry, as far as its arguments show it.

    The entry's ``path`` argument usually starts with ``{{ CATALOG_DIR }}``,
    the directory of the catalog file that contains the entry.
    """
    path = str((entry.describe().get("args") or {}).get("path", ""))
    directory = str(Path(getattr(catalog, "path", "") or ".").parent)
    return re.sub(r"\{\{\s*CATALOG_DIR\s*\}\}", lambda _: directory, path)


def _entry(catalog: Any, name: str) -> Any:
    entries = dict(_entries(catalog))
    for nested, entry in entries.items():
        within = name == nested or name.startswith(f"{nested}.")
        if within and isinstance(entry, _UnavailableCatalog):
            raise entry.error
    if name in entries:
        _check_entry(entries[name])
        return entries[name]

    inside = sorted(entry for entry in entries if entry.startswith(f"{name}."))
    if inside:
        raise InvalidRequestError(
            f"unknown entry {name!r}: it is a nested catalog, so give one of its "
            f"entries {inside}"
        )
    raise InvalidRequestError(
        f"unknown entry {name!r}: expected one of {sorted(entries)} "
        "(run `intake-earthscope list`)"
    )


def _check_entry(entry: Any) -> None:
    """Check the driver and the key and path templates of ``entry``, of a
    nested catalog or of the --catalog file itself, as opening it in Python
    does."""
    from intake_earthscope.catalog import check_catalog_entry, shown_path

    # intake sets _catalog on each entry to the catalog parsed from its file.
    owner = getattr(entry, "_catalog", None)
    check_catalog_entry(entry, shown_path(str(getattr(owner, "path", "") or "catalog")))


def _open_source(args: argparse.Namespace) -> Any:

    entry = _entry(_open_catalog(args.catalog), args.entry)
    parameters = _parameters(args, entry)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Shell command not executed", UserWarning)
        try:
            return entry(**parameters)
        except ValueError as error:
            if isinstance(error, EarthScopeError):
                raise
            # intake checks parameter values (types, allowed choices) itself.
            raise InvalidRequestError(
                f"invalid parameter for {args.entry}: {error}"
            ) from None


def _spelled(names: list[str]) -> str:
    """Spell request parameters as the command line takes them: ``--station``
    for those with an option of their own, -p NAME=VALUE for the others."""
    flags = [name for name in names if name in SHORTCUT_PARAMETERS]
    others = [name for name in names if name not in SHORTCUT_PARAMETERS]
    parts = [", ".join(f"--{name}" for name in flags)] if flags else []
    if others:
        parts.append(f"-p NAME=VALUE for {', '.join(others)}")
    return " and ".join(parts)


def _given_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """Return the request parameters given as options and as -p NAME=VALUE."""
    parameters: dict[str, Any] = {}
    for name in SHORTCUT_PARAMETERS:
        value = getattr(args, name, None)
        if value is not None:
            parameters[name] = value
    parameters.update(_param_items(args))
    return parameters


def _parameters(args: argparse.Namespace, entry: Any) -> dict[str, Any]:
    declared = entry.describe().get("user_parameters") or []
    known = {parameter["name"] for parameter in declared}
    parameters = _given_parameters(args)

    _check_types(args.entry, declared, parameters)
    unknown = sorted(set(parameters) - known)
    params = set(_param_names(args))
    _check_obspy_parameters(args.entry, unknown)
    _check_storage_parameters(args.entry, unknown)
    if unknown:
        spellings = [
            f"--{name}"
            if name in SHORTCUT_PARAMETERS and name not in params
            else f"-p {name}"
            for name in unknown
        ]
        raise InvalidRequestError(
            f"{args.entry} does not take {' or '.join(spellings)}: it takes "
            f"{_spelled(sorted(known))} (run "
            f"`intake-earthscope describe {args.entry}`)"
        )
    if args.root:
        parameters["root"] = args.root
    storage_options = _storage_options(args.storage_option)
    if storage_options:
        parameters["storage_options"] = storage_options
    if getattr(args, "inventory", None):
        parameters["inventory"] = args.inventory
    return parameters


def _check_obspy_parameters(entry: str, unknown: list[str]) -> None:
    names = [name for name in unknown if name in FDSN_NAMES]
    if names:
        noun = "parameter" if len(names) == 1 else "parameters"
        raise InvalidRequestError(
            f"unknown {noun} {' and '.join(names)} for {entry}: use {_our_names(names)}"
        )


def _check_storage_parameters(entry: str, unknown: list[str]) -> None:
    names = [name for name in unknown if name in ("storage_options", "anon")]
    if names:
        raise InvalidRequestError(
            f"unknown parameter {names[0]} for {entry}: give storage options "
            "with --storage-option NAME=VALUE, such as --storage-option anon=false"
        )


def _storage_options(items: Sequence[str]) -> dict[str, Any]:
    """Read each --storage-option NAME=VALUE into fsspec's storage_options.

    "true" and "false", in any case, become booleans and other values stay
    text. A later option replaces an earlier one of the same name.

    Raises
    ------
    InvalidRequestError
        If an item is not NAME=VALUE, its name is that of a secret, or an
        on/off option of s3fs such as anon is neither true nor false.
    """
    options: dict[str, Any] = {}
    for position, item in enumerate(items, start=1):
        name, separator, value = item.partition("=")
        name = name.strip()
        if not separator or not name:
            # No text of the item is echoed, because an item without "=" may
            # be a secret pasted without its name.
            problem = "has no '='" if not separator else "has an empty name"
            raise InvalidRequestError(
                f"invalid --storage-option number {position}, because it "
                f"{problem}: write NAME=VALUE, such as --storage-option anon=false"
            )
        _check_not_secret(name)
        options[name] = _storage_option_value(value.strip())
        _check_switch(name, options[name])
    return options


# Boolean options of s3fs's S3FileSystem (s3fs 2026.9). s3fs and botocore
# test them for truth, so any text but "" would switch them on, "0" too.
_SWITCH_OPTIONS = ("anon", "requester_pays", "use_ssl", "version_aware")


def _check_switch(name: str, value: bool | str) -> None:
    if name not in _SWITCH_OPTIONS or isinstance(value, bool):
        return
    raise InvalidRequestError(
        f"invalid --storage-option {name}={value}: {name} must be true or false"
    )


def _check_not_secret(name: str) -> None:
    if not is_secret_name(name):
        return
    raise InvalidRequestError(
        f"--storage-option {name}=... is rejected, because other users of this "
        "machine can read command lines (ps, /proc). Put the credentials in "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) "
        "and give --storage-option anon=false, or name an AWS profile with "
        "--storage-option profile=NAME"
    )


def _storage_option_value(text: str) -> bool | str:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def _check_window_order(parameters: dict[str, Any]) -> None:
    # The entries reject a reversed or empty window with the same message,
    # and this check gives it before the entry is built. Unreadable times
    # are left to the entry, which names what is wrong with them.
    from intake_earthscope.timeutil import check_window_order, parse_time

    start, end = parameters.get("start"), parameters.get("end")
    if not start or not end:
        return
    try:
        start_ns, end_ns = parse_time(start, "start"), parse_time(end, "end")
    except InvalidRequestError:
        return
    check_window_order(start_ns, end_ns)


_CONVERSIONS = {"float": float, "int": int}


def _check_types(
    name: str, declared: list[dict[str, Any]], parameters: dict[str, Any]
) -> None:
    for parameter in declared:
        convert = _CONVERSIONS.get(parameter.get("type", ""))
        value = parameters.get(parameter["name"])
        if convert is None or value is None:
            continue
        try:
            convert(value)
        except ValueError:
            raise InvalidRequestError(
                f"invalid {parameter['name']}={value!r} for {name}: expected a "
                f"{parameter['type']} (run `intake-earthscope describe {name}`)"
            ) from None


def _print_table(table: Any, output_format: str) -> None:
    if output_format == "csv":
        sys.stdout.write(table.to_csv(index=False))
        sys.stdout.flush()
        return
    _print(table.to_string(index=False) if len(table) else "(no rows)")


def _auth(args: argparse.Namespace) -> int:
    from intake_earthscope.auth import resolve_token_source, token_expiry
    from intake_earthscope.codes import has_wildcard, parse_codes

    codes = parse_codes(args.network, "network")
    if len(codes) != 1 or has_wildcard(codes[0]):
        raise InvalidRequestError(
            f"invalid --network {args.network!r}: give one network code, such "
            "as IU, whose restricted-tier credentials to try"
        )
    args.network = codes[0]

    try:
        source = resolve_token_source(args.token, args.profile)
    except EarthScopeError as error:
        _print(f"token: none ({_auth_spelling(error)})")
        _print("tiers usable now: open (anonymous)")
        return _failure_exit_code(error)

    _print(f"token source: {source.describe()}")
    try:
        expiry = token_expiry(source)
    except EarthScopeError as error:
        _print(f"access token: not usable ({_auth_spelling(error)})")
        _print("tiers usable now: open (anonymous)")
        return _failure_exit_code(error)

    _print(f"access token expires: {_describe_expiry(expiry)}")
    usable = ["open (anonymous)", "fdsn web services (bearer token)"]
    usable.append(_restricted_status(source, args.network))
    _print("tiers usable now: " + "; ".join(usable))
    return EXIT_OK


def _failure_exit_code(error: Exception) -> int:
    """Return the exit code of a command that failed with ``error``.

    The code is 3 where the fix is to log in again, as for a missing, expired
    or rejected token. It is 1 for other failures, a login service out of
    reach among them.
    """
    if isinstance(error, LoginServiceUnavailableError):
        return EXIT_PROBLEM
    return EXIT_AUTH if isinstance(error, CredentialsError) else EXIT_PROBLEM


def _restricted_status(source: Any, network: str) -> str:
    from intake_earthscope.auth import CredentialScope, aws_credentials
    from intake_earthscope.catalog import catalog_path
    from intake_earthscope.collection import Collection

    collection = Collection.from_yaml(_sage_collection(catalog_path()))
    tier = next((t for t in collection.tiers if t.access == "earthscope"), None)
    if tier is None:
        return "restricted: not in the catalog"

    year = dt.datetime.now(dt.UTC).year
    scope = CredentialScope(tier.role or "", network, year, tier.region)
    try:
        credentials = aws_credentials(source, scope)
    except EarthScopeError as error:
        return f"restricted: not usable for network {network} ({error})"
    return (
        f"restricted (network {network}, credentials until "
        f"{credentials.expiration.isoformat()})"
    )


def _sage_collection(path: Any) -> dict[str, Any]:
    import yaml

    text = (path.parent / "sage.yaml").read_text()
    return yaml.safe_load(text)["sources"]["miniseed"]["args"]["collection"]


def _describe_expiry(expiry: dt.datetime | None) -> str:
    if expiry is None:
        return "unknown"
    remaining = expiry - dt.datetime.now(dt.UTC)
    minutes = int(remaining.total_seconds() // 60)
    return f"{expiry.isoformat()} (in {minutes} min)"


def _print(text: str) -> None:
    print(text, file=sys.stdout, flush=True)


def _error(text: str) -> None:
    _print_pending_warnings()
    print(f"intake-earthscope: {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
