"""Reference pixels: the kernels against numpy transcriptions of the official code."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from webbcal.errors import ParameterError
from webbcal.kernels import refpix_nir
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


def slow_four_outputs(group, dq, odd_even, use_side, smoothing=11, gain=1.0):
    """Numpy transcription of the 4-output corrections (any odd/even and side choice)."""
    bad = False
    fix = []
    for c0, c1 in ((0, 512), (512, 1024), (1024, 1536), (1536, 2048)):
        col_sets = ((c0, 2), (c0 + 1, 2)) if odd_even else ((c0, 1),)
        means = []
        for start, step in col_sets:
            top = clip_mean(group[2044:, start:c1:step], dq[2044:, start:c1:step])
            bottom = clip_mean(group[:4, start:c1:step], dq[:4, start:c1:step])
            bad |= top is None or bottom is None
            means.append(avg(top, bottom))
        fix.append((c1, col_sets, means))
    for c1, col_sets, means in fix:
        if all(m is not None for m in means):
            for (start, step), m in zip(col_sets, means):
                group[:, start:c1:step] = group[:, start:c1:step] - m
    if not use_side:
        return group, bad
    sl = smoothing + 1 if smoothing % 2 == 0 else smoothing
    half = sl // 2
    meds = []
    for cols in (slice(0, 4), slice(2044, 2048)):
        d, q = group[:, cols], dq[:, cols]
        out = np.full(2048, np.nan)
        for i in range(2048):
            rows = [abs(k) if k < 0 else (2 * 2047 - k if k > 2047 else k)
                    for k in range(i - half, i - half + smoothing)]  # fmt: skip
            w, good = d[rows], (q[rows] & DNU) == 0
            if good.any():
                out[i] = np.median(w[good])
        meds.append(out)
    left, right = meds
    comb = np.where(np.isnan(left) & np.isnan(right), 0.0,
                    np.where(np.isnan(left), right,
                             np.where(np.isnan(right), left, 0.5 * (left + right))))  # fmt: skip
    return group - gain * comb[:, None], bad


def slow_nir(data, pdq, detector, ystart, xstart, noutputs, odd_even, use_side, zeroframe=None):
    """The whole near-IR correction the obvious way: every plane embedded in a 2048 frame."""
    ny, nx = pdq.shape
    y0, x0 = ystart - 1, xstart - 1
    full = np.zeros((2048, 2048), np.uint32)
    full[:4], full[-4:], full[:, :4], full[:, -4:] = DNU | REF, DNU | REF, DNU | REF, DNU | REF
    full[y0 : y0 + ny, x0 : x0 + nx] = pdq
    dq = to_detector_frame(full, detector)
    out = data.copy()
    zf = None if zeroframe is None else zeroframe.copy()
    bad, wide = False, False
    cubes = [(out, False)] + ([] if zf is None else [(zf[:, None], True)])
    for cube, keep in cubes:
        zeros = cube == 0
        for i in range(cube.shape[0]):
            for g in range(cube.shape[1]):
                buf = np.zeros((2048, 2048), np.float64 if wide else np.float32)
                buf[y0 : y0 + ny, x0 : x0 + nx] = cube[i, g]
                det = to_detector_frame(buf, detector)
                if noutputs == 4:
                    res, b = slow_four_outputs(det, dq, odd_even, use_side)
                    det[...] = res
                    wide = use_side
                else:
                    usable = ((dq & REF) != 0) & ((dq & DNU) == 0)
                    rows, cols = np.nonzero(usable)
                    ev = cols % 2 == 0
                    e = clip_mean(det[rows[ev], cols[ev]], dq[rows[ev], cols[ev]])
                    o = clip_mean(det[rows[~ev], cols[~ev]], dq[rows[~ev], cols[~ev]])
                    b = e is None or o is None
                    if not b:
                        det[:, 0::2] -= e
                        det[:, 1::2] -= o
                bad |= b
                cube[i, g] = buf[y0 : y0 + ny, x0 : x0 + nx]
        if keep:
            cube[zeros] = 0.0
    return out, zf, bad


@pytest.mark.parametrize(
    ("detector", "odd_even", "use_side"),
    [("NRCA1", True, True), ("NRCB1", False, True), ("NRCA1", True, False), ("NRS1", True, True)],
)
def test_four_output_subarray_matches_slow_version(detector, odd_even, use_side):
    rng = np.random.default_rng(5)
    ny, nx = (64, 2048) if detector != "NRS1" else (2048, 64)
    data = rng.normal(1000, 5, (2, 2, ny, nx)).astype(np.float32)
    data[:, :, :, : nx // 2] += 7.0
    data[1, 1] = 1000.0  # all values equal: float64 means
    data[0, 1, 3, 5] = 40000.0  # clipped outlier
    pdq = np.zeros((ny, nx), np.uint32)
    if detector == "NRS1":
        pdq[:, :4] |= REF
        pdq[:4, :] |= REF
        pdq[-4:, :] |= REF
        ystart, xstart = 1, 1
    else:
        pdq[:4, :] |= REF
        pdq[:, :4] |= REF
        pdq[:, -4:] |= REF
        ystart, xstart = 1, 1
    pdq[1, 100:140] |= DNU
    zf = rng.normal(900, 5, (2, ny, nx)).astype(np.float32)
    zf[0, 10:12, 10:30] = 0.0
    expect, ezf, ebad = slow_nir(data, pdq, detector, ystart, xstart, 4, odd_even, use_side, zf)
    got, gzf = data.copy(), zf.copy()
    res = correct_refpix_nir(got, pdq, detector=detector, xstart=xstart, ystart=ystart,
                             noutputs=4, odd_even_columns=odd_even,
                             use_side_ref_pixels=use_side, zeroframe=gzf)  # fmt: skip
    np.testing.assert_array_equal(got, expect)
    np.testing.assert_array_equal(gzf, ezf)
    assert res.applied and res.bad_reference_pixels == ebad


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("detector", ["NRCA1", "NRCA2", "NIS", "NRS2"])
def test_one_output_window_matches_slow_version(detector):
    rng = np.random.default_rng(6)
    data = rng.normal(300, 3, (3, 2, 40, 36)).astype(np.float32)
    data[:, :, :, ::2] += 2.0
    pdq = np.zeros((40, 36), np.uint32)
    pdq[-4:, :] |= REF  # the window's top rows (DMS) are reference rows
    pdq[:, -4:] |= REF
    pdq[-2, 3] |= DNU
    data[1, 0, -1, 7] = np.nan  # a NaN reference pixel spoils that plane
    zf = rng.normal(250, 3, (3, 40, 36)).astype(np.float32)
    expect, ezf, ebad = slow_nir(data, pdq, detector, 2009, 2013, 1, True, True, zf)
    got, gzf = data.copy(), zf.copy()
    res = correct_refpix_nir(got, pdq, detector=detector, xstart=2013, ystart=2009,
                             noutputs=1, zeroframe=gzf)  # fmt: skip
    np.testing.assert_array_equal(got, expect)
    np.testing.assert_array_equal(gzf, ezf)
    assert res.bad_reference_pixels == ebad


def test_clipped_mean_is_numpy_bit_for_bit():
    from webbcal.kernels._refpix_common import clipped_mean as _clipped_mean
    from webbcal.kernels._refpix_common import pairwise_sum as _pairwise_sum

    rng = np.random.default_rng(7)
    for n in (1, 2, 7, 8, 9, 127, 128, 129, 300, 1024, 5000):
        v32 = (rng.normal(50, 4, n) * rng.uniform(0.5, 300)).astype(np.float32)
        v32[: n // 50] += 500  # outliers
        assert np.float32(_pairwise_sum(v32.astype(np.float64), 0, n, True)) == v32.sum()
        work = np.empty(n)
        value, is32, ok = _clipped_mean(v32.astype(np.float64), n, True, work)
        assert ok and is32 == (n > 1)
        assert np.float32(value) == clip_mean(v32, np.zeros(n, np.uint32))
        v64 = v32.astype(np.float64)
        value, _, _ = _clipped_mean(v64.copy(), n, False, work)
        assert value == clip_mean(v64, np.zeros(n, np.uint32))
    assert not _clipped_mean(np.zeros(4), 0, True, np.empty(4))[2]
    assert np.isnan(_clipped_mean(np.array([1.0, np.inf, 2.0]), 3, True, np.empty(3))[0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    ("detector", "shape", "noutputs", "start"),
    [("NRCA1", (64, 2048), 4, (1, 1)), ("NRCB1", (64, 2048), 4, (1, 1)),
     ("NRS1", (2048, 64), 4, (1, 1)), ("NIS", (40, 36), 1, (2009, 2013)),
     ("NRCA1", (40, 36), 1, (2009, 2013))],
)  # fmt: skip
def test_plan_from_strips_applied_by_bands_equals_whole(detector, shape, noutputs, start):
    """Measured once from the reference strips' values, applied band by band: the same."""
    from webbcal.kernels import refpix_nir

    rng = np.random.default_rng(8)
    data = rng.normal(1000, 5, (3, 2, *shape)).astype(np.float32)
    data[..., : shape[1] // 2] += 4.0
    pdq = np.zeros(shape, np.uint32)
    pdq[:4, :] |= REF
    pdq[-4:, :] |= REF
    pdq[:, :4] |= REF
    pdq[:, -4:] |= REF
    pdq[1, 10:14] |= DNU
    zf = rng.normal(900, 5, (3, *shape)).astype(np.float32)
    zf[0, 10:12, 5:9] = 0.0
    where = dict(detector=detector, ystart=start[0], xstart=start[1], noutputs=noutputs)
    whole, whole_zf = data.copy(), zf.copy()
    correct_refpix_nir(whole, pdq, zeroframe=whole_zf, **where)

    positions = refpix_nir.strip_positions(shape, detector=detector, xstart=start[1],
                                           ystart=start[0])  # fmt: skip
    positions |= (pdq & REF) != 0
    plans = [refpix_nir.measure(refpix_nir.gather(cube, positions), positions, pdq,
                                start_wide=is_zf, keep_zeros=is_zf, **where)
             for cube, is_zf in ((data, False), (zf[:, None], True))]  # fmt: skip
    for y0 in range(0, shape[0], 13):
        y1 = min(shape[0], y0 + 13)
        band, band_zf = data[:, :, y0:y1].copy(), zf[:, None, y0:y1].copy()
        refpix_nir.apply(plans[0], band, y0)
        refpix_nir.apply(plans[1], band_zf, y0)
        np.testing.assert_array_equal(band, whole[:, :, y0:y1])
        np.testing.assert_array_equal(band_zf[:, 0], whole_zf[:, y0:y1])
    with pytest.raises(ParameterError):
        refpix_nir.apply(plans[0], data[:, :, :5], shape[0] - 2)


def test_place_matches_numpy_fancy_indexing():
    rng = np.random.default_rng(8)
    src = rng.normal(size=(13, 40)).astype(np.float32)
    take = np.array([0, 3, 4, 39, 17])
    put = np.array([9, 1, 2, 0, 5])
    out = np.full((13, 11), -1.0, np.float32)
    expect = out.copy()
    expect[:, put] = src[:, take]
    refpix_nir.place(src, take, out, put)
    np.testing.assert_array_equal(out, expect)
