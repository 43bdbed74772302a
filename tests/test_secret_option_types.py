"""Secrets that are bytes or objects stay out of pickles, reprs, yaml and logs.

Under a secret option name, bytes and bytearrays are sealed as strings are
and come back with their type. S3 takes an SSE-C key as 32 raw bytes
(``s3_additional_kwargs={"SSECustomerKey": ...}``, which botocore sends in
base64), so the end-to-end tests read through the moto server with such a
key. moto does not check SSE-C keys, so they show that the read works with
the sealed options, not that the key was right. Other objects, such as a
botocore ``Credentials`` object, stay in the process that opened the data.
"""

from __future__ import annotations

import base64
import logging
import pickle
from typing import Any

import cloudpickle
import pytest
from botocore.credentials import Credentials
from test_graph_secrets import balst_objects, catalog_source, open_balst

from intake_earthscope.errors import CredentialsError
from intake_earthscope.redact import REDACTED
from intake_earthscope.storage import SecretOption, seal_options, unseal_options
from intake_earthscope.testing import create_bucket

from conftest import bucket_of

# Not valid UTF-8, like most random AES keys.
SSE_KEY = bytes(range(0x80, 0xA0))
SECRET = "types-secret-access-key-5a6b7c8d"


def texts_of(value: bytes) -> list[str]:
    """Return the forms in which bytes could show in text."""
    return [repr(value)[2:-1], base64.b64encode(value).decode()]


def assert_no_bytes(data: bytes | str, value: bytes) -> None:
    if isinstance(data, bytes):
        assert value not in data
        data = data.decode("latin-1")
    for text in texts_of(value):
        assert text not in data


def sse_options(key: bytes | bytearray) -> dict[str, Any]:
    return {
        "anon": False,
        "key": "AKIATYPESSECRETS0001",
        "secret": SECRET,
        "s3_additional_kwargs": {
            "SSECustomerAlgorithm": "AES256",
            "SSECustomerKey": key,
        },
    }


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_seal_bytes_keeps_type(kind: type) -> None:
    options = {"token": kind(SSE_KEY)}

    sealed = seal_options(options)
    unsealed = unseal_options(sealed, "test")

    assert isinstance(sealed["token"], SecretOption)
    assert_no_bytes(pickle.dumps(sealed), SSE_KEY)
    assert_no_bytes(repr(sealed), SSE_KEY)
    assert type(unsealed["token"]) is kind
    assert unsealed["token"] == SSE_KEY


def test_seal_bytearray_returns_copy() -> None:
    original = bytearray(SSE_KEY)
    sealed = seal_options({"token": original})

    first = unseal_options(sealed, "test")["token"]
    first[0] = 0

    assert unseal_options(sealed, "test")["token"] == SSE_KEY


def test_seal_bytes_in_pair() -> None:
    sealed = seal_options({"auth": (b"user", SSE_KEY)})

    assert_no_bytes(pickle.dumps(sealed), SSE_KEY)
    assert unseal_options(sealed, "test") == {"auth": (b"user", SSE_KEY)}


def test_bytes_reference_reads_back() -> None:
    sealed = seal_options({"token": SSE_KEY})
    reference = repr(sealed["token"])

    again = seal_options({"token": reference})

    assert reference.startswith("<secret bytes sha256:")
    assert again == sealed
    assert unseal_options(again, "test")["token"] == SSE_KEY


def test_bytes_secret_from_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    sealed = seal_options({"secret": SECRET.encode()})
    # A process that never kept the value, but has it in its variables.
    monkeypatch.setattr("intake_earthscope.redact._kept_secrets", {})
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)

    unsealed = unseal_options(sealed, "test")

    assert unsealed["secret"] == SECRET.encode()


def test_bytes_missing_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    sealed = seal_options({"client_kwargs": {"token": SSE_KEY}})
    monkeypatch.setattr("intake_earthscope.redact._kept_secrets", {})

    with pytest.raises(CredentialsError, match=r"client_kwargs\.token") as caught:
        unseal_options(sealed, "test")

    assert_no_bytes(str(caught.value), SSE_KEY)


def test_seal_credentials_object() -> None:
    credentials = Credentials("AKIATYPESOBJECT00001", SECRET, "types-object-token-1")
    options = {"credentials": credentials}

    sealed = seal_options(options)
    unsealed = unseal_options(sealed, "test")

    assert SECRET.encode() not in pickle.dumps(sealed)
    assert SECRET.encode() not in cloudpickle.dumps(sealed)
    assert SECRET not in repr(sealed)
    assert unsealed["credentials"] is credentials
    assert seal_options(options) == sealed


def test_credentials_object_redacted(caplog: pytest.LogCaptureFixture) -> None:
    credentials = Credentials("AKIATYPESOBJECT00002", SECRET, "types-object-token-2")
    seal_options({"credentials": credentials})

    with caplog.at_level(logging.INFO):
        logging.getLogger("botocore.test").info("signing with %s", SECRET)

    assert SECRET not in caplog.text
    assert REDACTED in caplog.text


def test_credentials_object_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = Credentials("AKIATYPESOBJECT00003", SECRET)
    sealed = seal_options({"credentials": credentials})
    monkeypatch.setattr("intake_earthscope.redact._kept_secrets", {})
    monkeypatch.setattr("intake_earthscope.redact._object_digests", {})

    with pytest.raises(CredentialsError, match=r"\(credentials\)") as caught:
        unseal_options(sealed, "test")

    assert SECRET not in str(caught.value)


def test_seal_leaves_plain_values() -> None:
    options = {"token": None, "use_key": True, "key_count": 3}

    assert seal_options(options) == options


# -- read through moto with an SSE-C key --------------------------------------


def publish_balst(s3: Any) -> None:
    """Store the BALST days without the public-read ACL, for signed reads."""
    bucket, region = bucket_of("sage")
    client = s3.client(region)
    create_bucket(client, bucket, region)
    for key, data in balst_objects().items():
        client.put_object(Bucket=bucket, Key=key, Body=data)


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_sse_key_out_of_graph(
    s3: Any, kind: type, caplog: pytest.LogCaptureFixture
) -> None:
    publish_balst(s3)

    with caplog.at_level(logging.DEBUG):
        dataset = open_balst(sse_options(kind(SSE_KEY)))
        loaded = dataset.load()

    assert (loaded.status.values == "ok").all()
    assert loaded.waveform.notnull().any()
    assert_no_bytes(cloudpickle.dumps(dataset.__dask_graph__()), SSE_KEY)
    assert_no_bytes(pickle.dumps(dataset.__dask_graph__()), SSE_KEY)
    assert_no_bytes(repr(dataset), SSE_KEY)
    assert_no_bytes(caplog.text, SSE_KEY)
    assert SECRET not in caplog.text


def test_text_sse_key_out_of_logs(s3: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A text key is logged by botocore in base64 too, and redacted there."""
    publish_balst(s3)
    key = "text/sse/customer/key/0123456789"

    with caplog.at_level(logging.DEBUG):
        loaded = open_balst(sse_options(key)).load()

    assert (loaded.status.values == "ok").all()
    assert key not in caplog.text
    assert base64.b64encode(key.encode()).decode() not in caplog.text


def test_sse_key_out_of_source(s3: Any, caplog: pytest.LogCaptureFixture) -> None:
    publish_balst(s3)
    source = catalog_source(sse_options(SSE_KEY))

    with caplog.at_level(logging.DEBUG):
        dataset = pickle.loads(pickle.dumps(source)).read()

    assert (dataset.status.values == "ok").all()
    assert_no_bytes(pickle.dumps(source), SSE_KEY)
    assert_no_bytes(cloudpickle.dumps(source), SSE_KEY)
    assert_no_bytes(source.yaml(), SSE_KEY)
    assert_no_bytes(repr(source), SSE_KEY)
    assert_no_bytes(caplog.text, SSE_KEY)
