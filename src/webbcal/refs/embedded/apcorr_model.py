"""Encircled energy of the point-spread function as a level-3 catalog measures it (APCORR).

The embedded APCORR reference tabulates, per encircled-energy fraction, the aperture radius
[pixels] and the correction to total flux. The PSF those numbers describe is not the
optical Gaussian of :func:`webbcal.refs.embedded.properties.psf_fwhm` alone but the point
source as it appears in a resampled (``i2d``) image at the native pixel scale and is
measured with exact-overlap circular apertures. In expectation over the sub-pixel position
of the source, each of these smooths the profile by a unit box (one pixel wide, per axis):

1. the pixel response (the detector integrates the light over each pixel);
2. the piecewise-constant input pixels that drizzle spreads over the output grid;
3. the averaging of the input over each output pixel (pixfrac 1, same scale);
4. the piecewise-constant output pixels the aperture overlaps are computed on;

and the detector's inter-pixel capacitance moves a little of the light to the 8 neighbours.
The profile is therefore ``Gaussian (*) box^4 (*) IPC``, separable but for the IPC, and
its encircled energy is integrated numerically on an oversampled grid. For an undersampled
PSF (NIRCam SW, FWHM ~2 pixels) the radius of a given fraction is ~15% larger than that of
the optical Gaussian alone; ignoring this biases aperture-corrected fluxes low by ~17%.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["EE_FRACTIONS", "apcorr_rows", "encircled_energy"]

#: Encircled-energy fractions tabulated in the APCORR files.
EE_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: Unit boxes smoothing the profile (pixel response, drizzle in/out, aperture sampling).
SAMPLING_BOXES = 4
#: Nominal inter-pixel capacitance (nearest, diagonal neighbour) of the embedded detectors.
IPC_NOMINAL = {"MIRI": (0.002, 0.0), "default": (0.0055, 0.0004)}
#: Grid points per pixel of the numerical integration (fewer for wide PSFs).
_OVERSAMPLE = 16
_FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


@lru_cache(maxsize=256)
def encircled_energy(
    sigma_pix: float, ipc: tuple[float, float] = (0.0, 0.0), boxes: int = SAMPLING_BOXES
) -> tuple[np.ndarray, np.ndarray]:
    """Radius [pixels] and encircled energy of ``Gaussian(sigma) (*) box^boxes (*) IPC``.

    Parameters
    ----------
    sigma_pix : float
        Sigma of the optical Gaussian [pixels].
    ipc : (float, float)
        Fraction of the light moved to each nearest and each diagonal neighbour.
    boxes : int
        Number of unit-pixel boxes the profile is convolved with.

    Returns
    -------
    (ndarray, ndarray)
        Increasing radii and the fraction of the total light within each.

    """
    os_ = max(4, min(_OVERSAMPLE, math.ceil(_OVERSAMPLE / sigma_pix)))
    half = math.ceil(7.0 * math.sqrt(sigma_pix**2 + boxes / 12.0) + 2)
    u = np.arange(-half * os_, half * os_ + 1) / os_
    prof = np.exp(-0.5 * (u / sigma_pix) ** 2)
    box = np.full(os_, 1.0 / os_)
    for _ in range(boxes):
        prof = np.convolve(prof, box, mode="same")
    img = np.outer(prof, prof)
    alpha, beta = ipc
    if alpha or beta:
        moved = np.zeros_like(img)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                w = {0: 0.0, 1: alpha, 2: beta}[abs(dx) + abs(dy)]
                if w:
                    moved += w * np.roll(img, (dy * os_, dx * os_), axis=(0, 1))
        img = img * (1.0 - 4.0 * (alpha + beta)) + moved
    r = np.hypot(u[:, None], u[None, :]).ravel()
    order = np.argsort(r, kind="stable")
    ee = np.cumsum(img.ravel()[order])
    return r[order], ee / ee[-1]


def apcorr_rows(instrument: str, fwhm_arcsec: float, scale_arcsec: float) -> list[tuple]:
    """``(eefraction, radius [pix], apcorr, skyin, skyout)`` per fraction of the APCORR table.

    ``apcorr`` is ``1 / eefraction`` (total over aperture flux); the sky annulus starts 2
    pixels beyond the radius holding 99.9% of the light and is at least 5 pixels wide.
    """
    sigma = fwhm_arcsec * _FWHM_TO_SIGMA / scale_arcsec
    ipc = IPC_NOMINAL.get(instrument.upper(), IPC_NOMINAL["default"])
    r, ee = encircled_energy(round(sigma, 6), ipc)
    radius = np.interp((*EE_FRACTIONS, 0.999), ee, r)
    skyin = float(radius[-1]) + 2.0
    skyout = skyin + max(5.0, skyin)
    return [
        (ee_f, float(rad), 1.0 / ee_f, skyin, skyout)
        for ee_f, rad in zip(EE_FRACTIONS, radius[:-1], strict=True)
    ]
