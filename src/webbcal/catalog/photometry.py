"""The source catalog table in the official ``_cat.ecsv`` column layout.

From a background-subtracted image in Jy per pixel (and its ERR), its segmentation and WCS,
:func:`source_table` computes, per segment (label order):

* ``label``, ``xcentroid``/``ycentroid`` (image moments of the segment, 0-based pixels),
  ``sky_centroid``;
* ``aper_bkg_flux`` (+ ``_err``): the local background per pixel -- the clipped median in
  the APCORR annulus -- and its standard error ``sqrt(pi / 2) std / sqrt(n)``;
* ``aper<ee>_flux`` (+ ``_err``) in the three encircled-energy apertures (exact pixel
  overlaps), local background subtracted (its error added in quadrature);
  ``aper_total_flux`` = the largest aperture times its aperture correction;
* AB magnitudes ``-2.5 log10(flux / 3631 Jy)`` (+ errors ``1.0857 err / flux``) and Vega
  magnitudes (AB minus the ABVEGAOFFSET) of every aperture flux and of the isophotal flux;
* ``CI_50_30``, ``CI_70_50``, ``CI_70_30`` (aperture flux ratios) and ``is_extended``
  (either of the first two above ``ci1_star_threshold``/``ci2_star_threshold``);
* DAOFIND ``sharpness`` and ``roundness`` (the symmetry roundness) at the source peak;
* ``nn_label``, ``nn_dist`` [pixels]: the nearest other source;
* ``isophotal_flux`` (+ ``_err``), ``isophotal_area`` [pix**2] (the segment);
* ``semimajor_sigma``, ``semiminor_sigma`` [pix], ``ellipticity``, ``orientation`` [deg,
  from +x counter-clockwise], ``sky_orientation`` [deg, E of N];
* ``sky_bbox_ll``, ``_ul``, ``_lr``, ``_ur``: the corners of the segment's bounding box.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from webbcal.catalog.refdata import ApertureParams
from webbcal.kernels.aperture import annulus_statistics, aperture_sums
from webbcal.kernels.segment import segment_moments, shape_parameters
from webbcal.kernels.starfind import convolve_kernel, dao_properties, star_kernel

__all__ = ["TableProduct", "source_table"]

_AB_ZERO_JY = 3631.0


class TableProduct:
    """A table saved as a product (ECSV, or FITS) through a run's all-or-nothing outputs."""

    def __init__(self, table: Any, fmt: str = "ecsv") -> None:
        self.table = table
        self.format = "ascii.ecsv" if fmt == "ecsv" else "fits"

    def save(self, path: str | os.PathLike) -> Path:
        """Write the table at ``path``."""
        self.table.write(path, format=self.format, overwrite=True)
        return Path(path)


_MAG_ERR = 2.5 / math.log(10.0)


def _magnitudes(flux: np.ndarray, err: np.ndarray, offset: float):
    with np.errstate(invalid="ignore", divide="ignore"):
        positive = flux > 0
        ab = np.where(positive, -2.5 * np.log10(np.where(positive, flux, 1.0) / _AB_ZERO_JY),
                      np.nan)  # fmt: skip
        ab_err = np.where(positive, _MAG_ERR * err / np.where(positive, flux, 1.0), np.nan)
    return ab, ab_err, ab - offset, ab_err


def _sky(wcs: Any, x: np.ndarray, y: np.ndarray) -> SkyCoord:
    ra, dec = wcs(np.asarray(x, float), np.asarray(y, float), with_bounding_box=False)
    return SkyCoord(ra=np.asarray(ra) * u.deg, dec=np.asarray(dec) * u.deg, frame="icrs")


def _sky_orientation(wcs: Any, x, y, theta_deg) -> np.ndarray:
    """Position angle (E of N) of the direction ``theta`` (from +x) at each (x, y)."""
    t = np.radians(theta_deg)
    a = _sky(wcs, x, y)
    b = _sky(wcs, x + np.cos(t), y + np.sin(t))
    return np.mod(a.position_angle(b).to_value(u.deg), 360.0)


def _dao_stats(data, xs, ys, fwhm):
    """DAOFIND sharpness and roundness at the pixels nearest the centroids."""
    kernel = star_kernel(fwhm)
    conv = convolve_kernel(data, kernel.data)
    r = kernel.radius
    ny, nx = data.shape
    ix = np.rint(np.nan_to_num(xs, nan=-1e9)).astype(np.int64)
    iy = np.rint(np.nan_to_num(ys, nan=-1e9)).astype(np.int64)
    inside = (ix >= r) & (ix < nx - r) & (iy >= r) & (iy < ny - r)
    sharp = np.full(xs.size, np.nan)
    round1 = np.full(xs.size, np.nan)
    if inside.any():
        p = dao_properties(data, conv, iy[inside], ix[inside], kernel.mask, kernel.gauss,
                           kernel.sigma)  # fmt: skip
        sharp[inside] = p[:, 2]
        round1[inside] = p[:, 3]
    return sharp, round1


def _nearest(labels: np.ndarray, x: np.ndarray, y: np.ndarray):
    from scipy.spatial import cKDTree

    n = labels.size
    nn_label = np.full(n, -1, np.int64)
    nn_dist = np.full(n, np.nan)
    if n < 2:
        return nn_label, nn_dist
    dist, idx = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    nn_label[:] = labels[idx[:, 1]]
    nn_dist[:] = dist[:, 1]
    return nn_label, nn_dist


def source_table(
    data: np.ndarray,
    err: np.ndarray,
    bad: np.ndarray,
    segm: np.ndarray,
    nlabels: int,
    wcs: Any,
    aper: ApertureParams,
    abvega: float,
    ci_thresholds: tuple[float, float],
    kernel_fwhm: float,
) -> QTable:
    """The catalog of the segments of ``segm`` (see the module docstring).

    ``data`` (background subtracted) and ``err`` are in Jy per pixel.
    """
    clean = np.where(bad, np.float32(0.0), data).astype(np.float32)
    m = segment_moments(clean, np.asarray(err, np.float32), segm, nlabels)
    labels = np.arange(1, nlabels + 1)
    keep = np.isfinite(m[:, 3]) & np.isfinite(m[:, 4])
    m, labels = m[keep], labels[keep]
    x, y = m[:, 3], m[:, 4]
    radii = np.asarray(aper.radii, float)
    flux, var, area = aperture_sums(clean, np.asarray(err, np.float32), bad, x, y, radii)
    bkg = annulus_statistics(clean, bad, x, y, aper.bkg_inner, aper.bkg_outer)
    with np.errstate(invalid="ignore", divide="ignore"):
        bkg_err = np.sqrt(np.pi / 2.0) * bkg[:, 1] / np.sqrt(bkg[:, 2])
    bkg_med = np.nan_to_num(bkg[:, 0])
    bkg_err0 = np.nan_to_num(bkg_err)
    flux = flux - bkg_med[:, None] * area
    flux_err = np.sqrt(var + (bkg_err0[:, None] * area) ** 2)

    t = QTable()
    t["label"] = labels.astype(np.int32)
    t["xcentroid"] = x
    t["ycentroid"] = y
    t["sky_centroid"] = _sky(wcs, x, y)
    t["aper_bkg_flux"] = bkg[:, 0] * u.Jy
    t["aper_bkg_flux_err"] = bkg_err * u.Jy
    names = [f"aper{ee}" for ee in aper.ee]
    for q, name in enumerate(names):
        t[f"{name}_flux"] = flux[:, q] * u.Jy
        t[f"{name}_flux_err"] = flux_err[:, q] * u.Jy
    total = flux[:, -1] * aper.corrections[-1]
    total_err = flux_err[:, -1] * aper.corrections[-1]
    t["aper_total_flux"] = total * u.Jy
    t["aper_total_flux_err"] = total_err * u.Jy
    mags = {n: _magnitudes(flux[:, q], flux_err[:, q], abvega) for q, n in enumerate(names)}
    mags["aper_total"] = _magnitudes(total, total_err, abvega)
    for system, (value, error) in (("abmag", (0, 1)), ("vegamag", (2, 3))):
        for name, values in mags.items():
            t[f"{name}_{system}"] = values[value] * u.mag
            t[f"{name}_{system}_err"] = values[error] * u.mag
    with np.errstate(invalid="ignore", divide="ignore"):
        ci = (flux[:, 1] / flux[:, 0], flux[:, 2] / flux[:, 1], flux[:, 2] / flux[:, 0])
    ee = aper.ee
    t[f"CI_{ee[1]}_{ee[0]}"] = ci[0]
    t[f"CI_{ee[2]}_{ee[1]}"] = ci[1]
    t[f"CI_{ee[2]}_{ee[0]}"] = ci[2]
    t["is_extended"] = (ci[0] > ci_thresholds[0]) | (ci[1] > ci_thresholds[1])
    sharp, round1 = _dao_stats(clean, x, y, kernel_fwhm)
    t["sharpness"] = sharp
    t["roundness"] = round1
    nn_label, nn_dist = _nearest(labels, x, y)
    t["nn_label"] = nn_label.astype(np.int32)
    t["nn_dist"] = nn_dist * u.pix
    iso, iso_err = m[:, 1], np.sqrt(m[:, 2])
    t["isophotal_flux"] = iso * u.Jy
    t["isophotal_flux_err"] = iso_err * u.Jy
    ab, ab_err, vega, vega_err = _magnitudes(iso, iso_err, abvega)
    t["isophotal_abmag"] = ab * u.mag
    t["isophotal_abmag_err"] = ab_err * u.mag
    t["isophotal_vegamag"] = vega * u.mag
    t["isophotal_vegamag_err"] = vega_err * u.mag
    t["isophotal_area"] = m[:, 0] * u.pix**2
    major, minor, theta, ellipticity = shape_parameters(m[:, 5], m[:, 6], m[:, 7])
    t["semimajor_sigma"] = major * u.pix
    t["semiminor_sigma"] = minor * u.pix
    t["ellipticity"] = ellipticity
    t["orientation"] = theta * u.deg
    t["sky_orientation"] = _sky_orientation(wcs, x, y, theta) * u.deg
    x0, x1, y0, y1 = m[:, 8] - 0.5, m[:, 9] + 0.5, m[:, 10] - 0.5, m[:, 11] + 0.5
    t["sky_bbox_ll"] = _sky(wcs, x0, y0)
    t["sky_bbox_ul"] = _sky(wcs, x0, y1)
    t["sky_bbox_lr"] = _sky(wcs, x1, y0)
    t["sky_bbox_ur"] = _sky(wcs, x1, y1)
    return t
