"""Shared Stage 3 fixtures: synthetic dithers (made once per session, copied per test)."""

from __future__ import annotations

import pickle

import pytest

from .synthetic import make_dither

#: Sky offsets [MJy/sr] injected in the four exposures.
SKY_OFFSETS = (0.0, 0.3, -0.2, 0.6)


def _copier(dither):
    blob = pickle.dumps(dither)
    return lambda: pickle.loads(blob)


@pytest.fixture(scope="session")
def dither_factory():
    """``factory()`` -> a fresh copy of a 4-exposure dither with sky offsets, no CRs."""
    return _copier(make_dither(nstars=250, faint=300, sky_offsets=SKY_OFFSETS))


@pytest.fixture(scope="session")
def cr_dither_factory():
    """``factory()`` -> a fresh copy of a 4-exposure dither with planted cosmic rays."""
    return _copier(make_dither(nstars=250, cosmic_rays=40, seed=11))
