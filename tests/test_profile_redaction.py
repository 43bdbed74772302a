"""Credentials that botocore resolves itself stay out of logs and messages.

A spec read without EarthScope credentials and without a key in its
``storage_options`` signs with what botocore's default chain finds. Here
that is a profile in a throw-away shared credentials file, chosen by
``AWS_PROFILE`` or by the ``profile`` option, or a profile in the config
file whose ``credential_process`` prints the keys. The moto server on
loopback accepts any key pair, so the reads succeed and botocore logs its
requests at DEBUG level.
"""

from __future__ import annotations

import json
import logging
import pickle
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import s3fs
from test_windows import CODES, station_day
from test_windows import key as day_key

from intake_earthscope import open_waveforms, open_windows
from intake_earthscope.errors import ObjectNotFoundError
from intake_earthscope.s3http import http_route
from intake_earthscope.storage import StorageSpec, read_bytes
from intake_earthscope.testing import LoopbackS3, create_bucket, put_public_object

from conftest import collection_spec

BUCKET = "profile-bucket"
REGION = "us-east-2"
PROFILE = "reader"
KEY_ID = "AKIAPROFILEREADER01"
LOGGERS = ("botocore", "s3fs", "urllib3", "intake_earthscope")


def new_secrets() -> tuple[str, str]:
    """Return a secret key and session token that no earlier test registered."""
    unique = uuid.uuid4().hex
    return f"profile/Secret+{unique}", f"IQoJb3JpZ2luX2Vj/Token+{unique}=="


def write_profile(
    directory: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    secrets: tuple[str, str],
) -> None:
    """Put the reader profile in blank AWS files and drop the variable keys.

    ``source`` is "credentials-file" (keys in the shared credentials file) or
    "credential-process" (a config profile whose command prints the keys).
    """
    secret, session_token = secrets
    credentials = directory / "credentials"
    config = directory / "config"
    credentials.write_text("")
    config.write_text("")
    if source == "credentials-file":
        credentials.write_text(
            f"[{PROFILE}]\naws_access_key_id = {KEY_ID}\n"
            f"aws_secret_access_key = {secret}\naws_session_token = {session_token}\n"
        )
    else:
        printed = {
            "Version": 1,
            "AccessKeyId": KEY_ID,
            "SecretAccessKey": secret,
            "SessionToken": session_token,
        }
        script = directory / "print_keys.py"
        script.write_text(f"print({json.dumps(json.dumps(printed))})\n")
        config.write_text(
            f"[profile {PROFILE}]\ncredential_process = {sys.executable} {script}\n"
        )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


@pytest.fixture
def profile_bucket(s3: LoopbackS3) -> Iterator[str]:
    """A bucket holding one station day; s3fs keeps no filesystem between tests."""
    create_bucket(s3.client(REGION), BUCKET, REGION)
    put_public_object(s3.client(REGION), BUCKET, day_key(1), station_day(1))
    s3fs.S3FileSystem.clear_instance_cache()
    yield BUCKET
    s3fs.S3FileSystem.clear_instance_cache()


def secret_texts(caplog: pytest.LogCaptureFixture) -> str:
    """Join every captured record as a handler would print it."""
    return "\n".join(
        record.getMessage() + (record.exc_text or "") for record in caplog.records
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize("client", ["urllib3", "s3fs"])
@pytest.mark.parametrize(
    ("source", "chosen_by"),
    [
        ("credentials-file", "AWS_PROFILE"),
        ("credentials-file", "profile option"),
        ("credential-process", "AWS_PROFILE"),
    ],
)
def test_profile_secrets_not_shown(
    s3: LoopbackS3,
    profile_bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    client: str,
    source: str,
    chosen_by: str,
) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", client)
    secrets = new_secrets()
    write_profile(tmp_path, monkeypatch, source, secrets)
    options = {"anon": False, "client_kwargs": {"endpoint_url": s3.endpoint_url}}
    if chosen_by == "AWS_PROFILE":
        monkeypatch.setenv("AWS_PROFILE", PROFILE)
    else:
        options["profile"] = PROFILE
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)

    common = dict(root=f"s3://{profile_bucket}", storage_options=options, **CODES)
    windows = open_windows(
        collection_spec("sage"), ["2024-01-01T15:00:00"], 60.0, 60.0, **common
    )
    days = open_waveforms(
        collection_spec("sage"), start="2024-01-01", end="2024-01-02", **common
    )
    graphs = [pickle.dumps(dict(d.__dask_graph__())) for d in (windows, days)]
    loaded = [windows.load(), days.load()]
    spec = StorageSpec(
        "s3", profile_bucket, region=REGION, anonymous=False, storage_options=options
    )
    with pytest.raises(ObjectNotFoundError) as missing:
        read_bytes(spec, "miniseed/XX/2024/002/absent")
    # A secret can reach a record by other ways than botocore's headers.
    logging.getLogger("intake_earthscope.test").debug("resolved %s", secrets)

    # botocore's default chain has no plain-HTTP route, so with either
    # setting these GETs go through s3fs.
    assert http_route(spec) is None
    assert (loaded[0].read_mode.values == "ranged").all()
    assert int(loaded[1].waveform.count()) > 0
    assert "X-Amz-Security-Token" in secret_texts(caplog)
    errors = [missing.value, missing.value.__cause__]
    texts = [
        secret_texts(caplog),
        *(repr(dataset) for dataset in loaded),
        *(repr(dataset.attrs) for dataset in loaded),
        repr(spec),
        *(str(error) for error in errors),
        *(repr(error) for error in errors),
    ]
    assert "resolved ('[redacted]', '[redacted]')" in texts[0]
    for value in secrets:
        for graph in graphs:
            assert value.encode() not in graph
        for text in texts:
            assert value not in text
