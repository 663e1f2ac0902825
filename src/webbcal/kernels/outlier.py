"""Outlier detection kernels: blotting a median image back to an exposure, and flagging.

* :func:`blot` -- the inverse of drizzling: every input pixel takes the value of the median
  image at the position its centre maps to (a coarse pixel map,
  :class:`webbcal.kernels.pixmap.NodeMap`, interpolated cubically), interpolated with a
  Lagrange polynomial through ``order + 1`` pixels per axis (``order=5``: the official
  ``poly5``). Pixels whose stencil leaves the image or meets a NaN get NaN (never flagged).
* :func:`flag_outliers` -- the official two-threshold test. With ``diff = |sci - blot -
  backg|`` and ``deriv`` the largest absolute difference between a blotted pixel and its
  four neighbours::

      mask1 = diff > scale1 * deriv + snr1 * err
      mask2 = diff > scale2 * deriv + snr2 * err
      outlier = mask2 and (mask1 anywhere in the 3 x 3 neighbourhood)

  so a pixel is flagged when it passes the lower threshold next to (or at) a pixel that
  passes the higher one. Non-finite ERR counts as 0, as in the official step.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from webbcal.kernels.pixmap import _stencil, _weights

__all__ = ["apply_flags", "blot", "finish_single", "flag_outliers"]


@njit(cache=True, nogil=True, inline="always")
def _node_row(nodes, v, my, mx):
    """The (mx, 2) node values at fractional node row ``v`` (cubic in y)."""
    ky, ty = _stencil(v, my)
    wy = _weights(ty)
    row = np.empty((mx, 2))
    for p in range(mx):
        for c in range(2):
            row[p, c] = (
                wy[0] * nodes[ky, p, c]
                + wy[1] * nodes[ky + 1, p, c]
                + wy[2] * nodes[ky + 2, p, c]
                + wy[3] * nodes[ky + 3, p, c]
            )
    return row


@njit(cache=True, nogil=True, inline="always")
def _lagrange(t, half, den, w):
    """Lagrange weights at ``t`` of nodes ``-half ..``; ``den``: their denominators."""
    n = w.size
    prefix = 1.0
    for a in range(n):
        w[a] = prefix
        prefix *= t - (a - half)
    suffix = 1.0
    for a in range(n - 1, -1, -1):
        w[a] *= suffix / den[a]
        suffix *= t - (a - half)


@njit(cache=True, parallel=True, nogil=True)
def _blot_rows(image, nodes, hx, hy, npts, out):
    ny, nx = out.shape
    my, mx = nodes.shape[0], nodes.shape[1]
    iy_max, ix_max = image.shape
    half = (npts - 1) // 2
    den = np.empty(npts)
    for a in range(npts):
        d = 1.0
        for b in range(npts):
            if b != a:
                d *= a - b
        den[a] = d
    for y in prange(ny):
        # node values at this row (cubic in y), then cubic in x per pixel
        row = _node_row(nodes, y / hy, my, mx)
        wxs = np.empty(npts)
        wys = np.empty(npts)
        for x in range(nx):
            kx, tx = _stencil(x / hx, mx)
            wx = _weights(tx)
            px = (wx[0] * row[kx, 0] + wx[1] * row[kx + 1, 0] + wx[2] * row[kx + 2, 0]
                  + wx[3] * row[kx + 3, 0])  # fmt: skip
            py = (wx[0] * row[kx, 1] + wx[1] * row[kx + 1, 1] + wx[2] * row[kx + 2, 1]
                  + wx[3] * row[kx + 3, 1])  # fmt: skip
            fx = math.floor(px)
            fy = math.floor(py)
            x0 = fx - half
            y0 = fy - half
            if x0 < 0 or y0 < 0 or x0 + npts > ix_max or y0 + npts > iy_max:
                out[y, x] = np.nan
                continue
            _lagrange(px - fx, half, den, wxs)
            _lagrange(py - fy, half, den, wys)
            acc = 0.0
            for j in range(npts):
                src = image[y0 + j]
                r = 0.0
                for i in range(npts):
                    r += wxs[i] * src[x0 + i]
                acc += wys[j] * r
            out[y, x] = acc  # NaN propagates


#: 1 / the denominators of the six poly5 Lagrange weights.
_C0, _C1, _C2, _C3, _C4, _C5 = -1 / 120, 1 / 24, -1 / 12, 1 / 12, -1 / 24, 1 / 120


@njit(cache=True, nogil=True, inline="always")
def _poly5(t):
    """Lagrange weights at ``t`` of the six nodes ``-2 .. 3`` (closed form)."""
    d0, d1, d2, d3, d4, d5 = t + 2.0, t + 1.0, t, t - 1.0, t - 2.0, t - 3.0
    p01 = d0 * d1
    p012 = p01 * d2
    p45 = d4 * d5
    p345 = d3 * p45
    return (
        d1 * d2 * p345 * _C0,
        d0 * d2 * p345 * _C1,
        p01 * p345 * _C2,
        p012 * p45 * _C3,
        p012 * d3 * d5 * _C4,
        p012 * d3 * d4 * _C5,
    )


@njit(cache=True, parallel=True, nogil=True)
def _blot_rows5(image, nodes, hx, hy, out):
    """``_blot_rows`` for ``poly5``: closed-form weights, x stencils of the map shared."""
    ny, nx = out.shape
    my, mx = nodes.shape[0], nodes.shape[1]
    iy_max, ix_max = image.shape
    kxs = np.empty(nx, np.int64)
    wxs = np.empty((nx, 4))
    for x in range(nx):
        kx, tx = _stencil(x / hx, mx)
        kxs[x] = kx
        w = _weights(tx)
        for a in range(4):
            wxs[x, a] = w[a]
    for y in prange(ny):
        row = _node_row(nodes, y / hy, my, mx)
        o = out[y]
        wyv = np.empty(6)
        for x in range(nx):
            kx = kxs[x]
            w0, w1, w2, w3 = wxs[x, 0], wxs[x, 1], wxs[x, 2], wxs[x, 3]
            px = w0 * row[kx, 0] + w1 * row[kx + 1, 0] + w2 * row[kx + 2, 0] + w3 * row[kx + 3, 0]
            py = w0 * row[kx, 1] + w1 * row[kx + 1, 1] + w2 * row[kx + 2, 1] + w3 * row[kx + 3, 1]
            fx = math.floor(px)
            fy = math.floor(py)
            x0 = int(fx) - 2
            y0 = int(fy) - 2
            if x0 < 0 or y0 < 0 or x0 + 6 > ix_max or y0 + 6 > iy_max:
                o[x] = np.nan
                continue
            a0, a1, a2, a3, a4, a5 = _poly5(px - fx)
            wyv[0], wyv[1], wyv[2], wyv[3], wyv[4], wyv[5] = _poly5(py - fy)
            acc = 0.0
            for j in range(6):
                src = image[y0 + j]
                r = (a0 * src[x0] + a1 * src[x0 + 1] + a2 * src[x0 + 2] + a3 * src[x0 + 3]
                     + a4 * src[x0 + 4] + a5 * src[x0 + 5])  # fmt: skip
                acc += wyv[j] * r
            o[x] = acc  # NaN propagates


def blot(
    image: np.ndarray,
    nodes: np.ndarray,
    hx: float,
    hy: float,
    shape: tuple[int, int],
    order: int = 5,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``image`` resampled onto an input grid of ``shape`` (see the module docstring).

    ``nodes``/``hx``/``hy`` describe the input -> image pixel map (a NodeMap). Written
    into ``out`` (float32 ``shape``) when given, e.g. a buffer reused between exposures.
    """
    if out is None or out.shape != tuple(shape) or out.dtype != np.float32:
        out = np.empty(shape, np.float32)
    image = np.ascontiguousarray(image, np.float32)
    if int(order) == 5:
        _blot_rows5(image, nodes, float(hx), float(hy), out)
    else:
        _blot_rows(image, nodes, float(hx), float(hy), int(order) + 1, out)
    return out


@njit(cache=True, parallel=True, nogil=True)
def _finish_single(total, wht, fill, threshold):
    ny, nx = total.shape
    for y in prange(ny):
        for x in range(nx):
            w = wht[y, x]
            if w < threshold:
                total[y, x] = np.nan
            elif w > 0.0:
                total[y, x] = total[y, x] / w
            else:
                total[y, x] = fill


def finish_single(total: np.ndarray, wht: np.ndarray, fill: float, threshold: float) -> None:
    """A single drizzle's image from its sums, in place in ``total`` (float32).

    ``total / wht`` where ``wht > 0``, ``fill`` where nothing landed, then NaN wherever
    ``wht < threshold`` (the ``maskpt`` cut), in one pass.
    """
    _finish_single(total, wht, np.float32(fill), float(threshold))


@njit(cache=True, parallel=True, nogil=True)
def _apply_flags(mask, dq, bad_bits, flag, counts):
    for y in prange(mask.shape[0]):
        c = 0
        for x in range(mask.shape[1]):
            if mask[y, x] and (dq[y, x] & bad_bits) == 0:
                dq[y, x] |= flag
                c += 1
        counts[y] = c


def apply_flags(mask: np.ndarray, dq: np.ndarray, bad_bits: int, flag: int) -> int:
    """OR ``flag`` into ``dq`` (in place) where ``mask`` is set and ``dq`` has no ``bad_bits``.

    Returns the number of pixels flagged.
    """
    counts = np.zeros(mask.shape[0], np.int64)
    _apply_flags(mask, dq, np.uint32(bad_bits & 0xFFFFFFFF), np.uint32(flag), counts)
    return int(counts.sum())


@njit(cache=True, parallel=True, nogil=True)
def _masks(sci, err, blotted, backg, snr1, snr2, scale1, scale2, masks):
    ny, nx = sci.shape
    for y in prange(ny):
        for x in range(nx):
            b = blotted[y, x]
            s = sci[y, x]
            masks[y, x] = 0
            if not (np.isfinite(b) and np.isfinite(s)):
                continue
            deriv = 0.0
            if x > 0 and np.isfinite(blotted[y, x - 1]):
                deriv = max(deriv, abs(b - blotted[y, x - 1]))
            if x < nx - 1 and np.isfinite(blotted[y, x + 1]):
                deriv = max(deriv, abs(b - blotted[y, x + 1]))
            if y > 0 and np.isfinite(blotted[y - 1, x]):
                deriv = max(deriv, abs(b - blotted[y - 1, x]))
            if y < ny - 1 and np.isfinite(blotted[y + 1, x]):
                deriv = max(deriv, abs(b - blotted[y + 1, x]))
            e = err[y, x]
            if not np.isfinite(e):
                e = 0.0
            diff = abs(s - b - backg)
            if diff > scale1 * deriv + snr1 * e:
                masks[y, x] |= 1
            if diff > scale2 * deriv + snr2 * e:
                masks[y, x] |= 2


@njit(cache=True, parallel=True, nogil=True)
def _combine(masks, out):
    ny, nx = masks.shape
    for y in prange(ny):
        for x in range(nx):
            hit = False
            if masks[y, x] & 2:
                for j in range(max(0, y - 1), min(ny, y + 2)):
                    for i in range(max(0, x - 1), min(nx, x + 2)):
                        if masks[j, i] & 1:
                            hit = True
            out[y, x] = hit


def flag_outliers(
    sci: np.ndarray,
    err: np.ndarray,
    blotted: np.ndarray,
    backg: float,
    snr: tuple[float, float],
    scale: tuple[float, float],
) -> np.ndarray:
    """Boolean outlier mask of an exposure against its blotted median (module docstring)."""
    masks = np.empty(sci.shape, np.uint8)
    _masks(np.asarray(sci, np.float32), np.asarray(err, np.float32), blotted, float(backg),
           float(snr[0]), float(snr[1]), float(scale[0]), float(scale[1]), masks)  # fmt: skip
    out = np.empty(sci.shape, np.bool_)
    _combine(masks, out)
    return out
