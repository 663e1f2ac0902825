"""Fixtures of the refs tests: small exposures' keys and a module store."""

from __future__ import annotations

import pytest

from webbcal.instruments.readout import frame_time
from webbcal.instruments.subarrays import get_subarray


def exposure(instrument: str, detector: str, subarray: str = "FULL", **extra) -> dict:
    """Keys of a simulated-like exposure (what a simulated uncal header holds)."""
    readpatt = {"MIRI": "FAST", "NIRISS": "NISRAPID", "FGS": "FGSRAPID"}.get(instrument, "RAPID")
    sub = get_subarray(instrument, subarray, detector)
    keys = {
        "INSTRUME": instrument,
        "DETECTOR": detector,
        "EXP_TYPE": {"MIRI": "MIR_IMAGE", "NIRISS": "NIS_IMAGE", "FGS": "FGS_IMAGE"}.get(
            instrument, "NRC_IMAGE"
        ),
        "READPATT": readpatt,
        "NGROUPS": 5,
        "NFRAMES": 1,
        "GROUPGAP": 0,
        "NINTS": 2,
        "DATE-OBS": "2024-03-01",
        "TIME-OBS": "12:00:00.000",
        "TFRAME": frame_time(instrument, sub, detector=detector, readpatt=readpatt),
        **sub.keywords(),
    }
    keys.update(extra)
    return keys


@pytest.fixture
def make_exposure():
    """The :func:`exposure` factory."""
    return exposure
