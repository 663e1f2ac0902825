"""firstframe, lastframe, group_scale, gain_scale, reset, rscd, guider_cds, ipc."""

from __future__ import annotations

import numpy as np
import pytest

from webbcal.errors import ParameterError
from webbcal.kernels.firstframe import flag_first_group
from webbcal.kernels.gain_scale import scale_by_gain_factor
from webbcal.kernels.group_scale import scale_groups
from webbcal.kernels.guider_cds import guider_rates
from webbcal.kernels.ipc import correct_ipc, reference_counts
from webbcal.kernels.lastframe import flag_last_group
from webbcal.kernels.reset import subtract_reset
from webbcal.kernels.rscd import flag_rscd_groups


def test_firstframe():
    gdq = np.zeros((2, 5, 3, 3), np.uint8)
    gdq[:, 2, 1, 1] = 2
    g = gdq.copy()
    assert flag_first_group(g)
    assert (g[:, 0] == 1).all() and (g[:, 1:] == gdq[:, 1:]).all()
    g = gdq.copy()
    flag_first_group(g, bright_use_group1=True)
    assert g[0, 0, 1, 1] == 0 and g[0, 0, 0, 0] == 1
    small = np.zeros((1, 3, 2, 2), np.uint8)
    assert not flag_first_group(small) and not small.any()


def test_lastframe():
    gdq = np.zeros((2, 3, 2, 2), np.uint8)
    assert flag_last_group(gdq)
    assert (gdq[:, -1] == 1).all() and not gdq[:, :-1].any()
    two = np.zeros((1, 2, 2, 2), np.uint8)
    assert not flag_last_group(two) and not two.any()


def test_group_scale_and_gain_scale():
    data = np.full((1, 2, 2, 2), 10.0, np.float32)
    assert scale_groups(data, 5, 8) == 1.6
    assert np.allclose(data, 16.0) and data.dtype == np.float32
    with pytest.raises(ParameterError):
        scale_groups(data, 0, 8)
    sci = np.full((3, 3), 2.0, np.float32)
    err = np.full((3, 3), 1.0, np.float32)
    vp = np.full((3, 3), 1.0, np.float32)
    scale_by_gain_factor(sci, err, 2.0, var_poisson=vp, var_rnoise=np.zeros((0,), np.float32))
    assert (sci == 4).all() and (err == 2).all() and (vp == 4).all()


def test_reset_integration_and_group_mapping():
    data = np.zeros((3, 4, 2, 2), np.float32)
    reset = np.arange(2 * 3, dtype=np.float32).reshape(2, 3, 1, 1) * np.ones((1, 1, 2, 2))
    reset[0, 0, 0, 0] = np.nan
    subtract_reset(data, reset.astype(np.float32))
    assert data[0, 0, 0, 0] == 0.0 and data[0, 1, 0, 0] == -1.0
    assert data[1, 2, 1, 1] == -5.0 and data[2, 2, 1, 1] == -5.0  # last ref integration reused
    assert (data[:, 3] == 0).all()  # beyond the reference groups
    seg = np.zeros((1, 3, 2, 2), np.float32)
    subtract_reset(seg, reset.astype(np.float32), integration_start=2)
    assert seg[0, 1, 0, 0] == -4.0


def slow_rscd(gdq, skip, bright):
    """Transcription of the official flag_rscd/apply_rscd_flags for one integration range."""
    g = gdq.copy()
    n, ng, ny, nx = g.shape
    skips = np.full((n, ny, nx), skip)
    if bright:
        mg = skip + 2
        is_sat = (g[:, mg - 1] & 2) > 0
        while is_sat.sum() > 0 and mg > 0:
            skips[is_sat] = np.maximum(skips[is_sat] - 1, 0)
            mg -= 1
            is_sat = (g[:, mg - 1] & 2) > 0
    mask = np.arange(ng)[None, :, None, None] < skips[:, None]
    g[mask] |= 1
    return g


def test_rscd_counts_and_bright_pixels():
    gdq = np.zeros((3, 8, 4, 4), np.uint8)
    gdq[1, 3:, 1, 1] = 2  # saturates early in integration 2
    gdq[2, 2:, 2, 2] = 2
    g = gdq.copy()
    pdq = np.zeros((4, 4), np.uint32)
    res = flag_rscd_groups(g, pdq, skip_first=0, skip_later=4)
    assert res.applied and res.skip_later == 4
    np.testing.assert_array_equal(g[:1], slow_rscd(gdq[:1], 0, True))
    np.testing.assert_array_equal(g[1:], slow_rscd(gdq[1:], 4, True))
    assert pdq[1, 1] & 268435456 and pdq[2, 2] & 268435456 and not pdq[0, 0]
    g2 = gdq.copy()
    flag_rscd_groups(g2, np.zeros((4, 4), np.uint32), skip_first=0, skip_later=9)
    assert (g2[1:, :5, 0, 0] == 1).all() and not g2[1:, 5:, 0, 0].any()  # lowered to 8 - 3
    assert not flag_rscd_groups(
        np.zeros((1, 2, 2, 2), np.uint8), pdq, skip_first=1, skip_later=1
    ).applied


def test_guider_modes():
    rng = np.random.default_rng(0)
    data = rng.uniform(100, 200, (2, 8, 3, 4)).astype(np.float32)
    gain = np.full((3, 4), 2.0, np.float32)
    rn = np.full((3, 4), 10.0, np.float32)
    rate, err = guider_rates(data, "FGS_TRACK", 0.5, gain, rn)
    np.testing.assert_allclose(rate, (data[:, 1] - data[:, 0]) / 0.5, rtol=1e-6)
    vp = np.clip((data[:, 1] - data[:, 0]) / (2.0 * 0.5), 0, None)
    np.testing.assert_allclose(err, np.sqrt(2 * (10 / 0.5) ** 2 + vp), rtol=1e-6)
    rate, _ = guider_rates(data, "FGS_FINEGUIDE", 0.5, gain, rn)
    cds = data[:, -4:].mean(axis=1) - data[:, :4].mean(axis=1)
    np.testing.assert_allclose(rate, cds / 0.5, rtol=1e-5)
    rate, err = guider_rates(data, "FGS_ID-STACK", 0.5, gain, rn)
    assert rate.shape == (1, 3, 4)
    low = np.minimum(data[0, 1] - data[0, 0], data[1, 1] - data[1, 0])
    np.testing.assert_allclose(rate[0], low / 0.5, rtol=1e-6)


def slow_ipc(plane, kernel, nref):
    """Transcription of the official ipc_convolve (2-D or 4-D kernel)."""
    b, t, left, r = nref
    out = plane.copy()
    ny, nx = plane.shape[0] - b - t, plane.shape[1] - left - r
    kh, kw = kernel.shape[:2]
    bb, lb = kh // 2, kw // 2
    temp = np.zeros((ny + kh - 1, nx + kw - 1), plane.dtype)
    temp[bb : bb + ny, lb : lb + nx] = plane[b : b + ny, left : left + nx]
    acc = np.zeros((ny, nx), plane.dtype)
    order = [(j, i) for j in range(kh) for i in range(kw) if (j, i) != (bb, lb)] + [(bb, lb)]
    for j, i in order:
        js, is_ = kh - j - 1, kw - i - 1
        k = kernel[j, i] if kernel.ndim == 2 else kernel[j, i, b : b + ny, left : left + nx]
        acc += k * temp[js : js + ny, is_ : is_ + nx]
    out[b : b + ny, left : left + nx] = acc
    return out


@pytest.mark.parametrize("per_pixel", [False, True])
def test_ipc_matches_official_transcription(per_pixel):
    rng = np.random.default_rng(1)
    data = rng.normal(100, 30, (2, 2, 14, 16)).astype(np.float32)
    k2 = np.array([[0.001, -0.02, 0.001], [-0.02, 1.08, -0.02], [0.001, -0.02, 0.001]], np.float32)
    kernel = k2
    if per_pixel:
        kernel = (k2[:, :, None, None] * rng.uniform(0.9, 1.1, (1, 1, 14, 16))).astype(np.float32)
    nref = (4, 0, 4, 2)
    expect = np.stack([[slow_ipc(data[i, g], kernel, nref) for g in range(2)] for i in range(2)])
    correct_ipc(data, kernel, borders=nref)
    np.testing.assert_array_equal(data, expect)


def test_ipc_reference_counts():
    assert reference_counts("NIRCAM", 1, 1, 2048, 2048) == (4, 4, 4, 4)
    assert reference_counts("NIRCAM", 1, 1, 64, 64) == (4, 0, 4, 0)
    assert reference_counts("NIRCAM", 1025, 1025, 64, 64) == (0, 0, 0, 0)
    assert reference_counts("MIRI", 1, 1, 1032, 1024) == (0, 0, 4, 4)
