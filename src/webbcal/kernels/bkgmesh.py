"""A 2-D background and background-RMS map from sigma-clipped statistics in a mesh of boxes.

The method of ``photutils.background.Background2D`` as the official ``tweakreg`` and
``source_catalog`` configure it (median background, standard-deviation RMS):

1. the image is cut into ``ceil(n / box_size)`` boxes per axis, of equal size (within one
   pixel);
2. in each box the unmasked, finite pixels are sigma clipped (3 sigma about the median, at
   most 10 passes) and give the median (background) and the standard deviation (RMS); a box
   with more than ``exclude_percentile`` percent of its pixels masked is left out and filled
   with the median of the valid boxes;
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

__all__ = ["background_mesh", "mesh_statistics"]


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


def _edges(n: int, box: int) -> np.ndarray:
    count = max(1, math.ceil(n / box))
    return np.round(np.linspace(0, n, count + 1)).astype(np.int64)


def _median_filter(mesh: np.ndarray, size: int) -> np.ndarray:
    if size <= 1 or mesh.size == 1:
        return mesh
    from scipy.ndimage import median_filter

    return median_filter(mesh, size=size, mode="nearest")


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
    return left @ np.ascontiguousarray(bx.T, dtype=np.float32)


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
    bkg, rms = mesh_statistics(data, bad, yedges, xedges, float(sigma), int(maxiters),
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
