"""The command line reads a private S3 mirror with --storage-option.

The mirror is a bucket on the loopback moto server whose object has no
public ACL, so moto serves it to signed requests only. The process has
the throw-away AWS keys of the test session in its environment.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import s3fs
import xarray as xr
from test_break_session import refused_role  # noqa: F401 (a fixture)

from intake_earthscope import open_waveforms
from intake_earthscope.cli import EXIT_AUTH, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, main
from intake_earthscope.errors import AccessDeniedError, CredentialsError
from intake_earthscope.testing import LoopbackS3, create_bucket

from conftest import OBSPY_MSEED_DATA, collection_spec

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
KEY = "miniseed/CH/2025/314/BALST.CH.2025.314"
BUCKET = "private-mirror"
REQUEST = [
    "sage.miniseed",
    "--net", "CH", "--sta", "BALST", "--loc=--", "--cha", "LHZ",
    "--start", "2025-11-10", "--end", "2025-11-11",
    "--root", f"s3://{BUCKET}",
]  # fmt: skip
CODES = {
    "network": "CH",
    "station": "BALST",
    "location": "",
    "channel": "LHZ",
    "start": "2025-11-10",
    "end": "2025-11-11",
}


@pytest.fixture
def private_mirror(s3: LoopbackS3) -> LoopbackS3:
    """A bucket with the archive's layout whose object only signed requests
    can read."""
    client = s3.client()
    create_bucket(client, BUCKET)
    client.put_object(Bucket=BUCKET, Key=KEY, Body=BALST.read_bytes())
    return s3


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def load(**options: Any) -> xr.Dataset:
    """Open BALST's LHZ day through the Python API and load it."""
    dataset = open_waveforms(collection_spec("sage"), **CODES, **options)
    return dataset.load(scheduler="synchronous")


def test_export_signs_with_anon_false(
    private_mirror: LoopbackS3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "p.nc"

    code, _, err = run(
        capsys, "export", *REQUEST, "--storage-option", "anon=false",
        "--no-progress", str(output),
    )  # fmt: skip

    assert code == EXIT_OK, err
    with xr.open_dataset(output, engine="h5netcdf") as written:
        assert list(written.trace.values) == ["CH.BALST..LHZ"]
        assert set(written.status.values.ravel()) == {"ok"}


def test_availability_signs_with_anon_false(
    private_mirror: LoopbackS3, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "availability", *REQUEST, "--storage-option", "anon=false",
        "--format", "csv",
    )  # fmt: skip

    assert code == EXIT_OK, err
    assert "BALST.CH.2025.314,True," in out


def test_unsigned_export_names_the_fix(
    private_mirror: LoopbackS3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "export", *REQUEST, str(tmp_path / "p.nc"))

    assert code == EXIT_PROBLEM
    assert "access denied" in err
    assert "unsigned, because a --root mirror is read anonymously" in err
    assert "--storage-option anon=false" in err
    assert "--storage-option profile=NAME" in err
    assert "storage_options=" not in err


def test_unsigned_root_names_the_fix_in_python(private_mirror: LoopbackS3) -> None:
    with pytest.raises(AccessDeniedError) as denied:
        load(root=f"s3://{BUCKET}")

    message = str(denied.value)
    assert "unsigned, because a root= mirror is read anonymously" in message
    assert "storage_options={'anon': False}" in message
    assert "storage_options={'profile': NAME}" in message


def test_explicit_anon_is_named(private_mirror: LoopbackS3) -> None:
    with pytest.raises(AccessDeniedError) as denied:
        load(root=f"s3://{BUCKET}", storage_options={"anon": True})

    assert "unsigned, because storage_options set anon=True" in str(denied.value)


def test_signed_denial_keeps_the_plain_advice(
    private_mirror: LoopbackS3,
    refused_role: dict[str, object],  # noqa: F811 (the imported fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request signed with a profile whose role is refused was not sent
    unsigned, so the message does not suggest signing."""
    # STS needs a region, and a root= mirror names none.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    with pytest.raises(AccessDeniedError) as denied:
        load(root=f"s3://{BUCKET}", storage_options=refused_role)

    message = str(denied.value)
    assert "check the credentials or storage_options" in message
    assert "unsigned" not in message


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("anon=false", False),
        ("anon=True", True),
        ("requester_pays=true", True),
        ("profile=mirror", "mirror"),
        ("default_block_size=65536", "65536"),
    ],
)
def test_storage_option_values(item: str, expected: object) -> None:
    from intake_earthscope.cli import _storage_options

    name = item.partition("=")[0]
    assert _storage_options([item]) == {name: expected}


@pytest.mark.parametrize(
    "item",
    [
        "key=AKIA123",
        "secret=abc",
        "token=xyz",
        "password=pw",
        "aws_secret_key=hidden-value",
    ],
)
def test_storage_option_rejects_secrets(
    item: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", *REQUEST, "--storage-option", item, str(tmp_path / "p.nc")
    )

    value = item.partition("=")[2]
    assert code == EXIT_USAGE
    assert "can read command lines" in err
    assert "AWS_ACCESS_KEY_ID" in err
    assert "--storage-option anon=false" in err
    assert "profile=NAME" in err
    assert value not in err


@pytest.mark.parametrize("item", ["anon", "=false", " =hidden-value"])
def test_storage_option_needs_name_and_value(
    item: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", *REQUEST, "--storage-option", item, str(tmp_path / "p.nc")
    )

    assert code == EXIT_USAGE
    assert "write NAME=VALUE" in err
    assert "hidden-value" not in err


@pytest.mark.parametrize("item", ["storage_options={'anon': False}", "anon=false"])
def test_param_points_to_storage_option(
    item: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "export", *REQUEST, "-p", item, str(tmp_path / "p.nc"))

    assert code == EXIT_USAGE
    assert "give storage options with --storage-option NAME=VALUE" in err


def test_search_signs_with_anon_false(
    s3: LoopbackS3, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = s3.client()
    create_bucket(client, BUCKET)
    xml = (shared_data / "stationxml" / "CI_WBM.xml").read_bytes()
    client.put_object(Bucket=BUCKET, Key="FDSNstationXML/CI/CI_WBM.xml", Body=xml)
    search = [
        "search", "scedc.stations", "--network", "CI", "--station", "WBM",
        "--channel", "LHZ", "--root", f"s3://{BUCKET}", "--format", "csv",
    ]  # fmt: skip

    unsigned, _, unsigned_err = run(capsys, *search)
    signed, out, err = run(capsys, *search, "--storage-option", "anon=false")

    assert unsigned == EXIT_PROBLEM
    assert "--storage-option anon=false" in unsigned_err
    assert signed == EXIT_OK, err
    assert ",WBM," in out


# -- signed requests without credentials --------------------------------------


@pytest.fixture
def no_aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave botocore's chain empty: no keys in the environment (the AWS
    config files of the isolated environment are blank)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # fsspec keeps one filesystem per set of options, and one built by an
    # earlier test keeps that test's credentials.
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.mark.usefixtures("no_aws_keys")
def test_export_without_keys_names_fix(
    private_mirror: LoopbackS3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", *REQUEST, "--storage-option", "anon=false",
        "--no-progress", str(tmp_path / "p.nc"),
    )  # fmt: skip

    assert code == EXIT_AUTH
    assert "Traceback" not in err
    assert "Unable to locate credentials" in err
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in err


@pytest.mark.usefixtures("no_aws_keys")
def test_unknown_profile_names_it(
    private_mirror: LoopbackS3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", *REQUEST, "--storage-option", "profile=nosuch",
        "--no-progress", str(tmp_path / "p.nc"),
    )  # fmt: skip

    assert code == EXIT_AUTH
    assert "Traceback" not in err
    assert "nosuch" in err
    assert "list-profiles" in err


@pytest.mark.usefixtures("no_aws_keys", "private_mirror")
@pytest.mark.parametrize("errors", ["warn", "ignore"])
def test_without_keys_status_access_denied(errors: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = load(
            root=f"s3://{BUCKET}",
            storage_options={"anon": False},
            sampling_rate=1,
            errors=errors,
            neighbour_bytes=0,
        )

    assert set(dataset.status.values.ravel()) == {"access_denied"}


@pytest.mark.usefixtures("no_aws_keys", "private_mirror")
def test_without_keys_raises_credentials_error() -> None:
    with pytest.raises(CredentialsError, match="cannot sign"):
        load(root=f"s3://{BUCKET}", storage_options={"anon": False}, sampling_rate=1)
