"""Shared pieces of the reference-pixel kernels (:mod:`webbcal.kernels.refpix`).

The DMS -> detector orientation of every near-IR detector and exact sigma-clipped means.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from webbcal.errors import ParameterError

__all__ = ["DMS_TO_DETECTOR", "FULL", "average", "clipped_mean", "pairwise_sum", "reflect",
           "to_detector_frame"]  # fmt: skip

#: How each near-IR detector's DMS image maps to its detector frame (last two axes):
#: ``fx`` flip columns, ``fy`` flip rows, ``fxy`` both, ``t`` transpose, ``t180`` transpose
#: then rotate 180 degrees, ``180t`` rotate 180 degrees then transpose.
DMS_TO_DETECTOR = {
    "NRS1": "t", "NRS2": "t180", "NIS": "180t",
    "NRCA1": "fx", "NRCA2": "fy", "NRCA3": "fx", "NRCA4": "fy", "NRCALONG": "fx",
    "NRCB1": "fy", "NRCB2": "fx", "NRCB3": "fy", "NRCB4": "fx", "NRCBLONG": "fy",
    "GUIDER1": "fxy", "GUIDER2": "fx",
}  # fmt: skip


#: Detector size (pixels on a side).
FULL = 2048


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
def reflect(k, n):
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
def pairwise_sum(buf, lo, n, f32):
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
def clipped_mean(buf, n, f32, work):
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
        mean = _rnd(pairwise_sum(buf, 0, n, f32) / n, f32)
        for j in range(n):
            d = _rnd(buf[j] - mean, f32)
            work[j] = _rnd(d * d, f32)
        std = _rnd(math.sqrt(_rnd(pairwise_sum(work, 0, n, f32) / n, f32)), f32)
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
    return _rnd(pairwise_sum(buf, 0, n, f32) / n, f32), f32, True


@njit(cache=True, nogil=True, inline="always")
def average(a, a32, a_ok, b, b32, b_ok):
    """``0.5 * (a + b)`` in the precision numpy would use, or the one found."""
    if a_ok and b_ok:
        if a32 and b32:
            return np.float64(np.float32(np.float32(a + b) * np.float32(0.5))), True
        return 0.5 * (a + b), True
    if a_ok:
        return a, True
    return b, b_ok
