"""Point-source finding: the DAOFIND and IRAF ``starfind`` algorithms, in numba.

Both search a background-subtracted image convolved with a *density-enhancement* kernel
(Stetson 1987): a circular Gaussian of FWHM ``fwhm`` truncated at ``sigma_radius`` sigma
(always at least a radius-2 disc; the box is at least 5 x 5), minus its mean over the
footprint and divided by ``sum(g**2) - sum(g)**2 / n`` -- so the convolved value at a star is
the least-squares amplitude of a Gaussian on a flat background. Peaks are pixels that are
the maximum of the convolved image within the kernel footprint and above ``threshold``
(DAOFIND: ``threshold * rel_err``, ``rel_err = 1 / sqrt(sum(g**2) - sum(g)**2 / n)``,
which makes the threshold a multiple of the pixel noise; IRAF: ``threshold`` itself).

Per peak, on the kernel-sized cutout of the image:

* IRAF (:func:`iraf_properties`): sky = mean of the box pixels outside the footprint;
  ``d = max(image - sky, 0)`` inside the footprint; centroid, ``fwhm = 2 sqrt(ln 2
  (mu20 + mu02))``, ``roundness = sqrt((mu20 - mu02)**2 + 4 mu11**2) / (mu20 + mu02)``,
  ``pa``, ``sharpness = fwhm / kernel fwhm``, ``peak = max d``, ``flux = sum d``;
* DAOFIND (:func:`dao_properties`): ``sharpness = (image peak - mean of the other
  footprint pixels) / convolved peak``; ``roundness1`` from the 4-fold symmetry of the
  convolved cutout (x-dominant vs y-dominant pixels); marginal fits of a Gaussian of the
  kernel's sigma plus a constant along x and y give the heights ``hx, hy``
  (``roundness2 = 2 (hx - hy) / (hx + hy)``) and, by one Gauss-Newton step, the centroid.

Coordinates are 0-based pixel centres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

__all__ = [
    "StarKernel",
    "convolve_kernel",
    "dao_properties",
    "find_peaks",
    "iraf_properties",
    "star_kernel",
]

_FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


@dataclass(frozen=True)
class StarKernel:
    """A density-enhancement kernel (see the module docstring).

    Attributes
    ----------
    data : ndarray
        ``(2r+1, 2r+1)`` float64 zero-sum kernel (0 outside the footprint).
    mask : ndarray
        Footprint (bool).
    gauss : ndarray
        The unmasked Gaussian (peak 1).
    radius : int
        Half size ``r`` of the box.
    rel_err : float
    fwhm, sigma : float
    """

    data: np.ndarray
    mask: np.ndarray
    gauss: np.ndarray
    radius: int
    rel_err: float
    fwhm: float
    sigma: float


def star_kernel(fwhm: float, sigma_radius: float = 1.5) -> StarKernel:
    """The density-enhancement kernel of a circular Gaussian of FWHM ``fwhm`` [pixels]."""
    if not (fwhm > 0 and sigma_radius > 0):
        raise ValueError(f"kernel fwhm and sigma_radius must be positive ({fwhm}, {sigma_radius})")
    sigma = fwhm * _FWHM_TO_SIGMA
    radius = int(max(2.0, sigma_radius * sigma))
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(float)
    r2 = (xx**2 + yy**2) / (2.0 * sigma**2)
    mask = (r2 <= sigma_radius**2 / 2.0) | (np.hypot(xx, yy) <= 2.0)
    gauss = np.exp(-r2)
    g = gauss * mask
    n = mask.sum()
    denom = (g**2).sum() - g.sum() ** 2 / n
    data = (g - g.sum() / n) / denom * mask
    return StarKernel(data, mask, gauss, radius, float(1.0 / math.sqrt(denom)), float(fwhm),
                      float(sigma))  # fmt: skip


@njit(cache=True, parallel=True, nogil=True)
def _convolve(data, dy, dx, k, r, out):
    ny, nx = data.shape
    n = k.size
    for y in prange(ny):
        o = out[y]
        inner = r <= y < ny - r
        if inner:
            body = o[r : nx - r]
            for t in range(n):
                # slices: the loop index is then provably >= 0 and the loop vectorises
                src = data[y + dy[t]][r + dx[t] : nx - r + dx[t]]
                w = np.float32(k[t])
                for x in range(body.size):
                    body[x] += w * src[x]
        for x in range(nx):
            if inner and r <= x < nx - r:
                continue
            acc = 0.0
            for t in range(n):
                yy = y + dy[t]
                xx = x + dx[t]
                if 0 <= yy < ny and 0 <= xx < nx:
                    acc += k[t] * data[yy, xx]
            o[x] = acc


def convolve_kernel(data: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``data`` convolved with ``kernel`` (odd, square, symmetric); outside counts as 0.

    Masked pixels must already be 0 in ``data``.
    """
    r = kernel.shape[0] // 2
    dy, dx = np.nonzero(kernel)
    k = kernel[dy, dx].astype(np.float64)
    out = np.zeros(data.shape, np.float32)
    _convolve(np.ascontiguousarray(data, np.float32), (dy - r).astype(np.int64),
              (dx - r).astype(np.int64), k, r, out)  # fmt: skip
    return out


@njit(cache=True, parallel=True, nogil=True)
def _peak_rows(conv, threshold, footprint, bad, flags):
    ny, nx = conv.shape
    r = footprint.shape[0] // 2
    for y in prange(ny):
        for x in range(nx):
            v = conv[y, x]
            if not (v > threshold) or bad[y, x]:
                continue
            peak = True
            for j in range(-r, r + 1):
                yy = y + j
                if yy < 0 or yy >= ny:
                    continue
                for i in range(-r, r + 1):
                    xx = x + i
                    if xx < 0 or xx >= nx or not footprint[r + j, r + i]:
                        continue
                    if conv[yy, xx] > v:
                        peak = False
                        break
                if not peak:
                    break
            flags[y, x] = peak


def find_peaks(
    conv: np.ndarray, threshold: float, footprint: np.ndarray, bad: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(ys, xs)`` of the local maxima of ``conv`` within ``footprint`` above ``threshold``.

    Peaks closer than the footprint half size to the border are left out (their cutouts
    would leave the image).
    """
    flags = np.zeros(conv.shape, np.bool_)
    _peak_rows(conv, float(threshold), footprint, bad, flags)
    r = footprint.shape[0] // 2
    flags[:r] = False
    flags[-r:] = False
    flags[:, :r] = False
    flags[:, -r:] = False
    ys, xs = np.nonzero(flags)
    return ys, xs


@njit(cache=True, parallel=True, nogil=True)
def iraf_properties(data, ys, xs, mask):
    """IRAF starfind properties of the peaks ``(ys, xs)``; see the module docstring.

    Returns ``(n, 9)`` float64 rows: x, y, fwhm, roundness, pa [deg], sky, peak, flux, npix.
    """
    n = ys.size
    r = mask.shape[0] // 2
    out = np.full((n, 9), np.nan)
    nsky = 0
    for j in range(mask.shape[0]):
        for i in range(mask.shape[1]):
            if not mask[j, i]:
                nsky += 1
    for k in prange(n):
        y0, x0 = ys[k], xs[k]
        sky = 0.0
        for j in range(-r, r + 1):
            for i in range(-r, r + 1):
                if not mask[r + j, r + i]:
                    sky += data[y0 + j, x0 + i]
        sky = sky / nsky if nsky > 0 else 0.0
        s = 0.0
        sx = 0.0
        sy = 0.0
        peak = 0.0
        npix = 0
        for j in range(-r, r + 1):
            for i in range(-r, r + 1):
                if not mask[r + j, r + i]:
                    continue
                d = data[y0 + j, x0 + i] - sky
                if d > 0.0:
                    s += d
                    sx += d * i
                    sy += d * j
                    peak = max(peak, d)
                    npix += 1
        if npix < 2 or s <= 0.0:
            continue
        cx = sx / s
        cy = sy / s
        m20 = 0.0
        m02 = 0.0
        m11 = 0.0
        for j in range(-r, r + 1):
            for i in range(-r, r + 1):
                if not mask[r + j, r + i]:
                    continue
                d = data[y0 + j, x0 + i] - sky
                if d > 0.0:
                    m20 += d * (i - cx) ** 2
                    m02 += d * (j - cy) ** 2
                    m11 += d * (i - cx) * (j - cy)
        m20 /= s
        m02 /= s
        m11 /= s
        msum = m20 + m02
        out[k, 0] = x0 + cx
        out[k, 1] = y0 + cy
        out[k, 2] = 2.0 * math.sqrt(math.log(2.0) * msum) if msum > 0 else np.nan
        out[k, 3] = math.sqrt((m20 - m02) ** 2 + 4.0 * m11 * m11) / msum if msum > 0 else np.nan
        out[k, 4] = math.degrees(0.5 * math.atan2(2.0 * m11, m20 - m02)) % 180.0
        out[k, 5] = sky
        out[k, 6] = peak
        out[k, 7] = s
        out[k, 8] = npix
    return out


@njit(cache=True, nogil=True)
def _marginal(data, y0, x0, r, gauss, sigma, axis):
    """Height and centre offset of the marginal Gaussian fit along ``axis`` (1: x)."""
    size = 2 * r + 1
    m = np.zeros(size)
    for j in range(size):
        for i in range(size):
            # weight across the fitted axis by the Gaussian profile
            if axis == 1:
                m[i] += gauss[j, r] * data[y0 - r + j, x0 - r + i]
            else:
                m[j] += gauss[r, i] * data[y0 - r + j, x0 - r + i]
    g = np.empty(size)
    for t in range(size):
        g[t] = math.exp(-((t - r) ** 2) / (2.0 * sigma * sigma))
    sg = 0.0
    sgg = 0.0
    sm = 0.0
    sgm = 0.0
    for t in range(size):
        sg += g[t]
        sgg += g[t] * g[t]
        sm += m[t]
        sgm += g[t] * m[t]
    det = size * sgg - sg * sg
    if det == 0.0:
        return np.nan, np.nan
    h = (size * sgm - sg * sm) / det
    b = (sm - h * sg) / size
    if not (h > 0.0):
        return h, np.nan
    num = 0.0
    den = 0.0
    for t in range(size):
        dg = g[t] * (t - r) / (sigma * sigma)
        num += (m[t] - h * g[t] - b) * dg
        den += dg * dg
    shift = num / (h * den) if den > 0.0 else 0.0
    return h, max(-float(r), min(float(r), shift))


@njit(cache=True, parallel=True, nogil=True)
def dao_properties(data, conv, ys, xs, mask, gauss, sigma):
    """DAOFIND properties of the peaks ``(ys, xs)``; see the module docstring.

    Returns ``(n, 7)`` float64 rows: x, y, sharpness, roundness1, roundness2, peak, flux.
    """
    n = ys.size
    r = mask.shape[0] // 2
    out = np.full((n, 7), np.nan)
    for k in prange(n):
        y0, x0 = ys[k], xs[k]
        others = 0.0
        count = 0
        flux = 0.0
        xdom = 0.0
        ydom = 0.0
        for j in range(-r, r + 1):
            for i in range(-r, r + 1):
                if not mask[r + j, r + i]:
                    continue
                d = data[y0 + j, x0 + i]
                flux += d
                if i != 0 or j != 0:
                    others += d
                    count += 1
                c = conv[y0 + j, x0 + i]
                if abs(i) > abs(j):
                    xdom += c
                elif abs(j) > abs(i):
                    ydom += c
        cpeak = conv[y0, x0]
        hx, dx = _marginal(data, y0, x0, r, gauss, sigma, 1)
        hy, dy = _marginal(data, y0, x0, r, gauss, sigma, 0)
        out[k, 0] = x0 + dx
        out[k, 1] = y0 + dy
        out[k, 2] = (data[y0, x0] - others / count) / cpeak if count > 0 else np.nan
        out[k, 3] = 2.0 * (xdom - ydom) / (xdom + ydom) if xdom + ydom != 0.0 else np.nan
        out[k, 4] = 2.0 * (hx - hy) / (hx + hy) if hx + hy != 0.0 else np.nan
        out[k, 5] = data[y0, x0]
        out[k, 6] = flux
    return out
