"""Run the docs' examples and check their marks and links."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from conftest import REPO

# Pages whose Python examples run here, in this order and in one namespace.
EXECUTED_PAGES = ("docs/guide.md", "docs/internals.md")
CHECKED_PAGES = ("README.md", *EXECUTED_PAGES)

# A fence inside a list item is indented, and its lines share that indent.
PYTHON_FENCE = re.compile(r"^( *)```python\n(.*?)^\1```", re.DOTALL | re.MULTILINE)
ANY_FENCE = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")

ONLINE_MARK = "# Needs internet access"
# Commands and calls that reach a package index, an archive or a web service
# unless root= or --root names a local mirror.
ONLINE_CALL = re.compile(
    r"pip install"
    r"|intake-earthscope (?:auth|search|availability|export)"
    r"|\bcat\.\w+\.\w+\("
    r"|search_stations\("
)


def test_doc_examples_run(capsys) -> None:
    namespace: dict[str, object] = {}
    count = 0

    for page in EXECUTED_PAGES:
        blocks = PYTHON_FENCE.findall((REPO / page).read_text())
        for number, (_, block) in enumerate(blocks, start=1):
            code = compile(textwrap.dedent(block), f"{page} example {number}", "exec")
            exec(code, namespace)  # noqa: S102 - the docs are part of this repository
        count += len(blocks)

    output = capsys.readouterr().out
    assert count >= 6
    assert "['sage', 'scedc', 'ncedc', 'gage', 'noaa_cors', 'geonet']" in output
    assert "no channel of the request is sampled at 40 Hz (sampling_rate=40)" in output
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


def test_online_examples_marked() -> None:
    for page in CHECKED_PAGES:
        fences = ANY_FENCE.findall((REPO / page).read_text())

        for number, (language, body) in enumerate(fences, start=1):
            where = f"{page} code block {number}"
            if language == "python" and page in EXECUTED_PAGES:
                # The test suite runs these offline, so they must not say otherwise.
                assert not body.startswith(ONLINE_MARK), where
                continue

            reads_mirror = "root=" in body or "--root" in body
            if ONLINE_CALL.search(body) and not reads_mirror:
                assert body.startswith(ONLINE_MARK), f"{where} needs {ONLINE_MARK!r}"


def test_doc_links_resolve() -> None:
    for page in CHECKED_PAGES:
        source = REPO / page
        text = ANY_FENCE.sub("", source.read_text())

        for target in LINK.findall(text):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            linked = (source.parent / path).resolve() if path else source
            assert linked.is_file(), f"{page} links to missing {target}"
            if anchor:
                assert anchor in heading_anchors(linked), f"{page}: no {target}"


def heading_anchors(page: Path) -> set[str]:
    """Return the anchors GitHub gives the headings of a Markdown page."""
    text = ANY_FENCE.sub("", page.read_text())
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    return {
        re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        for heading in headings
    }
