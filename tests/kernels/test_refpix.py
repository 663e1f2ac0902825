"""Reference pixels: the kernels against numpy transcriptions of the official code."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from webbcal.errors import ParameterError
from webbcal.kernels.refpix import (
    correct_refpix_miri,
    correct_refpix_nir,
    to_detector_frame,
)

DNU, REF = 1, 2147483648


def clip_mean(v, dq):
    good = v[(dq & DNU) == 0]
    if good.size == 0:
        return None
    if np.std(good, dtype=np.float64) != 0.0:
        return stats.sigmaclip(good, 3.0, 3.0)[0].mean()
    return good.mean(dtype=np.float64)


def avg(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return 0.5 * (a + b)


def official_nir_group(group, dq, smoothing=11, gain=1.0):
    """Transcription of NIRDataset full-frame corrections (odd/even + side) on one group."""
    refs = {}
    for amp, (c0, c1) in enumerate(((0, 512), (512, 1024), (1024, 1536), (1536, 2048))):
        for name, r0 in (("top", 2044), ("bottom", 0)):
            refs[amp, name] = (
                clip_mean(group[r0 : r0 + 4, c0:c1:2], dq[r0 : r0 + 4, c0:c1:2]),
                clip_mean(group[r0 : r0 + 4, c0 + 1 : c1 : 2], dq[r0 : r0 + 4, c0 + 1 : c1 : 2]),
            )
    for amp, (c0, c1) in enumerate(((0, 512), (512, 1024), (1024, 1536), (1536, 2048))):
        odd = avg(refs[amp, "top"][0], refs[amp, "bottom"][0])
        even = avg(refs[amp, "top"][1], refs[amp, "bottom"][1])
        if odd is not None and even is not None:
            group[:, c0:c1:2] = group[:, c0:c1:2] - odd
            group[:, c0 + 1 : c1 : 2] = group[:, c0 + 1 : c1 : 2] - even

    def median_filter(cols):
        data, d = group[:, cols], dq[:, cols]
        sl = smoothing + 1 if smoothing % 2 == 0 else smoothing
        half = sl // 2
        refl = np.zeros((data.shape[0] + sl - 1, 4), data.dtype)
        refl_dq = np.zeros(refl.shape, d.dtype)
        for a, b in ((refl, data), (refl_dq, d)):
            a[half : half + data.shape[0]] = b
            a[:half] = b[half:0:-1]
            a[-half:] = b[-2 : -(half + 2) : -1]
        out = np.zeros(data.shape[0])
        for i in range(data.shape[0]):
            w = refl[i : i + smoothing]
            good = (refl_dq[i : i + smoothing] & DNU) == 0
            out[i] = np.median(w[good]) if good.any() else np.nan
        return out

    left, right = median_filter(slice(0, 4)), median_filter(slice(2044, 2048))
    comb = np.where(
        np.isnan(left) & np.isnan(right),
        0.0,
        np.where(np.isnan(left), right, np.where(np.isnan(right), left, 0.5 * (left + right))),
    )
    return group - gain * comb[:, None]


def test_nir_full_frame_matches_official_transcription():
    rng = np.random.default_rng(0)
    data = rng.normal(100, 5, (1, 2, 2048, 2048)).astype(np.float32)
    data += np.arange(2048, dtype=np.float32)[None, None, :, None] * 0.01  # row drift
    data[:, :, :, 1536:] += 20.0  # amp offset
    pdq = np.zeros((2048, 2048), np.uint32)
    pdq[:4, :] |= REF
    pdq[-4:, :] |= REF
    pdq[:, :4] |= REF
    pdq[:, -4:] |= REF
    pdq[0, 10:20] |= DNU
    pdq[100:130, 1] |= DNU
    expect = data.copy()
    det = to_detector_frame(expect, "NRCA1")
    det_dq = to_detector_frame(pdq, "NRCA1")
    wide = False
    for g in range(2):
        grp = np.array(det[0, g], dtype=np.float64 if wide else np.float32)
        det[0, g] = official_nir_group(grp, det_dq)
        wide = True
    res = correct_refpix_nir(data, pdq, detector="NRCA1")
    assert res.applied and not res.bad_reference_pixels
    np.testing.assert_array_equal(data, expect)


def test_nir_subarray_single_output_and_no_refpix():
    rng = np.random.default_rng(1)
    data = rng.normal(50, 2, (1, 2, 64, 64)).astype(np.float32)
    pdq = np.zeros((64, 64), np.uint32)
    pdq[:4, :] = REF  # bottom rows of the detector are in the window
    expect = data.copy()
    for g in range(2):
        grp = to_detector_frame(expect[0, g], "NRCB1")
        dq = to_detector_frame(pdq, "NRCB1")
        rows, cols = np.nonzero((dq & REF) == REF)
        ev, od = cols % 2 == 0, cols % 2 == 1
        e = clip_mean(grp[rows[ev], cols[ev]], dq[rows[ev], cols[ev]])
        o = clip_mean(grp[rows[od], cols[od]], dq[rows[od], cols[od]])
        grp[:, 0::2] -= e
        grp[:, 1::2] -= o
    res = correct_refpix_nir(data, pdq, detector="NRCB1", xstart=1, ystart=1985, noutputs=1)
    assert res.applied
    np.testing.assert_array_equal(data, expect)
    none = data.copy()
    res = correct_refpix_nir(
        none, np.zeros((64, 64), np.uint32), detector="NRCB1", xstart=500, ystart=500, noutputs=1
    )
    assert not res.applied
    np.testing.assert_array_equal(none, data)


def test_miri_matches_official_transcription():
    rng = np.random.default_rng(2)
    data = rng.normal(1000, 5, (2, 4, 1024, 1032)).astype(np.float32)
    data += np.arange(4, dtype=np.float32)[None, :, None, None] * 30
    pdq = np.zeros((1024, 1032), np.uint32)
    pdq[5:9, 0] = DNU
    expect = data.copy()
    first = np.array(expect[:, 0], np.float64)
    for i in range(2):
        expect[i] = expect[i] - first[i]
        for g in range(1, 4):
            grp = expect[i, g].copy()
            for amp in range(4):
                lo = clip_mean(grp[0::2, amp], pdq[0::2, amp])
                le = clip_mean(grp[1::2, amp], pdq[1::2, amp])
                ro = clip_mean(grp[0::2, 1028 + amp], pdq[0::2, 1028 + amp])
                re = clip_mean(grp[1::2, 1028 + amp], pdq[1::2, 1028 + amp])
                grp[0::2, amp::4] = grp[0::2, amp::4] - 0.5 * (lo + ro)
                grp[1::2, amp::4] = grp[1::2, amp::4] - 0.5 * (le + re)
            expect[i, g] = grp
        expect[i] += first[i]
    res = correct_refpix_miri(data, pdq, odd_even_rows=True)
    assert res.applied and not res.bad_reference_pixels
    np.testing.assert_array_equal(data, expect)
    with pytest.raises(ParameterError):
        correct_refpix_miri(data[:, :, :512], pdq[:512])


def test_detector_frames_are_writable_views():
    a = np.arange(12.0).reshape(3, 4)
    for det in ("NRS1", "NRS2", "NIS", "NRCA1", "NRCA2", "GUIDER1"):
        v = to_detector_frame(a, det)
        assert np.shares_memory(v, a)
    v = to_detector_frame(a, "NRS1")
    v[0, 1] = -1
    assert a[1, 0] == -1
    with pytest.raises(ParameterError):
        to_detector_frame(a, "MIRIMAGE")
