"""A station search rejects region and time values before it fetches a table.

Searching the station service's entries (sage.stations) would otherwise ask
the service first and report its failure, offline, in place of the invalid
value. The fetch is replaced by a function that fails the test, because the
service is not on this machine.
"""

from __future__ import annotations

import pytest

from intake_earthscope import browse
from intake_earthscope.browse import search_stations
from intake_earthscope.cli import EXIT_USAGE, main
from intake_earthscope.errors import InvalidRequestError


@pytest.fixture(autouse=True)
def _no_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    def fetched(*args: object, **kwargs: object) -> None:
        raise AssertionError("the search fetched a station table")

    monkeypatch.setattr(browse, "open_stations", fetched)


@pytest.mark.parametrize(
    "criteria",
    [
        {"latitude": 45.0, "longitude": 7.0},
        {"maxradius": 5.0},
        {"minlatitude": 95.0},
        {"start": "2025-02-01", "end": "2025-01-01"},
    ],
)
def test_search_rejects_before_fetch(criteria: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError):
        search_stations("sage", network="CH", **criteria)


def test_cli_radius_usage_error_offline(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["search", "sage.stations", "--network", "CH", "--latitude", "45"]
        + ["--longitude", "7"]
    )
    err = capsys.readouterr().err

    assert code == EXIT_USAGE
    assert "invalid radius search" in err
    assert "--maxradius VALUE" in err
    assert "got only --latitude VALUE and --longitude VALUE" in err
