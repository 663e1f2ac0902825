"""Shared helpers for kernel tests: small synthetic ramps and oracle adapters."""

from __future__ import annotations

import numpy as np
import pytest


def make_ramps(
    nints=1, ngroups=6, ny=32, nx=32, *, seed=0, ncr=20, rate=5.0, rn=10.0, gain=2.0, offset=1000.0
):
    """Poisson ramps (DN, float32) with CRs; returns data, gdq, pdq, gain, readnoise, crs."""
    rng = np.random.default_rng(seed)
    flux = rng.uniform(0, rate, (ny, nx))
    e = rng.poisson(np.broadcast_to(flux, (nints, ngroups, ny, nx))).cumsum(axis=1)
    data = (e / gain + rng.normal(0, rn / np.sqrt(2), e.shape) + offset).astype(np.float32)
    crs = []
    for _ in range(ncr):
        i, g = rng.integers(nints), rng.integers(1, ngroups)
        y, x = rng.integers(ny), rng.integers(nx)
        data[i, g:, y, x] += rng.uniform(50, 2000)
        crs.append((i, g, y, x))
    gdq = np.zeros(data.shape, np.uint8)
    pdq = np.zeros((ny, nx), np.uint32)
    return (
        data,
        gdq,
        pdq,
        np.full((ny, nx), gain, np.float32),
        np.full((ny, nx), rn, np.float32),
        crs,
    )


def stcal_or_skip(module: str):
    """Import an stcal module (test oracle) or skip the test."""
    return pytest.importorskip(module)
