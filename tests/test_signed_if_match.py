"""Ranged GETs with If-Match, signed with SigV4, against a moto server that
checks every signature.

The If-Match header must be one of the signed headers, so that a proxy
cannot change the version a read requests, and it must not break the
signature either.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_break_s3http import DATA, KEY
from test_first_get_replies import EditingProxy, Exchange

from intake_earthscope import s3http
from intake_earthscope.errors import (
    AccessDeniedError,
    ObjectChangedError,
)
from intake_earthscope.storage import StorageSpec, read_bytes, read_first_bytes
from intake_earthscope.testing import LoopbackS3

from fake_earthscope import (
    IAM_ENFORCING_ENVIRONMENT,
    FakeEarthScopeAPI,
    RestrictedArchive,
    restricted_archive,
)


@pytest.fixture(scope="module")
def archive(aws_isolation: None) -> Iterator[RestrictedArchive]:
    """A private bucket on a moto server that checks every signature."""
    with (
        LoopbackS3(environment=IAM_ENFORCING_ENVIRONMENT) as server,
        FakeEarthScopeAPI() as api,
    ):
        yield restricted_archive(server, api, {KEY: DATA})


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("INTAKE_EARTHSCOPE_S3_CLIENT", "urllib3")
    monkeypatch.setenv("INTAKE_EARTHSCOPE_RETRY_ATTEMPTS", "1")
    s3http.clear_routes()
    yield
    s3http.clear_routes()


def signed_spec(archive: RestrictedArchive, endpoint_url: str) -> StorageSpec:
    options = archive.storage_options(
        archive.admin_access_key_id, archive.admin_secret_access_key
    )
    options["client_kwargs"]["endpoint_url"] = endpoint_url
    return StorageSpec(
        "s3",
        archive.bucket,
        region=archive.region,
        anonymous=False,
        endpoint_url=endpoint_url,
        storage_options=options,
    )


def test_signed_if_match_reads(archive: RestrictedArchive) -> None:
    spec = signed_spec(archive, archive.endpoint_url)
    first = read_first_bytes(spec, KEY, 512)
    assert first is not None
    assert first.match

    data = read_bytes(spec, KEY, 512, 1024, if_match=first.match)

    assert bytes(data) == DATA[512:1024]


def test_signed_if_match_changed(archive: RestrictedArchive) -> None:
    """A tag the object does not have gives 412, not a signature error."""
    spec = signed_spec(archive, archive.endpoint_url)

    with pytest.raises(ObjectChangedError, match='"0123"'):
        read_bytes(spec, KEY, 512, 1024, if_match='"0123"')


class IfMatchChangingProxy(EditingProxy):
    """Forward requests with another If-Match than the reader signed."""

    def exchange(self, method: str, path: str, headers: dict[str, str]) -> Exchange:
        if "If-Match" in headers:
            headers = {**headers, "If-Match": '"0123"'}
        return super().exchange(method, path, headers)


def test_if_match_covered_by_signature(archive: RestrictedArchive) -> None:
    """Changing the If-Match of a signed GET breaks its signature."""
    spec = signed_spec(archive, archive.endpoint_url)
    first = read_first_bytes(spec, KEY, 512)
    assert first is not None

    with IfMatchChangingProxy(archive.endpoint_url) as proxy:
        s3http.clear_routes()
        spec = signed_spec(archive, proxy.url)
        with pytest.raises(AccessDeniedError) as raised:
            read_bytes(spec, KEY, 512, 1024, if_match=first.match)

    assert archive.admin_secret_access_key not in str(raised.value)
    assert b"SignatureDoesNotMatch" in proxy.seen[-1].body
    signed = proxy.seen[-1].sent_with["Authorization"]
    assert "if-match" in signed.split("SignedHeaders=")[1].split(",")[0]
