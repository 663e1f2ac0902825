"""Pixel maps for resampling: input pixel centres -> output pixel coordinates.

A pixel map is ``(ny, nx, 2)`` float64: ``pixmap[j, i] = (x_out, y_out)`` of input pixel
``(i, j)``. Evaluating a distorted WCS at every pixel is slow (about 0.7 us per point with
astropy models), so :func:`node_map` evaluates the mapping exactly on a coarse grid of
nodes (spacing <= ``step`` pixels, always including the first and last row and column) and
fills the rest by separable 4-point (cubic Lagrange) interpolation in numba. Imaging
mappings are smooth (polynomial distortion and a gnomonic projection), so the interpolation
error scales as ``step**4``; it is *measured* (unless asked not to) at the centres of the coarse
cells, where it is largest, and the step is halved until it is below ``tolerance`` pixel
(default 1e-3; the resample step documents < 0.01 pixel). Non-finite node values (points
outside the WCS domain) make every pixel a node (exact evaluation).

:func:`node_map` returns the nodes themselves (a :class:`NodeMap`): the drizzle kernel of
:mod:`webbcal.kernels.resample` interpolates the corner positions it needs straight from
them, so the full map (``ny * nx * 16`` bytes) is built (:meth:`NodeMap.pixmap`) only for
the kernels of the ``drizzle`` package.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

log = logging.getLogger(__name__)

__all__ = ["NodeMap", "exact_pixmap", "interpolate_nodes", "node_map"]

Mapping = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def exact_pixmap(mapping: Mapping, shape: tuple[int, int], rows: int = 256) -> np.ndarray:
    """Evaluate ``mapping(x, y) -> (x_out, y_out)`` at every pixel, ``rows`` rows at a time."""
    ny, nx = shape
    out = np.empty((ny, nx, 2), dtype=np.float64)
    xs = np.arange(nx, dtype=np.float64)
    for y0 in range(0, ny, rows):
        y1 = min(ny, y0 + rows)
        gx, gy = np.meshgrid(xs, np.arange(y0, y1, dtype=np.float64))
        ox, oy = mapping(gx, gy)
        out[y0:y1, :, 0] = ox
        out[y0:y1, :, 1] = oy
    return out


@njit(cache=True, nogil=True, inline="always")
def _weights(t: float) -> tuple[float, float, float, float]:
    """Cubic Lagrange weights of nodes at -1, 0, 1, 2 for a point at t (node units)."""
    a = t + 1.0
    b = t
    c = t - 1.0
    d = t - 2.0
    return (-b * c * d / 6.0, a * c * d / 2.0, -a * b * d / 2.0, a * b * c / 6.0)


@njit(cache=True, nogil=True, inline="always")
def _stencil(pos: float, n: int) -> tuple[int, float]:
    """First node index of the 4-node stencil for ``pos`` (node units) and the offset t."""
    k = math.floor(pos)
    k0 = min(max(k - 1, 0), n - 4)
    return k0, pos - (k0 + 1)


@njit(cache=True, parallel=True, nogil=True)
def interpolate_nodes(
    nodes: np.ndarray, x0: float, hx: float, y0: float, hy: float, out: np.ndarray
) -> None:
    """Interpolate node values to every pixel of ``out`` ``(ny, nx, 2)``, in place.

    Node ``(q, p)`` of ``nodes`` ``(my, mx, 2)`` is at pixel ``(x0 + p hx, y0 + q hy)``.
    Separable cubic Lagrange interpolation (4 nodes per axis, one-sided at the ends);
    needs at least 4 nodes per axis. ``out`` is allocated by the caller (numpy allocations
    of large arrays use transparent huge pages, which makes first touch much cheaper).
    """
    my, mx = nodes.shape[0], nodes.shape[1]
    ny, nx = out.shape[0], out.shape[1]
    rows = np.empty((my, nx, 2), dtype=np.float64)
    for q in prange(my):
        for i in range(nx):
            k0, t = _stencil((i - x0) / hx, mx)
            w0, w1, w2, w3 = _weights(t)
            for c in range(2):
                rows[q, i, c] = (
                    w0 * nodes[q, k0, c]
                    + w1 * nodes[q, k0 + 1, c]
                    + w2 * nodes[q, k0 + 2, c]
                    + w3 * nodes[q, k0 + 3, c]
                )
    for j in prange(ny):
        k0, t = _stencil((j - y0) / hy, my)
        w0, w1, w2, w3 = _weights(t)
        r0, r1, r2, r3 = rows[k0], rows[k0 + 1], rows[k0 + 2], rows[k0 + 3]
        o = out[j]
        for i in range(nx):
            o[i, 0] = w0 * r0[i, 0] + w1 * r1[i, 0] + w2 * r2[i, 0] + w3 * r3[i, 0]
            o[i, 1] = w0 * r0[i, 1] + w1 * r1[i, 1] + w2 * r2[i, 1] + w3 * r3[i, 1]


def _node_axis(n: int, step: float) -> np.ndarray:
    count = max(4, math.ceil((n - 1) / step) + 1)
    return np.linspace(0.0, n - 1.0, count)


@dataclass(frozen=True)
class NodeMap:
    """A pixel map given on a regular grid of nodes.

    Attributes
    ----------
    nodes : ndarray
        ``(my, mx, 2)``: output (x, y) of the input positions ``(p hx, q hy)``.
    hx, hy : float
        Node spacing [input pixels]; node 0 is pixel 0 and the last node the last pixel.
    shape : tuple of int
        Input ``(ny, nx)``.
    error : float
        Largest interpolation error measured at the cell centres [output pixels]
        (0 when every pixel is a node, NaN when not measured).
    """

    nodes: np.ndarray
    hx: float
    hy: float
    shape: tuple[int, int]
    error: float = 0.0

    def pixmap(self) -> np.ndarray:
        """The full ``(ny, nx, 2)`` pixel map."""
        out = np.empty((*self.shape, 2), dtype=np.float64)
        interpolate_nodes(self.nodes, 0.0, self.hx, 0.0, self.hy, out)
        return out


def node_map(
    mapping: Mapping,
    shape: tuple[int, int],
    *,
    step: int = 32,
    tolerance: float | None = 1e-3,
) -> NodeMap:
    """Evaluate ``mapping`` on a node grid fine enough for cubic interpolation.

    Parameters
    ----------
    mapping : callable
        ``(x, y) -> (x_out, y_out)``, vectorised over arrays of 0-based input pixels.
    shape : tuple of int
        Input ``(ny, nx)``, at least 4 x 4.
    step : int
        Largest node spacing [pixels]; 1 makes every pixel a node (exact).
    tolerance : float or None
        Largest accepted interpolation error [output pixels] at the cell centres; the
        step is halved (down to 4) until it is met. None: no check (for users that only
        need the nearest pixel); ``error`` is then NaN.

    Returns
    -------
    NodeMap
    """
    ny, nx = shape
    if nx < 4 or ny < 4:
        raise ValueError(f"pixel map: the input must be at least 4x4 pixels, got {nx}x{ny}")
    while True:
        if step <= 1:
            gx, gy = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float))
            ox, oy = mapping(gx, gy)
            return NodeMap(np.stack([ox, oy], axis=-1).astype(np.float64), 1.0, 1.0, shape)
        xs, ys = _node_axis(nx, step), _node_axis(ny, step)
        gx, gy = np.meshgrid(xs, ys)
        ox, oy = mapping(gx, gy)
        nodes = np.stack([np.asarray(ox, float), np.asarray(oy, float)], axis=-1)
        if not np.all(np.isfinite(nodes)):
            log.warning("pixel map: the WCS is not finite everywhere; evaluating every pixel")
            step = 1
            continue
        hx, hy = xs[1] - xs[0], ys[1] - ys[0]
        if tolerance is None:
            return NodeMap(nodes, float(hx), float(hy), shape, math.nan)
        cx, cy = np.meshgrid(xs[:-1] + 0.5 * hx, ys[:-1] + 0.5 * hy)
        ex, ey = mapping(cx, cy)
        check = _interpolate_points(nodes, hx, hy, cx.ravel(), cy.ravel())
        error = float(
            np.max(np.hypot(check[:, 0] - np.ravel(ex), check[:, 1] - np.ravel(ey)), initial=0.0)
        )
        if error <= tolerance or step <= 4:
            log.debug("pixel map: node step %.1f x %.1f px, max error %.2g px", hx, hy, error)
            return NodeMap(nodes, float(hx), float(hy), shape, error)
        log.info("pixel map: interpolation error %.2g px > %.2g; halving step", error, tolerance)
        step = step // 2


@njit(cache=True, nogil=True)
def _interpolate_points(
    nodes: np.ndarray, hx: float, hy: float, px: np.ndarray, py: np.ndarray
) -> np.ndarray:
    my, mx = nodes.shape[0], nodes.shape[1]
    out = np.empty((px.size, 2), dtype=np.float64)
    for n in range(px.size):
        kx, tx = _stencil(px[n] / hx, mx)
        ky, ty = _stencil(py[n] / hy, my)
        wx = _weights(tx)
        wy = _weights(ty)
        for c in range(2):
            acc = 0.0
            for b in range(4):
                row = 0.0
                for a in range(4):
                    row += wx[a] * nodes[ky + b, kx + a, c]
                acc += wy[b] * row
            out[n, c] = acc
    return out
