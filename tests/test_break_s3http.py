"""S3 reads where the urllib3 path and the s3fs path could part ways.

Each test reads the same range through both clients
(``INTAKE_EARTHSCOPE_S3_CLIENT`` urllib3 and s3fs) and expects the same bytes or
the same error. Objects live on the moto server on loopback, reached
through a fault proxy that records each request, or on a moto server that
checks signatures. Server behaviour that moto
never shows (a Range header ignored, a reset in the middle of a body) comes
from a small HTTP server on loopback in this file.
"""

from __future__ import annotations

import gzip
import logging
import socket
import struct
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

from intake_earthscope import s3http
from intake_earthscope.errors import StorageUnavailableError
from intake_earthscope.s3http import http_route
from intake_earthscope.storage import StorageSpec, read_bytes
from intake_earthscope.testing import LoopbackS3, put_public_object

import mseedgen
from conftest import proxied_object, s3_spec
from fake_earthscope import (
    IAM_ENFORCING_ENVIRONMENT,
    FakeEarthScopeAPI,
    RestrictedArchive,
    restricted_archive,
)
from faultproxy import FaultProxy, ProxiedRequest
from loopback_http import LoopbackServer

BUCKET = "break-bucket"
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


@pytest.fixture
def proxy(s3: LoopbackS3) -> Iterator[FaultProxy]:
    """The moto server with one public miniSEED object, behind a fault proxy."""
    with proxied_object(s3, BUCKET, REGION, KEY, DATA) as running:
        yield running


def spec_at(url: str, region: str | None = REGION, **options) -> StorageSpec:
    return s3_spec(url, BUCKET, region, **options)


def use_client(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    """Send GETs through the client ``setting`` names (urllib3 or s3fs)."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", setting)
    s3http.clear_routes()


def gets(proxy: FaultProxy) -> list[ProxiedRequest]:
    return [request for request in proxy.seen if request.method == "GET"]


def outcome(read: Callable[[], bytes]) -> bytes | tuple[type, str]:
    """Return the bytes of a read, or the class and message of its error."""
    try:
        return read()
    except Exception as error:  # noqa: BLE001 - the tests compare the errors
        return type(error), str(error)


# Keys and ranges


DOT_KEYS = ["day/./STA", "day/../STA", "day/.."]


@pytest.mark.parametrize("setting", CLIENTS)
def test_dot_segment_keys_read_own_object(s3, proxy, monkeypatch, setting) -> None:
    """S3 keys may contain "." and ".." segments, which URL parsers resolve."""
    client = s3.client(REGION)
    for number, key in enumerate(DOT_KEYS):
        put_public_object(client, BUCKET, key, DATA[number:])
    # The objects that resolving the dot segments would read instead.
    put_public_object(client, BUCKET, "day/STA", b"wrong object")
    put_public_object(client, BUCKET, "STA", b"wrong object")
    use_client(monkeypatch, setting)

    for number, key in enumerate(DOT_KEYS):
        assert read_bytes(spec_at(proxy.url), key, 0, 100) == DATA[number:][:100]
    assert [request.path for request in gets(proxy)] == [
        f"/{BUCKET}/{key}" for key in DOT_KEYS
    ]


@pytest.fixture(scope="module")
def archive(aws_isolation: None) -> Iterator[RestrictedArchive]:
    """A private bucket on a moto server that checks every signature."""
    with (
        LoopbackS3(environment=IAM_ENFORCING_ENVIRONMENT) as server,
        FakeEarthScopeAPI() as api,
    ):
        yield restricted_archive(server, api, {DOT_KEYS[0]: DATA})


@pytest.mark.parametrize("setting", CLIENTS)
def test_signed_dot_segment_key_accepted(archive, monkeypatch, setting) -> None:
    """moto checks the signature against the path that the request carries."""
    options = archive.storage_options(
        archive.admin_access_key_id, archive.admin_secret_access_key
    )
    spec = StorageSpec(
        "s3",
        archive.bucket,
        region=archive.region,
        anonymous=False,
        storage_options=options,
    )
    use_client(monkeypatch, setting)

    assert read_bytes(spec, DOT_KEYS[0], 0, 100) == DATA[:100]


@pytest.mark.parametrize("setting", CLIENTS)
def test_gzip_encoded_object_read_as_stored(s3, proxy, monkeypatch, setting) -> None:
    """An object stored with Content-Encoding gzip is read as its stored bytes."""
    stored = gzip.compress(DATA)
    s3.client(REGION).put_object(
        Bucket=BUCKET,
        Key="gzipped",
        Body=stored,
        ContentEncoding="gzip",
        ACL="public-read",
    )
    use_client(monkeypatch, setting)

    assert read_bytes(spec_at(proxy.url), "gzipped", 10, 500) == stored[10:500]
    assert read_bytes(spec_at(proxy.url), "gzipped", 0, None) == stored


@pytest.mark.parametrize("setting", CLIENTS)
@pytest.mark.parametrize(("start", "end"), [(500, 500), (500, 400), (0, 0)])
def test_empty_range_sends_nothing(proxy, monkeypatch, setting, start, end) -> None:
    use_client(monkeypatch, setting)

    assert read_bytes(spec_at(proxy.url), KEY, start, end) == b""
    assert gets(proxy) == []


@pytest.mark.parametrize("setting", CLIENTS)
@pytest.mark.parametrize(("start", "end"), [(10, -5), (-10, None), (-100, -50)])
def test_negative_range_counts_from_end(proxy, monkeypatch, setting, start, end):
    """Negative offsets count from the end of the object, as in s3fs."""
    use_client(monkeypatch, setting)

    assert read_bytes(spec_at(proxy.url), KEY, start, end) == DATA[start:end]


@pytest.mark.parametrize("setting", CLIENTS)
@pytest.mark.parametrize(("start", "end"), [(0, 100), (0, None), (None, 100)])
def test_range_of_empty_object_empty(s3, proxy, monkeypatch, setting, start, end):
    """S3 replies 416 to any range of an empty object."""
    put_public_object(s3.client(REGION), BUCKET, "empty", b"")
    use_client(monkeypatch, setting)

    assert read_bytes(spec_at(proxy.url), "empty", start, end) == b""


# Signing


def credential_scope(request: ProxiedRequest) -> str:
    """Return the date/region/service part of a SigV4 Authorization header."""
    assert request.authorization is not None
    credential = request.authorization.split(",")[0].partition("Credential=")[2]
    return credential.split("/", 2)[2]


@pytest.mark.parametrize("setting", CLIENTS)
def test_signing_region_from_environment(proxy, monkeypatch, setting) -> None:
    """Without a region, requests are signed for the configured region."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    use_client(monkeypatch, setting)
    spec = spec_at(proxy.url, None, key="AKIAEXAMPLEKEY", secret="secret-of-test")

    assert read_bytes(spec, KEY, 0, 100) == DATA[:100]
    assert credential_scope(gets(proxy)[-1]) == "eu-west-1/s3/aws4_request"


@pytest.mark.parametrize("setting", CLIENTS)
def test_signing_region_from_profile(proxy, tmp_path: Path, monkeypatch, setting):
    config = tmp_path / "config"
    config.write_text("[profile other]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "other")
    use_client(monkeypatch, setting)
    spec = spec_at(proxy.url, None, key="AKIAEXAMPLEKEY", secret="secret-of-test")

    assert read_bytes(spec, KEY, 0, 100) == DATA[:100]
    assert credential_scope(gets(proxy)[-1]) == "ap-south-1/s3/aws4_request"


@pytest.mark.parametrize("setting", CLIENTS)
def test_anon_option_sends_unsigned(proxy, monkeypatch, setting) -> None:
    """``anon=True`` wins over ``key`` and ``secret``, as s3fs applies it."""
    use_client(monkeypatch, setting)
    spec = spec_at(proxy.url, anon=True, key="AKIAEXAMPLEKEY", secret="secret-of-test")

    assert read_bytes(spec, KEY, 0, 100) == DATA[:100]
    assert gets(proxy)[-1].authorization is None


@pytest.mark.parametrize("setting", CLIENTS)
def test_signature_absent_from_logs(proxy, caplog, monkeypatch, setting) -> None:
    caplog.set_level(logging.DEBUG)
    use_client(monkeypatch, setting)
    spec = spec_at(proxy.url, key="AKIAEXAMPLEKEY", secret="secret-of-test")

    read_bytes(spec, KEY, 0, 100)
    authorization = gets(proxy)[-1].authorization
    assert authorization is not None
    signature = authorization.rpartition("Signature=")[2]

    assert len(signature) == 64
    assert signature not in caplog.text


# Settings


@pytest.mark.parametrize("value", ["false", "off", "0", "curl"])
def test_unknown_client_rejected(monkeypatch, value) -> None:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", value)
    spec = StorageSpec("s3", "bucket-a", region=REGION)

    with pytest.raises(ValueError, match="INTAKE_EARTHSCOPE_S3_CLIENT") as caught:
        http_route(spec)

    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    ("value", "routed"), [("", True), ("urllib3", True), ("s3fs", False)]
)
def test_known_client_values(monkeypatch, value, routed) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", value)
    spec = StorageSpec("s3", "bucket-a", region=REGION)

    assert (http_route(spec) is not None) is routed


# Servers that misbehave


class MisbehavingServer:
    """An HTTP server on 127.0.0.1 that replies to every GET in one fixed way.

    ``"ignore_range"`` sends the whole object with status 200.
    ``"reset_in_body"`` replies 206 with the Content-Range and
    Content-Length of the range requested, sends its first 1000 bytes and
    resets the connection.
    ``"redirect"`` replies 307 with the same path at ``location``.
    """

    def __init__(self, behaviour: str, location: str = "") -> None:
        self.behaviour = behaviour
        self.location = location
        self._server = LoopbackServer(self._handler())

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> MisbehavingServer:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        behaviour = self.behaviour
        location = self.location

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's method name
                if behaviour == "redirect":
                    self.send_response(307)
                    self.send_header("Location", location + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if behaviour == "ignore_range":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(DATA)))
                    self.end_headers()
                    self.wfile.write(DATA)
                    return
                first, last = requested_range(self.headers["Range"])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {first}-{last}/{len(DATA)}")
                self.send_header("Content-Length", str(last - first + 1))
                self.end_headers()
                self.wfile.write(DATA[first : first + 1000])
                self.wfile.flush()
                # Linger with a zero timeout makes close() send RST, not FIN.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

        return Handler


def requested_range(header: str) -> tuple[int, int]:
    """Return the first and last byte of a Range header of the form bytes=A-B."""
    first, _, last = header.removeprefix("bytes=").partition("-")
    return int(first), int(last)


@pytest.mark.parametrize("setting", CLIENTS)
@pytest.mark.parametrize(("start", "end"), [(100, 2000), (None, 300)])
def test_range_ignored_by_server(monkeypatch, setting, start, end) -> None:
    use_client(monkeypatch, setting)

    with MisbehavingServer("ignore_range") as server:
        data = read_bytes(spec_at(server.url), KEY, start, end)

    assert data == DATA[start:end]


@pytest.mark.timeout(60)
def test_redirect_read_through_s3fs(proxy, monkeypatch) -> None:
    """A redirected GET is sent again through s3fs, which follows it, and
    the spec's later GETs go there directly."""
    with MisbehavingServer("redirect", location=proxy.url) as server:
        spec = spec_at(server.url)
        data = read_bytes(spec, KEY, 0, 100)
        route_after = http_route(spec)

    assert data == DATA[:100]
    assert route_after is None
    assert not gets(proxy)[-1].user_agent.startswith("python-urllib3/")


@pytest.mark.timeout(60)
def test_reset_in_body_not_unreachable(monkeypatch) -> None:
    """A reply cut off by a reset fails like one cut off by a close."""
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "2")
    messages = {}
    with MisbehavingServer("reset_in_body") as server:
        for setting in CLIENTS:
            use_client(monkeypatch, setting)
            messages[setting] = outcome(
                lambda: read_bytes(spec_at(server.url), KEY, 0, 5000)
            )

    for setting in CLIENTS:
        kind, message = messages[setting]
        assert kind is StorageUnavailableError
        assert "failed with" in message
        assert "cannot reach" not in message
