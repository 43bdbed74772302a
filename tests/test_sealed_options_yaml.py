"""yaml() of a source with storage_options secrets loads back with intake.

yaml() writes each secret as a reference such as ``<secret sha256:...>``.
The process that has the secret reads with it again. Another process
fails on opening the entry, with a message that names the options and the
fixes, never a value.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import intake
import pytest

from intake_earthscope.errors import CredentialsError
from intake_earthscope.storage import SecretOption, seal_init_options, unseal_options

from conftest import CATALOGS

KEY = "AKIABREAKYAMLKEY00001"
SECRET = "break-yaml-secret-access-key-3c4d"
OPTIONS = {"key": KEY, "secret": SECRET, "anon": False}


def source_yaml() -> str:
    cat = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    source = cat.sage.miniseed(
        network="CH",
        station="BALST",
        location="",
        channel="LHZ",
        start="2025-11-10",
        end="2025-11-11",
        storage_options=OPTIONS,
    )
    return source.yaml()


def reopen(path: Path) -> Any:
    catalog = intake.open_catalog(str(path))
    return catalog[next(iter(catalog))]


def test_yaml_has_references() -> None:
    text = source_yaml()

    assert KEY not in text
    assert SECRET not in text
    assert "<secret sha256:" in text
    assert "!!python" not in text


def test_yaml_reopens_in_same_process(tmp_path: Path) -> None:
    path = tmp_path / "source.yaml"
    path.write_text(source_yaml())

    source = reopen(path)

    assert isinstance(source.storage_options["secret"], SecretOption)
    unsealed = unseal_options(source.storage_options, "test")
    assert unsealed == OPTIONS


def test_yaml_elsewhere_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "source.yaml"
    path.write_text(source_yaml())
    script = (
        "import intake\n"
        f"catalog = intake.open_catalog({str(path)!r})\n"
        "catalog[next(iter(catalog))]\n"
    )

    # A new interpreter has none of the secrets of this one.
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=240,
        env={"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"},
    )

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("intake_earthscope.errors.CredentialsError")
    assert "key, secret" in last
    assert "yaml()" in last
    assert "storage_options" in last
    assert KEY not in result.stderr
    assert SECRET not in result.stderr


def test_unknown_reference_rejected() -> None:
    options = {"secret": "<secret sha256:0000000000000000>"}

    with pytest.raises(CredentialsError, match="secret"):
        seal_init_options(options, {})
