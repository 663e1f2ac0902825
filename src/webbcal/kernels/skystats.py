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
on: pixels whose DQ has no bit of ``bad_bits`` (flagged once per image by
:func:`good_flags`), and for an overlap, only pixels whose centre
maps (through a coarse pixel map, :class:`webbcal.kernels.pixmap.NodeMap`) onto a good pixel
of the other image (the map is interpolated linearly between its nodes, ample for picking
the nearest pixel).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "DQ_OK",
    "STATISTICS",
    "USABLE",
    "gather_good",
    "gather_overlap",
    "good_flags",
    "sky_value",
    "unusable",
]

_HUGE = 1.0e308

#: Statistic names and their codes.
STATISTICS = {"mean": 0, "median": 1, "mode": 2, "midpt": 3}


#: Fixed number of chunks of the parallel passes (the result does not depend on the threads).
_CHUNKS = 64

#: Floating-point freedoms of the summing loops: they may be reordered into SIMD lanes
#: (NaNs and infinities keep their meaning, so the range tests stay exact).
_SUMS = {"reassoc", "contract", "nsz"}

#: Parallel parts of a histogram (each has its own counts).
_PARTS = 4

_ALL = np.uint32(0xFFFFFFFF)
_SIGN = np.uint32(0x80000000)


@njit(cache=True, nogil=True, inline="always")
def _chunk(n, c):
    size = (n + _CHUNKS - 1) // _CHUNKS
    return min(n, c * size), min(n, (c + 1) * size)


@njit(cache=True, nogil=True, fastmath=_SUMS)
def _chunk_moments(seg, lo, hi):
    """Count, sum and sum of squares of the values of ``seg`` within ``[lo, hi]``.

    No branch, and a loop index from 0 (provably not negative): the loop vectorises.
    """
    count = 0
    total = 0.0
    total2 = 0.0
    for i in range(seg.size):
        v = np.float64(seg[i])
        inside = (v >= lo) & (v <= hi)  # False for NaN
        count += inside
        w = v if inside else 0.0
        total += w
        total2 += w * w
    return count, total, total2


@njit(cache=True, parallel=True, nogil=True)
def _moments(buf, n, lo, hi):
    """Count, mean and population std of ``buf[:n]`` within ``[lo, hi]``.

    Partial sums over ``_CHUNKS`` fixed chunks, run in parallel and added in order.
    """
    counts = np.zeros(_CHUNKS, np.int64)
    sums = np.zeros(_CHUNKS)
    sums2 = np.zeros(_CHUNKS)
    for c in prange(_CHUNKS):
        start, stop = _chunk(n, c)
        counts[c], sums[c], sums2[c] = _chunk_moments(buf[start:stop], lo, hi)
    count = 0
    total = 0.0
    total2 = 0.0
    for c in range(_CHUNKS):
        count += counts[c]
        total += sums[c]
        total2 += sums2[c]
    if count == 0:
        return 0, np.nan, np.nan
    mean = total / count
    return count, mean, math.sqrt(max(total2 / count - mean * mean, 0.0))


@njit(cache=True, nogil=True, inline="always")
def _key(bits):
    """Unsigned key of a float32 bit pattern that sorts as the float."""
    return np.uint32(bits ^ (np.uint32(np.uint32(0) - (bits >> np.uint32(31))) | _SIGN))


@njit(cache=True, nogil=True)
def _chunk_keys(seg, bits, lo, hi):
    """Smallest and largest sort key of the values of ``seg`` within ``[lo, hi]``."""
    kmin = _ALL
    kmax = np.uint32(0)
    for i in range(seg.size):
        v = np.float64(seg[i])
        inside = (v >= lo) & (v <= hi)
        key = _key(bits[i])
        kmin = min(kmin, key if inside else _ALL)
        kmax = max(kmax, key if inside else np.uint32(0))
    return kmin, kmax


@njit(cache=True, parallel=True, nogil=True)
def _extremes(buf, n, lo, hi):
    """Smallest and largest value of the float32 ``buf[:n]`` within ``[lo, hi]``.

    Compared as integer sort keys of the float bits (the loops vectorise); at least one
    value must be in range.
    """
    bits = buf.view(np.uint32)
    kmin = np.empty(_CHUNKS, np.uint32)
    kmax = np.empty(_CHUNKS, np.uint32)
    for c in prange(_CHUNKS):
        start, stop = _chunk(n, c)
        kmin[c], kmax[c] = _chunk_keys(buf[start:stop], bits[start:stop], lo, hi)
    out = np.empty(2, np.uint32)
    out[0] = kmin.min()
    out[1] = kmax.max()
    for k in range(2):  # key -> float32 bits
        out[k] = np.uint32(out[k] ^ _SIGN) if out[k] & _SIGN else np.uint32(out[k] ^ _ALL)
    values = out.view(np.float32)
    return np.float64(values[0]), np.float64(values[1])


@njit(cache=True, parallel=True, nogil=True)
def _histogram(buf, n, width, lower, upper, lo, hi):
    """Histogram of the values of ``buf[:n]`` within ``[lower, upper]``, from their minimum.

    ``lo`` and ``hi`` are the smallest and largest of those values. Returns the counts and
    the left edge of the first bin (bins of ``width``). Counted in ``_PARTS`` parallel parts
    (integer counts: the same whatever the threads).
    """
    nbins = max(1, min(int((hi - lo) / width) + 1, 1_000_000))
    parts = _PARTS
    partial = np.zeros((parts, nbins), np.int64)
    size = (n + parts - 1) // parts
    for p in prange(parts):
        h = partial[p]
        seg = buf[min(n, p * size) : min(n, (p + 1) * size)]
        for i in range(seg.size):
            v = np.float64(seg[i])
            if lower <= v <= upper:
                h[min(int((v - lo) / width), nbins - 1)] += 1
    hist = np.zeros(nbins, np.int64)
    for p in range(parts):
        hist += partial[p]
    return hist, lo


@njit(cache=True, nogil=True)
def _mode(buf, n, width, lower, upper, vmin, vmax):
    hist, lo = _histogram(buf, n, width, lower, upper, vmin, vmax)
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
def _midpt(buf, n, width, lower, upper, count, vmin, vmax):
    hist, lo = _histogram(buf, n, width, lower, upper, vmin, vmax)
    half = 0.5 * count
    cum = 0.0
    for k in range(hist.size):
        if cum + hist[k] >= half:
            frac = (half - cum) / hist[k] if hist[k] > 0 else 0.5
            return lo + (k + frac) * width
        cum += hist[k]
    return lo + hist.size * width


@njit(cache=True, nogil=True)
def sky_value(values, stat, lower, upper, nclip, lsigma, usigma, binwidth):
    """Clipped sky statistic of ``values`` (1-D float32); see the module docstring.

    Parameters
    ----------
    values : ndarray
        Pixel values (float32, contiguous; NaNs are ignored). Not modified.
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
    if stat == 1:
        kept = np.empty(count, np.float64)
        m = 0
        for i in range(n):
            v = buf[i]
            if lo <= v <= hi:
                kept[m] = v
                m += 1
        return np.median(kept), count
    width = binwidth * std
    if not (width > 0.0):
        return mean, count
    vmin, vmax = _extremes(buf, n, lo, hi)
    if stat == 2:
        return _mode(buf, n, width, lo, hi, vmin, vmax), count
    return _midpt(buf, n, width, lo, hi, count, vmin, vmax), count


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


#: :func:`good_flags` bits: the DQ has no bad bit; ... and the value is finite (usable).
DQ_OK = 1
USABLE = 2


@njit(cache=True, parallel=True, nogil=True)
def _flags(data, dq, bad_bits, out):
    for y in prange(data.shape[0]):
        for x in range(data.shape[1]):
            ok = (dq[y, x] & bad_bits) == 0
            out[y, x] = (DQ_OK + (USABLE if np.isfinite(data[y, x]) else 0)) if ok else 0


@njit(cache=True, parallel=True, nogil=True)
def _unusable(data, dq, bad_bits, out):
    for y in prange(data.shape[0]):
        for x in range(data.shape[1]):
            out[y, x] = (dq[y, x] & bad_bits) != 0 or not np.isfinite(data[y, x])


def unusable(data: np.ndarray, dq: np.ndarray, bad_bits: int) -> np.ndarray:
    """Pixels to leave out: DQ with a bit of ``bad_bits``, or a value that is not finite.

    One pass, no temporary arrays; a boolean mask.
    """
    out = np.empty(data.shape, np.bool_)
    _unusable(data, np.asarray(dq, np.uint32), np.uint32(bad_bits), out)
    return out


def good_flags(data: np.ndarray, dq: np.ndarray, bad_bits: int) -> np.ndarray:
    """Per-pixel uint8 flags of an image: :data:`DQ_OK` and :data:`USABLE` bits.

    ``DQ_OK``: the DQ has no bit of ``bad_bits``; ``USABLE``: that, and the value is finite.
    Computed once per image, they serve every overlap it takes part in.
    """
    out = np.empty(data.shape, np.uint8)
    _flags(data, np.asarray(dq, np.uint32), np.uint32(bad_bits), out)
    return out


@njit(cache=True, parallel=True, nogil=True)
def _usable_mask(flags, out, counts):
    for y in prange(flags.shape[0]):
        c = 0
        for x in range(flags.shape[1]):
            ok = (flags[y, x] & USABLE) != 0
            out[y, x] = ok
            c += ok
        counts[y + 1] = c


def gather_good(data: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """The :data:`USABLE` values of ``data`` (1-D float32); ``flags`` from :func:`good_flags`."""
    good = np.empty(data.shape, np.bool_)
    counts = np.zeros(data.shape[0] + 1, np.int64)
    _usable_mask(flags, good, counts)
    return _collect(data, good, counts)


@njit(cache=True, parallel=True, nogil=True)
def _overlap_mask(flags, nodes, hx, hy, other_flags, out, counts):
    ny, nx = flags.shape
    my, mx = nodes.shape[0], nodes.shape[1]
    oy, ox = other_flags.shape
    ps = np.empty(nx, np.int64)  # the node cell and offset of each column (same every row)
    gs = np.empty(nx)
    for x in range(nx):
        ps[x] = min(int(x / hx), mx - 2)
        gs[x] = x / hx - ps[x]
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
            if (flags[y, x] & USABLE) == 0:
                continue
            p = ps[x]
            g = gs[x]
            px = (1.0 - g) * row[p, 0] + g * row[p + 1, 0]
            py = (1.0 - g) * row[p, 1] + g * row[p + 1, 1]
            ix = math.floor(px + 0.5)
            iy = math.floor(py + 0.5)
            if 0 <= ix < ox and 0 <= iy < oy and (other_flags[iy, ix] & DQ_OK) != 0:
                out[y, x] = True
                c += 1
        counts[y + 1] = c


def gather_overlap(
    data: np.ndarray,
    flags: np.ndarray,
    nodes: np.ndarray,
    hx: float,
    hy: float,
    other_flags: np.ndarray,
) -> np.ndarray:
    """Usable pixels of ``data`` whose centre falls on a pixel of another image with good DQ.

    ``flags`` and ``other_flags`` come from :func:`good_flags`; ``nodes``/``hx``/``hy``
    are a :class:`~webbcal.kernels.pixmap.NodeMap` from this image's pixels to the
    other's; the other image's pixel is the nearest one.
    """
    good = np.empty(data.shape, np.bool_)
    counts = np.zeros(data.shape[0] + 1, np.int64)
    _overlap_mask(flags, nodes, float(hx), float(hy), other_flags, good, counts)
    return _collect(data, good, counts)
