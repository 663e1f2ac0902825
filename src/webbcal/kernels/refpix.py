"""Reference-pixel corrections (the official ``refpix`` step, "median" algorithm).

Near-IR detectors (NIRCam, NIRISS, NIRSpec, FGS), per integration and group, in the
detector frame (the DMS image is flipped/transposed back, see :data:`DMS_TO_DETECTOR`):

1. per amplifier (four 512-column stripes) the 3-sigma clipped means (``scipy.stats.
   sigmaclip``) of the top (rows 2044-2047) and bottom (rows 0-3) reference rows, for
   odd and even columns separately (``odd_even_columns``) or together, excluding
   DO_NOT_USE pixels; top and bottom are averaged (or the one available) and subtracted
   from the amplifier's columns (odd/even separately);
2. with ``use_side_ref_pixels``: a running median over ``side_smoothing_length`` rows
   (reflected at the ends) of the 4 left and the 4 right reference columns, averaged,
   times ``side_gain``, is subtracted from each row.

Subarrays are embedded in a full frame whose reference pixels outside the window are
DO_NOT_USE; with 4 outputs they are corrected as a full frame, with 1 output by a single
(or odd/even) clipped mean of all usable reference pixels (REFERENCE_PIXEL set,
DO_NOT_USE not), skipped when there are none. NIRSpec SUB512/SUB512S/SUB32 use their
first and last 4 columns as reference pixels. The ZEROFRAME is corrected the same way.

MIRI (full frame only): the first group is subtracted, then per group and amplifier
(every 4th column) the clipped means of the left (columns 0-3) and right (1028-1031)
reference columns, odd and even rows separately (``odd_even_rows``), are averaged and
subtracted, and the first group is added back; processing stops at the first group
without usable reference pixels.

Not implemented (the step must refuse them): the SIRS convolution algorithm, NIRSpec
IRS2 readouts and NIRCam multistripe subarrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError
from webbcal.kernels._nbstats import network_sort

__all__ = [
    "DMS_TO_DETECTOR",
    "NRS_EDGELESS_SUBARRAYS",
    "RefpixResult",
    "correct_refpix_miri",
    "correct_refpix_nir",
    "to_detector_frame",
]

#: How each near-IR detector's DMS image maps to its detector frame (last two axes):
#: ``fx`` flip columns, ``fy`` flip rows, ``fxy`` both, ``t`` transpose, ``t180`` transpose
#: then rotate 180 degrees, ``180t`` rotate 180 degrees then transpose.
DMS_TO_DETECTOR = {
    "NRS1": "t", "NRS2": "t180", "NIS": "180t",
    "NRCA1": "fx", "NRCA2": "fy", "NRCA3": "fx", "NRCA4": "fy", "NRCALONG": "fx",
    "NRCB1": "fy", "NRCB2": "fx", "NRCB3": "fy", "NRCB4": "fx", "NRCBLONG": "fy",
    "GUIDER1": "fxy", "GUIDER2": "fx",
}  # fmt: skip

#: NIRSpec subarrays without reference pixels: their outer 4 columns are used instead.
NRS_EDGELESS_SUBARRAYS = ("SUB512", "SUB512S", "SUB32")

_AMP_COLS = ((0, 512), (512, 1024), (1024, 1536), (1536, 2048))
_FULL = 2048


@dataclass(frozen=True)
class RefpixResult:
    """What a reference-pixel correction did.

    ``applied``: a correction was made; ``bad_reference_pixels``: some amplifier or group
    had no usable reference pixels (its correction was left out).
    """

    applied: bool
    bad_reference_pixels: bool


def to_detector_frame(arr: np.ndarray, detector: str) -> np.ndarray:
    """A writable view of ``arr`` (last two axes: a DMS image) in the detector frame."""
    how = DMS_TO_DETECTOR.get(str(detector).upper())
    if how is None:
        raise ParameterError(f"no detector-frame orientation is known for {detector!r}")
    if how == "fx":
        return arr[..., :, ::-1]
    if how == "fy":
        return arr[..., ::-1, :]
    if how == "fxy":
        return arr[..., ::-1, ::-1]
    if how == "t":
        return np.swapaxes(arr, -1, -2)
    if how == "t180":
        return np.swapaxes(arr, -1, -2)[..., ::-1, ::-1]
    return np.swapaxes(arr[..., ::-1, ::-1], -1, -2)  # "180t"


@njit(cache=True, nogil=True)
def _reflect(k, n):
    if k < 0:
        return -k
    if k >= n:
        return 2 * (n - 1) - k
    return k


# Exact sigma-clipped means. The official code calls ``scipy.stats.sigmaclip`` (3 sigma,
# numpy mean and std of the data's dtype) when the values are not all equal, else the
# float64 mean; the result keeps the data's dtype (float32 or float64). Here the values
# are held in float64 and every float32 operation is rounded (``_rnd``): a float32 sum,
# product, quotient or square root computed in float64 and rounded once is the float32
# result. Sums follow numpy's pairwise summation, so the means are bit for bit numpy's.


@njit(cache=True, nogil=True, inline="always")
def _rnd(x, f32):
    if f32:
        return np.float64(np.float32(x))
    return x


@njit(cache=True, nogil=True)
def _block_sum(buf, lo, n, f32):
    """Pairwise summation (numpy's) of at most 128 values: 8 running sums."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res = _rnd(res + buf[i], f32)
        return res
    r = np.empty(8)
    for k in range(8):
        r[k] = buf[lo + k]
    i = 8
    while i < n - n % 8:
        for k in range(8):
            r[k] = _rnd(r[k] + buf[lo + i + k], f32)
        i += 8
    a = _rnd(_rnd(r[0] + r[1], f32) + _rnd(r[2] + r[3], f32), f32)
    b = _rnd(_rnd(r[4] + r[5], f32) + _rnd(r[6] + r[7], f32), f32)
    res = _rnd(a + b, f32)
    while i < n:
        res = _rnd(res + buf[lo + i], f32)
        i += 1
    return res


@njit(cache=True, nogil=True)
def _pairwise_sum(buf, lo, n, f32):
    """``np.add.reduce`` of ``buf[lo:lo + n]``.

    numpy splits longer runs in two halves (a multiple of 8 first) and adds their sums;
    done here with an explicit stack, because numba's cache mishandles recursion.
    """
    if n <= 128:
        return _block_sum(buf, lo, n, f32)
    s_lo = np.empty(64, np.int64)
    s_n = np.empty(64, np.int64)
    s_left = np.empty(64)
    s_stage = np.empty(64, np.int64)  # 0: new, 1: left half pending, 2: right half pending
    sp = 0
    s_lo[0] = lo
    s_n[0] = n
    s_stage[0] = 0
    while True:
        if s_n[sp] > 128 and s_stage[sp] == 0:
            n2 = s_n[sp] // 2
            n2 -= n2 % 8
            s_stage[sp] = 1
            sp += 1
            s_lo[sp] = s_lo[sp - 1]
            s_n[sp] = n2
            s_stage[sp] = 0
            continue
        v = _block_sum(buf, s_lo[sp], s_n[sp], f32)
        sp -= 1
        while sp >= 0 and s_stage[sp] == 2:
            v = _rnd(s_left[sp] + v, f32)
            sp -= 1
        if sp < 0:
            return v
        s_left[sp] = v
        s_stage[sp] = 2
        n2 = s_n[sp] // 2
        n2 -= n2 % 8
        sp += 1
        s_lo[sp] = s_lo[sp - 1] + n2
        s_n[sp] = s_n[sp - 1] - n2
        s_stage[sp] = 0


@njit(cache=True, nogil=True)
def _clipped_mean(buf, n, f32, work):
    """Sigma-clipped mean of ``buf[:n]`` (reordered): ``(value, value_is_float32, found)``.

    ``f32``: the values are float32 data (else float64). ``work``: scratch of >= n.
    """
    if n == 0:
        return 0.0, f32, False
    same = True
    for j in range(n):
        v = buf[j]
        if not math.isfinite(v):
            return np.nan, f32, True  # NaN standard deviation: everything is clipped
        if v != buf[0]:
            same = False
    if same:
        return buf[0], False, True  # the float64 mean of equal values
    while True:
        mean = _rnd(_pairwise_sum(buf, 0, n, f32) / n, f32)
        for j in range(n):
            d = _rnd(buf[j] - mean, f32)
            work[j] = _rnd(d * d, f32)
        std = _rnd(math.sqrt(_rnd(_pairwise_sum(work, 0, n, f32) / n, f32)), f32)
        spread = _rnd(std * 3.0, f32)
        lower = _rnd(mean - spread, f32)
        upper = _rnd(mean + spread, f32)
        m = 0
        for j in range(n):
            v = buf[j]
            if v >= lower and v <= upper:
                buf[m] = v
                m += 1
        if m == n:
            break
        n = m
        if n == 0:
            return np.nan, f32, True
    return _rnd(_pairwise_sum(buf, 0, n, f32) / n, f32), f32, True


@njit(cache=True, nogil=True, inline="always")
def _average(a, a32, a_ok, b, b32, b_ok):
    """``0.5 * (a + b)`` in the precision numpy would use, or the one found."""
    if a_ok and b_ok:
        if a32 and b32:
            return np.float64(np.float32(np.float32(a + b) * np.float32(0.5))), True
        return 0.5 * (a + b), True
    if a_ok:
        return a, True
    return b, b_ok


# Near-IR, 4 outputs (full frame or full-width subarray in its embedded frame)


@njit(cache=True, nogil=True)
def _amp_offsets(plane, dq, r0, c0, odd_even, wide, dnu, corr, apply, buf, work):
    """Per amplifier and column parity the offsets to subtract (``apply``: found); bad."""
    h, w = plane.shape
    bad = False
    step = 2 if odd_even else 1
    for amp in range(4):
        apply[amp] = True
        for par in range(step):
            top, top32, top_ok = 0.0, False, False
            for side in range(2):  # top rows, then bottom rows
                rlo = _FULL - 4 if side == 0 else 0
                m = 0
                first = amp * 512 + par
                if first < c0:  # the window's first column of this parity
                    first += (c0 - first + step - 1) // step * step
                for rl in range(max(0, rlo - r0), min(h, rlo + 4 - r0)):
                    for c in range(first, min(amp * 512 + 512, c0 + w), step):
                        if dq[rl, c - c0] & dnu == 0:
                            buf[m] = plane[rl, c - c0]
                            m += 1
                value, is32, ok = _clipped_mean(buf, m, not wide, work)
                bad |= not ok
                if side == 0:
                    top, top32, top_ok = value, is32, ok
                else:
                    corr[amp, par], found = _average(top, top32, top_ok, value, is32, ok)
                    apply[amp] &= found
        if not odd_even:
            corr[amp, 1] = corr[amp, 0]
    return bad


@njit(cache=True, nogil=True, inline="always")
def _amp_corrected(x, c, corr, apply, wide):
    """A pixel of detector column ``c`` after the amplifier offset, in the group's dtype."""
    amp = c // 512
    if not apply[amp]:
        return np.float64(x)
    t = np.float64(x) - corr[amp, c % 2]
    if wide:
        return t
    return np.float64(np.float32(t))


@njit(cache=True, nogil=True)
def _side_signal(plane, dq, r0, c0, corr, apply, wide, length, half, dnu, side):
    """Running-median side signal (averaged left/right, NaN-aware) for the window rows."""
    h, w = plane.shape
    # amplifier-corrected side reference columns of the window rows, NaN: not usable
    cols = np.full((h, 8), np.nan)
    use = np.zeros((h, 8), np.bool_)
    for rl in range(h):
        for k in range(8):
            c = k if k < 4 else _FULL - 8 + k
            cl = c - c0
            if 0 <= cl < w and dq[rl, cl] & dnu == 0:
                use[rl, k] = True
                cols[rl, k] = _amp_corrected(plane[rl, cl], c, corr, apply, wide)
    buf = np.empty(4 * length)
    for rl in range(h):
        r = rl + r0
        med = np.empty(2)
        for s in range(2):
            m = 0
            nan = False
            for kk in range(r - half, r - half + length):
                rr = _reflect(kk, _FULL) - r0
                if rr < 0 or rr >= h:
                    continue
                for k in range(4 * s, 4 * s + 4):
                    if use[rr, k]:
                        v = cols[rr, k]
                        if v != v:
                            nan = True
                        buf[m] = v
                        m += 1
            if m == 0 or nan:
                med[s] = np.nan
                continue
            network_sort(buf, m)
            hm = m // 2
            if m % 2 == 1:
                med[s] = buf[hm]
            elif wide:
                med[s] = (buf[hm - 1] + buf[hm]) / 2.0
            else:
                med[s] = np.float64(np.float32(buf[hm - 1] + buf[hm]) / np.float32(2.0))
        left, right = med[0], med[1]
        if left != left and right != right:
            side[rl] = 0.0
        elif left != left:
            side[rl] = right
        elif right != right:
            side[rl] = left
        else:
            side[rl] = 0.5 * (left + right)


@njit(cache=True, parallel=True, nogil=True)
def _nir_four_outputs(cube, dq, r0, c0, odd_even, use_side, length, half, gain, start_wide,
                      keep_zeros, dnu, bad):  # fmt: skip
    nints, ng, h, w = cube.shape
    for p in prange(nints * ng):
        i = p // ng
        g = p % ng
        plane = cube[i, g]
        wide = use_side and (p > 0 or start_wide)
        corr = np.zeros((4, 2))
        apply = np.zeros(4, np.bool_)
        buf = np.empty(4 * 512)
        work = np.empty(4 * 512)
        bad[p] = _amp_offsets(plane, dq, r0, c0, odd_even, wide, dnu, corr, apply, buf, work)
        side = np.zeros(h)
        if use_side:
            _side_signal(plane, dq, r0, c0, corr, apply, wide, length, half, dnu, side)
        offset = np.zeros(w)  # 0 where no amplifier offset applies: x - 0 is x
        for cl in range(w):
            c = cl + c0
            if apply[c // 512]:
                offset[cl] = corr[c // 512, c % 2]
        for rl in range(h):
            drift = gain * side[rl]
            row = plane[rl]
            for cl in range(w):
                x = row[cl]
                t = np.float64(x) - offset[cl]
                if not wide:
                    t = np.float64(np.float32(t))
                if use_side:
                    t = t - drift
                if keep_zeros and x == 0:
                    t = 0.0
                row[cl] = t


# Near-IR, 1 output: one clipped mean (per column parity) of all usable reference pixels


@njit(cache=True, parallel=True, nogil=True)
def _nir_one_output(cube, rows, cols, c0, odd_even, keep_zeros, bad):
    nints, ng, h, w = cube.shape
    n = rows.size
    for p in prange(nints * ng):
        plane = cube[p // ng, p % ng]
        buf = np.empty(max(n, 1))
        work = np.empty(max(n, 1))
        corr = np.empty(2)
        ok = True
        for par in range(2 if odd_even else 1):
            m = 0
            for j in range(n):
                if not odd_even or (cols[j] + c0) % 2 == par:
                    buf[m] = plane[rows[j], cols[j]]
                    m += 1
            value, _, found = _clipped_mean(buf, m, True, work)
            corr[par] = value
            ok &= found
        if not ok:
            bad[p] = True
            continue
        if not odd_even:
            corr[1] = corr[0]
        for rl in range(h):
            for cl in range(w):
                x = plane[rl, cl]
                if keep_zeros and x == 0:
                    plane[rl, cl] = 0.0
                    continue
                plane[rl, cl] = np.float64(x) - corr[(cl + c0) % 2]


@lru_cache(maxsize=64)
def _detector_window(detector: str, y0: int, x0: int, ny: int, nx: int) -> tuple[int, int]:
    """First detector-frame row and column of a DMS window."""
    inside = np.zeros((_FULL, _FULL), np.bool_)
    inside[y0 : y0 + ny, x0 : x0 + nx] = True
    det = to_detector_frame(inside, detector)
    return int(np.argmax(det.any(axis=1))), int(np.argmax(det.any(axis=0)))


def correct_refpix_nir(
    data: np.ndarray,
    pixeldq: np.ndarray,
    *,
    detector: str,
    xstart: int = 1,
    ystart: int = 1,
    noutputs: int = 4,
    subarray: str | None = None,
    odd_even_columns: bool = True,
    use_side_ref_pixels: bool = True,
    side_smoothing_length: int = 11,
    side_gain: float = 1.0,
    zeroframe: np.ndarray | None = None,
    do_not_use: int = 1,
    reference_pixel: int = 2147483648,
) -> RefpixResult:
    """Near-IR reference-pixel correction, in place.

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Ramps in the DMS orientation, corrected in place.
    pixeldq : ndarray, uint32, (ny, nx)
        PIXELDQ (REFERENCE_PIXEL, DO_NOT_USE); read only.
    detector : str
        DETECTOR, for the DMS -> detector orientation.
    xstart, ystart : int
        SUBSTRT1/SUBSTRT2 (1-based, DMS frame) of the window.
    noutputs : int
        NOUTPUTS; subarrays read by 1 output use the single-mean method.
    subarray : str, optional
        SUBARRAY name (NIRSpec edgeless subarrays get their outer columns as references).
    odd_even_columns, use_side_ref_pixels, side_smoothing_length, side_gain
        The official step parameters.
    zeroframe : ndarray, (nints, ny, nx), optional
        Corrected the same way, keeping zeros (unusable values).
    do_not_use, reference_pixel : int
        DQ flag values.

    Notes
    -----
    Every (integration, group) plane is corrected by one numba pass over the window, in
    parallel, without copies. The arithmetic is the official one: the first plane of a
    4-output exposure in float32, later planes in float64 when the side correction is
    on (the official code keeps one group buffer, float64 once a side correction has
    been made), the result stored as float32.
    """
    if data.ndim != 4 or pixeldq.shape != data.shape[2:]:
        raise ParameterError(f"data {data.shape} and pixeldq {pixeldq.shape} do not match")
    if side_smoothing_length < 1:
        raise ParameterError("side_smoothing_length must be >= 1")
    ny, nx = data.shape[2:]
    y0, x0 = int(ystart) - 1, int(xstart) - 1
    if y0 < 0 or x0 < 0 or y0 + ny > _FULL or x0 + nx > _FULL:
        raise ParameterError(f"window {(ystart, xstart, ny, nx)} does not fit the detector")
    full_frame = (ny, nx) == (_FULL, _FULL)
    to_detector_frame(pixeldq, detector)  # refuses unknown detectors
    r0, c0 = _detector_window(str(detector).upper(), y0, x0, ny, nx)
    dq = pixeldq
    if str(subarray or "").upper() in NRS_EDGELESS_SUBARRAYS and not full_frame:
        dq = np.array(pixeldq, copy=True)
        dq[:, :4] |= dq.dtype.type(reference_pixel)
        dq[:, -4:] |= dq.dtype.type(reference_pixel)
    det_dq = np.ascontiguousarray(to_detector_frame(dq, detector))
    cubes = [(data, False)]
    if zeroframe is not None:
        cubes.append((zeroframe[:, np.newaxis], True))
    bad = False
    if not full_frame and noutputs != 4:
        usable = (det_dq & reference_pixel) == reference_pixel
        usable &= (det_dq & do_not_use) != do_not_use
        rows, cols = np.nonzero(usable)
        if rows.size == 0:
            return RefpixResult(False, True)
        for cube, keep_zeros in cubes:
            flags = np.zeros(cube.shape[0] * cube.shape[1], np.bool_)
            _nir_one_output(to_detector_frame(cube, detector), rows, cols, c0,
                            bool(odd_even_columns), keep_zeros, flags)  # fmt: skip
            bad |= bool(flags.any())
        return RefpixResult(True, bad)
    length = int(side_smoothing_length)
    # the official reflection uses the next odd length, its window the given one
    half = (length + 1) // 2 if length % 2 == 0 else length // 2
    use_side = bool(use_side_ref_pixels)
    for k, (cube, keep_zeros) in enumerate(cubes):
        flags = np.zeros(cube.shape[0] * cube.shape[1], np.bool_)
        _nir_four_outputs(to_detector_frame(cube, detector), det_dq, r0, c0,
                          bool(odd_even_columns), use_side, length, half, float(side_gain),
                          k > 0, keep_zeros, np.uint32(do_not_use), flags)  # fmt: skip
        bad |= bool(flags.any())
    return RefpixResult(True, bad)


# MIRI


@njit(cache=True, parallel=True, nogil=True)
def _miri_offsets(data, dq, odd_even, dnu, corr, bad):
    """Offsets per (integration, group >= 1), amplifier and row parity; bad planes."""
    nints, ng, ny, _ = data.shape
    npar = 2 if odd_even else 1
    step = 2 if odd_even else 1
    for p in prange(nints * (ng - 1)):
        i = p // (ng - 1)
        g = p % (ng - 1) + 1
        buf = np.empty(ny)
        work = np.empty(ny)
        for amp in range(4):
            for par in range(npar):
                side_val = np.empty(2)
                side32 = np.empty(2, np.bool_)
                for s in range(2):
                    c = amp if s == 0 else 1028 + amp
                    m = 0
                    for r in range(par, ny, step):
                        if dq[r, c] & dnu == 0:
                            buf[m] = np.float32(np.float64(data[i, g, r, c]) - data[i, 0, r, c])
                            m += 1
                    value, is32, ok = _clipped_mean(buf, m, True, work)
                    if not ok:
                        bad[p] = True
                    side_val[s] = value
                    side32[s] = is32
                a, b = side_val[0], side_val[1]
                if side32[0] and side32[1]:
                    v = np.float64(np.float32(np.float32(a + b) * np.float32(0.5)))
                else:
                    v = 0.5 * (a + b)
                corr[p, amp, par] = v
                if not odd_even:
                    corr[p, amp, 1] = v


@njit(cache=True, parallel=True, nogil=True)
def _miri_apply(data, corr, ncorrected):
    """Subtract the first group, the offsets (first ``ncorrected`` planes), add it back."""
    nints, ng, ny, nx = data.shape
    for p in prange(nints * (ng - 1)):
        i = p // (ng - 1)
        g = p % (ng - 1) + 1
        # the offset of every column, for even and odd rows
        offsets = np.empty((2, nx))
        for par in range(2):
            for c in range(nx):
                offsets[par, c] = corr[p, c % 4, par]
        for r in range(ny):
            first = data[i, 0, r]
            row = data[i, g, r]
            if p < ncorrected:
                off = offsets[r % 2]
                for c in range(nx):
                    f = np.float64(first[c])
                    y = np.float64(np.float32(np.float64(row[c]) - f))
                    row[c] = np.float64(np.float32(y - off[c])) + f
            else:
                for c in range(nx):
                    f = np.float64(first[c])
                    row[c] = np.float64(np.float32(np.float64(row[c]) - f)) + f


_MIRI_SHAPE = (1024, 1032)


def correct_refpix_miri(
    data: np.ndarray, pixeldq: np.ndarray, *, odd_even_rows: bool = True, do_not_use: int = 1
) -> RefpixResult:
    """MIRI full-frame reference-pixel correction, in place (see the module docstring).

    The official step skips MIRI subarrays; anything but a 1024 x 1032 frame is refused.
    Processing stops at the first (integration, group) without usable reference pixels,
    as in the official code; the first group's round trip (subtracted, added back in
    float32) still applies to the later groups.
    """
    if data.ndim != 4 or data.shape[2:] != _MIRI_SHAPE or pixeldq.shape != _MIRI_SHAPE:
        raise ParameterError(
            f"the MIRI reference-pixel correction needs full frames {_MIRI_SHAPE}, got {data.shape}"
        )
    nints, ngroups = data.shape[:2]
    if ngroups < 2:
        return RefpixResult(True, False)
    nplanes = nints * (ngroups - 1)
    corr = np.zeros((nplanes, 4, 2))
    bad = np.zeros(nplanes, np.bool_)
    _miri_offsets(data, pixeldq, bool(odd_even_rows), np.uint32(do_not_use), corr, bad)
    ncorrected = int(np.argmax(bad)) if bad.any() else nplanes
    _miri_apply(data, corr, ncorrected)
    return RefpixResult(True, bool(bad.any()))
