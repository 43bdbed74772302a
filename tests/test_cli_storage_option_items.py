"""Odd --storage-option items fail without showing text that may be secret.

An item without "=" may be a secret pasted without its name, so the
message gives its position, not its text. The names that the command line
rejects are the ones whose values the storage specs seal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.cli import EXIT_USAGE, main
from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.storage import seal_options

REQUEST = [
    "sage.miniseed", "--network", "CH", "--station", "BALST", "--location=--",
    "--channel", "LHZ", "--start", "2025-11-10", "--end", "2025-11-11",
]  # fmt: skip
PASTED = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *items: str
) -> tuple[int, str]:
    options = [part for item in items for part in ("--storage-option", item)]
    code = main(["export", *REQUEST, *options, str(tmp_path / "p.nc")])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("pasted", [PASTED, "AKIAIOSFODNN7EXAMPLE"])
def test_item_without_equals_not_echoed(
    pasted: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = export(tmp_path, capsys, "anon=false", pasted)

    assert code == EXIT_USAGE
    assert pasted not in err
    assert "--storage-option number 2" in err
    assert "write NAME=VALUE" in err


@pytest.mark.parametrize(
    "item",
    [
        "auth=user:hidden-1",
        "credentials=hidden-2",
        "Connection_String=hidden-3",
        "Authorization=Bearer hidden-4",
    ],
)
def test_sealed_names_rejected(
    item: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, _, value = item.partition("=")

    code, err = export(tmp_path, capsys, item)

    assert code == EXIT_USAGE
    assert "can read command lines" in err
    assert value not in err
    # The storage specs seal the same name.
    assert seal_options({name: "some-secret-value"})[name] != "some-secret-value"


def test_repeated_name_last_wins() -> None:
    from intake_earthscope.cli import _storage_options

    options = _storage_options(["anon=true", " anon = false ", "profile=a=b"])

    assert options == {"anon": False, "profile": "a=b"}


def test_empty_name_rejected() -> None:
    from intake_earthscope.cli import _storage_options

    with pytest.raises(InvalidRequestError, match="empty name"):
        _storage_options(["=secret-value"])


@pytest.mark.parametrize(
    "item", ["anon=0", "anon=none", "anon=no", "requester_pays=1", "use_ssl="]
)
def test_switch_needs_true_or_false(item: str) -> None:
    from intake_earthscope.cli import _storage_options

    # s3fs tests these options for truth, so the text "0" would switch on.
    with pytest.raises(InvalidRequestError, match="true or false") as raised:
        _storage_options([item])
    assert item.partition("=")[0] in str(raised.value)


@pytest.mark.parametrize(
    ("item", "expected"),
    [("anon=FALSE", False), ("use_ssl=True", True), ("profile=0", "0")],
)
def test_switch_values_read(item: str, expected: object) -> None:
    from intake_earthscope.cli import _storage_options

    name = item.partition("=")[0]
    assert _storage_options([item]) == {name: expected}
