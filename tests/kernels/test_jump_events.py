"""Snowball and shower flagging: parity with stcal (which needs scikit-image)."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.test_jump import run_stcal
from webbcal.kernels.jump import detect_jumps
from webbcal.kernels.jump_events import region_ellipses


def snowball_exposure(seed=0, nints=2, ngroups=8, size=96):
    rng = np.random.default_rng(seed)
    data = (
        np.arange(ngroups, dtype=np.float32)[None, :, None, None] * 5
        + rng.normal(0, 5, (nints, ngroups, size, size))
    ).astype(np.float32)
    gdq = np.zeros(data.shape, np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for cy, cx, g, i in ((40, 50, 3, 0), (70, 30, 5, 1), (10, 80, 2, 0)):
        r = np.hypot(yy - cy, xx - cx)
        halo = r < 9
        core = r < 4
        data[i, g:][:, halo] += 3000.0 * np.exp(-r[halo] / 4)[None]
        gdq[i, g:][:, core] |= 2
    return data, gdq


@pytest.mark.parametrize("sat_required", [True, False])
def test_snowball_parity(sat_required):
    pytest.importorskip("skimage")
    data, gdq = snowball_exposure()
    gain = np.full(data.shape[2:], 2.0, np.float32)
    rn = np.full(data.shape[2:], 8.0, np.float32)
    pdq = np.zeros(data.shape[2:], np.uint32)
    kw = {
        "expand_large_events": True,
        "sat_required_snowball": sat_required,
        "min_sat_radius_extend": 2.5,
        "sat_expand": 4,
        "max_extended_width": 400,
        "persist_grps_flagged": 3,
        "edge_size": 25,
    }
    sg, _sp, _sn = run_stcal(data, gdq, pdq, gain, rn, **kw)
    g = gdq.copy()
    res = detect_jumps(
        data,
        g,
        pdq.copy(),
        gain,
        rn,
        expand_large_events=True,
        sat_required_snowball=sat_required,
        sat_expand=2,
        max_extended_radius=200,
        snowball_groups_masked_next_int=3,
    )
    assert res.n_extended_events > 0
    assert (sg == g).all(axis=(0, 1)).mean() >= 0.999
    np.testing.assert_array_equal(sg, g)


def test_shower_parity():
    pytest.importorskip("skimage")
    rng = np.random.default_rng(1)
    nints, ngroups, size = 2, 8, 80
    data = (
        np.arange(ngroups, dtype=np.float32)[None, :, None, None] * 20
        + rng.normal(0, 3, (nints, ngroups, size, size))
    ).astype(np.float32)
    yy, xx = np.mgrid[:size, :size]
    blob = np.hypot(yy - 40, xx - 40) < 14
    data[0, 4:][:, blob] += 15.0
    gdq = np.zeros(data.shape, np.uint8)
    gain = np.full((size, size), 1.0, np.float32)
    rn = np.full((size, size), 4.0, np.float32)
    pdq = np.zeros((size, size), np.uint32)
    pdq[:, :4] = 2147483648
    kw = {
        "find_showers": True,
        "extend_min_area": 90,
        "max_shower_amplitude": 20.0,
        "grps_masked_after_shower": 2,
        "max_extended_width": 400,
    }
    sg, _sp, _sn = run_stcal(data, gdq, pdq, gain, rn, **kw)
    g = gdq.copy()
    res = detect_jumps(
        data,
        g,
        pdq.copy(),
        gain,
        rn,
        find_showers=True,
        max_shower_amplitude=20.0,
        groups_masked_after_shower=2,
        extend_ellipse_expand_ratio=1.2,
    )
    assert res.n_extended_events >= 1
    np.testing.assert_array_equal(sg, g)


def test_region_ellipses_matches_skimage():
    measure = pytest.importorskip("skimage.measure")
    rng = np.random.default_rng(2)
    mask = ndimage_blobs(rng)
    ours = region_ellipses(mask, 5)
    lab = measure.label(mask)
    ref = []
    for reg in measure.regionprops(lab):
        if reg.area_filled < 5:
            continue
        ref.append(
            (
                (reg.centroid[1], reg.centroid[0]),
                (reg.axis_minor_length - 1, reg.axis_major_length - 1),
                np.degrees(reg.orientation),
            )
        )
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(
            np.hstack([a[0], a[1]]), np.hstack([b[0], b[1]]), rtol=1e-9, atol=1e-9
        )
        assert abs(((a[2] - b[2]) + 90) % 180 - 90) < 1e-6


def ndimage_blobs(rng):
    mask = np.zeros((60, 60), np.uint8)
    for _ in range(25):
        y, x = rng.integers(3, 57, 2)
        h, w = rng.integers(1, 4, 2)
        mask[y - h : y + h + 1, x - w : x + w + 1] = 1
    mask[20:27, 20:27] = 1
    mask[22:25, 22:25] = 0  # a hole
    return mask
