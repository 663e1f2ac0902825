"""Numba statistics helpers: sorting networks and astropy-identical clipping bounds."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from webbcal.kernels import _nbstats
from webbcal.kernels._nbstats import (
    astropy_clip_bounds,
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
