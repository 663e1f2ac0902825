"""Saturation flagging: parity with stcal and a slow reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from webbcal.errors import ParameterError
from webbcal.kernels.saturation import flag_saturation, grouped_read_pattern

FLAGS = {"DO_NOT_USE": 1, "SATURATED": 2, "AD_FLOOR": 64, "NO_SAT_CHECK": 2097152}


def make_case(nints=2, ngroups=6, ny=30, nx=30, seed=0):
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0, 9000, (ny, nx)).astype(np.float32)
    data = (
        np.arange(ngroups, dtype=np.float32)[None, :, None, None] * rate
        + 10000
        + rng.normal(0, 5, (nints, ngroups, ny, nx))
    ).astype(np.float32)
    data[0, 2:, 5, 5] += 40000  # a bright cosmic ray mid-ramp
    data[1, 1, 7, 7] = -3.0  # below the A/D floor
    data[0, 3, 8, 8] = 0.0
    thresh = rng.uniform(45000, 60000, (ny, nx)).astype(np.float32)
    thresh[2, 2] = np.nan
    sat_dq = np.zeros((ny, nx), np.uint32)
    sat_dq[3, 3] = FLAGS["NO_SAT_CHECK"]
    sat_dq[4, 4] = 1
    gdq = np.zeros(data.shape, np.uint8)
    pdq = np.zeros((ny, nx), np.uint32)
    zeroframe = (data[:, 0] - rng.uniform(0, 50, (nints, ny, nx))).astype(np.float32)
    zeroframe[0, 9, 9] = 70000
    bias = rng.uniform(9900, 10100, (ny, nx)).astype(np.float32)
    return data, gdq, pdq, thresh, sat_dq, zeroframe, bias


def run_both(nframes, n_grow, use_bias, use_zero, seed=0):
    sat = pytest.importorskip("stcal.saturation.saturation")
    data, gdq, pdq, thresh, sat_dq, zf, bias = make_case(seed=seed)
    rp = grouped_read_pattern(data.shape[1], nframes) if nframes else None
    sgdq, spdq, szf = sat.flag_saturated_pixels(
        data.copy(),
        gdq.copy(),
        pdq.copy(),
        thresh.copy(),
        sat_dq.copy(),
        65535.0,
        FLAGS,
        n_pix_grow_sat=n_grow,
        zframe=zf.copy() if use_zero else None,
        read_pattern=rp,
        bias=bias if use_bias else None,
    )
    g, p, z = gdq.copy(), pdq.copy(), zf.copy()
    flag_saturation(
        data,
        g,
        p,
        thresh,
        sat_dq,
        n_pix_grow_sat=n_grow,
        read_pattern=rp,
        bias=bias if use_bias else None,
        zeroframe=z if use_zero else None,
    )
    np.testing.assert_array_equal(g, sgdq)
    np.testing.assert_array_equal(p, spdq)
    if use_zero:
        np.testing.assert_array_equal(z, szf)
    return g


@pytest.mark.parametrize("n_grow", [0, 1, 2])
def test_parity_plain(n_grow):
    g = run_both(None, n_grow, False, True)
    assert (g & 2).any() and (g & 64).any()


@pytest.mark.parametrize("nframes", [1, 2, 4])
def test_parity_grouped_reads(nframes):
    run_both(nframes, 1, True, False, seed=nframes)
    run_both(nframes, 1, False, True, seed=nframes + 10)


def test_grouped_read_flags_group_before_saturation():
    data = np.zeros((1, 4, 5, 5), np.float32)
    data[0, :, 2, 2] = [1000, 35000, 50000, 60000]  # mean of 4 frames: saturates mid-group 3
    thresh = np.full((5, 5), 55000, np.float32)
    gdq = np.zeros(data.shape, np.uint8)
    flag_saturation(
        data,
        gdq,
        np.zeros((5, 5), np.uint32),
        thresh,
        np.zeros((5, 5), np.uint32),
        n_pix_grow_sat=0,
        read_pattern=grouped_read_pattern(4, 4),
    )
    assert gdq[0, 3, 2, 2] & 2 and not gdq[0, 2, 2, 2] & 2
    assert gdq[0, 2, 2, 2] & 1  # 50000 >= 55000 * mean(9..12)/12


def slow_reference(data, gdq, thresh, sat_dq, n_grow):
    g = gdq.copy()
    thr = thresh.copy()
    nocheck = ((sat_dq & FLAGS["NO_SAT_CHECK"]) != 0) | np.isnan(thr)
    thr[nocheck] = 65536.0
    box = np.ones((2 * n_grow + 1,) * 2, bool)
    for i in range(data.shape[0]):
        first = np.full(thr.shape, data.shape[1])
        for grp in range(data.shape[1] - 1, -1, -1):
            first[data[i, grp] >= thr] = grp
        for grp in range(data.shape[1]):
            s = first <= grp
            if n_grow:
                s = ndimage.binary_dilation(s, box)
            g[i, grp][s] |= 2
            g[i, grp][data[i, grp] <= 0] |= 65
    return g


def test_matches_slow_reference():
    data, gdq, pdq, thresh, sat_dq, _, _ = make_case(seed=4)
    g = gdq.copy()
    flag_saturation(data, g, pdq, thresh, sat_dq, n_pix_grow_sat=1)
    np.testing.assert_array_equal(g, slow_reference(data, gdq, thresh, sat_dq, 1))
    assert pdq[2, 2] & FLAGS["NO_SAT_CHECK"] and pdq[3, 3] & FLAGS["NO_SAT_CHECK"]
    assert pdq[4, 4] == 1


def test_reference_arrays_untouched_and_bad_shapes():
    data, gdq, pdq, thresh, sat_dq, _, _ = make_case()
    t0, d0 = thresh.copy(), sat_dq.copy()
    flag_saturation(data, gdq, pdq, thresh, sat_dq)
    np.testing.assert_array_equal(thresh, t0)
    np.testing.assert_array_equal(sat_dq, d0)
    with pytest.raises(ParameterError):
        flag_saturation(data, gdq, pdq, thresh[:5], sat_dq)


def slow_reference_preflagged(data, gdq, thresh, n_grow):
    """Growth of threshold saturation and of SATURATED flags already in the input."""
    g = gdq.copy()
    box = np.ones((2 * n_grow + 1,) * 2, bool)
    for i in range(data.shape[0]):
        s = np.zeros(thresh.shape, bool)
        for grp in range(data.shape[1]):
            s |= data[i, grp] >= thresh
            src = s | ((gdq[i, grp] & 2) != 0)
            if n_grow:
                src = ndimage.binary_dilation(src, box)
            g[i, grp][src] |= 2
            g[i, grp][data[i, grp] <= 0] |= 65
    return g


@pytest.mark.parametrize("n_grow", [0, 1, 3])
def test_row_blocks_match_integrations(n_grow):
    """The row-parallel pass (halo rows) equals the per-integration pass and the reference."""
    from webbcal.kernels import saturation as ks

    rng = np.random.default_rng(n_grow)
    data = rng.uniform(0, 1000, (2, 6, 97, 41)).astype(np.float32)
    thresh = np.full((97, 41), 50000, np.float32)
    for y, x, g in rng.integers(0, (97, 41, 6), (40, 3)):
        data[:, g:, y, x] = 60000  # saturation starting in group g
    data[0, 2, 30, 0] = -1.0
    expect = slow_reference_preflagged(data, np.zeros(data.shape, np.uint8), thresh, n_grow)
    for nblocks in (1, 4, 7, 97, 200):
        g = np.zeros(data.shape, np.uint8)
        ks._forward_by_rows(data, g, thresh, n_grow, np.uint8(2), np.uint8(65), nblocks)
        np.testing.assert_array_equal(g, expect)
    g = np.zeros(data.shape, np.uint8)
    ks._forward_by_integration(data, g, thresh, n_grow, np.uint8(2), np.uint8(65))
    np.testing.assert_array_equal(g, expect)
    one = np.zeros(data[:1].shape, np.uint8)
    res = flag_saturation(data[:1], one, np.zeros((97, 41), np.uint32), thresh,
                          np.zeros((97, 41), np.uint32), n_pix_grow_sat=n_grow)  # fmt: skip
    np.testing.assert_array_equal(one, expect[:1])
    assert res.n_saturated == int((expect[:1] & 2).any(axis=(0, 1)).sum())
    assert res.n_ad_floor == 1


def test_input_saturated_flags_are_grown():
    data, gdq, pdq, thresh, sat_dq, _, _ = make_case(seed=7)
    gdq[0, 1, 20, 20] = 2  # flagged upstream, below threshold
    gdq[1, 4, 0, 29] = 2 | 4
    g = gdq.copy()
    flag_saturation(data, g, pdq, thresh, sat_dq, n_pix_grow_sat=1)
    thr = thresh.copy()
    thr[np.isnan(thr) | ((sat_dq & FLAGS["NO_SAT_CHECK"]) != 0)] = 65536.0
    np.testing.assert_array_equal(g, slow_reference_preflagged(data, gdq, thr, 1))
    assert g[0, 1, 21, 21] & 2 and not g[0, 2, 21, 21] & 2
    stcal = pytest.importorskip("stcal.saturation.saturation")
    sgdq, _, _ = stcal.flag_saturated_pixels(data.copy(), gdq.copy(), pdq.copy(), thresh.copy(),
                                             sat_dq.copy(), 65535.0, FLAGS,
                                             n_pix_grow_sat=1)  # fmt: skip
    np.testing.assert_array_equal(g, sgdq)
