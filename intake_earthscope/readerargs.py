"""Argument names of the entry points: name checks, hints and request merging.

The intake readers import this module at ``import intake`` time, so at import
time it imports only the standard library and :mod:`intake_earthscope.errors`.
A message that checks the value of a misnamed argument imports the core then.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import reprlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from intake_earthscope.errors import InvalidRequestError, UnknownArgumentError

__all__ = [
    "FDSN_NAMES",
    "check_argument_names",
    "keyword_names",
    "check_fdsn_names",
    "merge_request",
    "reject_unknown_arguments",
    "short_repr",
]

#: obspy and FDSN web-service names of request arguments, and the names used here.
FDSN_NAMES = {
    "starttime": "start",
    "endtime": "end",
    "net": "network",
    "sta": "station",
    "loc": "location",
    "cha": "channel",
}

# obspy's names for a whole NET.STA.LOC.CHA id, as in Stream.select(id=...)
# and Inventory.get_response(seed_id, datetime) of obspy 1.5.
SEED_ID_NAMES = ("seed_id", "id")

CODE_NAMES = ("network", "station", "location", "channel")
TIME_NAMES = ("start", "end", "starttime", "endtime")

_WINDOW_SPAN = (
    "windows have no start or end. Window i spans times[i] - before to "
    "times[i] + after, so give the reference times with before= and after= "
    "in seconds, or read one continuous span with "
    "open_waveforms(start=..., end=...)"
)

# Values echoed in messages are cut short: a misnamed argument may hold a
# whole catalog column.
_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60


def short_repr(value: object) -> str:
    """Return ``repr(value)`` cut to about 60 characters, for error messages."""
    return _REPR.repr(value)


P = ParamSpec("P")
R = TypeVar("R")


def keyword_names(function: Callable[..., Any]) -> tuple[str, ...]:
    """Return the names that ``function`` takes as keywords, in signature order.

    ``self`` and the ``*args`` and ``**kwargs`` catch-alls are left out, so
    that a data source's ``__init__`` gives the arguments a caller may name.
    """
    parameters = inspect.signature(function).parameters.values()
    return tuple(
        p.name for p in parameters if p.kind not in _VARIADIC and p.name != "self"
    )


def reject_unknown_arguments(function: Callable[P, R]) -> Callable[P, R]:
    """Wrap ``function`` so that wrong argument names raise before it runs.

    Python's own ``TypeError`` names the unexpected keyword but not the one
    to use. The wrapper raises :class:`UnknownArgumentError` with that name
    and the corrected argument instead, for obspy and FDSN names
    (``starttime=``, ``net=``, ...) and for positional arguments given in
    obspy's ``get_waveforms`` order. The signature seen by ``help()`` and
    type checkers stays that of ``function``.
    """
    parameters = inspect.signature(function).parameters.values()
    names = [p.name for p in parameters if p.kind not in _VARIADIC]
    positional = [p.name for p in parameters if p.kind in _POSITIONAL]
    keywords = [p.name for p in parameters if p.kind == p.KEYWORD_ONLY]
    where = f"{function.__name__}()"

    @functools.wraps(function)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        if len(args) > len(positional):
            message = _positional_message(where, len(args), positional, keywords)
            raise UnknownArgumentError(message)
        check_argument_names(where, kwargs, names)
        return function(*args, **kwargs)

    return checked


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
_POSITIONAL = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
)


def check_argument_names(
    where: str,
    arguments: Mapping[str, object],
    valid: Sequence[str],
    hint: str = "",
) -> None:
    """Reject argument names outside ``valid``, each with the name to use.

    Parameters
    ----------
    where : str
        The function or class that got the arguments, for the message.
    arguments : mapping
        Keyword arguments as given.
    valid : sequence of str
        Names the function takes, in the order of its signature.
    hint : str, optional
        What to do instead, for a name that is neither an obspy or FDSN name
        of a valid one nor close to one. Without it the message lists
        ``valid``.

    Raises
    ------
    UnknownArgumentError
        If a name is not in ``valid``. The message gives the valid name for
        an obspy or FDSN name and repeats the value under it. Other values
        are not repeated, because a misplaced one may be a secret.
    """
    unknown = {name: value for name, value in arguments.items() if name not in valid}
    if not unknown:
        return

    # Names that share a fix share a sentence: start= and end= of a window.
    labels_by_fix: dict[str, list[str]] = {}
    for label, fix in _fixes(unknown, valid, hint):
        labels_by_fix.setdefault(fix, []).append(label)
    sentences = [
        f"{where} got unknown parameter{'s' if len(labels) > 1 else ''} "
        f"{', '.join(labels)}: {fix}"
        for fix, labels in labels_by_fix.items()
    ]
    raise UnknownArgumentError(". ".join(sentences))


def check_fdsn_names(
    arguments: Mapping[str, object], where: str = "the reader"
) -> None:
    """Reject obspy and FDSN names of request arguments, with the name to use.

    Other names pass: the function that receives them checks them.

    Raises
    ------
    UnknownArgumentError
        If a name is a key of :data:`FDSN_NAMES` or an obspy name of a SEED id.
    """
    misnamed = {
        name: value
        for name, value in arguments.items()
        if name in FDSN_NAMES or name in SEED_ID_NAMES
    }
    check_argument_names(where, misnamed, (*CODE_NAMES, "start", "end"))


def check_catalog_call(arguments: Mapping[str, object]) -> None:
    """Reject names that reached a v2 data description from the catalog call.

    intake's v2 catalog call, ``cat(name=value)``, fills the user parameters
    it declares and passes every other name on to each data description,
    which would fail with Python's own ``TypeError``.

    Raises
    ------
    UnknownArgumentError
        If ``arguments`` is not empty. The message gives the valid name for
        an obspy or FDSN name.
    """
    check_argument_names(
        "the catalog call",
        arguments,
        (*CODE_NAMES, "start", "end"),
        hint="list the names it takes with cat.user_parameters",
    )


def merge_request(
    request: Mapping[str, Any] | None,
    overrides: Mapping[str, Any],
    keys: Iterable[str],
    defaults: Iterable[str] = (),
) -> dict[str, Any]:
    """Merge a catalog's ``request`` mapping with arguments given by name.

    Parameters
    ----------
    request : mapping or None
        The request the catalog passes, with keys among ``keys``.
    overrides : mapping
        Arguments given to ``read()`` by name; they win over the request.
    keys : iterable of str
        Keys the request may contain.
    defaults : iterable of str
        Arguments whose empty value (the catalog default ``""``) means the
        reader's own default: they are left out when empty.

    Raises
    ------
    UnknownArgumentError
        If the request contains a key outside ``keys`` (a ``TypeError``).
    """
    valid = list(keys)
    unknown = sorted(set(request or {}) - set(valid))
    if unknown:
        given = {name: (request or {})[name] for name in unknown}
        check_argument_names("the request mapping", given, valid)

    arguments = {**(request or {}), **overrides}
    for name in defaults:
        if not arguments.get(name):
            arguments.pop(name, None)
    return arguments


def _fixes(
    unknown: Mapping[str, object], valid: Sequence[str], hint: str
) -> list[tuple[str, str]]:
    """Pair each unknown name, as the message shows it, with its fix."""
    times = {
        FDSN_NAMES[name]: value
        for name, value in unknown.items()
        if name in ("starttime", "endtime") and FDSN_NAMES[name] in valid
    }
    pairs = []
    for name, value in unknown.items():
        target = FDSN_NAMES.get(name)
        if target in times:
            pairs.append((name, _renamed_times(times)))
        elif target in valid:
            pairs.append((name, _renamed_code(name, value)))
        elif name in SEED_ID_NAMES and set(CODE_NAMES) <= set(valid):
            pairs.append((name, _split_seed_id(value)))
        elif name in TIME_NAMES and "times" in valid:
            pairs.append((name, _WINDOW_SPAN))
        elif target is not None:
            label = f"{name} (the obspy and FDSN name of {target}=)"
            pairs.append((label, _suggestion(target, valid, hint)))
        else:
            pairs.append((name, _suggestion(name, valid, hint)))
    return pairs


def _suggestion(name: str, valid: Sequence[str], hint: str) -> str:
    """Suggest the valid name closest to ``name``, then ``hint`` if given."""
    if not hint:
        return _closest(name, valid)
    matches = difflib.get_close_matches(name, valid, n=1)
    if matches:
        return f"did you mean {matches[0]}=? Otherwise, {hint}"
    return hint


def _renamed_times(times: Mapping[str, object]) -> str:
    examples = ", ".join(f"{name}={short_repr(value)}" for name, value in times.items())
    text = (
        "use start= and end= in place of obspy's starttime= and endtime=, "
        f"as in {examples} (end is exclusive)"
    )
    return text + _value_problems(times)


def _renamed_code(name: str, value: object) -> str:
    target = FDSN_NAMES[name]
    text = (
        f"use {target}= in place of the FDSN name {name}=, as in "
        f"{target}={short_repr(value)}"
    )
    return text + _value_problems({target: value})


def _value_problems(values: Mapping[str, object]) -> str:
    """Return why values under their valid names would still be rejected."""
    problems = [_value_problem(name, value) for name, value in values.items()]
    found = [problem for problem in problems if problem]
    if not found:
        return ""
    return ". The value needs a fix too: " + ". ".join(found)


def _value_problem(target: str, value: object) -> str:
    """Return why ``value`` is invalid for ``target``, or ``""`` if it is valid."""
    from intake_earthscope.request import request_codes, request_time

    try:
        if target in ("start", "end"):
            request_time(value, target)
        else:
            request_codes(value, target)
    except InvalidRequestError as error:
        # A code error repeats the value in full, which may be a whole column.
        return str(error).replace(repr(value), short_repr(value))
    return ""


def _split_seed_id(value: object) -> str:
    parts = value.split(".") if isinstance(value, str) else []
    if len(parts) != 4:
        parts = ["IU", "ANMO", "00", "BHZ"]
    codes = ", ".join(
        f"{kind}={part!r}" for kind, part in zip(CODE_NAMES, parts, strict=True)
    )
    return f"give the four codes of a SEED id by name, as in {codes}"


def _closest(name: str, valid: Sequence[str]) -> str:
    matches = difflib.get_close_matches(name, valid, n=1)
    listing = f"valid parameters are {', '.join(valid)}"
    if matches:
        return f"did you mean {matches[0]}=? The {listing}"
    return f"the {listing}"


def _positional_message(
    where: str, received: int, positional: list[str], keywords: list[str]
) -> str:
    count = len(positional)
    plural = "" if count == 1 else "s"
    named = ", ".join(f"{name}=" for name in keywords[:6])
    return (
        f"{where} takes {count} positional argument{plural} "
        f"({', '.join(positional)}) and got {received}: give the others by name, "
        f"such as {named}. The codes and times that obspy's get_waveforms "
        "takes by position are keyword-only here"
    )
