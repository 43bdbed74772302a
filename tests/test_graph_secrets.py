"""Credentials given in storage_options stay out of pickled dask graphs.

A :class:`StorageSpec` contains digests of the secrets, and the process that
opened the data keeps the values. These tests read real miniSEED, RINEX and
position files from the session's moto server on loopback with
``key``/``secret``/``token`` (or the same names nested in ``client_kwargs``),
then look for the secret strings in what dask pickles. A graph computed in a
fresh Python process, or on a LocalCluster's worker process, must fail with
the CredentialsError that names the fixes, unless that process has the same
credentials in its ``AWS_*`` variables.
"""

from __future__ import annotations

import gzip
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import cloudpickle
import intake
import numpy as np
import pytest
import xarray as xr
import yaml
from distributed import Client, LocalCluster

from intake_earthscope.collection import Collection
from intake_earthscope.dataset import open_waveforms
from intake_earthscope.errors import CredentialsError
from intake_earthscope.gnss.position_dataset import open_positions
from intake_earthscope.gnss.rinex_dataset import clear_rinex_cache, open_rinex_obs
from intake_earthscope.storage import SecretOption, StorageSpec
from intake_earthscope.testing import create_bucket, put_public_object

from conftest import CATALOGS, OBSPY_MSEED_DATA, collection_spec, publish

KEY = "AKIAGRAPHSECRETS0001"
SECRET = "graph-secret-access-key-0f9e8d7c6b5a"
TOKEN = "graph-secret-session-token-1a2b3c4d5e"
SECRETS = (KEY, SECRET, TOKEN)

FLAT = {"key": KEY, "secret": SECRET, "token": TOKEN}
NESTED = {
    "client_kwargs": {
        "aws_access_key_id": KEY,
        "aws_secret_access_key": SECRET,
        "aws_session_token": TOKEN,
    }
}

BALST = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
BALST_DAYS = ("313", "314", "315")
YORK = "york0440.15d"
YORK_KEY = "rinex/2015/044/york/york0440.15d.gz"
POSITIONS_BUCKET = "gnss-positions"
P156 = "gnss_pos/P156.pbo.final_igs08.pos"

# Computes a pickled object in a fresh interpreter and prints the outcome
# as JSON: the error's class and message, or the statuses and warnings.
COMPUTE_ELSEWHERE = """
import json, sys, warnings
import cloudpickle, dask

with open(sys.argv[1], "rb") as handle:
    target = cloudpickle.load(handle)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        result = dask.compute(target, scheduler="sync")[0]
    except Exception as error:
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
        sys.exit(0)
status = [str(value) for value in result["status"].values.ravel()]
texts = [str(item.message) for item in caught]
print(json.dumps({"status": status, "warnings": texts}))
"""


def balst_objects() -> dict[str, bytes]:
    data = BALST.read_bytes()
    return {f"miniseed/CH/2025/{day}/BALST.CH.2025.{day}": data for day in BALST_DAYS}


def open_balst(options: dict[str, Any], errors: str = "raise") -> xr.Dataset:
    return open_waveforms(
        collection_spec("sage"),
        network="CH",
        station="BALST",
        location="",
        channel="LHE,LHZ",
        start="2025-11-10",
        end="2025-11-12",
        errors=errors,
        storage_options=options,
    )


def catalog_source(options: dict[str, Any]) -> Any:
    catalog = intake.open_catalog(str(CATALOGS / "earthscope.yaml"))
    return catalog.sage.miniseed(
        network="CH",
        station="BALST",
        location="",
        channel="LHE,LHZ",
        start="2025-11-10",
        end="2025-11-12",
        storage_options=options,
    )


def rinex_product() -> dict[str, Any]:
    text = (CATALOGS / "noaa_cors.yaml").read_text()
    return yaml.safe_load(text)["sources"]["rinex_obs"]["args"]["product"]


def open_york(s3: Any, shared_data: Path, options: dict[str, Any]) -> xr.Dataset:
    tier = rinex_product()["tiers"]["open"]
    client = s3.client(tier["region"])
    create_bucket(client, tier["bucket"], tier["region"])
    data = gzip.compress((shared_data / "rinex" / YORK).read_bytes())
    put_public_object(client, tier["bucket"], YORK_KEY, data)
    clear_rinex_cache()
    return open_rinex_obs(
        rinex_product(), "YORK", "2015-02-13", "2015-02-14", storage_options=options
    )


def open_p156(s3: Any, shared_data: Path, options: dict[str, Any]) -> xr.Dataset:
    client = s3.client()
    create_bucket(client, POSITIONS_BUCKET)
    put_public_object(
        client, POSITIONS_BUCKET, "P156.pos", (shared_data / P156).read_bytes()
    )
    return open_positions(
        [f"s3://{POSITIONS_BUCKET}/P156.pos"],
        start="2010-01-01",
        end="2010-02-01",
        storage_options=options,
    )


def pickles(dataset: xr.Dataset, name: str) -> list[bytes]:
    """Return the pickles dask sends: the graph, one array, the dataset."""
    return [
        cloudpickle.dumps(dataset.__dask_graph__()),
        cloudpickle.dumps(dataset[name].data),
        cloudpickle.dumps(dataset),
    ]


def assert_no_secret(data: bytes | str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    for secret in SECRETS:
        assert secret.encode() not in raw


def compute_elsewhere(target: Any, tmp_path: Path) -> dict[str, Any]:
    """Compute ``target`` in a fresh Python process; return its outcome."""
    path = tmp_path / "target.pickle"
    path.write_bytes(cloudpickle.dumps(target))
    finished = subprocess.run(
        [sys.executable, "-c", COMPUTE_ELSEWHERE, str(path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    return json.loads(finished.stdout.strip().splitlines()[-1])


def assert_names_fix(outcome: dict[str, Any]) -> None:
    assert outcome.get("error") == "CredentialsError", outcome
    message = outcome["message"]
    assert "stay in the process that opened the data" in message
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in message
    assert "'profile'" in message
    assert "processes=False" in message
    assert_no_secret(message)


# -- the spec itself ---------------------------------------------------------


def sage_spec(options: dict[str, Any]) -> StorageSpec:
    tier = Collection.from_yaml(collection_spec("sage")).tier("open")
    return StorageSpec.for_tier(tier, options)


@pytest.mark.parametrize("options", [FLAT, NESTED], ids=["flat", "nested"])
def test_spec_contains_digests_only(options) -> None:
    spec = sage_spec(options)

    assert_no_secret(repr(spec))
    assert_no_secret(pickle.dumps(spec))
    assert_no_secret(spec.identity)
    assert_no_secret(str(spec.storage_options))


def test_spec_options_in_building_process() -> None:
    spec = sage_spec({**FLAT, **NESTED})
    options = spec.fsspec_options()

    assert options["key"] == KEY
    assert options["secret"] == SECRET
    assert options["token"] == TOKEN
    assert options["client_kwargs"]["aws_secret_access_key"] == SECRET
    assert isinstance(spec.storage_options["secret"], SecretOption)


def test_spec_identity_stable_across_pickles() -> None:
    spec = sage_spec(FLAT)
    copy = pickle.loads(pickle.dumps(spec))

    assert copy.identity == spec.identity
    assert copy == spec
    assert sage_spec(FLAT).identity == spec.identity
    assert sage_spec({**FLAT, "secret": "another-secret-value"}).identity != (
        spec.identity
    )


def test_spec_keeps_other_options() -> None:
    spec = sage_spec({"anon": False, "client_kwargs": {"region_name": "us-east-2"}})

    assert spec.storage_options == {
        "anon": False,
        "client_kwargs": {"region_name": "us-east-2"},
    }


def test_spec_missing_secret_raises(monkeypatch) -> None:
    spec = sage_spec(FLAT)
    # A process that never kept the values: the registry is empty there.
    monkeypatch.setattr("intake_earthscope.redact._kept_secrets", {})

    with pytest.raises(CredentialsError) as caught:
        spec.fsspec_options()

    message = str(caught.value)
    assert "(key, secret, token)" in message
    assert "tier 'open'" in message
    assert_no_secret(message)


def test_spec_nested_missing_secret_named(monkeypatch) -> None:
    spec = sage_spec(NESTED)
    monkeypatch.setattr("intake_earthscope.redact._kept_secrets", {})

    with pytest.raises(CredentialsError, match="client_kwargs.aws_secret_access_key"):
        spec.fsspec_options()


def test_spec_secret_from_same_variables(monkeypatch) -> None:
    spec = sage_spec(FLAT)
    monkeypatch.setattr("intake_earthscope.redact._kept_secrets", {})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)

    options = spec.fsspec_options()

    assert (options["key"], options["secret"], options["token"]) == SECRETS


def test_spec_other_variables_raise(monkeypatch) -> None:
    spec = sage_spec(FLAT)
    monkeypatch.setattr("intake_earthscope.redact._kept_secrets", {})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOTHERCREDENTIAL1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "other-secret-access-key-value")

    with pytest.raises(CredentialsError):
        spec.fsspec_options()


# -- miniSEED: open_waveforms, the catalog source and windows() ---------------


@pytest.mark.parametrize("options", [FLAT, NESTED], ids=["flat", "nested"])
def test_waveform_graph_has_no_secret(s3, options) -> None:
    publish(s3, "sage", balst_objects())
    dataset = open_balst(options)

    for data in pickles(dataset, "waveform"):
        assert_no_secret(data)
    assert_no_secret(repr(dataset.attrs))


def test_waveform_unpickled_here_computes(s3) -> None:
    publish(s3, "sage", balst_objects())
    dataset = open_balst(FLAT)
    expected = open_balst({"anon": True}).waveform.values

    copy = cloudpickle.loads(cloudpickle.dumps(dataset))

    np.testing.assert_array_equal(copy.waveform.values, expected)
    assert (copy.status.values == "ok").all()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("options", [FLAT, NESTED], ids=["flat", "nested"])
def test_waveform_elsewhere_raises(s3, tmp_path, options) -> None:
    publish(s3, "sage", balst_objects())
    dataset = open_balst(options)

    outcome = compute_elsewhere(dataset.waveform.data, tmp_path)

    assert_names_fix(outcome)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("errors", ["warn", "ignore"])
def test_waveform_elsewhere_access_denied(s3, tmp_path, errors) -> None:
    publish(s3, "sage", balst_objects())
    dataset = open_balst(FLAT, errors=errors)

    outcome = compute_elsewhere(dataset, tmp_path)

    assert set(outcome["status"]) == {"access_denied"}
    texts = outcome["warnings"]
    if errors == "warn":
        assert any("stay in the process that opened" in text for text in texts)
    for text in texts:
        assert_no_secret(text)


def test_catalog_source_graph_has_no_secret(s3) -> None:
    publish(s3, "sage", balst_objects())
    source = catalog_source(FLAT)
    dataset = source.to_dask()

    for data in pickles(dataset, "waveform"):
        assert_no_secret(data)
    assert_no_secret(repr(dataset.attrs))
    assert (cloudpickle.loads(cloudpickle.dumps(dataset)).status.values == "ok").all()


@pytest.mark.timeout(300)
def test_windows_graph_has_no_secret(s3, tmp_path) -> None:
    publish(s3, "sage", balst_objects())
    source = catalog_source(NESTED)
    windows = source.windows(["2025-11-10T06:00:00"], before=60, after=120)

    for data in pickles(windows, "waveform"):
        assert_no_secret(data)
    assert_no_secret(repr(windows.attrs))
    copy = cloudpickle.loads(cloudpickle.dumps(windows))
    assert (copy.status.values == "ok").all()
    assert_names_fix(compute_elsewhere(windows.waveform.data, tmp_path))


# -- GNSS: RINEX observations and positions -----------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("options", [FLAT, NESTED], ids=["flat", "nested"])
def test_rinex_graph_has_no_secret(s3, shared_data, tmp_path, options) -> None:
    dataset = open_york(s3, shared_data, options)

    for data in pickles(dataset, "L1"):
        assert_no_secret(data)
    assert_no_secret(repr(dataset.attrs))
    copy = cloudpickle.loads(cloudpickle.dumps(dataset))
    assert copy["L1"].sel(sv="G07").values[0] == -5936986.221
    assert_names_fix(compute_elsewhere(dataset["L1"].data, tmp_path))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("options", [FLAT, NESTED], ids=["flat", "nested"])
def test_positions_graph_has_no_secret(s3, shared_data, tmp_path, options) -> None:
    dataset = open_p156(s3, shared_data, options)
    name = next(iter(dataset.data_vars))

    for data in pickles(dataset, name):
        assert_no_secret(data)
    assert_no_secret(repr(dataset.attrs))
    copy = cloudpickle.loads(cloudpickle.dumps(dataset))
    assert (copy.status.values == "ok").all()
    assert_names_fix(compute_elsewhere(dataset[name].data, tmp_path))


# -- a LocalCluster with worker processes --------------------------------------


def local_cluster() -> LocalCluster:
    return LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )


@pytest.mark.cluster
@pytest.mark.timeout(300)
def test_cluster_worker_raises_credentials_error(s3) -> None:
    publish(s3, "sage", balst_objects())
    dataset = open_balst(FLAT)

    with local_cluster() as cluster, Client(cluster):
        with pytest.raises(CredentialsError) as caught:
            dataset.waveform.compute()

    assert "stay in the process that opened the data" in str(caught.value)
    assert_no_secret(str(caught.value))


@pytest.mark.cluster
@pytest.mark.timeout(300)
def test_cluster_reads_with_same_variables(s3, monkeypatch) -> None:
    publish(s3, "sage", balst_objects())
    dataset = open_balst(FLAT)
    expected = open_balst({"anon": True}).waveform.values
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)

    with local_cluster() as cluster, Client(cluster):
        result = dataset.waveform.compute()

    np.testing.assert_array_equal(result.values, expected)


def test_threaded_cluster_reads(s3) -> None:
    publish(s3, "sage", balst_objects())
    dataset = open_balst(NESTED)
    expected = open_balst({"anon": True}).waveform.values

    with (
        # TCP on loopback: the in-memory transport of processes=False looks
        # up an outside address to name itself.
        LocalCluster(
            n_workers=1,
            processes=False,
            protocol="tcp",
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster),
    ):
        result = dataset.waveform.compute()

    np.testing.assert_array_equal(result.values, expected)


# -- the xarray backend ------------------------------------------------------


def open_backend(s3: Any) -> xr.Dataset:
    client = s3.client()
    create_bucket(client, "backend-secrets")
    put_public_object(client, "backend-secrets", "BALST.mseed", BALST.read_bytes())
    options = {**FLAT, "client_kwargs": {"endpoint_url": s3.endpoint_url}}
    return xr.open_dataset(
        "s3://backend-secrets/BALST.mseed",
        engine="miniseed",
        chunks={},
        backend_kwargs={"storage_options": options},
    )


def test_backend_graph_has_no_secret(s3) -> None:
    dataset = open_backend(s3)
    name = next(iter(dataset.data_vars))

    for data in pickles(dataset, name):
        assert_no_secret(data)


def test_backend_unpickled_here_computes(s3) -> None:
    dataset = open_backend(s3)
    name = next(iter(dataset.data_vars))

    copy = pickle.loads(cloudpickle.dumps(dataset[name].data))

    assert np.array_equal(copy.compute(), dataset[name].values, equal_nan=True)


@pytest.mark.timeout(300)
def test_backend_elsewhere_raises(s3, tmp_path) -> None:
    dataset = open_backend(s3)
    name = next(iter(dataset.data_vars))

    outcome = compute_elsewhere(dataset[name].data, tmp_path)

    assert outcome.get("error") == "CredentialsError", outcome
    assert "stay in the process that opened the data" in outcome["message"]
    assert "s3://backend-secrets/BALST.mseed" in outcome["message"]
    assert_no_secret(outcome["message"])


# -- credentials in client_kwargs sign the requests ---------------------------


@pytest.mark.parametrize(
    "options", [NESTED, {"profile": "reader"}], ids=["nested", "profile"]
)
def test_spec_credentials_not_anonymous(options) -> None:
    spec = sage_spec(options)

    assert "anon" not in spec.fsspec_options()


def test_root_nested_credentials_read_private(s3) -> None:
    client = s3.client()
    create_bucket(client, "private-nested")
    data = BALST.read_bytes()
    for day in BALST_DAYS:
        key = f"miniseed/CH/2025/{day}/BALST.CH.2025.{day}"
        client.put_object(Bucket="private-nested", Key=key, Body=data)
    options = {
        "client_kwargs": {**NESTED["client_kwargs"], "endpoint_url": s3.endpoint_url}
    }

    dataset = open_waveforms(
        collection_spec("sage"),
        network="CH",
        station="BALST",
        location="",
        channel="LHE,LHZ",
        start="2025-11-10",
        end="2025-11-12",
        root="s3://private-nested",
        storage_options=options,
    ).load()

    assert set(dataset.status.values.ravel()) == {"ok"}
