"""Tests of from_obspy on traces whose SEED codes contain a dot.

obspy accepts any text as a code and joins the four with dots into
``Trace.id``, so a dot inside a code makes the id ambiguous. SEED codes
never contain one.
"""

from __future__ import annotations

import numpy as np
import obspy
import pytest

from intake_earthscope.errors import InvalidRequestError
from intake_earthscope.interop import from_obspy


@pytest.mark.parametrize("field", ["network", "station", "location", "channel"])
def test_dotted_code_raises(field: str) -> None:
    header = {"network": "XX", "station": "ABC", "location": "00", "channel": "BHZ"}
    header[field] = "A.B"
    trace = obspy.Trace(np.arange(5, dtype=np.int32), header=header)

    with pytest.raises(InvalidRequestError, match=f"{field} code 'A.B'"):
        from_obspy([trace])
