"""The first GET of a window read with expired or missing permissions.

``read_first_bytes`` replaces the HEAD of a window read. Where the
EarthScope credentials expired, it must fetch new ones and send the GET
again, as other reads do, and still return the object's size and version
tag. A forbidden object must raise AccessDeniedError naming the object.
"""

from __future__ import annotations

import pytest
from test_s3http import (  # noqa: F401 (proxy and token_spec are fixtures)
    DATA,
    KEY,
    gets,
    proxy,
    token_spec,
)

from intake_earthscope.errors import AccessDeniedError
from intake_earthscope.storage import StorageSpec, object_stat, read_first_bytes

import faultproxy
from faultproxy import FAULTS, FaultProxy, FaultRule


@pytest.mark.timeout(60)
def test_first_bytes_renew_expired_credentials(
    proxy: FaultProxy,  # noqa: F811
    token_spec: tuple[StorageSpec, list],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec, issued = token_spec
    expired = (400, "ExpiredToken", "The provided token has expired.")
    monkeypatch.setitem(faultproxy._S3_ERRORS, "expired", expired)
    monkeypatch.setattr(faultproxy, "FAULTS", (*FAULTS, "expired"))
    proxy.rules = [FaultRule("expired", key="odd", limit=1)]

    found = read_first_bytes(spec, KEY, 4096)

    assert found is not None
    assert len(gets(proxy)) == 2
    assert len(issued) == 2
    data, size, version, _ = found
    assert bytes(data) == DATA[:4096]
    assert (size, version) == object_stat(spec, KEY)


@pytest.mark.timeout(60)
def test_first_bytes_forbidden_names_object(
    proxy: FaultProxy,  # noqa: F811
    token_spec: tuple[StorageSpec, list],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec, _ = token_spec
    denied = (403, "AccessDenied", "Access Denied")
    monkeypatch.setitem(faultproxy._S3_ERRORS, "denied", denied)
    monkeypatch.setattr(faultproxy, "FAULTS", (*FAULTS, "denied"))
    proxy.rules = [FaultRule("denied", key="odd")]

    with pytest.raises(AccessDeniedError) as caught:
        read_first_bytes(spec, KEY, 4096)

    assert spec.url(KEY) in str(caught.value)
