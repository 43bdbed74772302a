"""GNSS archive locations: path templates, HTTPS and S3 fetching, listings.

The HTTPS file server is a loopback thread server in place of the GAGE file
server, and the S3 tier is the session's moto server.
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Iterator

import pytest

from intake_earthscope.auth import resolve_token_source
from intake_earthscope.errors import (
    CatalogError,
    InvalidRequestError,
    ObjectNotFoundError,
)
from intake_earthscope.gnss.archive import (
    GnssProduct,
    clear_web_listing_cache,
    fetch,
    list_names,
    location_for,
    render_path,
)
from intake_earthscope.testing import create_bucket, put_public_object

from loopback_http import LoopbackHttp, Reply, fake_jwt

DAY = dt.date(2015, 2, 13)
RINEX2 = "rinex/obs/{year}/{doy}/{station_lower}{doy}0.{yy}d.Z"


def product_spec(base_url: str = "https://gage-data.earthscope.org/archive/gnss/"):
    return {
        "name": "gage.rinex_obs",
        "tiers": {
            "https": {
                "protocol": "https",
                "base_url": base_url,
                "access": "earthscope",
                "allowed_hosts": ["127.0.0.1"],
            },
            "mirror": {
                "protocol": "s3",
                "bucket": "gnss-mirror",
                "region": "us-east-1",
            },
        },
        "paths": {"rinex2": RINEX2, "rinex3": "rinex3/obs/{year}/{doy}/"},
        "interval": 15,
    }


@pytest.fixture
def file_server() -> Iterator[LoopbackHttp]:
    server = LoopbackHttp("127.0.0.1")
    server.start()
    clear_web_listing_cache()
    yield server
    server.stop()
    clear_web_listing_cache()


def test_render_path_fills_station_and_day_fields() -> None:
    path = render_path(RINEX2, "YORK", DAY)

    assert path == "rinex/obs/2015/044/york0440.15d.Z"


def test_render_path_fills_product_choices() -> None:
    template = "products/position/{station}/{station}.{analysis_center}.pos"

    path = render_path(template, "p156", DAY, {"analysis_center": "cwu"})

    assert path == "products/position/P156/P156.cwu.pos"


def test_render_path_names_an_unknown_field() -> None:
    with pytest.raises(CatalogError, match=r"unknown field\(s\) \['frame'\]"):
        render_path("{station}.{frame}.pos", "P156", DAY)


def test_product_from_yaml_keeps_extra_keys() -> None:
    product = GnssProduct.from_yaml(product_spec())

    assert product.tier().name == "https"
    assert product.extra == {"interval": 15}
    assert product.path("rinex3") == "rinex3/obs/{year}/{doy}/"
    with pytest.raises(InvalidRequestError, match="invalid tier='ftp'"):
        product.tier("ftp")
    with pytest.raises(CatalogError, match="invalid variant 'rinex4'"):
        product.path("rinex4")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "without a 'name'"),
        ({"tiers": {}}, "has no 'tiers'"),
        ({"tiers": {"https": "gage"}}, "expected a mapping"),
        ({"paths": None}, "has no 'paths'"),
        ({"paths": {"bad": "{year"}}, "invalid path template"),
        ({"default_tier": "ftp"}, "invalid tier 'ftp'"),
    ],
)
def test_product_from_yaml_rejects_malformed_specs(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(CatalogError, match=message):
        GnssProduct.from_yaml({**product_spec(), **change})


def test_https_fetch_sends_the_bearer_token(file_server: LoopbackHttp) -> None:
    token = fake_jwt()
    source = resolve_token_source(token=token)
    path = render_path(RINEX2, "york", DAY)
    file_server.routes["/archive/gnss/" + path] = lambda params: Reply(200, b"RINEX")
    product = GnssProduct.from_yaml(product_spec(file_server.url("/archive/gnss/")))

    location = location_for(product.tier("https"), token_source=source)
    data = fetch(location, path)

    assert data == b"RINEX"
    assert file_server.tokens_seen() == [f"Bearer {token}"]
    assert token not in repr(location)
    assert token.encode() not in pickle.dumps(location)


def test_https_missing_file_names_url(file_server: LoopbackHttp) -> None:
    product = GnssProduct.from_yaml(product_spec(file_server.url("/archive/gnss/")))
    location = location_for(product.tier("https"))

    with pytest.raises(ObjectNotFoundError, match="york0440.15d.Z"):
        fetch(location, render_path(RINEX2, "YORK", DAY))


def test_https_listing_reads_the_index_page_links(file_server: LoopbackHttp) -> None:
    index = (
        b'<html><body><a href="../">Parent</a><a href="?C=M;O=A">Sort</a>'
        b'<a href="YORK00USA_R_20150440000_01D_30S_MO.crx.gz">YORK</a>'
        b'<a href="/archive/gnss/rinex3/obs/2015/044/P15600USA_R_x.rnx.gz">P156</a>'
        b'<a href="sub/">sub</a></body></html>'
    )
    file_server.routes["/archive/gnss/rinex3/obs/2015/044/"] = lambda params: Reply(
        200, index, {"Content-Type": "text/html"}
    )
    product = GnssProduct.from_yaml(product_spec(file_server.url("/archive/gnss/")))
    location = location_for(product.tier("https"))

    names = list_names(location, render_path(product.path("rinex3"), "YORK", DAY))
    again = list_names(location, "rinex3/obs/2015/044/")

    assert names == (
        "P15600USA_R_x.rnx.gz",
        "YORK00USA_R_20150440000_01D_30S_MO.crx.gz",
    )
    assert again == names
    assert len(file_server.seen) == 1


def test_https_listing_of_a_missing_directory_is_empty(
    file_server: LoopbackHttp,
) -> None:
    product = GnssProduct.from_yaml(product_spec(file_server.url("/archive/gnss/")))

    assert list_names(location_for(product.tier()), "rinex3/obs/1999/001/") == ()


def test_s3_tier_fetches_and_lists(s3) -> None:
    client = s3.client()
    create_bucket(client, "gnss-mirror")
    path = render_path(RINEX2, "YORK", DAY)
    put_public_object(client, "gnss-mirror", path, b"compressed")
    product = GnssProduct.from_yaml(product_spec())

    location = location_for(product.tier("mirror"), s3.anonymous_storage_options())

    assert fetch(location, path) == b"compressed"
    assert list_names(location, "rinex/obs/2015/044/") == ("york0440.15d.Z",)
    assert location.url(path) == f"s3://gnss-mirror/{path}"
