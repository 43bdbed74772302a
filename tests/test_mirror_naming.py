"""Messages, tables and metadata name a root= mirror and the object read.

A read of a mirror given with root= names the mirror and its directory or
URL where a read of a tier names the tier. A CredentialsError for
storage_options secrets that a process lacks names the object's key, so
a joint message names each object by its key and states the advice once.
The command line spells the endpoint advice as its --storage-option.

Mirrors are local directories and buckets on the loopback moto server,
and the objects are real miniSEED recordings.
"""

from __future__ import annotations

import pickle
import socket
from pathlib import Path
from typing import Any

import intake
import pytest
from test_graph_secrets import FLAT, SECRETS, assert_no_secret, compute_elsewhere

from intake_earthscope.availability import availability
from intake_earthscope.cli import EXIT_PROBLEM, _command_line_spelling, main
from intake_earthscope.collection import Collection
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import (
    AccessDeniedError,
    CredentialsError,
    ObjectNotFoundError,
    StorageUnavailableError,
)
from intake_earthscope.outcomes import joint_failure, previous_day_error
from intake_earthscope.storage import StorageSpec, _endpoint_advice, read_bytes
from intake_earthscope.testing import LoopbackS3, create_bucket

from conftest import CATALOGS, OBSPY_MSEED_DATA, collection_spec, mirror, publish

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
OWN_KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
PREVIOUS_KEY = "miniseed/CH/2025/313/BALST.CH.2025.313"
MISSING_KEY = "miniseed/CH/2025/315/BALST.CH.2025.315"
BUCKET = "my-mirror"
PREFIX = "sage"
S3_ROOT = f"s3://{BUCKET}/{PREFIX}"
CODES = {
    "network": "CH",
    "station": "BALST",
    "location": "",
    "channel": "LHZ",
    "start": "2025-11-10",
    "end": "2025-11-11",
}
DAY_NS = 1_762_732_800_000_000_000  # 2025-11-10T00:00Z


def open_tier() -> Any:
    return Collection.from_yaml(collection_spec("sage")).tier("open")


def local_mirror(tmp_path: Path) -> Path:
    return mirror(tmp_path / "sage", {OWN_KEY: BALST.read_bytes()})


def s3_mirror(s3: LoopbackS3, *, public: bool = True) -> None:
    """Store the day's object under the mirror's prefix on the moto server."""
    client = s3.client()
    create_bucket(client, BUCKET)
    acl = {"ACL": "public-read"} if public else {}
    client.put_object(
        Bucket=BUCKET, Key=f"{PREFIX}/{OWN_KEY}", Body=BALST.read_bytes(), **acl
    )


def closed_url() -> str:
    """URL of a loopback port that was free a moment ago and has no listener."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- local directory mirrors --------------------------------------------------


def test_local_mirror_availability_tier(tmp_path: Path) -> None:
    root = local_mirror(tmp_path)

    table = availability(collection_spec("sage"), root=str(root), **CODES)

    assert list(table["tier"]) == [f"mirror {root}"]
    assert bool(table["exists"].iloc[0])


def test_local_mirror_dataset_tier(tmp_path: Path) -> None:
    root = local_mirror(tmp_path)

    dataset = open_waveforms(collection_spec("sage"), root=str(root), **CODES)

    assert dataset.attrs["tier"] == f"mirror {root}"
    assert set(dataset.tier.values.ravel()) == {"mirror"}


def test_local_mirror_discover_tier(tmp_path: Path) -> None:
    root = local_mirror(tmp_path)
    catalog = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    source = catalog.sage.miniseed(root=str(root), **CODES)

    metadata = source.discover()["metadata"]

    assert metadata["tier"] == f"mirror {root}"
    assert source.metadata["tier"] == f"mirror {root}"


def test_local_mirror_missing_object(tmp_path: Path) -> None:
    root = local_mirror(tmp_path)
    spec = StorageSpec.for_tier(open_tier(), root=str(root))

    with pytest.raises(ObjectNotFoundError) as missing:
        read_bytes(spec, MISSING_KEY)

    message = str(missing.value)
    assert f"(mirror {root})" in message
    assert "tier 'open'" not in message


def test_local_mirror_missing_day_raises(tmp_path: Path) -> None:
    root = local_mirror(tmp_path)
    request = {**CODES, "station": "BALS?", "end": "2025-11-12"}

    with pytest.raises(ObjectNotFoundError) as missing:
        open_waveforms(collection_spec("sage"), root=str(root), **request).load()

    message = str(missing.value)
    assert f"not in the listing of mirror {root}" in message
    assert "tier 'open'" not in message


def test_tier_read_keeps_tier_name(s3: LoopbackS3) -> None:
    publish(s3, "sage", {OWN_KEY: BALST.read_bytes()})

    table = availability(collection_spec("sage"), tier="open", **CODES)

    assert list(table["tier"]) == ["open"]


# -- mirrors on the moto S3 server ----------------------------------------------


def test_s3_mirror_availability_tier(s3: LoopbackS3) -> None:
    s3_mirror(s3)

    table = availability(
        collection_spec("sage"), root=S3_ROOT, storage_options={"anon": True}, **CODES
    )

    assert list(table["tier"]) == [f"mirror {S3_ROOT}"]
    assert bool(table["exists"].iloc[0])


def test_s3_mirror_denied_names_mirror(s3: LoopbackS3) -> None:
    s3_mirror(s3, public=False)
    spec = StorageSpec.for_tier(open_tier(), root=S3_ROOT)

    with pytest.raises(AccessDeniedError) as denied:
        read_bytes(spec, OWN_KEY)

    message = str(denied.value)
    assert f"on mirror {S3_ROOT}:" in message
    assert "tier 'open'" not in message


def test_mirror_login_left_out() -> None:
    spec = StorageSpec.for_tier(
        open_tier(), root="s3://reader:hunter2-password@bucket/sage"
    )

    assert spec.origin == "mirror s3://bucket/sage"
    assert spec.tier_label == "mirror s3://bucket/sage"
    assert "hunter2" not in spec.describe_origin()
    assert spec.describe() == "s3://bucket/sage"


def test_s3_mirror_names_contain_no_secret(s3: LoopbackS3) -> None:
    s3_mirror(s3)

    table = availability(
        collection_spec("sage"), root=S3_ROOT, storage_options=FLAT, **CODES
    )
    spec = StorageSpec.for_tier(open_tier(), FLAT, root=S3_ROOT)

    assert list(table["tier"]) == [f"mirror {S3_ROOT}"]
    for text in (spec.origin, spec.tier_label, spec.describe_origin()):
        assert_no_secret(text)


# -- CredentialsError names the object ------------------------------------------


def test_missing_secret_names_key(s3: LoopbackS3, monkeypatch) -> None:
    s3_mirror(s3)
    spec = StorageSpec.for_tier(open_tier(), FLAT, root=S3_ROOT)
    # A process that never kept the values, as a worker process.
    monkeypatch.setattr("intake_earthscope.redact._kept_secrets", {})

    with pytest.raises(CredentialsError) as caught:
        read_bytes(spec, OWN_KEY)

    error = caught.value
    assert error.key == OWN_KEY
    assert str(error).startswith(f"cannot read {OWN_KEY}: ")
    assert f"of mirror {S3_ROOT} stay in the process" in str(error)
    assert OWN_KEY not in error.reason
    assert_no_secret(str(error))


def test_credentials_error_pickles_key() -> None:
    error = CredentialsError(f"cannot read {OWN_KEY}: no keys", OWN_KEY, "no keys")

    copy = pickle.loads(pickle.dumps(error))

    assert str(copy) == str(error)
    assert copy.key == OWN_KEY
    assert copy.reason == "no keys"


def test_joint_message_names_both_keys() -> None:
    reason = "the storage_options credentials stay in the other process"
    previous = CredentialsError(
        f"cannot read {PREVIOUS_KEY}: {reason}", PREVIOUS_KEY, reason
    )
    own = CredentialsError(f"cannot read {OWN_KEY}: {reason}", OWN_KEY, reason)
    reported = previous_day_error(previous, PREVIOUS_KEY, "tier 'open'", DAY_NS)
    failures = [("access_denied", reported), ("access_denied", own)]

    message = str(joint_failure("both failed:", failures, own="the object of X"))

    assert message.count(reason) == 1
    assert message.count(PREVIOUS_KEY) == 1
    assert f"the object of X, {OWN_KEY}" in message
    assert "for 2 objects" in message


@pytest.mark.timeout(300)
def test_worker_error_names_key(s3: LoopbackS3, tmp_path: Path) -> None:
    s3_mirror(s3)
    dataset = open_waveforms(
        collection_spec("sage"),
        root=S3_ROOT,
        storage_options=FLAT,
        neighbour_bytes=0,
        **CODES,
    )

    outcome = compute_elsewhere(dataset.waveform.data, tmp_path)

    assert outcome.get("error") == "CredentialsError", outcome
    message = outcome["message"]
    assert message.startswith(f"cannot read {OWN_KEY}: ")
    assert f"mirror {S3_ROOT}" in message
    assert "tier 'open'" not in message
    for secret in SECRETS:
        assert secret not in message


# -- endpoint advice on the command line and in Python ------------------------


def test_endpoint_advice_python_spelling(monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    url = closed_url()
    spec = StorageSpec.for_tier(
        open_tier(), {"anon": True, "endpoint_url": url}, root=S3_ROOT
    )

    with pytest.raises(StorageUnavailableError) as caught:
        read_bytes(spec, OWN_KEY)

    message = str(caught.value)
    assert f"at {url} (storage_options endpoint_url)" in message
    assert "correct storage_options endpoint_url" in message
    assert "--storage-option" not in message


def test_endpoint_advice_cli_spelling(
    monkeypatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    url = closed_url()
    argv = [
        "export", "sage.miniseed",
        "--net", "CH", "--sta", "BALST", "--loc=--", "--cha", "LHZ",
        "--start", "2025-11-10", "--end", "2025-11-11",
        "--root", S3_ROOT, "--storage-option", "anon=true",
        "--storage-option", f"endpoint_url={url}", str(tmp_path / "out.nc"),
    ]  # fmt: skip

    code = main(argv)
    err = capsys.readouterr().err

    assert code == EXIT_PROBLEM, err
    assert f"at {url} (--storage-option endpoint_url)" in err
    assert "correct --storage-option endpoint_url" in err
    assert "storage_options" not in err


def test_default_endpoint_advice_spellings() -> None:
    # No option or variable of the spec sets an endpoint.
    spec = StorageSpec("s3", BUCKET)

    python = _endpoint_advice(spec)
    command_line = _command_line_spelling(python)

    assert "storage_options={'client_kwargs': {'endpoint_url': URL}}" in python
    assert command_line.endswith("or --storage-option endpoint_url=URL")
    assert "client_kwargs" not in command_line


@pytest.mark.parametrize(
    ("python", "command_line"),
    [
        ("storage_options={'anon': False}", "--storage-option anon=false"),
        ("storage_options={'profile': NAME}", "--storage-option profile=NAME"),
        ("storage_options={'region': 'us east'}", "--storage-option 'region=us east'"),
        ("(storage_options endpoint_url)", "(--storage-option endpoint_url)"),
    ],
)
def test_storage_option_respelled(python: str, command_line: str) -> None:
    assert _command_line_spelling(f"give {python} here") == (
        f"give {command_line} here"
    )


def test_top_directory_mirror_named() -> None:
    spec = StorageSpec.for_tier(open_tier(), root="/")

    assert spec.origin == "mirror /"
