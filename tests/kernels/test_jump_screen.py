"""The jump screen: a pixel it passes surely has nothing flagged by the first test."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.helpers import make_ramps
from kernels.test_jump import assert_parity
from webbcal.kernels._jump_screen import screen_block

THR = 4.0


def first_test_flags(fd, rnt, iterative):
    """Whether the first test of the iterative / single-pass method flags a difference."""
    v = fd[~np.isnan(fd)].astype(np.float64)
    if iterative:
        v = np.abs(v)
        if v.size < 2:
            return False
        if v.size < 4:
            return None  # other thresholds: the screen must not pass it
        kept = v[v != v.max()]
        if kept.size == 0:
            return None
        med = np.median(kept)
        res = np.abs((v - med).astype(np.float32)).astype(np.float64)
    else:
        if v.size == 0:
            return False
        med = np.median(v)
        res = np.abs(v - med)
    sig = np.sqrt(abs(med) + rnt)
    with np.errstate(invalid="ignore", divide="ignore"):
        return bool(np.any(res[np.isfinite(res)] / sig > THR))


def random_block(rng, kind, nd, width):
    """Differences (nd, width) of assorted difficulty, and read-noise terms."""
    scale = rng.uniform(1.0, 30.0, width)
    fd = rng.normal(0.0, 1.0, (nd, width)) * scale
    rnt = (scale * rng.uniform(0.2, 1.2, width)) ** 2
    if kind == "offset":  # large rates: the Poisson term dominates sigma
        fd += rng.uniform(-5e4, 5e4, width)
    elif kind == "jumps":  # one jump near the threshold in each pixel
        k = rng.integers(0, nd, width)
        fd[k, np.arange(width)] += rng.uniform(2.0, 6.0, width) * np.sqrt(rnt)
    elif kind == "ties":
        fd = np.round(fd / scale) * scale
    elif kind == "nan":
        fd[rng.random(fd.shape) < 0.3] = np.nan
        fd[:, :3] = np.nan
        fd[1:, 3] = np.nan
        fd[0, 4] = np.inf
        rnt[5] = 0.0
    return fd.astype(np.float32), rnt


@pytest.mark.parametrize("iterative", [True, False])
@pytest.mark.parametrize("kind", ["noise", "offset", "jumps", "ties", "nan"])
def test_screened_pixels_have_no_jump(iterative, kind):
    rng = np.random.default_rng(len(kind) + 7 * iterative)
    width = 64
    passed = 0
    for trial in range(20):
        nd = int(rng.integers(1, 40)) if trial % 2 else 9
        fd, rnt = random_block(rng, kind, nd, width)
        qblk = np.zeros((nd + 1, width), np.uint8)
        st = np.empty((9, width), np.float32)
        quiet = np.zeros(width, np.bool_)
        qor = np.zeros(width, np.uint8)
        screen_block(fd, qblk, width - 1, iterative, rnt, THR, st, quiet, qor)
        assert not quiet[width - 1]  # beyond the used columns: left as it was
        for b in range(width - 1):
            if quiet[b]:
                passed += 1
                assert first_test_flags(fd[:, b], rnt[b], iterative) is False, (trial, b)
    if kind in ("noise", "offset"):
        assert passed > 0.5 * 20 * (width - 1)


def test_parity_with_screen_edge_cases():
    """Pixels the screen cannot pass (infinite, no read noise, few groups) stay exact."""
    data, gdq, pdq, gain, rn, _ = make_ramps(1, 12, 24, 40, seed=21, ncr=80)
    data[0, 5:, 3, 4] = np.inf
    rn[6, 7] = 0.0
    gdq[0, 3:, 8, 8] = 2  # 2 usable differences
    gdq[0, 4:, 9, 9] = 2  # 3 usable differences
    data[0, :, 10, 10] = 1.0e6 + np.arange(12, dtype=np.float32)  # large, regular
    data[0, :, 11, 11] = -5000.0 - 40.0 * np.arange(12, dtype=np.float32)  # negative slope
    assert_parity(data, gdq, pdq, gain, rn)
    assert_parity(data, gdq, pdq, gain, rn, stcal_kw={"min_diffs_single_pass": 5},
                  our_kw={"min_diffs_single_pass": 5})  # fmt: skip


def test_parity_sigma_clipping_wide_rows():
    """Sigma clipping of rows gathered in several parts (many planes, wide rows)."""
    data, gdq, pdq, gain, rn, _ = make_ramps(120, 4, 2, 900, seed=22, ncr=300)
    assert_parity(data, gdq, pdq, gain, rn)
