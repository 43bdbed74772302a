"""Web service requests against loopback HTTP servers.

Two servers run in threads on 127.0.0.1 with ports the operating system
picks. The test specs allow the token to go to ``127.0.0.1`` only, and the
second server is reached as ``localhost``, so it counts as a foreign host.
Each server records the ``Authorization`` header of every request.

The token is a fake, unsigned JWT handed to ``resolve_token_source``, so
``access_token`` reads it from process memory; no OAuth server is involved.
"""

from __future__ import annotations

import io
import logging
import pickle
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import obspy
import pandas as pd
import pytest

from intake_earthscope.auth import TokenSource, resolve_token_source
from intake_earthscope.codes import SeedId
from intake_earthscope.errors import (
    AccessDeniedError,
    AuthenticationError,
    InvalidRequestError,
    ObjectNotFoundError,
    WebServiceError,
)
from intake_earthscope.fdsn import fdsn_dataselect, fdsn_station, fdsn_station_text
from intake_earthscope.webservices import (
    MAX_REDIRECTS,
    WebServiceSpec,
    close_client,
    https_get,
)

from conftest import OBSPY_MSEED_DATA
from loopback_http import LoopbackHttp, Reply, Route, fake_jwt

MSEED_FILE = OBSPY_MSEED_DATA / "CH.BALST..LH_two_channels"
STATIONXML_NAME = "IU_ULN_00_LH1.xml"

DATASELECT = "/fdsnws/dataselect/1/"
STATION = "/fdsnws/station/1/"
GAGE = "/archive/gnss/"

# 2025-11-10T00:00:00 and one day later, in nanoseconds since 1970 UTC.
START_NS = 1_762_732_800 * 1_000_000_000
END_NS = START_NS + 86_400 * 1_000_000_000

BALST = [SeedId("CH", "BALST", "", "LHE"), SeedId("CH", "BALST", "", "LHZ")]


def text_reply(status: int, text: str) -> Route:
    body = text.encode()
    return lambda params: Reply(status, body, {"Content-Type": "text/plain"})


def redirect_to(location: str, status: int = 302) -> Route:
    return lambda params: Reply(status, b"", {"Location": location})


@pytest.fixture
def server() -> Iterator[LoopbackHttp]:
    """The service host, allowed to receive the token."""
    loopback = LoopbackHttp("127.0.0.1")
    loopback.start()
    yield loopback
    loopback.stop()


@pytest.fixture
def foreign() -> Iterator[LoopbackHttp]:
    """Another host (``localhost``), which must never receive the token."""
    loopback = LoopbackHttp("localhost")
    loopback.start()
    yield loopback
    loopback.stop()


@pytest.fixture(autouse=True)
def _fresh_client() -> Iterator[None]:
    yield
    close_client()


@pytest.fixture(scope="module")
def token() -> str:
    return fake_jwt()


@pytest.fixture(scope="module")
def token_source(token: str) -> TokenSource:
    return resolve_token_source(token=token)


@pytest.fixture
def spec_for(
    server: LoopbackHttp, token_source: TokenSource
) -> Callable[[str], WebServiceSpec]:
    def build(path: str) -> WebServiceSpec:
        return WebServiceSpec(
            base_url=server.url(path),
            allowed_hosts=("127.0.0.1",),
            token_source=token_source,
            timeout=5.0,
        )

    return build


@pytest.fixture
def dataselect(spec_for: Callable[[str], WebServiceSpec]) -> WebServiceSpec:
    return spec_for(DATASELECT)


@pytest.fixture
def mseed_bytes() -> bytes:
    return MSEED_FILE.read_bytes()


@pytest.fixture
def stationxml_bytes(shared_data: Path) -> bytes:
    return (shared_data / "stationxml" / STATIONXML_NAME).read_bytes()


def bearer(token: str) -> str:
    return f"Bearer {token}"


def serve_mseed(server: LoopbackHttp, data: bytes) -> None:
    server.routes[DATASELECT + "query"] = lambda params: Reply(
        200, data, {"Content-Type": "application/vnd.fdsn.mseed"}
    )


# WebServiceSpec


def test_spec_repr_hides_token(dataselect: WebServiceSpec, token: str) -> None:
    assert token not in repr(dataselect)


def test_spec_pickle_hides_token(dataselect: WebServiceSpec, token: str) -> None:
    data = pickle.dumps(dataselect)
    assert token.encode() not in data
    assert token.split(".")[1].encode() not in data


def test_spec_pickle_round_trip(dataselect: WebServiceSpec) -> None:
    assert pickle.loads(pickle.dumps(dataselect)) == dataselect


def test_spec_host_list_becomes_tuple() -> None:
    spec = WebServiceSpec(
        "https://service.earthscope.org/fdsnws/dataselect/1/",
        allowed_hosts=["Service.EarthScope.org"],  # type: ignore[arg-type]
    )
    assert spec.allowed_hosts == ("service.earthscope.org",)


@pytest.mark.parametrize("pattern", ["*", "*.org", "*earthscope.org", "a*.b.org"])
def test_spec_rejects_broad_host_pattern(pattern: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid allowed_hosts entry"):
        WebServiceSpec("https://a.earthscope.org/", allowed_hosts=(pattern,))


def test_spec_rejects_single_host_string() -> None:
    with pytest.raises(InvalidRequestError, match="expected a list"):
        WebServiceSpec("https://a.earthscope.org/", allowed_hosts="earthscope.org")  # type: ignore[arg-type]


def test_spec_requires_trailing_slash() -> None:
    with pytest.raises(InvalidRequestError, match="must end with '/'"):
        WebServiceSpec("https://service.earthscope.org/fdsnws/dataselect/1")


@pytest.mark.parametrize(
    "base_url",
    ["ftp://service.earthscope.org/", "https://u:p@a.earthscope.org/", "/fdsnws/"],
)
def test_spec_rejects_invalid_base_url(base_url: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid base_url"):
        WebServiceSpec(base_url)


@pytest.mark.parametrize("timeout", [0, -1.0, "60"])
def test_spec_rejects_invalid_timeout(timeout: object) -> None:
    with pytest.raises(InvalidRequestError, match="invalid timeout"):
        WebServiceSpec("https://a.earthscope.org/", timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://service.earthscope.org/fdsnws/", True),
        ("https://earthscope.org/", True),
        ("https://a.b.earthscope.org/", True),
        ("https://SERVICE.EARTHSCOPE.ORG/", True),
        ("http://service.earthscope.org/", False),
        ("https://earthscope.org.example.com/", False),
        ("https://notearthscope.org/", False),
        ("https://example.com/?host=earthscope.org", False),
    ],
)
def test_spec_allows_token_by_host(url: str, allowed: bool) -> None:
    spec = WebServiceSpec("https://service.earthscope.org/fdsnws/dataselect/1/")
    assert spec.allows_token(url) is allowed


def test_spec_allows_plain_http_on_loopback() -> None:
    spec = WebServiceSpec("http://127.0.0.1:8080/", allowed_hosts=("127.0.0.1",))
    assert spec.allows_token("http://127.0.0.1:8080/query")


# fdsn_dataselect


def test_dataselect_returns_miniseed(
    server: LoopbackHttp, dataselect: WebServiceSpec, mseed_bytes: bytes
) -> None:
    serve_mseed(server, mseed_bytes)

    data = fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    assert data == mseed_bytes
    stream = obspy.read(io.BytesIO(data))
    assert sorted(trace.id for trace in stream) == ["CH.BALST..LHE", "CH.BALST..LHZ"]


def test_dataselect_sends_bearer_token(
    server: LoopbackHttp, dataselect: WebServiceSpec, mseed_bytes: bytes, token: str
) -> None:
    serve_mseed(server, mseed_bytes)

    fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    assert server.tokens_seen() == [bearer(token)]


def test_dataselect_query_parameters(
    server: LoopbackHttp, dataselect: WebServiceSpec, mseed_bytes: bytes
) -> None:
    serve_mseed(server, mseed_bytes)
    ids = [*BALST, SeedId("CH", "DAVOX", "00", "LHZ")]

    fdsn_dataselect(dataselect, ids, START_NS, END_NS)

    query = server.seen[0].query
    assert query["net"] == ["CH"]
    assert query["sta"] == ["BALST,DAVOX"]
    assert query["loc"] == ["--,00"]
    assert query["cha"] == ["LHE,LHZ"]
    assert query["start"] == ["2025-11-10T00:00:00.000000"]
    assert query["end"] == ["2025-11-11T00:00:00.000000"]
    assert query["nodata"] == ["404"]


def test_dataselect_rounds_window_outward(
    server: LoopbackHttp, dataselect: WebServiceSpec, mseed_bytes: bytes
) -> None:
    serve_mseed(server, mseed_bytes)

    fdsn_dataselect(dataselect, BALST, START_NS + 1_999, END_NS + 1)

    query = server.seen[0].query
    assert query["start"] == ["2025-11-10T00:00:00.000001"]
    assert query["end"] == ["2025-11-11T00:00:00.000001"]


@pytest.mark.parametrize("status", [204, 404])
def test_dataselect_no_data_returns_none(
    server: LoopbackHttp, dataselect: WebServiceSpec, status: int
) -> None:
    server.routes[DATASELECT + "query"] = text_reply(status, "")

    assert fdsn_dataselect(dataselect, BALST, START_NS, END_NS) is None


def test_dataselect_rejects_empty_ids(dataselect: WebServiceSpec) -> None:
    with pytest.raises(InvalidRequestError, match="at least one SeedId"):
        fdsn_dataselect(dataselect, [], START_NS, END_NS)


def test_dataselect_rejects_empty_window(dataselect: WebServiceSpec) -> None:
    with pytest.raises(InvalidRequestError, match="is not after start=.*; swap them$"):
        fdsn_dataselect(dataselect, BALST, END_NS, START_NS)


def test_dataselect_from_many_threads(
    server: LoopbackHttp, dataselect: WebServiceSpec, mseed_bytes: bytes
) -> None:
    serve_mseed(server, mseed_bytes)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda _: fdsn_dataselect(dataselect, BALST, START_NS, END_NS),
                range(16),
            )
        )

    assert all(result == mseed_bytes for result in results)
    assert len(server.seen) == 16


# Errors


def test_unauthorized_raises_authentication_error(
    server: LoopbackHttp, dataselect: WebServiceSpec, token: str
) -> None:
    server.routes[DATASELECT + "query"] = text_reply(401, "Error 401: Unauthorized")

    with pytest.raises(AuthenticationError) as caught:
        fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    message = str(caught.value)
    assert "es login" in message
    assert server.url(DATASELECT + "query") in message
    assert "was rejected" in message
    assert token not in message


def test_unauthorized_without_token_source(server: LoopbackHttp) -> None:
    server.routes[DATASELECT + "query"] = text_reply(401, "Error 401: Unauthorized")
    spec = WebServiceSpec(server.url(DATASELECT), allowed_hosts=("127.0.0.1",))

    with pytest.raises(AuthenticationError, match="none was configured"):
        fdsn_dataselect(spec, BALST, START_NS, END_NS)

    assert server.tokens_seen() == [None]


def test_forbidden_raises_access_denied(
    server: LoopbackHttp, dataselect: WebServiceSpec, token: str
) -> None:
    server.routes[DATASELECT + "query"] = text_reply(403, "Error 403: Forbidden")

    with pytest.raises(AccessDeniedError) as caught:
        fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    message = str(caught.value)
    assert isinstance(caught.value, PermissionError)
    assert server.url(DATASELECT + "query") in message
    assert "Error 403: Forbidden" in message
    assert token not in message


def test_echoed_token_cut_in_excerpt_is_hidden(
    server: LoopbackHttp, dataselect: WebServiceSpec, token: str
) -> None:
    # The token starts near the end of the excerpt, so cutting the body
    # before replacing secrets would keep most of the token.
    body = "x" * 250 + " bad token " + token
    server.routes[DATASELECT + "query"] = text_reply(403, body)

    with pytest.raises(AccessDeniedError) as caught:
        fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    message = str(caught.value)
    assert "bad token" in message
    assert token[:30] not in message


def test_server_error_raises_web_service_error(
    server: LoopbackHttp, dataselect: WebServiceSpec, token: str
) -> None:
    server.routes[DATASELECT + "query"] = text_reply(500, "Internal failure")

    with pytest.raises(WebServiceError) as caught:
        fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    message = str(caught.value)
    assert isinstance(caught.value, OSError)
    assert "server error 500" in message
    assert server.url(DATASELECT + "query") in message
    assert "Internal failure" in message
    assert token not in message


def test_too_many_requests_names_retry_after(
    server: LoopbackHttp, dataselect: WebServiceSpec
) -> None:
    server.routes[DATASELECT + "query"] = lambda params: Reply(
        429, b"", {"Retry-After": "30"}
    )

    with pytest.raises(WebServiceError, match="retry after 30 seconds"):
        fdsn_dataselect(dataselect, BALST, START_NS, END_NS)


def test_timeout_raises_web_service_error(
    server: LoopbackHttp, spec_for: Callable[[str], WebServiceSpec], token: str
) -> None:
    server.routes[DATASELECT + "query"] = lambda params: Reply(200, delay=2.0)
    spec = WebServiceSpec(
        server.url(DATASELECT),
        allowed_hosts=("127.0.0.1",),
        token_source=spec_for(DATASELECT).token_source,
        timeout=0.2,
    )

    with pytest.raises(WebServiceError) as caught:
        fdsn_dataselect(spec, BALST, START_NS, END_NS)

    message = str(caught.value)
    assert isinstance(caught.value, OSError)
    assert "timed out after 0.2 s" in message
    assert token not in message
    assert token.encode() not in pickle.dumps(caught.value)


def test_refused_connection_raises(token_source: TokenSource) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = WebServiceSpec(
        f"http://127.0.0.1:{port}{DATASELECT}",
        allowed_hosts=("127.0.0.1",),
        token_source=token_source,
    )

    with pytest.raises(WebServiceError, match="failed: ConnectError"):
        fdsn_dataselect(spec, BALST, START_NS, END_NS)


# Redirects


def test_redirect_on_allowed_host_keeps_token(
    server: LoopbackHttp, dataselect: WebServiceSpec, mseed_bytes: bytes, token: str
) -> None:
    server.routes[DATASELECT + "query"] = redirect_to("/moved/query", 307)
    server.routes["/moved/query"] = lambda params: Reply(200, mseed_bytes)

    data = fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    assert data == mseed_bytes
    assert server.tokens_seen() == [bearer(token), bearer(token)]


def test_redirect_to_foreign_host_drops_token(
    server: LoopbackHttp,
    foreign: LoopbackHttp,
    dataselect: WebServiceSpec,
    mseed_bytes: bytes,
    token: str,
) -> None:
    server.routes[DATASELECT + "query"] = redirect_to(foreign.url("/download"))
    foreign.routes["/download"] = lambda params: Reply(200, mseed_bytes)

    data = fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    assert data == mseed_bytes
    assert server.tokens_seen() == [bearer(token)]
    assert foreign.tokens_seen() == [None]


def test_redirect_back_from_foreign_host(
    server: LoopbackHttp,
    foreign: LoopbackHttp,
    dataselect: WebServiceSpec,
    mseed_bytes: bytes,
    token: str,
) -> None:
    server.routes[DATASELECT + "query"] = redirect_to(foreign.url("/bounce"))
    foreign.routes["/bounce"] = redirect_to(server.url("/final"))
    server.routes["/final"] = lambda params: Reply(200, mseed_bytes)

    fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    assert server.tokens_seen() == [bearer(token), None]
    assert foreign.tokens_seen() == [None]


def test_foreign_host_unauthorized_explains(
    server: LoopbackHttp, foreign: LoopbackHttp, dataselect: WebServiceSpec
) -> None:
    server.routes[DATASELECT + "query"] = redirect_to(foreign.url("/download"))
    foreign.routes["/download"] = text_reply(401, "login required")

    with pytest.raises(AuthenticationError, match="localhost is not in allowed_hosts"):
        fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    assert foreign.tokens_seen() == [None]


def test_too_many_redirects_raises(
    server: LoopbackHttp, dataselect: WebServiceSpec
) -> None:
    server.routes[DATASELECT + "query"] = redirect_to(DATASELECT + "query")

    with pytest.raises(WebServiceError, match="too many redirects"):
        fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    assert len(server.seen) == MAX_REDIRECTS + 1


def test_redirect_without_location_raises(
    server: LoopbackHttp, dataselect: WebServiceSpec
) -> None:
    server.routes[DATASELECT + "query"] = lambda params: Reply(302)

    with pytest.raises(WebServiceError, match="has no Location"):
        fdsn_dataselect(dataselect, BALST, START_NS, END_NS)


def test_signed_redirect_query_redacted(
    server: LoopbackHttp,
    foreign: LoopbackHttp,
    dataselect: WebServiceSpec,
    caplog: pytest.LogCaptureFixture,
) -> None:
    signed = "/object?X-Amz-Signature=s1gnature5ecret&X-Amz-Security-Token=5ession"
    server.routes[DATASELECT + "query"] = redirect_to(foreign.url(signed))
    foreign.routes["/object"] = text_reply(500, "")
    caplog.set_level(logging.DEBUG)

    with pytest.raises(WebServiceError) as caught:
        fdsn_dataselect(dataselect, BALST, START_NS, END_NS)

    message = str(caught.value)
    assert "X-Amz-Signature=[redacted]" in message
    assert "s1gnature5ecret" not in message
    assert "5ession" not in message
    assert "s1gnature5ecret" not in caplog.text
    assert "5ession" not in caplog.text


# Token in logs


def test_token_absent_from_logs(
    server: LoopbackHttp,
    foreign: LoopbackHttp,
    dataselect: WebServiceSpec,
    mseed_bytes: bytes,
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server.routes[DATASELECT + "query"] = redirect_to(foreign.url("/download"))
    foreign.routes["/download"] = lambda params: Reply(200, mseed_bytes)
    server.routes[DATASELECT + "failing/query"] = text_reply(500, "failure")
    failing = WebServiceSpec(
        server.url(DATASELECT + "failing/"),
        allowed_hosts=("127.0.0.1",),
        token_source=dataselect.token_source,
    )

    fdsn_dataselect(dataselect, BALST, START_NS, END_NS)
    with pytest.raises(WebServiceError):
        fdsn_dataselect(failing, BALST, START_NS, END_NS)

    payload = token.split(".")[1]
    messages = [record.getMessage() for record in caplog.records]
    assert any("bearer token sent" in message for message in messages)
    assert not any(token in message for message in messages)
    assert not any(payload in message for message in messages)
    assert token not in caplog.text
    assert payload not in caplog.text


# fdsn_station and fdsn_station_text


def test_station_returns_inventory(
    server: LoopbackHttp,
    spec_for: Callable[[str], WebServiceSpec],
    stationxml_bytes: bytes,
    token: str,
) -> None:
    server.routes[STATION + "query"] = lambda params: Reply(200, stationxml_bytes)
    selection = [SeedId("IU", "ULN", "00", "LH1")]

    inventory = fdsn_station(spec_for(STATION), selection, START_NS, END_NS)

    assert inventory.get_contents()["channels"] == ["IU.ULN.00.LH1"]
    assert server.tokens_seen() == [bearer(token)]


def test_station_query_parameters(
    server: LoopbackHttp,
    spec_for: Callable[[str], WebServiceSpec],
    stationxml_bytes: bytes,
) -> None:
    server.routes[STATION + "query"] = lambda params: Reply(200, stationxml_bytes)
    patterns = {"network": ["IU"], "station": ["U*"], "location": [""]}

    fdsn_station(spec_for(STATION), patterns, START_NS, END_NS, level="response")

    query = server.seen[0].query
    assert query["net"] == ["IU"]
    assert query["sta"] == ["U*"]
    assert query["loc"] == ["--"]
    assert query["cha"] == ["*"]
    assert query["level"] == ["response"]
    assert query["format"] == ["xml"]


def test_station_no_data_empty_inventory(
    server: LoopbackHttp, spec_for: Callable[[str], WebServiceSpec]
) -> None:
    server.routes[STATION + "query"] = text_reply(204, "")

    inventory = fdsn_station(spec_for(STATION), BALST, START_NS, END_NS)

    assert len(inventory.networks) == 0


def test_station_invalid_xml_raises(
    server: LoopbackHttp, spec_for: Callable[[str], WebServiceSpec]
) -> None:
    server.routes[STATION + "query"] = text_reply(200, "<html>maintenance</html>")

    with pytest.raises(WebServiceError, match="invalid StationXML"):
        fdsn_station(spec_for(STATION), BALST, START_NS, END_NS)


def test_station_rejects_unknown_level(
    spec_for: Callable[[str], WebServiceSpec],
) -> None:
    with pytest.raises(InvalidRequestError, match="invalid level='sensor'"):
        fdsn_station(spec_for(STATION), BALST, START_NS, END_NS, level="sensor")


def test_station_text_from_stationxml(
    server: LoopbackHttp,
    spec_for: Callable[[str], WebServiceSpec],
    stationxml_bytes: bytes,
) -> None:
    text = io.StringIO()
    obspy.read_inventory(io.BytesIO(stationxml_bytes)).write(
        text, format="STATIONTXT", level="channel"
    )
    server.routes[STATION + "query"] = text_reply(200, text.getvalue())

    table = fdsn_station_text(spec_for(STATION), BALST, START_NS, END_NS)

    assert table["Location"].tolist() == ["00"]
    assert table["Channel"].tolist() == ["LH1"]
    assert table["Latitude"].tolist() == [47.8651]
    assert table["StartTime"].iloc[0] == pd.Timestamp("2013-09-29", tz="UTC")
    assert server.seen[0].query["format"] == ["text"]


STATION_TEXT = """\
#Network|Station|Location|Channel|Latitude|Longitude|Elevation|Depth|Azimuth|Dip|SensorDescription|Scale|ScaleFreq|ScaleUnits|SampleRate|StartTime|EndTime
NA|SABA|00|BHZ|17.62|-63.24|200.0|0.0|0.0|-90.0|STS-2|1.0E9|1.0|M/S|40.0|2006-01-01T00:00:00|
NA|SABA||LHZ|17.62|-63.24|200.0|0.0|0.0|-90.0|NA|1.0E9|1.0|M/S|1.0|2006-01-01T00:00:00|2019-01-01T00:00:00
"""


def test_station_text_keeps_code_strings(
    server: LoopbackHttp, spec_for: Callable[[str], WebServiceSpec]
) -> None:
    server.routes[STATION + "query"] = text_reply(200, STATION_TEXT)

    table = fdsn_station_text(spec_for(STATION), BALST, START_NS, END_NS)

    assert table["Network"].tolist() == ["NA", "NA"]
    assert table["Location"].tolist() == ["00", ""]
    assert table["SensorDescription"].tolist() == ["STS-2", "NA"]
    assert table["EndTime"].isna().tolist() == [True, False]


def test_station_text_no_data_empty(
    server: LoopbackHttp, spec_for: Callable[[str], WebServiceSpec]
) -> None:
    server.routes[STATION + "query"] = text_reply(404, "Error 404: No data")

    table = fdsn_station_text(spec_for(STATION), BALST, START_NS, END_NS)

    assert len(table) == 0
    assert list(table.columns[:4]) == ["Network", "Station", "Location", "Channel"]


def test_station_text_rejects_response_level(
    spec_for: Callable[[str], WebServiceSpec],
) -> None:
    with pytest.raises(InvalidRequestError, match="no responses"):
        fdsn_station_text(spec_for(STATION), BALST, START_NS, END_NS, "response")


def test_station_text_without_header_raises(
    server: LoopbackHttp, spec_for: Callable[[str], WebServiceSpec]
) -> None:
    server.routes[STATION + "query"] = text_reply(200, "IU|ULN|00|LH1\n")

    with pytest.raises(WebServiceError, match="expected a header line"):
        fdsn_station_text(spec_for(STATION), BALST, START_NS, END_NS)


def test_station_text_cut_line_hides_token(
    server: LoopbackHttp, spec_for: Callable[[str], WebServiceSpec], token: str
) -> None:
    # The message quotes the first 80 characters of the line, and the token
    # crosses that cut. Cutting before redacting would keep the token's
    # first part.
    line = "x" * 60 + " " + token
    server.routes[STATION + "query"] = text_reply(200, line + "\n")

    with pytest.raises(WebServiceError) as caught:
        fdsn_station_text(spec_for(STATION), BALST, START_NS, END_NS)

    message = str(caught.value)
    assert "expected a header line" in message
    assert token[:15] not in message
    assert "[redacted]" in message


# https_get


def test_https_get_returns_file(
    server: LoopbackHttp, spec_for: Callable[[str], WebServiceSpec], token: str
) -> None:
    path = "rinex/obs/2024/001/p0010010.24d.Z"
    server.routes[GAGE + path] = lambda params: Reply(200, b"compressed rinex")

    data = https_get(spec_for(GAGE), path)

    assert data == b"compressed rinex"
    assert server.tokens_seen() == [bearer(token)]


def test_https_get_missing_file_raises(
    server: LoopbackHttp, spec_for: Callable[[str], WebServiceSpec]
) -> None:
    with pytest.raises(ObjectNotFoundError) as caught:
        https_get(spec_for(GAGE), "rinex/obs/2024/001/none0010.24d.Z")

    assert isinstance(caught.value, FileNotFoundError)
    assert "none0010.24d.Z" in str(caught.value)


def test_https_get_encodes_hash(
    server: LoopbackHttp, spec_for: Callable[[str], WebServiceSpec]
) -> None:
    server.routes[GAGE + "miniseed/JRO.CC.2006.001%231"] = lambda params: Reply(
        200, b"x"
    )

    assert https_get(spec_for(GAGE), "miniseed/JRO.CC.2006.001#1") == b"x"


@pytest.mark.parametrize(
    "path", ["", "/etc/passwd", "../secret", "a/../../b", "http://example.com/x"]
)
def test_https_get_rejects_escaping_path(
    spec_for: Callable[[str], WebServiceSpec], path: str
) -> None:
    with pytest.raises(InvalidRequestError, match="invalid path"):
        https_get(spec_for(GAGE), path)
