"""The background mesh statistics against astropy's sigma clipping, box by box."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.stats import sigma_clip

from webbcal.kernels.bkgmesh import _edges, _mesh_statistics_f32


def _reference(data, bad, yedges, xedges, maxiters, max_masked):
    shape = (yedges.size - 1, xedges.size - 1)
    bkg, rms = np.full(shape, np.nan), np.full(shape, np.nan)
    for by in range(shape[0]):
        for bx in range(shape[1]):
            box = (slice(yedges[by], yedges[by + 1]), slice(xedges[bx], xedges[bx + 1]))
            values = data[box][~bad[box] & np.isfinite(data[box])].astype(np.float64)
            if values.size == 0 or data[box].size - values.size > max_masked * data[box].size:
                continue
            kept = sigma_clip(values, sigma=3.0, maxiters=None if maxiters < 0 else maxiters,
                              cenfunc="median", stdfunc="std").compressed()  # fmt: skip
            if kept.size:
                bkg[by, bx], rms[by, bx] = np.median(kept), np.std(kept)
    return bkg, rms


@pytest.mark.parametrize("seed", range(6))
def test_sorted_box_statistics_match_astropy(seed):
    rng = np.random.default_rng(seed)
    ny, nx = rng.integers(30, 80, 2)
    data = rng.normal(rng.uniform(-2, 2), rng.uniform(0.05, 3), (ny, nx)).astype(np.float32)
    data[rng.random((ny, nx)) < 0.03] += rng.uniform(-40, 200)  # outliers to clip
    if seed % 2:
        data = np.round(data, 1)  # ties
    data[rng.random((ny, nx)) < 0.01] = np.nan
    bad = rng.random((ny, nx)) < 0.05
    yedges, xedges = _edges(int(ny), 25), _edges(int(nx), 25)
    maxiters = [10, -1, 1, 3, 10, 2][seed]
    fast = _mesh_statistics_f32(data, bad, yedges, xedges, 3.0, maxiters, 0.5)
    ref = _reference(data, bad, yedges, xedges, maxiters, 0.5)
    np.testing.assert_array_equal(fast[0], ref[0])  # medians: exactly the same values
    np.testing.assert_allclose(fast[1], ref[1], rtol=1e-12)
