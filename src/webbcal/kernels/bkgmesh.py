"""A 2-D background and background-RMS map from sigma-clipped statistics in a mesh of boxes.

The method of ``photutils.background.Background2D`` as the official ``tweakreg`` and
``source_catalog`` configure it (median background, standard-deviation RMS):

1. the image is cut into ``ceil(n / box_size)`` boxes per axis, of equal size (within one
   pixel);
2. in each box the unmasked, finite pixels are sigma clipped (3 sigma about the median, at
   most 10 passes) and give the median (background) and the standard deviation (RMS); a box
   with more than ``exclude_percentile`` percent of its pixels masked is left out and filled
   with the median of the valid boxes. For float32 images the box values are radix sorted
   once: every clipping pass is then a median by index, a standard deviation over a
   contiguous range and two binary searches (the passes keep nested ranges of the sorted
   values, as astropy's passes keep nested subsets), instead of selections over the whole
   box; the medians are the same, the deviations differ from astropy's only by summation
   order;
3. the mesh is median filtered with a ``filter_size`` x ``filter_size`` window;
4. the mesh values, placed at the box centres, are interpolated to every pixel with a
   cubic spline (lower order when there are fewer boxes; constant for a single box),
   evaluated on the pixel grid as a product of the row and column B-spline bases.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from webbcal.kernels._nbstats import astropy_clip_bounds

__all__ = ["background_mesh", "masked_median", "mesh_statistics"]


@njit(cache=True, parallel=True, nogil=True)
def mesh_statistics(data, bad, yedges, xedges, sigma, maxiters, max_masked):
    """Clipped median and standard deviation in each box; NaN for excluded boxes."""
    nby = yedges.size - 1
    nbx = xedges.size - 1
    bkg = np.full((nby, nbx), np.nan)
    rms = np.full((nby, nbx), np.nan)
    for b in prange(nby * nbx):
        by = b // nbx
        bx = b % nbx
        y0, y1 = yedges[by], yedges[by + 1]
        x0, x1 = xedges[bx], xedges[bx + 1]
        total = (y1 - y0) * (x1 - x0)
        buf = np.empty(total)
        n = 0
        for y in range(y0, y1):
            for x in range(x0, x1):
                v = data[y, x]
                if not bad[y, x] and np.isfinite(v):
                    buf[n] = v
                    n += 1
        if n == 0 or (total - n) > max_masked * total:
            continue
        work = buf[:n].copy()
        lo, hi = astropy_clip_bounds(work, n, sigma, sigma, maxiters)
        m = 0
        for i in range(n):
            if lo <= buf[i] <= hi:
                buf[m] = buf[i]
                m += 1
        if m == 0:
            continue
        kept = buf[:m]
        bkg[by, bx] = np.median(kept)
        rms[by, bx] = np.std(kept)
    return bkg, rms


_BITS = 11  # radix digit: 3 passes sort 32-bit keys
_RADIX = 1 << _BITS
_DIGIT = _RADIX - 1
_SIGN = np.uint32(0x80000000)
_ONES = np.uint32(0xFFFFFFFF)


@njit(cache=True, nogil=True, inline="always")
def _key(bits):
    """Unsigned key of a float32 bit pattern that sorts as the float."""
    return bits ^ _ONES if bits & _SIGN else bits | _SIGN


@njit(cache=True, nogil=True, inline="always")
def _unkey(key):
    return key ^ _SIGN if key & _SIGN else key ^ _ONES


@njit(cache=True, nogil=True)
def _radix_sort(keys, tmp):
    """Sort uint32 ``keys`` (LSD radix, 3 passes of 11 bits); the result is in ``tmp``."""
    counts = np.zeros((3, _RADIX), np.int64)
    for k in keys:
        counts[0, k & _DIGIT] += 1
        counts[1, (k >> _BITS) & _DIGIT] += 1
        counts[2, k >> (2 * _BITS)] += 1
    src, dst = keys, tmp
    for p in range(3):
        total = 0
        for b in range(_RADIX):
            c = counts[p, b]
            counts[p, b] = total
            total += c
        shift = _BITS * p
        for k in src:
            d = (k >> shift) & _DIGIT
            dst[counts[p, d]] = k
            counts[p, d] += 1
        src, dst = dst, src
    return src


@njit(cache=True, nogil=True)
def _range_median(s, lo, hi):
    """``np.median`` of the sorted ``s[lo:hi]``."""
    h = lo + (hi - lo) // 2
    if (hi - lo) % 2 == 1:
        return np.float64(s[h])
    return 0.5 * (np.float64(s[h - 1]) + np.float64(s[h]))


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
def _range_std(s, lo, hi):
    """Population standard deviation of ``s[lo:hi]`` (two passes, vectorised sums)."""
    seg = s[lo:hi]  # a loop index from 0 is provably not negative: the loops vectorise
    total = 0.0
    for i in range(seg.size):
        total += seg[i]
    mean = total / seg.size
    var = 0.0
    for i in range(seg.size):
        d = seg[i] - mean
        var += d * d
    return math.sqrt(var / seg.size)


@njit(cache=True, nogil=True)
def _first_above(s, lo, hi, x, inclusive):
    """First index in ``[lo, hi]`` of the sorted ``s`` whose value is ``>= x`` (``> x``)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if s[mid] < x or (not inclusive and s[mid] == x):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _sorted_clip(s, sigma, maxiters):
    """Astropy's clipping bounds (median centre, population std) of the sorted ``s``."""
    lo, hi = 0, s.size
    iteration = 0
    while True:
        med = _range_median(s, lo, hi)
        std = _range_std(s, lo, hi)
        lower, upper = med - sigma * std, med + sigma * std
        new_lo = _first_above(s, lo, hi, lower, True)
        new_hi = _first_above(s, new_lo, hi, upper, False)
        if (new_lo == lo and new_hi == hi) or new_hi == new_lo:
            return lower, upper
        lo, hi = new_lo, new_hi
        iteration += 1
        if maxiters >= 0 and iteration >= maxiters:
            return lower, upper


@njit(cache=True, parallel=True, nogil=True)
def _mesh_statistics_f32(data, bad, yedges, xedges, sigma, maxiters, max_masked):
    """:func:`mesh_statistics` of a float32 image, by radix-sorted boxes."""
    nby = yedges.size - 1
    nbx = xedges.size - 1
    bkg = np.full((nby, nbx), np.nan)
    rms = np.full((nby, nbx), np.nan)
    bits = data.view(np.uint32)
    for b in prange(nby * nbx):
        by = b // nbx
        bx = b % nbx
        y0, y1 = yedges[by], yedges[by + 1]
        x0, x1 = xedges[bx], xedges[bx + 1]
        total = (y1 - y0) * (x1 - x0)
        keys = np.empty(total, np.uint32)
        n = 0
        for y in range(y0, y1):
            for x in range(x0, x1):
                if not bad[y, x] and np.isfinite(data[y, x]):
                    keys[n] = _key(bits[y, x])
                    n += 1
        if n == 0 or (total - n) > max_masked * total:
            continue
        ordered = _radix_sort(keys[:n], np.empty(n, np.uint32))
        for i in range(n):
            ordered[i] = _unkey(ordered[i])
        s = ordered.view(np.float32)
        lower, upper = _sorted_clip(s, sigma, maxiters)
        lo = _first_above(s, 0, n, lower, True)  # kept: every value within the last bounds
        hi = _first_above(s, lo, n, upper, False)
        if hi == lo:
            continue
        bkg[by, bx] = _range_median(s, lo, hi)
        rms[by, bx] = _range_std(s, lo, hi)
    return bkg, rms


_PARTS = 4  # parallel parts of the median's digit histograms (integer counts)


@njit(cache=True, parallel=True, nogil=True)
def _digit_counts(values, bad, prefixes):
    """Histograms of the 16-bit digits of the sort keys of the unmasked ``values``.

    ``prefixes`` empty: of the high digits of every value (``counts[0]``), and the number
    of NaNs (``counts[0, 65536]``); else ``counts[p]`` is of the low digits of the values
    whose high digit is ``prefixes[p]`` (at most two prefixes).
    """
    ny, nx = values.shape
    npre = max(1, prefixes.size)
    parts = np.zeros((_PARTS, npre, 65537), np.int32)
    bits = values.view(np.uint32)
    rows = (ny + _PARTS - 1) // _PARTS
    first = prefixes.size == 0
    p0 = prefixes[0] if prefixes.size > 0 else np.uint32(0)
    p1 = prefixes[prefixes.size - 1] if prefixes.size > 0 else np.uint32(0)
    for part in prange(_PARTS):
        h = parts[part]
        for y in range(part * rows, min(ny, (part + 1) * rows)):
            for x in range(nx):
                if bad[y, x]:
                    continue
                key = _key(bits[y, x])
                high = key >> np.uint32(16)
                if first:
                    if values[y, x] != values[y, x]:  # NaN
                        h[0, 65536] += 1
                    else:
                        h[0, high] += 1
                elif high == p0:
                    h[0, key & np.uint32(0xFFFF)] += 1
                elif high == p1:
                    h[npre - 1, key & np.uint32(0xFFFF)] += 1
    out = np.zeros((npre, 65537), np.int64)
    for part in range(_PARTS):
        out += parts[part]
    return out


def _locate(counts: np.ndarray, rank: int) -> tuple[int, int]:
    """The bin of ``counts`` holding the value of ``rank`` and its rank within the bin."""
    cum = np.cumsum(counts)
    b = int(np.searchsorted(cum, rank, side="right"))
    return b, rank - (int(cum[b - 1]) if b else 0)


def masked_median(values: np.ndarray, bad: np.ndarray) -> float:
    """``np.median(values[~bad])`` of a float32 image, without copying the values.

    Exact: the middle values are selected on the 32-bit sort keys of the floats, 16 bits
    at a time (two counting passes, no sort); NaN if a selected value is NaN, as numpy.
    """
    values = np.ascontiguousarray(values, np.float32)
    first = _digit_counts(values, bad, np.zeros(0, np.uint32))[0]
    if first[65536]:
        return float("nan")
    n = int(first[:65536].sum())
    if n == 0:
        raise ValueError("median of no values")
    ranks = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
    found = [_locate(first[:65536], r) for r in ranks]
    prefixes = np.array(sorted({h for h, _ in found}), np.uint32)
    second = _digit_counts(values, bad, prefixes)
    keys = []
    for high, rank in found:
        low, _ = _locate(second[int(np.searchsorted(prefixes, high)), :65536], rank)
        keys.append(np.uint32((high << 16) | low))
    mids = np.array([_unkey(k) for k in keys], np.uint32).view(np.float32)
    if mids.size == 1:
        return float(mids[0])
    return float((mids[0] + mids[1]) / np.float32(2.0))


def _edges(n: int, box: int) -> np.ndarray:
    count = max(1, math.ceil(n / box))
    return np.round(np.linspace(0, n, count + 1)).astype(np.int64)


def _median_filter(mesh: np.ndarray, size: int) -> np.ndarray:
    if size <= 1 or mesh.size == 1:
        return mesh
    from scipy.ndimage import median_filter

    return median_filter(mesh, size=size, mode="nearest")


@njit(cache=True, parallel=True, nogil=True, fastmath={"contract"})
def _tensor_product(left, right, out):
    """``out = left @ right`` (float32), each element summed in order with fused multiply-adds.

    What a BLAS ``sgemm`` gives for so few columns of ``left``, without waking (and then
    leaving spinning) the BLAS threads for a product this small.
    """
    ny, nk = left.shape
    nx = right.shape[1]
    for y in prange(ny):
        row = out[y]
        for x in range(nx):
            row[x] = np.float32(0.0)
        for k in range(nk):
            a = left[y, k]
            r = right[k]
            for x in range(nx):
                row[x] += a * r[x]


def _interpolate(mesh: np.ndarray, ycen: np.ndarray, xcen: np.ndarray, shape) -> np.ndarray:
    ny, nx = shape
    if mesh.size == 1:
        return np.full(shape, mesh.flat[0], np.float32)
    from scipy.interpolate import BSpline, RectBivariateSpline

    ky = min(3, mesh.shape[0] - 1)
    kx = min(3, mesh.shape[1] - 1)
    if ky == 0 or kx == 0:
        # one row or one column of boxes: 1-D interpolation along the other axis
        line = mesh.ravel()
        centres, n = (xcen, nx) if ky == 0 else (ycen, ny)
        values = np.interp(np.arange(n), centres, line)
        return np.broadcast_to(values[None, :] if ky == 0 else values[:, None],
                               shape).astype(np.float32)  # fmt: skip
    spline = RectBivariateSpline(ycen, xcen, mesh, kx=ky, ky=kx)
    ys = np.clip(np.arange(ny, dtype=float), ycen[0], ycen[-1])
    xs = np.clip(np.arange(nx, dtype=float), xcen[0], xcen[-1])
    # the tensor-product spline on the pixel grid is By @ C @ Bx.T (B-spline bases at the
    # rows and columns): two thin matrix products instead of a per-pixel evaluation
    (ty, tx, coef), (dy, dx) = spline.tck, spline.degrees
    by = BSpline.design_matrix(ys, ty, dy).toarray()
    bx = BSpline.design_matrix(xs, tx, dx).toarray()
    left = (by @ coef.reshape(by.shape[1], bx.shape[1])).astype(np.float32)
    out = np.empty((ny, nx), np.float32)
    _tensor_product(left, np.ascontiguousarray(bx.T, dtype=np.float32), out)
    return out


def background_mesh(
    data: np.ndarray,
    bad: np.ndarray,
    box_size: int,
    *,
    filter_size: int = 3,
    sigma: float = 3.0,
    maxiters: int = 10,
    exclude_percentile: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Background and RMS images (float32) of ``data``; see the module docstring.

    Raises
    ------
    ValueError
        When every box is excluded (too few good pixels).
    """
    ny, nx = data.shape
    box = max(1, int(box_size))
    yedges, xedges = _edges(ny, box), _edges(nx, box)
    stats = mesh_statistics
    if data.dtype == np.float32:
        data = np.ascontiguousarray(data)
        stats = _mesh_statistics_f32
    bkg, rms = stats(data, bad, yedges, xedges, float(sigma), int(maxiters),
                     float(exclude_percentile) / 100.0)  # fmt: skip
    valid = np.isfinite(bkg)
    if not valid.any():
        raise ValueError("background: every mesh box has too many masked pixels")
    bkg[~valid] = np.median(bkg[valid])
    rms[~valid] = np.median(rms[valid])
    ycen = 0.5 * (yedges[:-1] + yedges[1:]) - 0.5
    xcen = 0.5 * (xedges[:-1] + xedges[1:]) - 0.5
    out = []
    for mesh in (bkg, rms):
        out.append(_interpolate(_median_filter(mesh, filter_size), ycen, xcen, (ny, nx)))
    return out[0], out[1]
