"""Dark subtraction, linearity and superbias: parity with stcal and slow references."""

from __future__ import annotations

import numpy as np
import pytest

from webbcal.errors import ParameterError
from webbcal.kernels.dark import average_dark_frames, subtract_dark
from webbcal.kernels.linearity import correct_linearity
from webbcal.kernels.superbias import subtract_superbias


def stcal_dark(
    sci, dark, dark_dq, nframes, groupgap, dark_nframes=1, dark_groupgap=0, intstart=None
):
    dark_sub = pytest.importorskip("stcal.dark_current.dark_sub")
    dark_class = pytest.importorskip("stcal.dark_current.dark_class")
    s = dark_class.ScienceData()
    s.data = sci.copy()
    s.groupdq = np.zeros(sci.shape, np.uint8)
    s.pixeldq = np.zeros(sci.shape[2:], np.uint32)
    s.exp_nframes, s.exp_groupgap, s.exp_intstart = nframes, groupgap, intstart
    d = dark_class.DarkData()
    d.data = dark.copy()
    d.groupdq = dark_dq.copy()
    d.exp_nframes, d.exp_groupgap = dark_nframes, dark_groupgap
    d.exp_ngroups = dark.shape[-3]
    out, avg = dark_sub.do_correction_data(s, d)
    return out, avg


@pytest.mark.parametrize(("nframes", "groupgap"), [(1, 0), (4, 0), (2, 3), (1, 2)])
def test_dark_parity_frame_averaging(nframes, groupgap):
    rng = np.random.default_rng(nframes * 10 + groupgap)
    ngroups = 5
    sci = rng.normal(1000, 10, (2, ngroups, 12, 14)).astype(np.float32)
    dark = rng.normal(5, 2, ((ngroups - 1) * (nframes + groupgap) + nframes + 3, 12, 14))
    dark = dark.astype(np.float32)
    dark[3, 2, 2] = np.nan
    dq = np.zeros((12, 14), np.uint32)
    dq[1, 1] = 8388608
    out, avg = stcal_dark(sci, dark, dq, nframes, groupgap)
    data = sci.copy()
    pdq = np.zeros((12, 14), np.uint32)
    res = subtract_dark(data, pdq, dark, dq, nframes=nframes, groupgap=groupgap)
    assert res.applied
    np.testing.assert_array_equal(data, out.data)
    np.testing.assert_array_equal(pdq, out.pixeldq)
    if avg is not None:
        np.testing.assert_array_equal(res.dark, avg.data)


def test_dark_parity_miri_4d_and_extrapolation():
    rng = np.random.default_rng(1)
    sci = rng.normal(1000, 10, (3, 8, 6, 7)).astype(np.float32)
    dark = rng.normal(5, 2, (2, 6, 6, 7)).astype(np.float32)  # too short: extrapolated
    dq = np.zeros((2, 1, 6, 7), np.uint32)
    dq[1, 0, 3, 3] = 4
    out, _ = stcal_dark(sci, dark, dq, 1, 0)
    data = sci.copy()
    pdq = np.zeros((6, 7), np.uint32)
    subtract_dark(data, pdq, dark, dq, nframes=1, groupgap=0)
    np.testing.assert_array_equal(data, out.data)
    np.testing.assert_array_equal(pdq, out.pixeldq)


def test_dark_skipped_when_dark_readout_is_coarser():
    sci = np.ones((1, 3, 4, 4), np.float32)
    res = subtract_dark(
        sci,
        np.zeros((4, 4), np.uint32),
        np.ones((9, 4, 4), np.float32),
        np.zeros((4, 4), np.uint32),
        nframes=1,
        groupgap=0,
        dark_nframes=2,
    )
    assert not res.applied and (sci == 1).all()


def test_average_dark_frames_slow_reference():
    rng = np.random.default_rng(2)
    dark = rng.normal(0, 1, (30, 3, 3)).astype(np.float32)
    out = average_dark_frames(dark, 4, 3, 2)
    for g in range(4):
        np.testing.assert_allclose(out[g], dark[g * 5 : g * 5 + 3].mean(axis=0), rtol=1e-6)


def test_linearity_parity():
    lin = pytest.importorskip("stcal.linearity.linearity")
    rng = np.random.default_rng(3)
    data = rng.uniform(0, 40000, (2, 5, 10, 11)).astype(np.float32)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[0, 3:, 2, 2] = 2
    coeffs = np.zeros((5, 10, 11), np.float32)
    coeffs[1] = 1.0
    coeffs[2] = rng.normal(1e-6, 1e-7, (10, 11))
    coeffs[3] = rng.normal(-1e-11, 1e-12, (10, 11))
    coeffs[4] = rng.normal(1e-16, 1e-17, (10, 11))
    coeffs[2, 4, 4] = np.nan
    coeffs[1, 5, 5] = 0.0
    lin_dq = np.zeros((10, 11), np.uint32)
    lin_dq[6, 6] = 1048576 | 1
    zf = data[:, 0].copy()
    zf[1, 1, 1] = 0.0
    pdq = np.zeros((10, 11), np.uint32)
    flags = {"SATURATED": 2, "NO_LIN_CORR": 1048576}
    sd, sp, sz = lin.linearity_correction(
        data.copy(), gdq.copy(), pdq.copy(), coeffs.copy(), lin_dq.copy(), flags, zframe=zf.copy()
    )
    d, z = data.copy(), zf.copy()
    coeffs0 = coeffs.copy()
    correct_linearity(d, gdq, pdq, coeffs, lin_dq, zeroframe=z)
    np.testing.assert_array_equal(d, sd)
    np.testing.assert_array_equal(pdq, sp)
    np.testing.assert_array_equal(z, sz)
    np.testing.assert_array_equal(coeffs, coeffs0)  # reference untouched
    assert d[0, 4, 2, 2] == data[0, 4, 2, 2]


def test_linearity_slow_reference():
    rng = np.random.default_rng(4)
    data = rng.uniform(0, 100, (1, 3, 4, 4)).astype(np.float32)
    coeffs = rng.normal(0, 1, (3, 4, 4)).astype(np.float32)
    d = data.copy()
    correct_linearity(d, np.zeros(d.shape, np.uint8), np.zeros((4, 4), np.uint32), coeffs)
    expect = coeffs[0] + coeffs[1] * data + coeffs[2] * data**2
    np.testing.assert_allclose(d, expect, rtol=1e-5)
    with pytest.raises(ParameterError):
        correct_linearity(
            d, np.zeros(d.shape, np.uint8), np.zeros((4, 4), np.uint32), coeffs[:, :2]
        )


@pytest.mark.parametrize("ncoeffs", [2, 3, 4, 5, 6, 7])
def test_linearity_every_coefficient_count_is_horner(ncoeffs):
    """The unrolled and the generic row paths evaluate Horner's scheme in float32 exactly."""
    rng = np.random.default_rng(ncoeffs)
    data = rng.uniform(0, 3e4, (2, 3, 5, 37)).astype(np.float32)
    coeffs = (rng.normal(0, 1, (ncoeffs, 5, 37)) * 10.0 ** -(4 * np.arange(ncoeffs))[:, None, None])
    coeffs = coeffs.astype(np.float32)
    coeffs[1] += 1.0
    gdq = np.zeros(data.shape, np.uint8)
    gdq[1, 2, 3, 5:9] = 2  # SATURATED: left as it is
    d = data.copy()
    correct_linearity(d, gdq, np.zeros((5, 37), np.uint32), coeffs)
    expect = coeffs[-1] * data
    for j in range(ncoeffs - 2, 0, -1):
        expect = (expect + coeffs[j]) * data
    expect = expect + coeffs[0]
    expect[gdq == 2] = data[gdq == 2]
    np.testing.assert_array_equal(d, expect)


def test_superbias():
    data = np.full((2, 3, 4, 5), 100.0, np.float32)
    bias = np.full((4, 5), 10.0, np.float32)
    bias[1, 1] = np.nan
    zf = np.full((2, 4, 5), 50.0, np.float32)
    zf[0, 2, 2] = 0.0
    subtract_superbias(data, bias, zeroframe=zf)
    assert data[0, 0, 0, 0] == 90.0 and data[1, 2, 1, 1] == 100.0
    assert zf[0, 2, 2] == 0.0 and zf[1, 2, 2] == 40.0
