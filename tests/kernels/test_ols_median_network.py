"""The OLS ramp fit's median network and per-pixel median rates; small-page arrays."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest

from webbcal.kernels import _ols_general, _ols_kernel, _ols_numba, _ols_series, pagemem
from webbcal.kernels._ols_numba import median_network
from webbcal.kernels.ramp_fit import ols_median_rate_sum


def _apply(net: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The network applied to every row of ``values`` (comparators along the columns)."""
    w = values.astype(np.float64, copy=True)
    for a, b in net:
        lo = np.minimum(w[:, a], w[:, b])
        hi = np.maximum(w[:, a], w[:, b])
        w[:, a], w[:, b] = lo, hi
    return w


@pytest.mark.parametrize(("holder", "module", "name"), [
    (_ols_kernel, _ols_numba, "OLS_NUMBA_SHA256"),
    (_ols_kernel, _ols_general, "OLS_GENERAL_SHA256"),
    (_ols_kernel, _ols_series, "OLS_SERIES_SHA256"),
    (_ols_general, _ols_numba, "OLS_NUMBA_SHA256"),
])
def test_ols_modules_name_the_current_helper_modules(holder, module, name):
    # numba caches a module's functions by that file's text only (see OLS_NUMBA_SHA256)
    text = Path(module.__file__).read_bytes()
    assert hashlib.sha256(text).hexdigest()[:16] == getattr(holder, name), (
        f"{Path(module.__file__).name} changed: update {name} in {Path(holder.__file__).name}"
    )


@pytest.mark.parametrize("n", range(1, 65))
def test_median_network_places_the_middle_ranks(n):
    net = median_network(n)
    ranks = [n // 2 - 1, n // 2] if n > 1 else [0]
    assert np.all((net[:, 0] < net[:, 1]) & (net[:, 1] < n))
    rng = np.random.default_rng(n)
    if n <= 12:  # 0-1 principle: every 0-1 input
        zero_one = np.array(list(itertools.product((0.0, 1.0), repeat=n)))
    else:
        zero_one = (rng.random((4000, n)) < rng.random((4000, 1))).astype(np.float64)
    values = rng.normal(size=(500, n))
    values[:100] = np.round(values[:100])  # ties
    for trial in (zero_one, values):
        got = _apply(net, trial)
        want = np.sort(trial, axis=1)
        np.testing.assert_array_equal(got[:, ranks], want[:, ranks])


def _reference_median_sum(data, gdq, gt):
    """Sum over integrations of the per-integration median rate (suppress_one_group)."""
    nints, _, ny, nx = data.shape
    out = np.zeros((ny, nx))
    for i, r, c in itertools.product(range(nints), range(ny), range(nx)):
        q = gdq[i, :, r, c]
        y = data[i, :, r, c].astype(np.float64)
        if np.count_nonzero((q & 0xDF) == 0) == 1:
            continue  # a suppressed one-group ramp counts 0
        d = np.diff(y)
        ok = ((q[:-1] | q[1:]) & 3) == 0
        ok &= (q[1:] & 4) == 0
        ok &= np.isfinite(d)
        if ok.any():
            out[r, c] += np.median(d[ok]) / gt
        elif not q[0] & 3:
            out[r, c] += y[0] / gt
    return out


@pytest.mark.parametrize(("ngroups", "flagged"), [(6, 0.2), (50, 0.3), (50, 0.9), (80, 0.3)])
def test_median_rates_match_numpy(ngroups, flagged):
    rng = np.random.default_rng(ngroups)
    shape = (2, ngroups, 3, 41)
    data = (np.cumsum(rng.normal(5.0, 3.0, shape), axis=1)).astype(np.float32)
    gdq = np.where(rng.random(shape) < flagged, rng.choice([1, 2, 4], shape), 0).astype(np.uint8)
    data[0, 1, 0, :5] = np.nan
    gt = 2.775
    got = ols_median_rate_sum(data, gdq, frame_time=gt, group_time=gt, nframes=1)
    want = _reference_median_sum(data, gdq, float(np.float32(gt)))  # the kernel's TGROUP
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.slow
def test_zeros_small_pages(monkeypatch):
    small = pagemem.zeros_small_pages((3, 5), np.float32)
    assert small.dtype == np.float32 and small.shape == (3, 5) and not small.any()
    monkeypatch.setattr(pagemem, "MIN_BYTES", 1 << 16)
    big = pagemem.zeros_small_pages((4, 100, 1000), np.uint16)
    assert big.dtype == np.uint16 and big.shape == (4, 100, 1000)
    assert big.flags.c_contiguous and big.flags.writeable and not big.any()
    big[3, 99, 999] = 7
    assert big.sum() == 7
