"""serve names a symbolic link to a FIFO or a device as a special file.

Such a link has a target, so calling it broken and asking for its target
to be created sends the user after the wrong fix. The walk of the upload
runs in this process, before any server would start.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intake_earthscope.s3serve import Upload, _plan_uploads


def planned_error(tree: Path) -> OSError:
    with pytest.raises(OSError) as raised:
        _plan_uploads([Upload("mirror", "", tree)])
    return raised.value


def test_link_to_fifo_named_special(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tree / "pipe-link"
    link.symlink_to(fifo)

    error = planned_error(tree)

    assert error.filename == str(link)
    assert "not a regular file" in str(error.strerror)
    assert "broken" not in str(error.strerror)


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
def test_link_to_device_named_special(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    link = tree / "null-link"
    link.symlink_to("/dev/null")

    error = planned_error(tree)

    assert error.filename == str(link)
    assert "not a regular file" in str(error.strerror)
    assert "create its target" not in str(error.strerror)


def test_broken_link_still_named_broken(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    link = tree / "gone"
    link.symlink_to(tmp_path / "missing")

    error = planned_error(tree)

    assert isinstance(error, FileNotFoundError)
    assert "broken symbolic link to" in str(error.strerror)
