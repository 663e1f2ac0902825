"""Numba statistics helpers: sorting networks and astropy-identical clipping bounds."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from webbcal.kernels import _nbstats
from webbcal.kernels._nbstats import (
    astropy_clip_bounds,
    clip_bounds,
    kth_branchless,
    median_branchless,
    median_sorted,
    network_sort,
    shell_sort,
    sort_nan_last,
)


def test_sortnet_module_is_up_to_date():
    path = Path(_nbstats.__file__).with_name("_sortnet.py")
    assert path.read_text() == _nbstats.render_sortnet()


@pytest.mark.parametrize("n", [1, 2, 3, 7, 9, 16, 17, 40, 48, 60])
def test_network_sort_and_median(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        v = rng.normal(size=n)
        v[rng.integers(n)] = v[0]  # ties
        buf = v.copy()
        network_sort(buf, n)
        np.testing.assert_array_equal(buf, np.sort(v))
        assert median_sorted(buf, n) == np.median(v)
        buf = v.copy()
        shell_sort(buf, n)
        np.testing.assert_array_equal(buf, np.sort(v))
        w = v.copy()
        w[::3] = np.nan
        assert sort_nan_last(w, n) == np.count_nonzero(~np.isnan(w))
        np.testing.assert_array_equal(w, np.sort(np.where(np.arange(n) % 3 == 0, np.nan, v)))


def test_astropy_clip_bounds_match_astropy():
    stats = pytest.importorskip("astropy.stats")
    rng = np.random.default_rng(0)
    data = rng.normal(size=(50, 30))
    data[3, :5] = 40.0
    data[7, 2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, lo, hi = stats.sigma_clip(data, sigma=4.0, axis=0, masked=True, return_bounds=True)
    for j in range(30):
        col = data[:, j]
        buf = col[np.isfinite(col)].copy()
        lo1, hi1 = astropy_clip_bounds(buf, buf.size, 4.0, 4.0, 5)
        assert lo1 == lo[j] and hi1 == hi[j]


@pytest.mark.parametrize("n", [1, 2, 3, 8, 9, 10, 31, 200, 1801])
def test_branchless_selection_and_median(n):
    rng = np.random.default_rng(n)
    s1, s2 = np.empty(n), np.empty(n)
    for data in (rng.normal(size=n), rng.integers(0, 5, n).astype(float)):
        keep = data.copy()
        srt = np.sort(data)
        for k in {0, n // 2, n - 1}:
            assert kth_branchless(data, n, k, s1, s2) == srt[k]
        np.testing.assert_array_equal(data, keep)  # the input is left unchanged
        assert median_branchless(data, n, s1, s2) == np.median(data)


def test_clip_bounds_match_astropy_bounds():
    rng = np.random.default_rng(3)
    for t in range(200):
        n = int(rng.integers(1, 300))
        data = rng.normal(size=n) * rng.uniform(0.1, 100.0)
        if t % 3 == 0:
            data[rng.integers(0, n, 3)] += 50.0
        if t % 5 == 0:
            data = np.round(data)
        lo0, hi0 = astropy_clip_bounds(data.copy(), n, 4.0, 4.0, 5)
        lo1, hi1 = clip_bounds(data.copy(), n, 4.0, 4.0, 5, np.empty(n), np.empty(n))
        np.testing.assert_allclose([lo1, hi1], [lo0, hi0], rtol=1e-12)
        clipped0 = (data < lo0) | (data > hi0)
        np.testing.assert_array_equal((data < lo1) | (data > hi1), clipped0)
