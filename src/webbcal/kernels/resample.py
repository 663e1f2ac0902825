"""Drizzle (square kernel) in numba: exact pixel-overlap resampling onto an output grid.

What it computes is the official ``resample`` arithmetic (drizzle ``cdrizzle`` square
kernel, Fruchter & Hook 2002):

* each input pixel, shrunk by ``pixfrac`` about its centre, is mapped to the output grid
  as a quadrilateral through its four corners;
* every output pixel it overlaps receives the weight ``dow = w * a / A`` (``w`` the input
  pixel's weight, ``a`` the overlap area, ``A`` the quadrilateral's area), and the output
  is the weighted mean ``sum(dow * d) / sum(dow)``; WHT is ``sum(dow)``;
* the context bit of the input is set where ``dow > 0``;
* the uncertainty arrays are drizzled the official way: per input, the square root of each
  variance is drizzled with the same weights and squared; inputs are then combined with
  squared weights, ``var = sum(var_i W_i**2) / (sum W_i)**2``, where ``W_i`` is the
  inverse of the input's drizzled read-noise variance (``weight_type="ivm"``) or its
  exposure time (``"exptime"``) (see :class:`Drizzler`).

How it is computed differs, for speed:

* corner positions come straight from the coarse pixel-map nodes of
  :mod:`webbcal.kernels.pixmap` (cubic interpolation), instead of a bilinear interpolation
  of a full pixel map; the difference is far below 1e-4 pixel for imaging distortions;
* with ``pixfrac`` 1, neighbouring pixels share their corners: each corner position is
  interpolated once (one corner column per input column, one corner row per input row);
* overlaps are exact areas. A quadrilateral within 2 x 2 output cells (the usual case
  when input and output pixels have similar sizes) gets them in closed form: Green's
  theorem gives its area, its area left of the middle column line, below the middle row
  line and in the lower-left cell, in one pass over its 4 edges. Otherwise they come from
  a signed-area accumulation over the cells under it (one pass over its 4 edges, then a
  running sum along each row). They are normalised by the quadrilateral's (shoelace)
  area, so each input pixel distributes exactly its weight;
* the output rows are split into bands, one per thread; each band scans the input rows
  that reach it and deposits only into its own rows, so there are no write races and the
  result does not depend on the number of threads;
* data, weights, the context and the uncertainty arrays are done in one pass.

Input pixels with zero weight or non-finite data contribute nothing. Other kernels
(point, turbo, gaussian, lanczos2/3) go through the ``drizzle`` package (see
:mod:`webbcal.kernels.resample_cdriz`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from webbcal.kernels.pixmap import _stencil, _weights

__all__ = ["band_limits", "drizzle_square", "row_extents", "x_stage"]

#: Cells covered by less than this fraction of a quadrilateral are rounding noise.
_TINY = 1e-12


@njit(cache=True, parallel=True, nogil=True)
def x_stage(nodes: np.ndarray, hx: float, xpos: np.ndarray) -> np.ndarray:
    """Node rows interpolated (cubic, along x) at input x positions: ``(my, n, 2)``."""
    my, mx = nodes.shape[0], nodes.shape[1]
    n = xpos.size
    out = np.empty((my, n, 2), dtype=np.float64)
    for q in prange(my):
        for i in range(n):
            k0, t = _stencil(xpos[i] / hx, mx)
            w0, w1, w2, w3 = _weights(t)
            for c in range(2):
                out[q, i, c] = (
                    w0 * nodes[q, k0, c]
                    + w1 * nodes[q, k0 + 1, c]
                    + w2 * nodes[q, k0 + 2, c]
                    + w3 * nodes[q, k0 + 3, c]
                )
    return out


@njit(cache=True, nogil=True)
def _corner_row(xs: np.ndarray, hy: float, y: float, row: np.ndarray) -> None:
    """Positions at input row coordinate ``y`` of the x positions of ``xs`` -> ``row``."""
    my = xs.shape[0]
    k0, t = _stencil(y / hy, my)
    w0, w1, w2, w3 = _weights(t)
    a, b, c, d = xs[k0], xs[k0 + 1], xs[k0 + 2], xs[k0 + 3]
    for i in range(row.shape[0]):
        row[i, 0] = w0 * a[i, 0] + w1 * b[i, 0] + w2 * c[i, 0] + w3 * d[i, 0]
        row[i, 1] = w0 * a[i, 1] + w1 * b[i, 1] + w2 * c[i, 1] + w3 * d[i, 1]


@njit(cache=True, nogil=True, inline="always")
def _y_range(xs_left, xs_right, nsides, hy, yy, row, lo, hi):
    """``(lo, hi)`` widened by the output y of the corner row at input ``yy``."""
    for s in range(nsides):
        _corner_row(xs_left if s == 0 else xs_right, hy, yy, row)
        for i in range(row.shape[0]):
            v = row[i, 1]
            lo = min(lo, v)
            hi = max(hi, v)
    return lo, hi


@njit(cache=True, parallel=True, nogil=True)
def row_extents(
    xs_left: np.ndarray, xs_right: np.ndarray, hy: float, y0: int, y1: int, dh: float
) -> np.ndarray:
    """Lowest and highest output y of the corners of input rows ``y0..y1``: ``(n, 2)``.

    ``xs_right`` may be empty: ``xs_left`` then holds every corner column (see
    :func:`drizzle_square`).
    """
    n = y1 - y0 + 1
    out = np.empty((n, 2), dtype=np.float64)
    npx = xs_left.shape[1]
    nsides = 1 if xs_right.shape[1] == 0 else 2
    if dh == 0.5:  # corner row k (at y0 - 1/2 + k) is shared by input rows k - 1 and k
        rows = np.empty((n + 1, 2), dtype=np.float64)
        for k in prange(n + 1):
            row = np.empty((npx, 2), dtype=np.float64)
            lo, hi = _y_range(xs_left, xs_right, nsides, hy, y0 - 0.5 + k, row, np.inf, -np.inf)
            rows[k, 0] = lo
            rows[k, 1] = hi
        for r in prange(n):
            out[r, 0] = min(rows[r, 0], rows[r + 1, 0])
            out[r, 1] = max(rows[r, 1], rows[r + 1, 1])
        return out
    for r in prange(n):
        j = y0 + r
        row = np.empty((npx, 2), dtype=np.float64)
        lo, hi = _y_range(xs_left, xs_right, nsides, hy, j - dh, row, np.inf, -np.inf)
        lo, hi = _y_range(xs_left, xs_right, nsides, hy, j + dh, row, lo, hi)
        out[r, 0] = lo
        out[r, 1] = hi
    return out


def band_limits(extents: np.ndarray, oy0: int, height: int, nbands: int) -> np.ndarray:
    """Output-row boundaries (window rows) giving each band about the same input rows."""
    mids = np.sort(0.5 * (extents[:, 0] + extents[:, 1])) - oy0 + 0.5
    cuts = [0]
    for b in range(1, nbands):
        k = int(len(mids) * b / nbands)
        cut = int(np.clip(np.floor(mids[min(k, len(mids) - 1)]), cuts[-1], height))
        cuts.append(cut)
    cuts.append(height)
    return np.asarray(cuts, dtype=np.int64)


@njit(cache=True, nogil=True, inline="always")
def _edge(acc: np.ndarray, nc: int, x0: float, y0: float, x1: float, y1: float) -> None:
    """Signed-area contributions of one polygon edge to the cells it passes (row by row).

    Coordinates are relative to the buffer origin; cell (r, c) is [c, c+1) x [r, r+1).
    After a running sum along each row, ``acc`` holds minus the covered area of each
    cell for a counter-clockwise polygon.
    """
    if y0 == y1:
        return
    d = 1.0
    if y0 > y1:
        x0, y0, x1, y1 = x1, y1, x0, y0
        d = -1.0
    dxdy = (x1 - x0) / (y1 - y0)
    for r in range(math.floor(y0), math.ceil(y1)):
        ya = max(float(r), y0)
        yb = min(float(r + 1), y1)
        dy = yb - ya
        if dy <= 0.0:
            continue
        xa = x0 + (ya - y0) * dxdy
        xb = x0 + (yb - y0) * dxdy
        if xa > xb:
            xa, xb = xb, xa
        dd = d * dy
        base = r * nc
        c0 = math.floor(xa)
        if xb <= c0 + 1.0:
            xm = 0.5 * (xa + xb) - c0
            acc[base + c0] += dd * (1.0 - xm)
            acc[base + c0 + 1] += dd * xm
        else:
            c1 = math.ceil(xb)
            s = 1.0 / (xb - xa)
            f0 = c0 + 1.0 - xa
            g = 0.5 * s * f0 * f0
            acc[base + c0] += dd * g
            prev = g
            for c in range(c0 + 1, c1 - 1):
                g = s * (c + 0.5 - xa)
                acc[base + c] += dd * (g - prev)
                prev = g
            f1 = xb - (c1 - 1.0)
            g = 1.0 - 0.5 * s * f1 * f1
            acc[base + c1 - 1] += dd * (g - prev)
            acc[base + c1] += dd * (1.0 - g)


@njit(cache=True, nogil=True, inline="always")
def _min1(x0: float, y0: float, x1: float, y1: float) -> float:
    """``integral of min(x, 1) dy`` along the segment (x0, y0) -> (x1, y1)."""
    dy = y1 - y0
    if x0 <= 1.0 and x1 <= 1.0:
        return 0.5 * (x0 + x1) * dy
    if x0 >= 1.0 and x1 >= 1.0:
        return dy
    yc = y0 + (1.0 - x0) / (x1 - x0) * dy  # where the segment crosses x = 1
    if x0 < 1.0:
        return 0.5 * (x0 + 1.0) * (yc - y0) + (y1 - yc)
    return (yc - y0) + 0.5 * (1.0 + x1) * (y1 - yc)


@njit(cache=True, nogil=True, inline="always")
def _green(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    """One edge's terms of the areas of a polygon inside [0, 2) x [0, 2) (Green's theorem).

    ``integral of f dy`` along the edge for f = x (whole area), min(x, 1) (x < 1),
    x [y < 1] (y < 1) and min(x, 1) [y < 1] (x < 1 and y < 1); summed over a closed
    counter-clockwise polygon they are its areas in those regions.
    """
    s = 0.5 * (x0 + x1) * (y1 - y0)
    m = _min1(x0, y0, x1, y1)
    if y0 <= 1.0 and y1 <= 1.0:
        return s, m, s, m
    if y0 >= 1.0 and y1 >= 1.0:
        return s, m, 0.0, 0.0
    xm = x0 + (1.0 - y0) * (x1 - x0) / (y1 - y0)  # where the edge crosses y = 1
    if y0 < 1.0:
        return s, m, 0.5 * (x0 + xm) * (1.0 - y0), _min1(x0, y0, xm, 1.0)
    return s, m, 0.5 * (xm + x1) * (y1 - 1.0), _min1(xm, 1.0, x1, y1)


@njit(cache=True, nogil=True, inline="always")
def _put(out_sum, out_wht, in_wht, separate_wht, in_sig, s0, s1, s2, sig0, sig1, sig2, ctx,
         use_ctx, ctx_bit, wy, wx, dow, dsc):  # fmt: skip
    """Deposit ``dow`` of one input pixel into window pixel (wy, wx) (planes ``s* >= 0``)."""
    out_sum[wy, wx] += dow * dsc
    out_wht[wy, wx] += dow
    if separate_wht:
        in_wht[wy, wx] += dow
    if s0 >= 0:
        in_sig[s0, wy, wx] += dow * sig0
    if s1 >= 0:
        in_sig[s1, wy, wx] += dow * sig1
    if s2 >= 0:
        in_sig[s2, wy, wx] += dow * sig2
    if use_ctx:
        ctx[wy, wx] |= ctx_bit


@njit(cache=True, nogil=True, inline="always")
def _sigma(var: np.ndarray, j: int, i: int) -> float:
    v = var[j, i]
    return math.sqrt(v) if v >= 0.0 else np.nan


@njit(cache=True, parallel=True, nogil=True)
def drizzle_square(
    xs_left: np.ndarray,
    xs_right: np.ndarray,
    hy: float,
    data: np.ndarray,
    weight: np.ndarray,
    var0: np.ndarray,
    var1: np.ndarray,
    var2: np.ndarray,
    xmin: int,
    ymin: int,
    ymax: int,
    pixfrac: float,
    iscale: float,
    sky: float,
    ox0: int,
    oy0: int,
    out_sum: np.ndarray,
    out_wht: np.ndarray,
    in_wht: np.ndarray,
    separate_wht: bool,
    in_sig: np.ndarray,
    slots: np.ndarray,
    ctx: np.ndarray,
    ctx_bit: np.int32,
    extents: np.ndarray,
    bands: np.ndarray,
) -> None:
    """Drizzle one input with the square kernel into window arrays (see the module doc).

    Parameters
    ----------
    xs_left, xs_right : ndarray
        :func:`x_stage` of the node grid at the left / right corner x positions of input
        columns ``xmin..`` (``i - pixfrac/2``, ``i + pixfrac/2``). With ``pixfrac`` 1 the
        right corners of a column are the left ones of the next: ``xs_right`` is then
        empty (``(my, 0, 2)``) and ``xs_left`` holds the ``npx + 1`` corner columns
        ``xmin - 1/2 ..``; corner rows are shared between rows the same way.
    hy : float
        Node spacing along y.
    data, weight : ndarray
        Input ``(ny, nx)`` float32 data and per-pixel weights.
    var0, var1, var2 : ndarray
        Variances drizzled as their square roots into ``in_sig[slots[k]]`` (a 0-size
        array: not drizzled).
    xmin, ymin, ymax : int
        Input columns from ``xmin`` (one per corner column, less one when shared) and rows
        ``ymin..ymax``.
    pixfrac, iscale : float
        Pixel shrink factor; data scale factor.
    sky : float
        Subtracted from the data (in float32, as ``data - np.float32(sky)``) before scaling.
    ox0, oy0 : int
        Output-grid position of the window's pixel (0, 0).
    out_sum, out_wht : ndarray
        Window ``(h, w)``: running ``sum(dow * d * iscale)`` and ``sum(dow)``.
    in_wht : ndarray
        Window: this input's ``sum(dow)``.
    separate_wht : bool
        Accumulate ``in_wht`` (False: ``out_wht`` holds only this input, use it instead).
    in_sig : ndarray
        ``(n, h, w)``: this input's ``sum(dow * sqrt(var_k))``, one plane per drizzled
        variance.
    slots : ndarray
        int64 ``(3,)``: the plane of ``in_sig`` of each variance (-1: not drizzled).
    ctx : ndarray
        Window int32 context plane (0 rows: no context).
    ctx_bit : numpy.int32
        This input's context bit, OR-ed into ``ctx`` where ``dow > 0``.
    extents : ndarray
        :func:`row_extents` of the input rows.
    bands : ndarray
        :func:`band_limits`: window-row boundaries of the bands.
    """
    h, w = out_sum.shape
    shared = xs_right.shape[1] == 0
    ncol = xs_left.shape[1]  # corner columns
    npx = ncol - 1 if shared else ncol
    dh = 0.5 * pixfrac
    reuse_rows = dh == 0.5  # the top corners of row j are the bottom ones of row j + 1
    nbands = bands.size - 1
    # the in_sig plane of each variance, -1: not drizzled
    s0 = slots[0] if var0.size > 0 else -1
    s1 = slots[1] if var1.size > 0 else -1
    s2 = slots[2] if var2.size > 0 else -1
    use_ctx = ctx.shape[0] > 0
    sky32 = np.float32(sky)
    for b in prange(nbands):
        lo_row = bands[b]
        hi_row = bands[b + 1]
        if hi_row <= lo_row:
            continue
        blo = lo_row + oy0 - 0.5
        bhi = hi_row + oy0 - 0.5
        bot_l = np.empty((ncol, 2), dtype=np.float64)  # corner positions of row j
        top_l = np.empty((ncol, 2), dtype=np.float64)
        bot_r = np.empty((0 if shared else ncol, 2), dtype=np.float64)
        top_r = np.empty((0 if shared else ncol, 2), dtype=np.float64)
        cap = 64
        acc = np.zeros(cap, dtype=np.float64)
        last = ymin - 2  # the last row whose corners are in the buffers
        for j in range(ymin, ymax + 1):
            r = j - ymin
            if extents[r, 1] < blo or extents[r, 0] >= bhi:
                continue
            if reuse_rows and last == j - 1:
                bot_l, top_l = top_l, bot_l
                bot_r, top_r = top_r, bot_r
            else:
                _corner_row(xs_left, hy, j - dh, bot_l)
                if not shared:
                    _corner_row(xs_right, hy, j - dh, bot_r)
            _corner_row(xs_left, hy, j + dh, top_l)
            if not shared:
                _corner_row(xs_right, hy, j + dh, top_r)
            last = j
            for k in range(npx):
                i = xmin + k
                wgt = weight[j, i]
                dval = data[j, i] - sky32
                if not (wgt > 0.0) or not np.isfinite(dval):
                    continue
                # counter-clockwise in input pixels: (-,-) (+,-) (+,+) (-,+)
                x0 = bot_l[k, 0] - ox0 + 0.5
                y0 = bot_l[k, 1] - oy0 + 0.5
                x3 = top_l[k, 0] - ox0 + 0.5
                y3 = top_l[k, 1] - oy0 + 0.5
                if shared:
                    x1 = bot_l[k + 1, 0] - ox0 + 0.5
                    y1 = bot_l[k + 1, 1] - oy0 + 0.5
                    x2 = top_l[k + 1, 0] - ox0 + 0.5
                    y2 = top_l[k + 1, 1] - oy0 + 0.5
                else:
                    x1 = bot_r[k, 0] - ox0 + 0.5
                    y1 = bot_r[k, 1] - oy0 + 0.5
                    x2 = top_r[k, 0] - ox0 + 0.5
                    y2 = top_r[k, 1] - oy0 + 0.5
                ylo = min(min(y0, y1), min(y2, y3))
                yhi = max(max(y0, y1), max(y2, y3))
                if yhi <= lo_row or ylo >= hi_row:
                    continue
                xlo = min(min(x0, x1), min(x2, x3))
                xhi = max(max(x0, x1), max(x2, x3))
                if xhi <= 0.0 or xlo >= w or not (np.isfinite(xlo) and np.isfinite(xhi)):
                    continue
                ix0 = math.floor(xlo)
                iy0 = math.floor(ylo)
                # minus the quadrilateral's (shoelace) area: the sign of the cell sums below
                area = 0.5 * ((x1 - x3) * (y0 - y2) - (x0 - x2) * (y1 - y3))
                if area == 0.0:
                    continue
                scale = wgt / area
                thresh = _TINY * abs(area)  # less: rounding noise of a cell only grazed
                sig0 = _sigma(var0, j, i) if s0 >= 0 else 0.0
                sig1 = _sigma(var1, j, i) if s1 >= 0 else 0.0
                sig2 = _sigma(var2, j, i) if s2 >= 0 else 0.0
                dsc = dval * iscale
                if math.floor(xhi) - ix0 <= 1 and math.floor(yhi) - iy0 <= 1:
                    # within 2 x 2 cells (the usual case): the cell areas in closed form
                    u0, v0 = x0 - ix0, y0 - iy0
                    u1, v1 = x1 - ix0, y1 - iy0
                    u2, v2 = x2 - ix0, y2 - iy0
                    u3, v3 = x3 - ix0, y3 - iy0
                    ga = _green(u0, v0, u1, v1)
                    gb = _green(u1, v1, u2, v2)
                    gc = _green(u2, v2, u3, v3)
                    gd = _green(u3, v3, u0, v0)
                    tot = ga[0] + gb[0] + gc[0] + gd[0]
                    left = ga[1] + gb[1] + gc[1] + gd[1]
                    low = ga[2] + gb[2] + gc[2] + gd[2]
                    corner = ga[3] + gb[3] + gc[3] + gd[3]
                    # negated, as the cell sums of the general path
                    cells = (-corner, corner - low, corner - left, left + low - corner - tot)
                    for q in range(4):
                        wy = iy0 + q // 2
                        wx = ix0 + q % 2
                        if wy < lo_row or wy >= hi_row or wy < 0 or wy >= h or wx < 0 or wx >= w:
                            continue
                        cum = cells[q]
                        if cum * scale > 0.0 and abs(cum) > thresh:
                            _put(out_sum, out_wht, in_wht, separate_wht, in_sig, s0, s1, s2,
                                 sig0, sig1, sig2, ctx, use_ctx, ctx_bit, wy, wx,
                                 cum * scale, dsc)  # fmt: skip
                    continue
                nc = math.floor(xhi) - ix0 + 2
                nr = math.floor(yhi) - iy0 + 1
                size = nr * nc
                if size > cap:
                    cap = size
                    acc = np.zeros(cap, dtype=np.float64)
                else:
                    for q in range(size):
                        acc[q] = 0.0
                _edge(acc, nc, x0 - ix0, y0 - iy0, x1 - ix0, y1 - iy0)
                _edge(acc, nc, x1 - ix0, y1 - iy0, x2 - ix0, y2 - iy0)
                _edge(acc, nc, x2 - ix0, y2 - iy0, x3 - ix0, y3 - iy0)
                _edge(acc, nc, x3 - ix0, y3 - iy0, x0 - ix0, y0 - iy0)
                # running sums along rows give the (signed) cell areas; they add up to
                # ``area``: normalised by it, each input pixel deposits exactly its weight
                for rr in range(nr):
                    wy = iy0 + rr
                    if wy < lo_row or wy >= hi_row or wy < 0 or wy >= h:
                        continue
                    cum = 0.0
                    for cc in range(nc):
                        cum += acc[rr * nc + cc]
                        wx = ix0 + cc
                        if wx < 0 or wx >= w:
                            continue
                        if cum * scale > 0.0 and abs(cum) > thresh:
                            _put(out_sum, out_wht, in_wht, separate_wht, in_sig, s0, s1, s2,
                                 sig0, sig1, sig2, ctx, use_ctx, ctx_bit, wy, wx,
                                 cum * scale, dsc)  # fmt: skip
