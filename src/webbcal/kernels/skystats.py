"""Sky statistics of image pixels for ``skymatch``: clipped mean, median, mode and midpt.

:func:`sky_value` follows the statistics the official ``skymatch`` step takes from
``stsci.imagestats``:

1. values outside ``[lower, upper]`` (when given) and non-finite values are ignored;
2. ``nclip`` clipping passes about the *mean*: values below ``mean - lsigma * std`` or above
   ``mean + usigma * std`` are dropped (population standard deviation; a pass that drops
   nothing ends the clipping);
3. the statistic of what is left: ``mean``; ``median`` (exact); ``mode`` -- the peak of a
   histogram of bin width ``binwidth * std``, refined by the parabola through the peak bin
   and its neighbours (the bin centre at an edge); ``midpt`` -- the histogram estimate of
   the median (linear interpolation of the cumulative histogram at 50 %).

:func:`gather_good` and :func:`gather_overlap` collect the pixels a statistic is computed
on: pixels whose DQ has no bit of ``bad_bits``, and for an overlap, only pixels whose centre
maps (through a coarse pixel map, :class:`webbcal.kernels.pixmap.NodeMap`) onto a good pixel
of the other image (the map is interpolated linearly between its nodes, ample for picking
the nearest pixel).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["STATISTICS", "gather_good", "gather_overlap", "sky_value"]

_HUGE = 1.0e308

#: Statistic names and their codes.
STATISTICS = {"mean": 0, "median": 1, "mode": 2, "midpt": 3}


@njit(cache=True, nogil=True)
def _histogram(buf, n, width):
    lo = buf[0]
    hi = buf[0]
    for i in range(n):
        lo = min(lo, buf[i])
        hi = max(hi, buf[i])
    nbins = max(1, min(int((hi - lo) / width) + 1, 1_000_000))
    hist = np.zeros(nbins, np.int64)
    for i in range(n):
        k = min(int((buf[i] - lo) / width), nbins - 1)
        hist[k] += 1
    return hist, lo


@njit(cache=True, nogil=True)
def _mode(buf, n, width):
    hist, lo = _histogram(buf, n, width)
    p = 0
    for k in range(hist.size):
        if hist[k] > hist[p]:
            p = k
    shift = 0.0
    if 0 < p < hist.size - 1:
        d1 = hist[p] - hist[p - 1]
        d2 = hist[p] - hist[p + 1]
        if d1 + d2 > 0:
            shift = 0.5 * (d1 - d2) / (d1 + d2)
    return lo + (p + 0.5 + shift) * width


@njit(cache=True, nogil=True)
def _midpt(buf, n, width):
    hist, lo = _histogram(buf, n, width)
    half = 0.5 * n
    cum = 0.0
    for k in range(hist.size):
        if cum + hist[k] >= half:
            frac = (half - cum) / hist[k] if hist[k] > 0 else 0.5
            return lo + (k + frac) * width
        cum += hist[k]
    return lo + hist.size * width


@njit(cache=True, nogil=True)
def _moments(buf, n, lo, hi):
    """Count, mean and population std of ``buf[:n]`` within ``[lo, hi]`` (one pass)."""
    count = 0
    total = 0.0
    total2 = 0.0
    for i in range(n):
        v = buf[i]
        if lo <= v <= hi:
            count += 1
            total += v
            total2 += v * v
    if count == 0:
        return 0, np.nan, np.nan
    mean = total / count
    return count, mean, math.sqrt(max(total2 / count - mean * mean, 0.0))


@njit(cache=True, nogil=True)
def sky_value(values, stat, lower, upper, nclip, lsigma, usigma, binwidth):
    """Clipped sky statistic of ``values`` (1-D); see the module docstring.

    Parameters
    ----------
    values : ndarray
        Pixel values (any float dtype; NaNs are ignored). Not modified.
    stat : int
        A code of :data:`STATISTICS`.
    lower, upper : float
        Value limits (NaN: none).
    nclip : int
        Clipping passes.
    lsigma, usigma : float
        Clipping limits in standard deviations below / above the mean.
    binwidth : float
        Histogram bin width in standard deviations (mode, midpt).

    Returns
    -------
    sky : float
        NaN when no value is left.
    npix : int
        Values the statistic was computed from.
    """
    lo = -_HUGE if np.isnan(lower) else lower  # finite bounds also drop infinities
    hi = _HUGE if np.isnan(upper) else upper
    buf = values
    n = values.size
    count, mean, std = _moments(buf, n, lo, hi)
    if count == 0:
        return np.nan, 0
    for _ in range(nclip):
        new_lo = max(lo, mean - lsigma * std)
        new_hi = min(hi, mean + usigma * std)
        c2, m2, s2 = _moments(buf, n, new_lo, new_hi)
        if c2 == count or c2 == 0:
            break
        lo, hi, count, mean, std = new_lo, new_hi, c2, m2, s2
    if stat == 0:
        return mean, count
    kept = np.empty(count, np.float64)
    m = 0
    for i in range(n):
        v = buf[i]
        if lo <= v <= hi:
            kept[m] = v
            m += 1
    if stat == 1:
        return np.median(kept), count
    width = binwidth * std
    if not (width > 0.0):
        return mean, count
    if stat == 2:
        return _mode(kept, count, width), count
    return _midpt(kept, count, width), count


@njit(cache=True, parallel=True, nogil=True)
def _compact(data, good, offsets, out):
    for y in prange(data.shape[0]):
        k = offsets[y]
        for x in range(data.shape[1]):
            if good[y, x]:
                out[k] = data[y, x]
                k += 1


def _collect(data: np.ndarray, good: np.ndarray, counts: np.ndarray) -> np.ndarray:
    offsets = np.cumsum(counts)
    out = np.empty(int(offsets[-1]), np.float32)
    _compact(data, good, offsets, out)
    return out


@njit(cache=True, parallel=True, nogil=True)
def _good_mask(data, dq, bad_bits, out, counts):
    for y in prange(data.shape[0]):
        c = 0
        for x in range(data.shape[1]):
            ok = (dq[y, x] & bad_bits) == 0 and np.isfinite(data[y, x])
            out[y, x] = ok
            c += ok
        counts[y + 1] = c


def gather_good(data: np.ndarray, dq: np.ndarray, bad_bits: int) -> np.ndarray:
    """The finite values of ``data`` whose DQ has no bit of ``bad_bits`` (1-D float32)."""
    good = np.empty(data.shape, np.bool_)
    counts = np.zeros(data.shape[0] + 1, np.int64)
    _good_mask(data, np.asarray(dq, np.uint32), np.uint32(bad_bits), good, counts)
    return _collect(data, good, counts)


@njit(cache=True, parallel=True, nogil=True)
def _overlap_mask(data, dq, bad_bits, nodes, hx, hy, other_dq, other_bad, out, counts):
    ny, nx = data.shape
    my, mx = nodes.shape[0], nodes.shape[1]
    oy, ox = other_dq.shape
    for y in prange(ny):
        # the node row at y (linear in y), then linear along x within each cell
        q = min(int(y / hy), my - 2)
        f = y / hy - q
        row = np.empty((mx, 2))
        for p in range(mx):
            for c in range(2):
                row[p, c] = (1.0 - f) * nodes[q, p, c] + f * nodes[q + 1, p, c]
        c = 0
        for x in range(nx):
            out[y, x] = False
            if (dq[y, x] & bad_bits) != 0 or not np.isfinite(data[y, x]):
                continue
            p = min(int(x / hx), mx - 2)
            g = x / hx - p
            px = (1.0 - g) * row[p, 0] + g * row[p + 1, 0]
            py = (1.0 - g) * row[p, 1] + g * row[p + 1, 1]
            ix = math.floor(px + 0.5)
            iy = math.floor(py + 0.5)
            if 0 <= ix < ox and 0 <= iy < oy and (other_dq[iy, ix] & other_bad) == 0:
                out[y, x] = True
                c += 1
        counts[y + 1] = c


def gather_overlap(
    data: np.ndarray,
    dq: np.ndarray,
    bad_bits: int,
    nodes: np.ndarray,
    hx: float,
    hy: float,
    other_dq: np.ndarray,
    other_bad_bits: int,
) -> np.ndarray:
    """Good pixels of ``data`` whose centre falls on a good pixel of another image.

    ``nodes``/``hx``/``hy`` are a :class:`~webbcal.kernels.pixmap.NodeMap` from this
    image's pixels to the other's; the other image's pixel is the nearest one.
    """
    good = np.empty(data.shape, np.bool_)
    counts = np.zeros(data.shape[0] + 1, np.int64)
    _overlap_mask(data, np.asarray(dq, np.uint32), np.uint32(bad_bits), nodes, float(hx),
                  float(hy), np.asarray(other_dq, np.uint32), np.uint32(other_bad_bits),
                  good, counts)  # fmt: skip
    return _collect(data, good, counts)
