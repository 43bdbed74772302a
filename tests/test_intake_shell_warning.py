"""Opening a catalog entry prints none of intake's shell-command warnings.

intake 2.0.9 warns "Shell command not executed due to getshell=False" for
each string parameter of an entry. The test suite's own filter would hide
that warning, so a fresh interpreter opens an entry with every warning shown.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import CATALOGS

SCRIPT = """
import warnings
import intake
catalog = intake.open_catalog({path!r})
source = catalog.sage.miniseed(
    network="IU", station="ANMO", location="00", channel="BHZ",
    start="2024-01-01", end="2024-01-02",
)
print(type(source).__name__)
"""


def run_script(path: str, after: str = "") -> subprocess.CompletedProcess[str]:
    """Run SCRIPT on the catalog ``path``, then the statements ``after``."""
    code = SCRIPT.format(path=path) + after
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_entry_open_has_no_shell_warning() -> None:
    finished = run_script(str(CATALOGS / "earthscope.yaml"))

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "MiniseedSource"
    assert "Shell command not executed" not in finished.stderr


def test_other_user_warnings_still_shown() -> None:
    """The filter names intake's message only: other warnings still show."""
    finished = run_script(
        str(CATALOGS / "earthscope.yaml"), "warnings.warn('other warning')\n"
    )

    assert finished.returncode == 0, finished.stderr
    assert "UserWarning: other warning" in finished.stderr
