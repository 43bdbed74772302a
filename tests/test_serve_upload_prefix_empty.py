"""serve rejects an --upload prefix with an empty part, as in a//b.

S3 keeps the two slashes in the key, so the objects land under
``a//b/...`` while a reader of the mirror at ``a/b`` finds nothing. The
prefix parts ``.`` and ``..`` are rejected for the same reason. The options
are checked before moto starts, so no server runs here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.s3serve import main


@pytest.mark.parametrize("prefix", ["a//b", "a/b//c", "a///b"])
def test_empty_prefix_part_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prefix: str
) -> None:
    (tmp_path / "f.txt").write_text("x")

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--upload", f"mirror/{prefix}={tmp_path}"])
    err = capsys.readouterr().err

    assert exited.value.code == 2
    assert "the prefix part '' is not a folder name" in err
    assert "--upload mirror/sage=./data" in err
