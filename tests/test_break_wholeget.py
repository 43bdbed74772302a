"""Whole-object S3 reads where the urllib3 path and the s3fs path could part ways.

Each test reads whole objects through both clients
(``INTAKE_EARTHSCOPE_S3_CLIENT`` urllib3 and s3fs) and expects the same
bytes, or the same error class and message category. Objects live on the
moto server on loopback, reached through a fault proxy that can flip the
first body byte (``corrupt``) or reply with an S3 error. Ranged reads are
covered in test_break_s3http.py and test_s3http.py.
"""

from __future__ import annotations

import logging
import multiprocessing
import tracemalloc
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from intake_earthscope import s3http
from intake_earthscope.dataset import open_waveforms, outcome_table
from intake_earthscope.errors import ReadOutcomeWarning
from intake_earthscope.storage import StorageSpec, object_stat, read_bytes
from intake_earthscope.testing import LoopbackS3, put_public_object
from intake_earthscope.timeutil import parse_time

import faultproxy
import mseedgen
from conftest import bucket_of, collection_spec, proxied_object, publish, s3_spec
from faultproxy import CORRUPTION, REJECTION, FaultProxy, FaultRule

BUCKET = "whole-bucket"
REGION = "us-east-2"
KEY = "miniseed/XX/2024/001/STA.XX.2024.001"
# Ten hours of 1 Hz samples: 25,600 bytes of miniSEED records.
DATA = mseedgen.segment_bytes(
    "XX.STA.00.LHZ",
    mseedgen.nstime("2024-01-01T00:00:00"),
    np.arange(36_000, dtype=np.int32),
    1.0,
)
CLIENTS = ("urllib3", "s3fs")
# S3's smallest part of a multipart upload, except the last part.
PART_BYTES = 5 * 1024 * 1024


@pytest.fixture
def proxy(s3: LoopbackS3) -> Iterator[FaultProxy]:
    """The moto server with one public miniSEED object, behind a fault proxy."""
    with proxied_object(s3, BUCKET, REGION, KEY, DATA) as running:
        yield running


def spec_at(url: str, **options) -> StorageSpec:
    return s3_spec(url, BUCKET, REGION, **options)


def use_client(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    """Send GETs through the client ``setting`` names (urllib3 or s3fs)."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", setting)
    s3http.clear_routes()


def gets(proxy: FaultProxy, text: str = "") -> list[faultproxy.ProxiedRequest]:
    return [r for r in proxy.seen if r.method == "GET" and text in r.path]


def outcome(read: Callable[..., object], *arguments: object) -> object:
    """Return the result of a read, or the class and message of its error."""
    try:
        return read(*arguments)
    except Exception as error:  # noqa: BLE001 - the tests compare the errors
        return type(error), str(error)


# Full-object checksums


@pytest.mark.timeout(60)
@pytest.mark.parametrize("setting", CLIENTS)
@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_corrupt_body_retried_per_algorithm(
    s3, proxy, monkeypatch, setting, algorithm
) -> None:
    """botocore checks every algorithm S3 offers, so the urllib3 path must too."""
    s3.client(REGION).put_object(
        Bucket=BUCKET,
        Key=algorithm,
        Body=DATA,
        ACL="public-read",
        ChecksumAlgorithm=algorithm,
    )
    proxy.rules = [FaultRule(CORRUPTION, key=algorithm, limit=1)]
    use_client(monkeypatch, setting)

    data = read_bytes(spec_at(proxy.url), algorithm)

    assert data == DATA
    assert proxy.injected()[CORRUPTION] == 1
    assert len(gets(proxy, algorithm)) == 2


def upload_in_parts(
    client, key: str, data: bytes, algorithm: str, checksum_type: str | None = None
) -> None:
    """Store ``data`` with a multipart upload of ``PART_BYTES`` parts."""
    options = {"ChecksumAlgorithm": algorithm}
    if checksum_type is not None:
        options["ChecksumType"] = checksum_type
    upload = client.create_multipart_upload(
        Bucket=BUCKET, Key=key, ACL="public-read", **options
    )
    parts = []
    for number, offset in enumerate(range(0, len(data), PART_BYTES), start=1):
        reply = client.upload_part(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data[offset : offset + PART_BYTES],
            ChecksumAlgorithm=algorithm,
        )
        part = {"ETag": reply["ETag"], "PartNumber": number}
        part[f"Checksum{algorithm}"] = reply[f"Checksum{algorithm}"]
        parts.append(part)
    client.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )


@pytest.mark.timeout(60)
def test_multipart_checksums_on_both_clients(s3, proxy, monkeypatch) -> None:
    """A composite checksum ("-N") cannot be checked against the bytes, a
    full-object CRC32 of a multipart object can, and both clients agree."""
    stored = DATA * (PART_BYTES // len(DATA) + 1)
    client = s3.client(REGION)
    upload_in_parts(client, "composite", stored, "CRC32")
    upload_in_parts(client, "full", stored, "CRC32", "FULL_OBJECT")
    proxy.rules = [FaultRule(CORRUPTION, key="composite"), FaultRule(CORRUPTION)]
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")
    damaged = bytes([stored[0] ^ 0xFF]) + stored[1:]
    outcomes = {}
    for setting in CLIENTS:
        use_client(monkeypatch, setting)
        for key in ("composite", "full"):
            outcomes[setting, key] = outcome(read_bytes, spec_at(proxy.url), key)

    for setting in CLIENTS:
        assert outcomes[setting, "composite"] == damaged
        kind, message = outcomes[setting, "full"]
        assert kind.__name__ == "StorageUnavailableError"
        assert "Checksum" in message
        assert "on 2 attempt(s)" in message


@pytest.mark.timeout(60)
@pytest.mark.parametrize("setting", CLIENTS)
def test_object_without_checksum_read(s3, proxy, monkeypatch, setting) -> None:
    """An object stored without a checksum is read as sent, on both clients."""
    # botocore (1.40 here) adds a CRC32 to every upload unless
    # request_checksum_calculation is "when_required".
    with monkeypatch.context() as scoped:
        scoped.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
        client = s3.client(REGION)
    client.put_object(Bucket=BUCKET, Key="plain", Body=DATA, ACL="public-read")
    head = client.head_object(Bucket=BUCKET, Key="plain", ChecksumMode="ENABLED")
    proxy.rules = [FaultRule(CORRUPTION, key="plain", limit=1)]
    use_client(monkeypatch, setting)

    data = read_bytes(spec_at(proxy.url), "plain")

    assert not [name for name in head if name.startswith("Checksum")]
    assert data == bytes([DATA[0] ^ 0xFF]) + DATA[1:]


# Errors: the same class and message on both clients, for GET and HEAD


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", [REJECTION, "denied", "not_found", "missing"])
def test_whole_read_and_head_errors_match(proxy, monkeypatch, fault) -> None:
    monkeypatch.setitem(
        faultproxy._S3_ERRORS, "denied", (403, "AccessDenied", "Access Denied")
    )
    monkeypatch.setitem(
        faultproxy._S3_ERRORS, "not_found", (404, "NoSuchKey", "No such key.")
    )
    monkeypatch.setattr(
        faultproxy, "FAULTS", (*faultproxy.FAULTS, "denied", "not_found")
    )
    key = "no/such/key" if fault == "missing" else KEY
    if fault != "missing":
        proxy.rules = [FaultRule(fault, key="STA")]
    results = {}
    for setting in CLIENTS:
        use_client(monkeypatch, setting)
        spec = spec_at(proxy.url)
        results[setting, "GET"] = outcome(read_bytes, spec, key)
        results[setting, "HEAD"] = outcome(object_stat, spec, key)

    for operation in ("GET", "HEAD"):
        assert results["urllib3", operation] == results["s3fs", operation]
        assert isinstance(results["urllib3", operation], tuple)
    assert gets(proxy)[0].user_agent.startswith("python-urllib3/")


# Memory, processes and logs


@pytest.mark.timeout(60)
def test_large_object_memory_bounded(s3, proxy) -> None:
    """A whole read keeps the received parts and their joined copy, no more."""
    large = DATA * (40 * 1024 * 1024 // len(DATA))
    put_public_object(s3.client(REGION), BUCKET, "large", large)
    spec = spec_at(proxy.url)
    read_bytes(spec, KEY)

    tracemalloc.start()
    try:
        data = read_bytes(spec, "large")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert data == large
    assert peak < 2.2 * len(large)


def _read_in_child(url: str, results: multiprocessing.Queue) -> None:
    results.put(read_bytes(spec_at(url), KEY) == DATA)


@pytest.mark.timeout(60)
def test_forked_child_reads_whole_object(proxy) -> None:
    """A forked child opens its own connections instead of sharing the parent's."""
    assert read_bytes(spec_at(proxy.url), KEY) == DATA
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_read_in_child, args=(proxy.url, results))

    child.start()
    same = results.get(timeout=30)
    child.join(timeout=30)

    assert same is True
    assert child.exitcode == 0
    assert len(gets(proxy)) == 2


@pytest.mark.parametrize("setting", CLIENTS)
def test_signed_whole_read_logs_no_secret(proxy, caplog, monkeypatch, setting):
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "urllib3", "s3fs"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    use_client(monkeypatch, setting)
    spec = spec_at(
        proxy.url,
        key="AKIAWHOLEREADEXAMPLE",
        secret="whole-read-secret-7d2e",
        token="whole-read-session-token-41a9",
    )

    assert read_bytes(spec, KEY) == DATA
    signature = gets(proxy)[-1].authorization.rpartition("Signature=")[2]

    assert len(signature) == 64
    assert signature not in caplog.text
    assert "whole-read-secret-7d2e" not in caplog.text
    assert "whole-read-session-token-41a9" not in caplog.text


# Day reads through open_waveforms


def day_key(day: int) -> str:
    return f"miniseed/XX/2024/{day:03d}/STA.XX.2024.{day:03d}"


def day_object(day: int) -> bytes:
    values = np.arange(3600, dtype=np.int32) + 10_000 * day
    start = parse_time("2024-01-01", "start") + (day - 1) * 86_400 * 10**9
    return mseedgen.segment_bytes("XX.STA.00.LHZ", start, values, 1.0)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("setting", CLIENTS)
def test_day_read_outcomes_under_corruption(s3, monkeypatch, setting) -> None:
    """Day 2 (CRC32C) is damaged once and read again, day 3 (CRC64NVME) on
    every attempt and reported unreachable."""
    publish(s3, "sage", {day_key(1): day_object(1)})
    bucket, region = bucket_of("sage")
    client = s3.client(region)
    for day, algorithm in ((2, "CRC32C"), (3, "CRC64NVME")):
        client.put_object(
            Bucket=bucket,
            Key=day_key(day),
            Body=day_object(day),
            ACL="public-read",
            ChecksumAlgorithm=algorithm,
        )
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")
    use_client(monkeypatch, setting)
    rules = [
        FaultRule(CORRUPTION, key=day_key(2), limit=1),
        FaultRule(CORRUPTION, key=day_key(3)),
    ]
    with FaultProxy(s3.endpoint_url, rules) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        with pytest.warns(ReadOutcomeWarning, match="Checksum"):
            dataset = open_waveforms(
                collection_spec("sage"),
                network="XX",
                station="STA",
                location="00",
                channel="LHZ",
                start="2024-01-01",
                end="2024-01-04",
                tier="open",
                sampling_rate=1,
                errors="warn",
            ).load()
        table = outcome_table(dataset)

    assert list(table["status"]) == ["ok", "ok", "unreachable"]
    row = dataset.waveform.values[0]
    np.testing.assert_array_equal(row[86_400 : 86_400 + 3600], np.arange(3600) + 20_000)
    assert np.isnan(row[2 * 86_400 :]).all()
    assert len(gets(proxy, day_key(2))) == 2
    assert len(gets(proxy, day_key(3))) == 2
