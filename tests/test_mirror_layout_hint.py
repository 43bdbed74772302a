"""A local root= one or two directories off the archive's key layout.

A mirror that copies a bucket contains BUCKET/miniseed/CH/2025/314/..., and
root= must name BUCKET. Where it names BUCKET/miniseed, BUCKET/miniseed/CH,
the folder above BUCKET or the one above that, no object is found, and
every message about the missing objects names BUCKET as the root to pass.
The mirrors are local directories with a real miniSEED recording.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_earthscope.availability import availability
from intake_earthscope.collection import Collection
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import (
    IntakeEarthScopeWarning,
    MirrorLayoutWarning,
    MissingObjectsError,
    ObjectNotFoundError,
    ReadOutcomeWarning,
)
from intake_earthscope.plan import key_prefix
from intake_earthscope.request import WaveformRequest
from intake_earthscope.storage import StorageSpec, mirror_layout_hint

from conftest import OBSPY_MSEED_DATA, collection_spec, mirror

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
OWN_KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
CODES = {
    "network": "CH",
    "station": "BALST",
    "location": "",
    "channel": "LHZ",
    "start": "2025-11-10",
    "end": "2025-11-11",
}

# Roots relative to the folder that contains the mirror "bucket".
MISPLACED_ROOTS = ["bucket/miniseed", "bucket/miniseed/CH", "."]


def bucket_mirror(tmp_path: Path, name: str = "bucket") -> Path:
    return mirror(tmp_path / name, {OWN_KEY: BALST.read_bytes()})


def advice(bucket: Path) -> str:
    return f"so pass root='{bucket}'"


def mirror_spec(root: Path) -> StorageSpec:
    tier = Collection.from_yaml(collection_spec("sage")).tier("open")
    return StorageSpec.for_tier(tier, root=str(root))


@pytest.mark.parametrize("relative", MISPLACED_ROOTS)
def test_open_names_bucket_root(tmp_path: Path, relative: str) -> None:
    bucket = bucket_mirror(tmp_path)
    root = (tmp_path / relative).resolve()

    with pytest.raises(MissingObjectsError) as caught:
        open_waveforms(collection_spec("sage"), root=str(root), **CODES)

    message = str(caught.value)
    assert f"the root {root} has no directory miniseed/CH/" in message
    assert message.endswith(advice(bucket))
    assert "open the request anyway" not in message


@pytest.mark.parametrize("relative", MISPLACED_ROOTS)
def test_wildcard_open_names_bucket_root(tmp_path: Path, relative: str) -> None:
    bucket = bucket_mirror(tmp_path)
    root = (tmp_path / relative).resolve()

    with pytest.raises(MissingObjectsError) as caught:
        open_waveforms(
            collection_spec("sage"), root=str(root), **{**CODES, "station": "BALS?"}
        )

    message = str(caught.value)
    assert "no object of sage.miniseed matches CH.BALS?" in message
    assert message.endswith(advice(bucket))


@pytest.mark.parametrize("relative", MISPLACED_ROOTS)
def test_warn_policy_names_bucket_root(tmp_path: Path, relative: str) -> None:
    bucket = bucket_mirror(tmp_path)
    root = (tmp_path / relative).resolve()
    dataset = open_waveforms(
        collection_spec("sage"),
        root=str(root),
        sampling_rate=1,
        errors="warn",
        **CODES,
    )

    with pytest.warns(ReadOutcomeWarning) as caught:
        dataset.load()

    messages = [str(warning.message) for warning in caught]
    assert any(advice(bucket) in message for message in messages), messages


def test_raise_policy_read_names_bucket_root(tmp_path: Path) -> None:
    bucket = bucket_mirror(tmp_path)
    root = bucket / "miniseed"
    dataset = open_waveforms(
        collection_spec("sage"), root=str(root), sampling_rate=1, **CODES
    )

    with pytest.raises(ObjectNotFoundError) as caught:
        dataset.load()

    assert advice(bucket) in str(caught.value)


@pytest.mark.parametrize("relative", MISPLACED_ROOTS)
@pytest.mark.parametrize("station", ["BALST", "BALS?"])
def test_availability_warns_bucket_root(
    tmp_path: Path, relative: str, station: str
) -> None:
    bucket = bucket_mirror(tmp_path)
    root = (tmp_path / relative).resolve()

    with pytest.warns(MirrorLayoutWarning) as caught:
        table = availability(
            collection_spec("sage"), root=str(root), **{**CODES, "station": station}
        )

    assert not table["exists"].any()
    assert len(caught) == 1
    assert str(caught[0].message).endswith(advice(bucket))
    assert caught[0].filename == __file__


def test_right_root_missing_day_no_advice(tmp_path: Path) -> None:
    bucket = bucket_mirror(tmp_path)

    with pytest.raises(MissingObjectsError) as caught:
        open_waveforms(
            collection_spec("sage"),
            root=str(bucket),
            **{**CODES, "start": "2025-11-12", "end": "2025-11-13"},
        )

    assert "so pass root=" not in str(caught.value)


def test_right_root_availability_silent(tmp_path: Path) -> None:
    bucket = bucket_mirror(tmp_path)
    request = {**CODES, "start": "2025-11-12", "end": "2025-11-13"}

    # The test configuration turns this package's warnings into errors, so
    # a layout warning would fail here. The day's object is absent, which
    # the warning about codes without objects reports.
    with pytest.warns(IntakeEarthScopeWarning, match="no object of CH.BALST") as caught:
        table = availability(collection_spec("sage"), root=str(bucket), **request)

    assert not table["exists"].any()
    assert not any(issubclass(w.category, MirrorLayoutWarning) for w in caught)


def test_unrelated_root_no_advice(tmp_path: Path) -> None:
    bucket_mirror(tmp_path / "elsewhere")
    root = tmp_path / "empty" / "mirror"
    root.mkdir(parents=True)

    with pytest.raises(MissingObjectsError) as caught:
        open_waveforms(collection_spec("sage"), root=str(root), **CODES)

    assert "so pass root=" not in str(caught.value)


def test_subdirectory_past_limit_not_checked(tmp_path: Path) -> None:
    # Subdirectories are checked in name order, the first 100 of them only.
    for index in range(100):
        (tmp_path / f"a{index:03d}").mkdir()
    bucket_mirror(tmp_path, "z")
    spec = mirror_spec(tmp_path)

    assert mirror_layout_hint(spec, OWN_KEY) == ""


def test_subdirectory_within_limit_found(tmp_path: Path) -> None:
    for index in range(99):
        (tmp_path / f"a{index:03d}").mkdir()
    bucket = bucket_mirror(tmp_path, "z")
    spec = mirror_spec(tmp_path)

    assert mirror_layout_hint(spec, OWN_KEY).endswith(advice(bucket))


def test_root_two_levels_above_found(tmp_path: Path) -> None:
    bucket = mirror(tmp_path / "archive" / "bucket", {OWN_KEY: BALST.read_bytes()})

    with pytest.raises(MissingObjectsError) as caught:
        open_waveforms(collection_spec("sage"), root=str(tmp_path), **CODES)

    message = str(caught.value)
    assert f"the root {tmp_path} has no directory miniseed/CH/" in message
    assert message.endswith(advice(bucket))


def test_second_level_past_limit_not_checked(tmp_path: Path) -> None:
    # The subdirectories of the first 10 subdirectories only are listed.
    for index in range(10):
        (tmp_path / f"a{index:03d}").mkdir()
    mirror(tmp_path / "b" / "bucket", {OWN_KEY: BALST.read_bytes()})
    spec = mirror_spec(tmp_path)

    assert mirror_layout_hint(spec, OWN_KEY) == ""


def test_second_level_within_limit_found(tmp_path: Path) -> None:
    for index in range(9):
        (tmp_path / f"a{index:03d}").mkdir()
    bucket = mirror(tmp_path / "b" / "bucket", {OWN_KEY: BALST.read_bytes()})
    spec = mirror_spec(tmp_path)

    assert mirror_layout_hint(spec, OWN_KEY).endswith(advice(bucket))


def test_second_level_count_limited(tmp_path: Path) -> None:
    # At most 100 directories of the second level are checked, by name.
    for index in range(100):
        (tmp_path / "a" / f"s{index:03d}").mkdir(parents=True)
    mirror(tmp_path / "a" / "z", {OWN_KEY: BALST.read_bytes()})
    spec = mirror_spec(tmp_path)

    assert mirror_layout_hint(spec, OWN_KEY) == ""


def test_s3_mirror_gets_no_advice() -> None:
    spec = StorageSpec("s3", "my-mirror/sage/miniseed", mirror=True)

    assert mirror_layout_hint(spec, OWN_KEY) == ""


def test_tier_directory_gets_no_advice(tmp_path: Path) -> None:
    bucket = bucket_mirror(tmp_path)
    spec = StorageSpec("file", str(bucket / "miniseed"), tier="open")

    assert mirror_layout_hint(spec, OWN_KEY) == ""


@pytest.mark.parametrize(
    ("archive", "codes", "prefix"),
    [
        ("sage", {}, "miniseed/CH/"),
        ("sage", {"network": "C?"}, "miniseed/"),
        ("sage", {"network": "CH,XX"}, "miniseed/"),
        ("scedc", {}, "continuous_waveforms/"),
        ("ncedc", {}, "continuous_waveforms/CH/"),
    ],
)
def test_key_prefix_of_exact_codes(
    archive: str, codes: dict[str, str], prefix: str
) -> None:
    collection = Collection.from_yaml(collection_spec(archive))
    request = WaveformRequest.build(**{**CODES, **codes})

    assert key_prefix(request, collection, "open") == prefix
