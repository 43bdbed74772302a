"""Run the user guide's examples, top to bottom, in one namespace."""

from __future__ import annotations

import re

from conftest import REPO

FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_guide_examples_run(capsys) -> None:
    text = (REPO / "docs" / "guide.md").read_text()
    blocks = FENCE.findall(text)
    namespace: dict[str, object] = {}

    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"docs/guide.md example {number}", "exec")
        exec(code, namespace)  # noqa: S102 - the guide is part of this repository

    output = capsys.readouterr().out
    assert len(blocks) >= 6
    assert "['sage', 'scedc', 'ncedc', 'gage', 'noaa_cors', 'geonet']" in output
    assert "no channel of the request is sampled at sampling_rate=40" in output
    assert "pick one with sampling_rate=1" in output
    assert "'missing'" in output
    assert "2025-11-10T00:59:59.580000Z" in output
    # The event windows converted to obspy: two windows of two channels.
    assert "4 180\n2025-11-10T02:59:00.205000Z\n2025-11-10T03:00:00.000000Z\n" in output

    # Only the loopback S3 example reads from a bucket; the others read root=.
    storage_line = "s3://earthscope-geophysical-data (region us-east-2)\n"
    assert storage_line in output
    tier_line, read_mode_line = output.split(storage_line, 1)[1].splitlines()[:2]
    assert tier_line == "['open' 'open']"
    assert read_mode_line == "['ranged' 'ranged']"
