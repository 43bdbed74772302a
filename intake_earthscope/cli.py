"""The ``intake-earthscope`` command line.

Exit codes: 0 success, 1 a command ran and found a problem (for ``auth``: no
usable token), 2 invalid usage (argparse's own code).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from typing import Any

from intake_earthscope import __version__
from intake_earthscope.errors import EarthScopeError

__all__ = ["main"]

EXIT_OK = 0
EXIT_PROBLEM = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_PROBLEM
    return int(args.run(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intake-earthscope",
        description="EarthScope and peer seismic archives for intake, xarray and dask.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    auth = commands.add_parser(
        "auth",
        help="show the EarthScope token in use and which tiers it can read",
        description=(
            "Show where the EarthScope token comes from, when it expires, and "
            "which tiers of the SAGE collection are usable now. Never prints a "
            "secret."
        ),
    )
    auth.add_argument("--profile", help="earthscope-sdk profile to use")
    auth.add_argument(
        "--token",
        help="path to a tokens.json to use (a token itself is better passed "
        "through EARTHSCOPE_TOKEN, which does not show in the process list)",
    )
    auth.add_argument(
        "--network",
        default="IU",
        help="network whose restricted-tier credentials to try (default IU)",
    )
    auth.set_defaults(run=_auth)
    return parser


def _auth(args: argparse.Namespace) -> int:
    from intake_earthscope.auth import resolve_token_source, token_expiry

    try:
        source = resolve_token_source(args.token, args.profile)
    except EarthScopeError as error:
        _print(f"token: none ({error})")
        _print("tiers usable now: open (anonymous)")
        return EXIT_PROBLEM

    _print(f"token source: {source.describe()}")
    try:
        expiry = token_expiry(source)
    except EarthScopeError as error:
        _print(f"access token: not usable ({error})")
        _print("tiers usable now: open (anonymous)")
        return EXIT_PROBLEM

    _print(f"access token expires: {_describe_expiry(expiry)}")
    usable = ["open (anonymous)", "fdsn web services (bearer token)"]
    usable.append(_restricted_status(source, args.network))
    _print("tiers usable now: " + "; ".join(usable))
    return EXIT_OK


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


if __name__ == "__main__":
    raise SystemExit(main())
