"""Token and credentials errors raised where a dask worker reads.

distributed pickles a task's error with every error in its ``__cause__``
chain, following the chain until it ends. An error whose cause is itself
never ends it: the worker loops, its memory grows until it is killed, and
the compute waits forever. So every error that a read raises must have a
finite chain, and a revoked token on the workers must reach the caller as
the AuthenticationError that asks the user to log in again.
"""

from __future__ import annotations

import pickle

import pytest
import test_auth
from clusters import process_cluster
from distributed import Client
from test_auth import restricted

from intake_earthscope import auth, storage
from intake_earthscope.errors import AuthenticationError, CredentialsError
from intake_earthscope.storage import StorageSpec

# The restricted archive behind the fake EarthScope API, as test_auth builds it.
iam_s3 = test_auth.iam_s3
api = test_auth.api
archive = test_auth.archive
sdk = test_auth.sdk


def cause_chain(error: BaseException, limit: int = 20) -> list[BaseException]:
    """Return ``error`` and its causes, as distributed collects them, up to
    ``limit`` errors."""
    chain = [error]
    while chain[-1].__cause__ is not None and len(chain) < limit:
        chain.append(chain[-1].__cause__)
    return chain


def token_spec() -> StorageSpec:
    return StorageSpec(
        "s3",
        "bucket",
        region="us-east-2",
        anonymous=False,
        endpoint_url="http://127.0.0.1:9",
        token_source=auth.TokenSource("sdk"),
        scope=auth.CredentialScope("role", "XX", None, "us-east-2"),
    )


@pytest.mark.parametrize(
    "failure",
    [
        AuthenticationError("the refresh token is expired or revoked"),
        CredentialsError("denied", "key", "denied"),
    ],
    ids=["token", "named"],
)
@pytest.mark.parametrize("read", ["get", "head"])
def test_read_error_chain_ends(monkeypatch, failure, read) -> None:
    def rejected(source: auth.TokenSource, scope: auth.CredentialScope) -> None:
        raise failure

    monkeypatch.setattr(storage, "aws_credentials", rejected)
    spec = token_spec()

    with pytest.raises(CredentialsError) as caught:
        if read == "get":
            storage.read_bytes(spec, "key")
        else:
            storage.object_stat(spec, "key")

    chain = cause_chain(caught.value)
    assert len(chain) < 20
    assert len({id(error) for error in chain}) == len(chain)
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)


@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_revoked_token_on_workers_raises(archive, sdk, api) -> None:
    # Access tokens that live under the SDK's 60 s threshold make each
    # worker refresh before its first request, with the revoked token.
    api.access_token_lifetime = 30
    dataset = restricted(end="2024-01-04")
    api.revoke_tokens()

    with (
        process_cluster() as cluster,
        Client(cluster) as client,
    ):
        future = client.compute(dataset)
        with pytest.raises(AuthenticationError) as caught:
            future.result(timeout=60)

    message = str(caught.value)
    assert "expired or revoked" in message
    assert "es login" in message
    for secret in api.issued_secrets:
        assert secret not in message
