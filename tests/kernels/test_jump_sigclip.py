"""Sigma clipping across integrations: the side-by-side test, the window median, parity."""

from __future__ import annotations

import numpy as np

from kernels.helpers import make_ramps
from kernels.test_jump import assert_parity
from webbcal.kernels._jump_sigclip import (
    _bounds,
    _count_within,
    _middle_in,
    _moments,
    column_median,
    plain_median,
)
from webbcal.kernels._nbstats import clip_bounds

THR = 4.0


def random_sets(rng, nints, width):
    """Differences (nints, width) of assorted difficulty, float32."""
    v = rng.normal(0.0, 1.0, (nints, width)) * rng.uniform(0.5, 30.0, width)
    kind = rng.integers(0, 6)
    if kind == 1:  # one value near the clipping limit in each column
        k = rng.integers(0, nints, width)
        v[k, np.arange(width)] += rng.uniform(2.5, 5.0, width) * v.std(axis=0)
    elif kind == 2:  # ties
        v = np.round(v / 4.0)
    elif kind == 3:  # large offsets, small spread (float32 sums lose precision)
        v = 1.0e6 * rng.uniform(-1.0, 1.0, width) + v * 1e-2
    elif kind == 4:  # NaN and infinite values
        v[rng.random(v.shape) < 0.05] = np.nan
        v[0, :3] = np.inf
        v[:, 3] = np.nan
    elif kind == 5:  # constant columns
        v[:, : width // 2] = 3.0
    return v.astype(np.float32)


def test_side_by_side_test_never_clears_a_set_that_clipping_clips():
    """Where the float32 test passes, the first pass of clip_bounds keeps every value."""
    rng = np.random.default_rng(21)
    seen = set()
    for _ in range(60):
        nints = int(rng.integers(1, 260))
        width = 64
        dbuf = random_sets(rng, nints, width)  # one difference per integration (nd = 1)
        st = np.zeros((10, width), np.float32)
        _moments(dbuf, 0, 1, nints, width, st)
        _bounds(st, width, THR)
        _count_within(dbuf, 0, 1, nints, width, st)
        for b in range(width):
            v = dbuf[:, b].astype(np.float64)
            v = v[np.isfinite(v)]
            n = int(st[0, b])
            passed = n > 0 and _middle_in(int(st[8, b]), int(st[9, b]), n)
            keeps_all = _keeps_all(v) if v.size else True
            assert keeps_all or not passed, (b, dbuf[:, b])
            seen.add((passed, keeps_all))
    assert (True, True) in seen and (False, False) in seen and (False, True) in seen


def _keeps_all(v):
    """Whether the first pass of clip_bounds keeps all of the finite float64 ``v``."""
    lo, hi = clip_bounds(v.copy(), v.size, THR, THR, 1, np.empty(v.size), np.empty(v.size))
    return bool(((v >= lo) & (v <= hi)).all())


def test_side_by_side_test_at_the_clipping_limit():
    """Sets whose largest value is a few float32 steps either side of the clipping limit."""
    rng = np.random.default_rng(24)
    columns = []
    for trial in range(12):
        n = int(rng.choice([5, 40, 200, 257]))
        base = rng.normal(0.0, 1.0, n) * rng.uniform(1.0, 30.0)
        if trial % 3 == 2:
            base += 1.0e4  # an offset: float32 sums lose more
        base = base.astype(np.float32)
        top = np.float32(base.max())
        lo_t, hi_t = top, np.float32(base.max() + 20.0 * base.std() + 1.0)
        for _ in range(60):  # bisection on the largest value: kept below, clipped above
            mid = np.float32((np.float64(lo_t) + np.float64(hi_t)) / 2)
            if mid in (lo_t, hi_t):
                break
            v = base.copy()
            v[int(np.argmax(base))] = mid
            lo_t, hi_t = (mid, hi_t) if _keeps_all(v.astype(np.float64)) else (lo_t, mid)
        t = hi_t
        for _ in range(8):
            t = np.nextafter(t, np.float32(-np.inf))
        for _ in range(16):
            v = base.copy()
            v[int(np.argmax(base))] = t
            columns.append(v)
            t = np.nextafter(t, np.float32(np.inf))
    clipped = 0
    for v in columns:
        dbuf = v[:, None].copy()
        st = np.zeros((10, 1), np.float32)
        _moments(dbuf, 0, 1, v.size, 1, st)
        _bounds(st, 1, THR)
        _count_within(dbuf, 0, 1, v.size, 1, st)
        passed = _middle_in(int(st[8, 0]), int(st[9, 0]), v.size)
        keeps = _keeps_all(v.astype(np.float64))
        clipped += not keeps
        assert keeps or not passed, v
    assert 0 < clipped < len(columns)


def test_window_median_is_the_plain_median():
    """column_median: the window's selection, a wider window, or all values: same median."""
    rng = np.random.default_rng(22)
    n = 450
    tmp = np.empty(3 * n)
    fd = np.empty(n)
    for trial in range(120):
        vals = (rng.normal(0.0, 10.0, n) + rng.uniform(-50, 50)).astype(np.float32)
        if trial % 5 == 1:
            vals[rng.integers(0, n, 20)] += 3000.0  # jumps shift the median
        elif trial % 5 == 2:
            vals[rng.random(n) < 0.1] = np.nan
            vals[:2] = [np.inf, -np.inf]
        elif trial % 5 == 3:
            vals = np.round(vals / 7.0).astype(np.float32)  # ties
        elif trial % 5 == 4:
            vals = vals[: int(rng.integers(0, 12))].copy()  # short (or empty)
        fd[: vals.size] = vals
        finite = vals[np.isfinite(vals)].astype(np.float64)
        centre = finite.mean() if finite.size else 0.0
        spread = finite.std() if finite.size else 0.0
        if trial % 7 == 0:
            centre += 3.0 * spread  # a poor guess: the wider window or the fallback
        elif trial % 7 == 1:
            centre = np.nan
        m = int(np.sum(~np.isnan(vals)))
        expect = plain_median(fd[: vals.size].copy(), tmp, vals.size)
        got = column_median(vals, m, centre, spread, tmp)
        assert got == expect or (np.isnan(got) and np.isnan(expect)), trial


def test_parity_sigma_clipping_wide_rows_and_given_flags():
    """Rows wider than one block of columns, given JUMP (some SATURATED), NaN, neighbours."""
    data, gdq, pdq, gain, rn, _ = make_ramps(100, 4, 2, 300, seed=23, ncr=120)
    rng = np.random.default_rng(23)
    gdq[rng.random(gdq.shape) < 0.002] |= 4
    gdq[rng.random(gdq.shape) < 0.002] |= 4 | 2
    gdq[:, 2:, 1, 260:270] |= 2
    data[rng.random(data.shape) < 0.001] = np.nan
    data[:, 1:, 0, 280] += 5000.0 * (np.arange(100) == 7)[:, None]  # a large neighbour trigger
    gain = rng.uniform(1.5, 2.5, gain.shape).astype(np.float32)
    g = assert_parity(data, gdq, pdq, gain, rn)
    assert (g[7, 1, 1, 280] & 4) and (g[7, 1, 0, 279] & 4)
