"""Tests of the loopback S3 server and the AWS environment isolation."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import botocore.exceptions
import fsspec
import pytest
import s3fs

from intake_earthscope.testing import (
    LOOPBACK_HOST,
    REMOVED_AWS_VARIABLES,
    LoopbackS3,
    create_bucket,
    isolated_aws_environment,
    put_public_object,
)

HASH_KEY = "miniseed/CC/2006/001/JRO.CC.2006.001#1"
PAYLOAD = bytes(range(256)) * 4


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackS3]:
    """One server process for the module, because each start costs about 1 s."""
    with LoopbackS3() as s3:
        yield s3


@pytest.fixture
def s3(server: LoopbackS3, tmp_path: Path) -> Iterator[LoopbackS3]:
    """The module's server, emptied, with an isolated AWS environment."""
    server.reset()
    with isolated_aws_environment(tmp_path):
        yield server


def anonymous_fs(s3: LoopbackS3) -> s3fs.S3FileSystem:
    # A fresh instance, so listings cached before a reset cannot leak in.
    return s3fs.S3FileSystem(**s3.anonymous_storage_options(), skip_instance_cache=True)


def port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((LOOPBACK_HOST, port)) == 0


def process_running(pid: int) -> bool:
    """Return True if ``pid`` exists and is not a zombie waiting to be reaped."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        return state != "Z"

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_server_listens_on_loopback(s3: LoopbackS3) -> None:
    assert s3.endpoint_url == f"http://127.0.0.1:{s3.port}"
    assert s3.port > 0
    assert s3.pid is not None
    assert s3.pid != os.getpid()
    assert s3.is_running()
    assert port_accepts(s3.port)


def test_second_server_gets_another_port(s3: LoopbackS3) -> None:
    with LoopbackS3() as other:
        assert other.port > 0
        assert other.port != s3.port
        assert other.pid != s3.pid


def test_anonymous_listing_of_public_objects(s3: LoopbackS3) -> None:
    client = s3.client()
    create_bucket(client, "open-data")
    put_public_object(client, "open-data", "day/one.ms", b"1")
    put_public_object(client, "open-data", "day/two.ms", b"2")

    fs = anonymous_fs(s3)

    assert fs.ls("open-data", detail=False) == ["open-data/day"]
    assert fs.find("open-data") == ["open-data/day/one.ms", "open-data/day/two.ms"]


def test_anonymous_cat_and_ranged_cat(s3: LoopbackS3) -> None:
    client = s3.client()
    create_bucket(client, "open-data")
    put_public_object(client, "open-data", "object", PAYLOAD)

    fs = anonymous_fs(s3)

    assert fs.cat_file("open-data/object") == PAYLOAD
    # s3fs 2026.9 takes version_id as the second positional argument, so
    # start and end must be passed by keyword.
    assert fs.cat_file("open-data/object", start=100, end=164) == PAYLOAD[100:164]
    assert fs.cat_file("open-data/object", start=-10) == PAYLOAD[-10:]


def test_private_object_rejects_anonymous_read(s3: LoopbackS3) -> None:
    client = s3.client()
    create_bucket(client, "open-data")
    client.put_object(Bucket="open-data", Key="private", Body=b"secret")

    with pytest.raises(PermissionError):
        anonymous_fs(s3).cat_file("open-data/private")


def test_hash_key_round_trips_boto3(s3: LoopbackS3) -> None:
    client = s3.client()
    create_bucket(client, "open-data")
    put_public_object(client, "open-data", HASH_KEY, PAYLOAD)

    listed = client.list_objects_v2(Bucket="open-data")["Contents"]
    body = client.get_object(Bucket="open-data", Key=HASH_KEY)["Body"].read()

    assert [item["Key"] for item in listed] == [HASH_KEY]
    assert body == PAYLOAD


def test_hash_key_round_trips_s3fs(s3: LoopbackS3) -> None:
    client = s3.client()
    create_bucket(client, "open-data")
    put_public_object(client, "open-data", HASH_KEY, PAYLOAD)
    path = f"open-data/{HASH_KEY}"

    fs = anonymous_fs(s3)

    assert fs.find("open-data") == [path]
    assert fs.ls(path.rsplit("/", 1)[0], detail=False) == [path]
    assert fs.info(path)["size"] == len(PAYLOAD)
    assert fs.cat_file(path, start=0, end=8) == PAYLOAD[:8]
    assert fs.cat_file(f"s3://{path}") == PAYLOAD


def test_hash_key_through_fsspec_open(s3: LoopbackS3) -> None:
    client = s3.client()
    create_bucket(client, "open-data")
    put_public_object(client, "open-data", HASH_KEY, PAYLOAD)

    url = f"s3://open-data/{HASH_KEY}"
    options = s3.anonymous_storage_options()
    with fsspec.open(url, "rb", skip_instance_cache=True, **options) as stream:
        content = stream.read()

    assert content == PAYLOAD


@pytest.mark.parametrize("region", ["us-east-2", "us-west-2"])
def test_bucket_outside_us_east_1(s3: LoopbackS3, region: str) -> None:
    client = s3.client(region)
    create_bucket(client, "regional", region)
    put_public_object(client, "regional", HASH_KEY, PAYLOAD)

    location = client.get_bucket_location(Bucket="regional")["LocationConstraint"]
    head = client.head_bucket(Bucket="regional")["ResponseMetadata"]["HTTPHeaders"]
    content = anonymous_fs(s3).cat_file(f"regional/{HASH_KEY}")

    assert location == region
    assert head["x-amz-bucket-region"] == region
    assert content == PAYLOAD


def test_us_east_1_client_creates_any_region(s3: LoopbackS3) -> None:
    client = s3.client("us-east-1")
    create_bucket(client, "western", "us-west-2")

    location = client.get_bucket_location(Bucket="western")["LocationConstraint"]

    assert location == "us-west-2"


def test_us_east_1_bucket_has_no_constraint(s3: LoopbackS3) -> None:
    client = s3.client()
    create_bucket(client, "eastern")

    location = client.get_bucket_location(Bucket="eastern")["LocationConstraint"]

    assert location is None


def test_create_bucket_rejects_foreign_client(s3: LoopbackS3) -> None:
    client = s3.client("us-west-2")

    with pytest.raises(ValueError, match="us-east-2"):
        create_bucket(client, "elsewhere", "us-east-2")


def test_reset_deletes_buckets(s3: LoopbackS3) -> None:
    client = s3.client()
    create_bucket(client, "open-data")

    s3.reset()

    assert client.list_buckets()["Buckets"] == []


def test_environment_reaches_server_process(tmp_path: Path) -> None:
    # With no unauthenticated actions left, moto checks every key against
    # its IAM users, and the throw-away key is not one of them.
    with (
        isolated_aws_environment(tmp_path),
        LoopbackS3({"INITIAL_NO_AUTH_ACTION_COUNT": "0"}) as s3,
    ):
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            s3.client().list_buckets()

    assert raised.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_stop_ends_server_process() -> None:
    s3 = LoopbackS3().start()
    process = s3._process
    port = s3.port

    s3.stop()

    assert process is not None
    assert process.returncode == 0
    assert not s3.is_running()
    assert not port_accepts(port)


def test_stop_twice_is_harmless() -> None:
    s3 = LoopbackS3().start()

    s3.stop()
    s3.stop()

    assert s3.pid is None


def test_context_exit_ends_server_process() -> None:
    with LoopbackS3() as s3:
        pid = s3.pid
        port = s3.port

    assert pid is not None
    assert wait_until(lambda: not process_running(pid), timeout=5.0)
    assert not port_accepts(port)


def test_start_twice_raises() -> None:
    with LoopbackS3() as s3:
        with pytest.raises(RuntimeError, match="already started"):
            s3.start()


def test_startup_failure_reports_stderr() -> None:
    # Python cannot start without its standard library.
    s3 = LoopbackS3({"PYTHONHOME": "/nonexistent-python-home"})

    with pytest.raises(RuntimeError, match="exited with status") as raised:
        s3.start()

    assert "nonexistent-python-home" in str(raised.value)
    assert not s3.is_running()
    assert s3.pid is None


def test_reset_of_stopped_server_raises() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        LoopbackS3().reset()


PARENT_SCRIPT = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from intake_earthscope.testing import LoopbackS3
server = LoopbackS3().start()
holder = 0
if sys.argv[2] == "fork":
    # The forked process inherits the write end of the server's stdin pipe.
    holder = os.fork()
    if holder == 0:
        time.sleep(60)
        os._exit(0)
print(server.pid, server.port, holder, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="uses POSIX fork and signals")
@pytest.mark.parametrize("pipe_holder", ["none", "fork"])
def test_server_dies_with_killed_parent(pipe_holder: str) -> None:
    project_root = str(Path(__file__).resolve().parents[1])
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT, project_root, pipe_holder],
        stdout=subprocess.PIPE,
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    server_pid, port, holder_pid = (int(field) for field in line.split())

    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)

        assert parent.returncode == -signal.SIGKILL
        assert wait_until(lambda: not process_running(server_pid))
        assert not port_accepts(port)
    finally:
        parent.stdout.close()
        # End the processes this test started if they outlived the parent.
        for pid in (server_pid, holder_pid):
            if pid and process_running(pid):
                os.kill(pid, signal.SIGKILL)


def test_environment_sets_throwaway_credentials(tmp_path: Path) -> None:
    with isolated_aws_environment(tmp_path) as variables:
        environment = dict(os.environ)

    assert environment["AWS_ACCESS_KEY_ID"] == "testing"
    assert environment["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert environment["AWS_EC2_METADATA_DISABLED"] == "true"
    assert variables["AWS_ACCESS_KEY_ID"] == "testing"


def test_environment_uses_blank_config_files(tmp_path: Path) -> None:
    with isolated_aws_environment(tmp_path):
        config_file = Path(os.environ["AWS_CONFIG_FILE"])
        credentials_file = Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"])

    assert config_file.parent == tmp_path
    assert credentials_file.parent == tmp_path
    assert config_file.read_text() == ""
    assert credentials_file.read_text() == ""


def test_environment_bypasses_proxy_for_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "example.org")
    monkeypatch.delenv("no_proxy", raising=False)

    with isolated_aws_environment(tmp_path):
        upper = os.environ["NO_PROXY"]
        lower = os.environ["no_proxy"]

    assert upper == "example.org,127.0.0.1,localhost"
    assert lower == "127.0.0.1,localhost"


def test_environment_removes_profile_and_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in REMOVED_AWS_VARIABLES:
        monkeypatch.setenv(name, f"outer-{name}")

    with isolated_aws_environment(tmp_path):
        remaining = [name for name in REMOVED_AWS_VARIABLES if name in os.environ]

    assert remaining == []


def test_environment_restores_previous_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "outer-profile")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "outer-token")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "outer-key")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)

    with isolated_aws_environment(tmp_path):
        pass

    assert os.environ["AWS_PROFILE"] == "outer-profile"
    assert os.environ["AWS_SESSION_TOKEN"] == "outer-token"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "outer-key"
    assert "AWS_SECRET_ACCESS_KEY" not in os.environ
    assert "AWS_EC2_METADATA_DISABLED" not in os.environ


def test_environment_restores_after_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "outer-profile")

    with pytest.raises(KeyError), isolated_aws_environment(tmp_path):
        raise KeyError("raised inside the block")

    assert os.environ["AWS_PROFILE"] == "outer-profile"
