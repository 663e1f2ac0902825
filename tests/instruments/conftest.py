"""Fixtures for the instrument tests."""

from __future__ import annotations

import functools
from unittest import mock

import pytest


@pytest.fixture(scope="session")
def pysiaf():
    """pysiaf as an oracle, imported with its PRD-version web request short-circuited."""
    with mock.patch("requests.get", side_effect=OSError("tests run offline")):
        import pysiaf as module
    return module


@pytest.fixture(scope="session")
def siaf_aperture(pysiaf):
    """``siaf_aperture(name)`` -> the pysiaf aperture (each instrument's SIAF read once)."""
    prefixes = {"NRC": "NIRCam", "NIS": "NIRISS", "NRS": "NIRSpec", "FGS": "FGS", "MIR": "MIRI"}

    @functools.cache
    def siaf(instrument):
        return pysiaf.Siaf(instrument)

    def get(name):
        return siaf(prefixes[name[:3]])[name]

    return get
