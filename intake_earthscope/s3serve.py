"""The ``serve`` command: moto's S3 server on loopback, filled from folders.

``python -m intake_earthscope.testing serve`` runs this module's
:func:`main`. It prints ``{"port": PORT, ...}`` on one line, then the
settings that point the command line and AWS clients at the server, and
runs until its stdin closes, Ctrl-C or SIGTERM. A stdin that is closed or
/dev/null, as nohup and ``&`` in a script leave it, never closes, so only the
two signals stop the server then. ``--bucket NAME`` creates a bucket,
and ``--upload BUCKET=DIR`` stores every file under ``DIR`` in a bucket,
with its path as the key.

:class:`intake_earthscope.testing.LoopbackS3` runs this file by its path in
a child process, so the module imports only the standard library and
nothing of the package. moto and boto3 (the ``demo`` extra) are imported
when a server starts or a client is made.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.util
import json
import logging
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = [
    "DEFAULT_REGION",
    "LOOPBACK_HOST",
    "REMOVED_AWS_VARIABLES",
    "TEST_ACCESS_KEY_ID",
    "TEST_SECRET_ACCESS_KEY",
    "Upload",
    "create_bucket",
    "isolated_aws_environment",
    "isolated_aws_variables",
    "main",
    "put_public_object",
    "serve",
]

logger = logging.getLogger(__name__)

# Seconds between checks that the parent process still lives.
_PARENT_POLL_INTERVAL_S = 0.5

LOOPBACK_HOST = "127.0.0.1"
DEFAULT_REGION = "us-east-1"

# Throw-away credentials: moto accepts any key pair unless IAM is enforced.
TEST_ACCESS_KEY_ID = "testing"
TEST_SECRET_ACCESS_KEY = "testing"

# Variables that select other credentials, another endpoint or a region, and
# so could make a test reach something other than the loopback server.
# AWS_CA_BUNDLE stays, because it only changes TLS verification.
REMOVED_AWS_VARIABLES: tuple[str, ...] = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)

# Hosts that HTTP clients must reach directly, never through a proxy.
_LOOPBACK_NAMES = (LOOPBACK_HOST, "localhost")


def create_bucket(client: BaseClient, name: str, region: str = DEFAULT_REGION) -> None:
    """Create a bucket in ``region``.

    Parameters
    ----------
    client : botocore.client.BaseClient
        S3 client from :meth:`LoopbackS3.client`. Like AWS, moto 5.2 accepts
        a bucket outside us-east-1 only from a client for us-east-1 or for
        the bucket's own region.
    name : str
        Bucket name, at least 3 characters.
    region : str
        Region the bucket reports from ``GetBucketLocation`` and in the
        ``x-amz-bucket-region`` header.

    Raises
    ------
    ValueError
        If the client's region can create no bucket in ``region``.
    """
    client_region = client.meta.region_name
    if client_region not in (DEFAULT_REGION, region):
        raise ValueError(
            f"a client for {client_region} cannot create bucket {name!r} in "
            f"{region}; use a client for {DEFAULT_REGION} or {region}"
        )

    # us-east-1 is the default location and rejects an explicit constraint.
    if region == DEFAULT_REGION:
        client.create_bucket(Bucket=name)
        return
    client.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": region}
    )


def put_public_object(client: BaseClient, bucket: str, key: str, data: bytes) -> None:
    """Store an object with the ``public-read`` ACL, so unsigned requests read it.

    Without a bucket policy, moto 5.2 serves unsigned GET and HEAD requests
    only for objects with this ACL. A policy that grants ``s3:GetObject`` to
    everyone allows unsigned GET but leaves unsigned HEAD at 403, because
    moto checks HEAD as the action ``s3:HeadObject``.

    Parameters
    ----------
    client : botocore.client.BaseClient
        S3 client from :meth:`LoopbackS3.client`.
    bucket : str
        Existing bucket.
    key : str
        Object key. Characters such as ``#`` are sent percent-encoded by
        botocore and stored as given.
    data : bytes
        Object content.
    """
    client.put_object(Bucket=bucket, Key=key, Body=data, ACL="public-read")


@dataclass(frozen=True)
class Upload:
    """A local directory tree to store in a bucket of :func:`serve`.

    Every file under ``directory`` becomes the object ``prefix`` plus its
    path relative to ``directory``, with ``/`` between the parts. Hidden
    files are included, and symbolic links to files and directories are
    followed.
    """

    bucket: str
    prefix: str
    directory: Path

    def option(self) -> str:
        """Return the ``--upload`` value that gives this upload."""
        target = f"{self.bucket}/{self.prefix}".rstrip("/")
        return f"{target}={self.directory}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line: ``serve`` starts a server in this process.

    Returns 0 once the server has stopped, also after Ctrl-C or SIGTERM, and
    2 when a file of an upload cannot be stored. Invalid options exit with
    status 2, and a missing moto with status 1, before the server starts.
    """
    parser, serve_parser = _argument_parsers()
    arguments, unrecognized = parser.parse_known_args(argv)
    if unrecognized:
        serve_parser.error(
            f"unrecognized arguments: {' '.join(unrecognized)}. "
            "Run serve --help to list the options"
        )
    uploads = [_parse_upload(serve_parser, value) for value in arguments.upload]
    _check_bucket_names(serve_parser, arguments.bucket, uploads)
    _check_region(serve_parser, arguments.region)
    try:
        _require_module("moto", "serve")
    except ImportError as error:
        serve_parser.exit(1, f"{serve_parser.prog}: error: {error}\n")

    try:
        serve(
            parent_pid=arguments.parent_pid,
            buckets=arguments.bucket,
            uploads=uploads,
            region=arguments.region,
        )
    except KeyboardInterrupt as interrupt:
        # serve() stopped the server on its way out.
        cause = "SIGTERM" if isinstance(interrupt, _Terminated) else "Ctrl-C"
        print(f"stopped the loopback S3 server ({cause})", file=sys.stderr)
        return 0
    except BrokenPipeError:
        # serve() stopped the server, which no one could find without the
        # port. stdout goes to os.devnull, so that the flush at exit does
        # not raise again.
        if sys.__stdout__ is not None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())
        print(
            f"{serve_parser.prog}: error: stdout was closed before the port "
            "was printed, so the server stopped",
            file=sys.stderr,
        )
        return 1
    except OSError as error:
        # Upload failures carry the file in ``filename`` and the reason and
        # the fix in ``strerror``. Any other OSError is unexpected here, so it
        # keeps its traceback.
        if error.filename is None:
            raise
        # A path with a line feed or another control character is quoted, so
        # the error stays one line.
        path = str(error.filename)
        printed_path = path if path.isprintable() else repr(path)
        print(
            f"{serve_parser.prog}: error: {printed_path}: {error.strerror}",
            file=sys.stderr,
        )
        return 2
    if arguments.parent_pid is None:
        print("stopped the loopback S3 server (end of input)", file=sys.stderr)
    return 0


_SERVE_DESCRIPTION = """\
Run moto's S3 emulation on 127.0.0.1 at a port the operating system picks,
until Ctrl-C, SIGTERM (kill PID) or until stdin closes (Ctrl-D on a
terminal). A stdin that is closed or /dev/null, as under nohup, does not
stop the server, and a line on stderr names the signals that do. This is a
test server, not EarthScope, and every bucket and object is lost when it
stops.

The first line of output is JSON with "port", "endpoint_url" and "buckets".
The lines after it give the options and shell variables that point
intake-earthscope and AWS clients at the server."""

_SERVE_EPILOG = """\
uploads:
  Every file under DIR is stored, hidden files included, and symbolic links
  are followed. Objects get the public-read ACL, so clients read them
  without credentials. If a file cannot be read (no permission, a broken
  symbolic link, a link to a directory above it, a FIFO, socket or device,
  or a file removed during the upload) or stored (a name that is not valid
  UTF-8, or a key that the server rejects), serve stops before it prints
  anything on stdout, names the file on stderr and exits with status 2.

  When two --upload items write the same key, the later item's file is
  stored, as when `aws s3 sync` runs once per item in the same order. serve
  prints a warning on stderr for each such pair of items, and the object
  counts it prints count each key once.

exit status:
  0 after Ctrl-C, SIGTERM or closed stdin, 1 when moto is not installed or
  stdout closes before the port is printed, and 2 for an invalid option or a
  file that cannot be stored.

example:
  python -m intake_earthscope.testing serve --upload my-mirror=./mirror"""


def _argument_parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Return the command's parser and its ``serve`` subcommand's parser."""
    parser = argparse.ArgumentParser(
        prog="python -m intake_earthscope.testing",
        description="Loopback S3 server for intake-earthscope tests and demos.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser(
        "serve",
        help="serve moto S3 on 127.0.0.1, print the port, run until Ctrl-C, "
        "SIGTERM or the end of input (Ctrl-D)",
        description=_SERVE_DESCRIPTION,
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve_parser.add_argument(
        "--bucket",
        action="append",
        default=[],
        metavar="NAME",
        help=(
            "create an empty bucket NAME of 3 to 63 lowercase letters, digits, "
            "dots and hyphens, as S3 requires (repeatable)"
        ),
    )
    serve_parser.add_argument(
        "--upload",
        action="append",
        default=[],
        metavar="BUCKET[/PREFIX]=DIR",
        help=(
            "store every file under the local directory DIR in BUCKET, with "
            "PREFIX and the file's path below DIR as its key. PREFIX is folder "
            "names separated by /, without ., .. or empty parts. Creates BUCKET if "
            "needed (repeatable)"
        ),
    )
    serve_parser.add_argument(
        "--region",
        default=DEFAULT_REGION,
        help=(
            "AWS region that the buckets report, such as eu-west-2 "
            f"(default {DEFAULT_REGION})"
        ),
    )
    serve_parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        metavar="PID",
        help=(
            "also exit when process PID is no longer this process's parent. "
            "LoopbackS3 sets it. Leave it out when you run serve by hand"
        ),
    )
    return parser, serve_parser


def _parse_upload(parser: argparse.ArgumentParser, value: str) -> Upload:
    """Split ``BUCKET[/PREFIX]=DIR``, or exit through ``parser`` if it is invalid."""
    target, separator, directory = value.partition("=")
    bucket, _, prefix = target.partition("/")
    if not separator or not bucket or not directory:
        parser.error(
            f"invalid --upload {value!r}: give BUCKET=DIR or BUCKET/PREFIX=DIR, "
            "such as --upload mirror=./data"
        )

    path = Path(directory).expanduser()
    if not path.exists():
        parser.error(
            f"invalid --upload {value!r}: directory {directory} does not exist "
            f"(looked for {path.absolute()}). Give the path of an existing directory"
        )
    if not path.is_dir():
        parser.error(
            f"invalid --upload {value!r}: {directory} is a file, not a directory. "
            "Give the directory that contains the files to store"
        )

    prefix = prefix.strip("/")
    odd = [
        part
        for part in prefix.split("/")
        if part in (".", "..") or part != part.strip()
    ]
    if "//" in prefix:
        # An empty part, as between the slashes of a//b.
        odd.insert(0, "")
    if odd:
        # S3 keeps ".", ".." and an empty part as characters of a key, and
        # readers of a mirror would look for the resolved path instead.
        parser.error(
            f"invalid --upload {value!r}: the prefix part {odd[0]!r} is not a "
            "folder name. Give the prefix as plain folder names, such as "
            "--upload mirror/sage=./data"
        )
    return Upload(bucket, f"{prefix}/" if prefix else "", path.resolve())


def _check_bucket_names(
    parser: argparse.ArgumentParser, buckets: Sequence[str], uploads: Sequence[Upload]
) -> None:
    """Exit through ``parser`` unless every bucket name follows S3's rules."""
    named = [(name, f"--bucket {name}") for name in buckets]
    named += [(upload.bucket, f"--upload {upload.option()}") for upload in uploads]
    for name, option in named:
        problem = _bucket_name_problem(name)
        if problem is None:
            continue
        parser.error(
            f"invalid bucket name {name!r} in {option}: {problem}. "
            f"{_bucket_name_hint(name)}"
        )


# S3's naming rules for general purpose buckets, from "General purpose
# bucket naming rules" in the Amazon S3 User Guide.
_BUCKET_CHARACTERS = re.compile(r"[a-z0-9.-]+")
_IP_ADDRESS_FORM = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3")


def _bucket_name_problem(name: str) -> str | None:
    """Return the S3 naming rule that ``name`` breaks, or None if it breaks none."""
    if not 3 <= len(name) <= 63:
        return f"it has {len(name)} characters, and S3 requires 3 to 63"
    if not _BUCKET_CHARACTERS.fullmatch(name):
        return "S3 allows only lowercase letters, digits, dots and hyphens"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "it must start and end with a lowercase letter or a digit"
    if ".." in name:
        return "it contains two adjacent dots"
    if _IP_ADDRESS_FORM.fullmatch(name):
        return "it has the form of an IP address"
    for prefix in _RESERVED_BUCKET_PREFIXES:
        if name.startswith(prefix):
            return f"S3 reserves the prefix {prefix!r}"
    for suffix in _RESERVED_BUCKET_SUFFIXES:
        if name.endswith(suffix):
            return f"S3 reserves the suffix {suffix!r}"
    return None


def _bucket_name_hint(name: str) -> str:
    """Return a sentence that suggests a valid name close to ``name``."""
    candidate = re.sub(r"[^a-z0-9.-]+", "-", name.lower())
    candidate = re.sub(r"\.{2,}", ".", candidate).strip(".-")[:63].rstrip(".-")
    if candidate != name and _bucket_name_problem(candidate) is None:
        return f"Use a name such as {candidate!r}."
    return (
        "Use 3 to 63 lowercase letters, digits, dots and hyphens, such as 'my-mirror'."
    )


# The form of AWS region names, such as us-east-1 or us-gov-west-1.
_REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


def _check_region(parser: argparse.ArgumentParser, region: str) -> None:
    """Exit through ``parser`` unless ``region`` has the form of an AWS region."""
    if not _REGION_NAME.fullmatch(region):
        parser.error(
            f"invalid --region {region!r}: give an AWS region name, such as "
            f"{DEFAULT_REGION} or eu-west-2"
        )


def serve(
    parent_pid: int | None = None,
    buckets: Sequence[str] = (),
    uploads: Sequence[Upload] = (),
    region: str = DEFAULT_REGION,
) -> None:
    """Serve moto S3 on a loopback port until stdin closes, a signal or the
    parent dies.

    Lists the files of the uploads, creates the buckets and stores the
    uploads, then prints one line of JSON on stdout: ``port``,
    ``endpoint_url`` and ``buckets``. Then it prints the settings that point
    the command line at the server, and points ``sys.stdout`` at stderr, so
    later prints cannot fill a pipe that the parent no longer reads.

    A stdin that is closed, /dev/null or fails to read never closes, so a
    line on stderr then names the signals that stop the server. SIGTERM
    stops it as Ctrl-C does, where this runs in the main thread and SIGTERM
    has its default action.

    Parameters
    ----------
    parent_pid : int, optional
        Process id of the parent. The server exits when its parent process
        id changes, which means the parent has died.
    buckets : sequence of str
        Buckets to create.
    uploads : sequence of Upload
        Directory trees to store, each in its bucket, which is created if
        ``buckets`` lacks it. Objects get the ``public-read`` ACL, so
        unsigned requests read them. Where two uploads give the same key,
        the later upload's file is stored, and a warning line on stderr
        names both uploads.
    region : str
        Region of the buckets.

    Raises
    ------
    OSError
        If a file or directory of an upload cannot be read, with its path in
        ``filename`` and the reason and the fix in ``strerror``. Nothing has
        been printed on stdout then, and the server has stopped.
    KeyboardInterrupt
        On Ctrl-C or SIGTERM, after the server has stopped.
    """
    from moto.server import ThreadedMotoServer

    # Broken links, link loops, special files and directories that cannot be
    # listed stop serve here, before the server starts. Files without read
    # permission show up when they are read, after it has started.
    objects, overlaps = _plan_uploads(uploads)
    for warning in overlaps:
        print(f"warning: {warning}", file=sys.stderr, flush=True)

    # Silence werkzeug's line per request.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(LOOPBACK_HOST, 0, verbose=False)
    with _sigterm_interrupts():
        server.start()
        try:
            _, port = server.get_host_and_port()
            endpoint_url = f"http://{LOOPBACK_HOST}:{port}"
            counts = _fill_buckets(endpoint_url, region, buckets, objects)
            summary = {"port": port, "endpoint_url": endpoint_url, "buckets": [*counts]}
            print(json.dumps(summary), flush=True)
            print(_settings_text(endpoint_url, region, counts, uploads), flush=True)
            sys.stdout = sys.stderr
            _wait_for_stdin_close_or_orphan(parent_pid)
        finally:
            server.stop()


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl-C raises KeyboardInterrupt."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM raise :class:`_Terminated` while the block runs.

    Only the main thread can set a handler. A handler that the embedding
    program set, or an ignored SIGTERM, stays as it is.
    """
    in_main_thread = threading.current_thread() is threading.main_thread()
    if not in_main_thread or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def interrupt(number: int, frame: object) -> None:
        raise _Terminated

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _plan_uploads(
    uploads: Sequence[Upload],
) -> tuple[dict[str, dict[str, tuple[Path, Upload]]], list[str]]:
    """Map each upload bucket's keys to the files to store under them.

    Where two uploads give the same key, the later upload's file is kept, as
    when ``aws s3 sync`` runs once per upload in the same order. Also returns
    one warning per pair of uploads that give the same keys.
    """
    objects: dict[str, dict[str, tuple[Path, Upload]]] = {}
    writers: dict[tuple[str, str], Upload] = {}
    replaced: dict[tuple[Upload, Upload], list[str]] = {}
    for upload in uploads:
        keys = objects.setdefault(upload.bucket, {})
        for key, path in _list_upload_files(upload):
            earlier = writers.get((upload.bucket, key))
            if earlier is not None:
                replaced.setdefault((earlier, upload), []).append(key)
            writers[(upload.bucket, key)] = upload
            keys[key] = (path, upload)

    overlaps = [
        _overlap_warning(earlier, later, keys)
        for (earlier, later), keys in replaced.items()
    ]
    return objects, overlaps


def _overlap_warning(earlier: Upload, later: Upload, keys: Sequence[str]) -> str:
    noun = "object" if len(keys) == 1 else "objects"
    return (
        f"--upload {later.option()} replaces {len(keys)} {noun} of "
        f"--upload {earlier.option()}, such as s3://{later.bucket}/{keys[0]}. "
        "The later --upload wins, as with aws s3 sync."
    )


def _list_upload_files(upload: Upload) -> list[tuple[str, Path]]:
    """Return the key and path of each file under ``upload.directory``.

    Raises
    ------
    OSError
        For a directory that cannot be listed, a broken symbolic link, a
        symbolic link to a directory that contains it, or an entry that is
        neither a file nor a directory.
    """
    files: list[tuple[str, Path]] = []
    top = frozenset([upload.directory.resolve()])
    _collect_files(upload, upload.directory, top, files)
    return sorted(files)


def _collect_files(
    upload: Upload,
    directory: Path,
    ancestors: frozenset[Path],
    files: list[tuple[str, Path]],
) -> None:
    """Append the files under ``directory`` to ``files``, following links.

    ``ancestors`` contains the resolved paths of ``directory`` and of the
    directories above it, so a link back to one of them ends the walk with
    an error, not an endless loop.
    """
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as error:
        reason = f"cannot list this directory: {error.strerror}"
        raise _upload_error(upload, directory, error, reason) from error

    for entry in entries:
        path = Path(entry.path)
        try:
            is_directory, is_file = entry.is_dir(), entry.is_file()
        except OSError as error:
            raise _upload_error(upload, path, error) from error

        if is_directory:
            target = path.resolve()
            if target in ancestors:
                raise _upload_error(
                    upload,
                    path,
                    OSError(errno.ELOOP, os.strerror(errno.ELOOP)),
                    f"symbolic link to {target}, which contains the link",
                    "Remove the link or point it outside that directory",
                )
            _collect_files(upload, path, ancestors | {target}, files)
        elif is_file:
            key = upload.prefix + path.relative_to(upload.directory).as_posix()
            _check_key_encoding(upload, path, key)
            files.append((key, path))
        elif entry.is_symlink() and not os.path.exists(path):
            # A link to a FIFO or a device exists and is no file either, so
            # it falls through to the error for special files.
            raise _upload_error(
                upload,
                path,
                FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT)),
                f"broken symbolic link to {os.readlink(path)}",
                "Remove the link or create its target",
            )
        else:
            raise _upload_error(
                upload,
                path,
                OSError(errno.EINVAL, os.strerror(errno.EINVAL)),
                "not a regular file (a FIFO, socket or device), so it has no "
                "content to store",
                f"Move it out of {upload.directory}",
            )


def _check_key_encoding(upload: Upload, path: Path, key: str) -> None:
    """Raise an upload error unless ``key`` encodes as UTF-8, as S3 keys must.

    A file name that is not valid UTF-8 reaches Python with its bytes as
    lone surrogates, which no request can carry.
    """
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as error:
        raise _upload_error(
            upload,
            path,
            OSError(errno.EILSEQ, os.strerror(errno.EILSEQ)),
            "the file name is not valid UTF-8, which S3 keys must be",
            "Rename it",
        ) from error


def _upload_error(
    upload: Upload,
    path: Path,
    cause: OSError,
    reason: str = "",
    fix: str = "",
) -> OSError:
    """Return an error of the same class as ``cause`` for ``path``, whose
    ``strerror`` is one line with the reason and the fix."""
    if not reason:
        reason = (cause.strerror or str(cause)).lower()
    if not fix:
        fix = _upload_fix(upload, cause)
    message = f"{reason} (--upload {upload.option()}). {fix}, then run serve again"
    return type(cause)(cause.errno, message, str(path))


def _upload_fix(upload: Upload, cause: OSError) -> str:
    """Return the action that fixes ``cause``, as a sentence without its period."""
    if isinstance(cause, PermissionError):
        return f"Make it readable (chmod a+rX) or move it out of {upload.directory}"
    if isinstance(cause, FileNotFoundError):
        return (
            "It was removed while serve was storing the upload. Wait until "
            f"{upload.directory} stops changing"
        )
    return f"Fix its access or move it out of {upload.directory}"


def _fill_buckets(
    endpoint_url: str,
    region: str,
    buckets: Sequence[str],
    objects: Mapping[str, Mapping[str, tuple[Path, Upload]]],
) -> dict[str, int]:
    """Create the buckets, store the files of ``objects`` under their keys,
    and return the objects stored per bucket, in the order the buckets were
    first named."""
    counts = dict.fromkeys([*buckets, *objects], 0)
    if not counts:
        return counts

    # Blank AWS settings, so a profile of the user that does not exist, or an
    # endpoint variable, cannot stop or redirect the setup requests.
    with tempfile.TemporaryDirectory() as scratch, isolated_aws_environment(scratch):
        client = _client(endpoint_url, region)
        for bucket in counts:
            create_bucket(client, bucket, region)
        for bucket, files in objects.items():
            for key, (path, upload) in files.items():
                data = _read_upload_file(upload, path)
                _store_upload_file(client, upload, path, bucket, key, data)
            counts[bucket] = len(files)
            logger.info("stored %d objects in bucket %s", len(files), bucket)
    return counts


def _store_upload_file(
    client: BaseClient, upload: Upload, path: Path, bucket: str, key: str, data: bytes
) -> None:
    """Store one file; raise an upload error if the server rejects its key.

    moto rejects some keys that S3 accepts, such as one with a line feed.
    """
    from botocore.exceptions import ClientError

    try:
        put_public_object(client, bucket, key, data)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "an error")
        raise _upload_error(
            upload,
            path,
            OSError(errno.EINVAL, os.strerror(errno.EINVAL)),
            f"the S3 server rejected the key {key!r} with {code}",
            "Rename the file",
        ) from error


def _read_upload_file(upload: Upload, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise _upload_error(upload, path, error) from error


def _settings_text(
    endpoint_url: str,
    region: str,
    counts: Mapping[str, int],
    uploads: Sequence[Upload] = (),
) -> str:
    """Return the lines that tell a user how to reach the server from a shell."""
    lines = [
        f"# moto S3 test server at {endpoint_url}, not EarthScope. Stop it with "
        "Ctrl-C or Ctrl-D, which discards every bucket.",
    ]
    for bucket, count in counts.items():
        noun = "object" if count == 1 else "objects"
        lines.append(f"# bucket {bucket} ({region}): {count} {noun}")
    example = _example_root(counts, uploads)
    lines += [
        "# Command-line options that read a bucket as a mirror, unsigned:",
        f"#   --root s3://{example} --storage-option endpoint_url={endpoint_url}",
        "# Or send every S3 request of a shell to this server:",
        f"export AWS_ENDPOINT_URL_S3={endpoint_url}",
        "export AWS_EC2_METADATA_DISABLED=true",
    ]
    return "\n".join(lines)


def _example_root(counts: Mapping[str, int], uploads: Sequence[Upload]) -> str:
    """Return the bucket, with the prefix of its first upload, that the
    settings show as a mirror: one with objects where there is one."""
    filled = [bucket for bucket, count in counts.items() if count]
    bucket = next(iter(filled or counts), "BUCKET")
    # A mirror's root is the top of its key layout, which an upload's prefix
    # puts below the bucket.
    prefix = next((upload.prefix for upload in uploads if upload.bucket == bucket), "")
    return f"{bucket}/{prefix}".rstrip("/")


def _client(endpoint_url: str, region: str) -> BaseClient:
    """Create a boto3 S3 client signed with the throw-away test credentials,
    using path-style addressing and no proxy."""
    import boto3
    from botocore.config import Config

    config = Config(proxies={}, s3={"addressing_style": "path"})
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=TEST_ACCESS_KEY_ID,
        aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
        config=config,
    )


def _wait_for_stdin_close_or_orphan(parent_pid: int | None) -> None:
    stdin_closed = threading.Event()
    hint = _stop_hint()
    unwatched = _unwatched_stdin()
    if unwatched is None:
        assert sys.stdin is not None
        watch = threading.Thread(
            target=_watch_stdin,
            args=(sys.stdin.fileno(), stdin_closed, hint),
            name="stdin-watch",
            daemon=True,
        )
        watch.start()
    else:
        _print_stop_note(unwatched, hint)

    # A dead parent closes the pipe too, unless a forked process keeps it
    # open, so the parent's process id is polled as well.
    while not stdin_closed.wait(_PARENT_POLL_INTERVAL_S):
        if parent_pid is not None and os.getppid() != parent_pid:
            return


def _unwatched_stdin() -> str | None:
    """Return why end of input cannot stop the server, or None where it can.

    End of input on a closed stdin or on /dev/null comes at once and means
    nothing, because nohup and shell scripts that start serve with ``&``
    leave stdin so.
    """
    if sys.stdin is None:
        # File descriptor 0 was closed when the process started.
        return "stdin is closed"
    try:
        status = os.fstat(sys.stdin.fileno())
    except (OSError, ValueError) as error:
        return f"stdin cannot be read ({error})"
    if stat.S_ISCHR(status.st_mode) and status.st_rdev == _null_device():
        return f"stdin is {os.devnull}"
    return None


def _null_device() -> int | None:
    """Return the device number of /dev/null, or None where it is missing."""
    try:
        return os.stat(os.devnull).st_rdev
    except OSError:
        return None


def _watch_stdin(descriptor: int, closed: threading.Event, hint: str) -> None:
    """Read ``descriptor`` to its end, then set ``closed``."""
    # os.read takes no lock, unlike sys.stdin.buffer.read, so the process can
    # shut down while this thread still waits for input.
    try:
        while os.read(descriptor, 4096):
            pass
    except OSError as error:
        # A descriptor open only for writing fails with EBADF, and a terminal
        # that hung up with EIO. Neither can report an end of input later.
        _print_stop_note(f"reading stdin failed ({error})", hint)
        return
    closed.set()


def _stop_hint() -> str:
    """Return the ways to stop this process by a signal that it does not ignore."""
    ways = []
    if signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
        ways.append("Ctrl-C (SIGINT)")
    if signal.getsignal(signal.SIGTERM) != signal.SIG_IGN:
        ways.append(f"`kill {os.getpid()}` (SIGTERM)")
    if not ways:
        ways.append(f"`kill -KILL {os.getpid()}`, as it ignores SIGINT and SIGTERM")
    return " or ".join(ways)


def _print_stop_note(reason: str, hint: str) -> None:
    print(
        f"{reason}, so end of input cannot stop the server; stop it with {hint}",
        file=sys.stderr,
        flush=True,
    )


def _require_module(module: str, user: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ImportError(
            f"{user} requires {module}, which is not installed; "
            "install intake-earthscope[demo]"
        )


def isolated_aws_variables(tmp_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Create blank AWS configuration files and return variables that use them.

    Parameters
    ----------
    tmp_dir : str or os.PathLike
        Existing directory that receives the empty ``aws-config`` and
        ``aws-credentials`` files.

    Returns
    -------
    dict[str, str]
        Values to set: throw-away credentials, the blank files,
        ``AWS_EC2_METADATA_DISABLED=true``, and ``NO_PROXY``/``no_proxy``
        extended with the loopback names. Remove
        :data:`REMOVED_AWS_VARIABLES` as well, or use
        :func:`isolated_aws_environment`, which does both.
    """
    directory = Path(tmp_dir)
    config_file = directory / "aws-config"
    credentials_file = directory / "aws-credentials"
    config_file.write_text("")
    credentials_file.write_text("")

    variables = {
        "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY,
        "AWS_CONFIG_FILE": str(config_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name in ("NO_PROXY", "no_proxy"):
        variables[name] = _with_loopback_names(os.environ.get(name, ""))
    return variables


@contextlib.contextmanager
def isolated_aws_environment(
    tmp_dir: str | os.PathLike[str],
) -> Iterator[dict[str, str]]:
    """Run a block with throw-away AWS credentials and blank AWS config files.

    Sets the variables of :func:`isolated_aws_variables`, removes
    :data:`REMOVED_AWS_VARIABLES` (profiles, session tokens, endpoint and
    region overrides, container and web-identity credentials) and restores
    every one of them on exit, also when the block raises.

    Parameters
    ----------
    tmp_dir : str or os.PathLike
        Existing directory for the blank configuration files.

    Yields
    ------
    dict[str, str]
        The variables that were set.

    Examples
    --------
    >>> with isolated_aws_environment(tmp_path) as variables:  # doctest: +SKIP
    ...     variables["AWS_ACCESS_KEY_ID"]
    'testing'
    """
    variables = isolated_aws_variables(tmp_dir)
    names = [*variables, *REMOVED_AWS_VARIABLES]
    saved = {name: os.environ.get(name) for name in names}

    try:
        for name in REMOVED_AWS_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(variables)
        yield variables
    finally:
        _restore_environment(saved)


def _with_loopback_names(no_proxy: str) -> str:
    names = [name.strip() for name in no_proxy.split(",") if name.strip()]
    names += [name for name in _LOOPBACK_NAMES if name not in names]
    return ",".join(names)


def _restore_environment(saved: Mapping[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


if __name__ == "__main__":
    sys.exit(main())
