"""Exception and warning classes of intake-earthscope.

Every error the package raises derives from :class:`EarthScopeError` and from
the builtin that matches its meaning, so ``except FileNotFoundError`` or
``except ValueError`` keep working for callers who do not know this package.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from types import FrameType

__all__ = [
    "AccessDeniedError",
    "ArchiveLayoutError",
    "AuthenticationError",
    "BucketNotFoundError",
    "ChannelNotFoundError",
    "CatalogError",
    "CatalogFileError",
    "CatalogFileNotFoundError",
    "CatalogReadError",
    "CredentialsError",
    "DecodeError",
    "EarthScopeError",
    "IgnoredParameterWarning",
    "IntakeEarthScopeWarning",
    "InvalidRequestError",
    "InvalidTypeError",
    "LoginServiceUnavailableError",
    "MirrorLayoutWarning",
    "MissingObjectsError",
    "MixedSamplingRateError",
    "NoMatchingChannelError",
    "ObjectChangedError",
    "ObjectNotFoundError",
    "ReadOutcomeWarning",
    "StorageUnavailableError",
    "UnknownArgumentError",
    "WebServiceError",
]


class EarthScopeError(Exception):
    """Base class of every error raised by intake-earthscope."""


class InvalidRequestError(EarthScopeError, ValueError):
    """A request parameter is invalid; raised before any I/O."""


class UnknownArgumentError(InvalidRequestError, TypeError):
    """Error for an argument name, or a number of positional arguments, that a
    function or catalog call does not take.

    It is a ``TypeError``, as Python's own error for an unexpected keyword
    argument is, and an :class:`InvalidRequestError`, as every other rejected
    request is.
    """


class InvalidTypeError(InvalidRequestError, TypeError):
    """A request parameter got a value of a type it does not take, such as a
    number where SEED codes are text.

    It is a ``TypeError``, as Python's own error for a value of the wrong
    type is, and an :class:`InvalidRequestError`, as every other rejected
    request is.
    """


class MixedSamplingRateError(InvalidRequestError):
    """The requested channels do not share one sampling rate."""


class CatalogError(EarthScopeError, ValueError):
    """A collection description in the catalog YAML is incomplete or invalid."""


class CatalogFileError(CatalogError):
    """A nested catalog file that the top-level catalog names cannot be read:
    it does not exist, is not valid YAML, or is no intake catalog.

    Only the entry of that file fails; the other entries of the top-level
    catalog keep working.
    """


class CatalogFileNotFoundError(CatalogFileError, FileNotFoundError):
    """A nested catalog file that the top-level catalog names does not exist.

    It is a ``FileNotFoundError``, as the error of opening the file is, and a
    :class:`CatalogError`, as every other fault of the catalog YAML is.
    """


class CatalogReadError(EarthScopeError, NotImplementedError):
    """``read()`` or ``to_dask()`` was called on a catalog instead of one of its
    entries.

    It is a ``NotImplementedError``, as intake's own error for a catalog without
    data is.
    """


class ArchiveLayoutError(EarthScopeError, LookupError):
    """A listed key or object does not follow the collection's layout."""


class ObjectNotFoundError(EarthScopeError, FileNotFoundError):
    """An object the request needs does not exist in the archive."""


class MissingObjectsError(ObjectNotFoundError):
    """No object of the request's days exists to read channels and rates from.

    :func:`intake_earthscope.plan.make_plan` raises it. Callers that plan
    several spans, such as event windows, read the keys tried from it to
    report them together.

    Attributes
    ----------
    storage : str
        Where the objects were looked for, as ``StorageSpec.describe`` writes
        it.
    keys : tuple of str
        Keys of the request's days that were tried and not found. Empty where
        no key of those days matches the codes.
    """

    # Unpickling calls the class with the message alone, so the other
    # arguments need defaults.
    def __init__(
        self, message: str, storage: str = "", keys: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.storage = storage
        self.keys = tuple(keys)


class ObjectChangedError(EarthScopeError, OSError):
    """An object changed between two reads of one request: a ranged GET sent
    with the ETag of the first read got HTTP 412 (Precondition Failed)."""


class NoMatchingChannelError(EarthScopeError, LookupError):
    """An object exists but contains none of the requested channels."""


class ChannelNotFoundError(NoMatchingChannelError, InvalidRequestError):
    """The objects of a request exist but contain none of its channels.

    Also an :class:`InvalidRequestError`, which the waveform reader raised for
    this case before the class existed.
    """


class DecodeError(EarthScopeError, ValueError):
    """An object's bytes are not valid miniSEED."""


class StorageUnavailableError(EarthScopeError, ConnectionError):
    """The storage endpoint could not be reached."""


class BucketNotFoundError(StorageUnavailableError, FileNotFoundError):
    """The S3 bucket of a tier or ``root=`` does not exist on the server.

    No object of that storage can be read, so ``errors="warn"`` or
    ``errors="ignore"`` cannot read around it: the fix is the bucket name or
    the endpoint. Reads that carry on under those policies give their
    objects the status ``missing``, because the objects do not exist, and
    the warning names the bucket.
    """


class AccessDeniedError(EarthScopeError, PermissionError):
    """The archive rejected a request for lack of permission."""


class CredentialsError(EarthScopeError, PermissionError):
    """No credentials to sign a storage's requests with.

    EarthScope refused temporary credentials for a role, network and year,
    the process lacks the ``storage_options`` secrets of the process that
    opened the data, or botocore found no AWS credentials or no such profile.

    Attributes
    ----------
    key : str
        Key of the object whose read needed the credentials, or ``""`` where
        the error was raised for no object. The message names the storage.
    reason : str
        The message without the object, which the errors of several objects
        of one storage share.
    """

    def __init__(self, message: str, key: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.reason = reason or message

    def __reduce__(self) -> tuple[type[CredentialsError], tuple[str, str, str]]:
        # Pickles, such as those of errors raised on dask workers, keep the
        # key and the reason.
        message = str(self.args[0]) if self.args else ""
        return type(self), (message, self.key, self.reason)


class AuthenticationError(CredentialsError):
    """No usable EarthScope token: missing, expired beyond refresh, or rejected."""


class LoginServiceUnavailableError(AuthenticationError, ConnectionError):
    """The EarthScope login service could not be reached to refresh a token.

    Reads treat it as any token they cannot use, while the command line
    exits with the code of an unavailable service, since logging in again
    would not help.
    """


class WebServiceError(EarthScopeError, OSError):
    """A web service failed or returned a response this package cannot use.

    Raised for server errors (5xx), rejected requests without a more specific
    class (400, 429), too many redirects, timeouts and failed connections.
    """


class IntakeEarthScopeWarning(UserWarning):
    """Base class of the warnings intake-earthscope emits."""


class ReadOutcomeWarning(IntakeEarthScopeWarning):
    """An object could not be read and ``errors="warn"`` was set."""


class IgnoredParameterWarning(IntakeEarthScopeWarning):
    """A catalog call set parameters, away from their defaults, that the chosen
    entry does not use.

    intake's v2 catalog call, ``cat(name=value)``, passes each value to every
    entry, so an entry without that parameter reads as if it were unset.
    """


class MirrorLayoutWarning(IntakeEarthScopeWarning):
    """No object of a request exists under a local ``root=``, because the key
    layout starts a directory above or below it.

    The message names the root to pass.
    """


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_at_caller(
    message: str,
    category: type[Warning] = IntakeEarthScopeWarning,
    skip_dirs: Sequence[str] = (),
) -> None:
    """Warn with ``message``, pointing at the first caller outside this package.

    Only warnings raised in the caller's thread can point at its code. Those
    of dask tasks point into the package.

    Parameters
    ----------
    message : str
        The warning's text.
    category : type of Warning
        The warning's class.
    skip_dirs : sequence of str
        Directories of other packages whose frames are skipped as well, such
        as intake's when intake calls this package on the caller's behalf.
    """
    skipped = (_PACKAGE_DIR, *(os.path.join(path, "") for path in skip_dirs))
    level = 2
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(skipped):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
