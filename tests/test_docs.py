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
