"""A FITS TAN-SIP approximation of a gwcs, for tools that read only FITS WCS keywords.

The fit follows the official recipe (gwcs ``to_fits_sip`` as used by assign_wcs) with a
direct linear least-squares solution, which is fast enough to run on every exposure:

1. CRPIX is the centre of the bounding box and CRVAL its sky position;
2. an ``npoints`` x ``npoints`` grid spanning the bounding box is mapped to the sky and
   projected (gnomonic, LONPOLE = 180) about CRVAL to intermediate world coordinates
   ``(u, v)`` [deg];
3. ``(u, v)`` are fitted as polynomials of ``(dx, dy) = pixel - CRPIX`` with terms of total
   order 1..N: the linear terms are the CD matrix, ``CD^-1`` of the others are the SIP
   ``A_i_j``/``B_i_j``; N is the lowest order (<= 6) whose largest residual, in pixels, is
   below ``max_pix_error`` (or the given degree);
4. the inverse ``AP_i_j``/``BP_i_j`` (orders 2..M) are fitted to ``pixel - U`` as functions of
   ``U = CD^-1 (u, v)``, M chosen the same way with ``max_inv_pix_error``.

The result is a dict of FITS keywords (upper case) with the achieved errors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gwcs import WCS

log = logging.getLogger(__name__)

__all__ = ["MAX_SIP_DEGREE", "SipFit", "fit_sip"]

#: Highest SIP order written (the keyword table holds orders 2..6).
MAX_SIP_DEGREE = 6


@dataclass
class SipFit:
    """A fitted TAN-SIP WCS.

    Attributes
    ----------
    keywords : dict
        FITS keyword -> value (CTYPE, CRPIX, CRVAL, CD, A_ORDER, A_i_j ... BP_i_j).
    degree, inv_degree : int
        Orders of the forward and inverse polynomials.
    max_error, max_inv_error : float
        Largest residual on the fit grid [pixels] of the forward and inverse fits.
    """

    keywords: dict[str, float | int | str] = field(default_factory=dict)
    degree: int = 1
    inv_degree: int = 1
    max_error: float = 0.0
    max_inv_error: float = 0.0


def _terms(degree: int, lowest: int) -> list[tuple[int, int]]:
    return [(i - j, j) for i in range(lowest, degree + 1) for j in range(i + 1)]


def _design(x: np.ndarray, y: np.ndarray, terms: list[tuple[int, int]], norm: float) -> np.ndarray:
    xs, ys = x / norm, y / norm
    return np.column_stack([xs**i * ys**j for i, j in terms])


def _solve(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(design, target, rcond=None)[0]


def _tan_project(ra: np.ndarray, dec: np.ndarray, crval: tuple[float, float]):
    """Gnomonic projection about ``crval`` (LONPOLE 180): intermediate coordinates [deg]."""
    a, d = np.radians(ra), np.radians(dec)
    a0, d0 = np.radians(crval[0]), np.radians(crval[1])
    cos_c = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(a - a0)
    xi = np.cos(d) * np.sin(a - a0) / cos_c
    eta = (np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(a - a0)) / cos_c
    return np.degrees(xi), np.degrees(eta)


def _pick(
    fits: list[tuple[int, float, object]], tolerance: float, fixed: int | None
) -> tuple[int, float, object]:
    if fixed is not None:
        return next(f for f in fits if f[0] == fixed)
    for fit in fits:
        if fit[1] <= tolerance:
            return fit
    return min(fits, key=lambda f: f[1])


def fit_sip(
    wcs: WCS,
    bbox: tuple[tuple[float, float], tuple[float, float]],
    *,
    max_pix_error: float = 0.01,
    degree: int | None = None,
    max_inv_pix_error: float = 0.01,
    inv_degree: int | None = None,
    npoints: int = 12,
) -> SipFit:
    """Fit a TAN-SIP approximation of ``wcs`` over ``bbox`` (see the module docstring).

    Parameters
    ----------
    wcs : gwcs.WCS
        Detector -> world (RA, Dec in deg).
    bbox : ((xmin, xmax), (ymin, ymax))
        The pixel domain to fit.
    max_pix_error, max_inv_pix_error : float
        Largest residual [pixels] accepted when choosing the orders.
    degree, inv_degree : int, optional
        Fixed orders (1..6) instead of the automatic choice.
    npoints : int
        Grid points per axis.

    Returns
    -------
    SipFit
    """
    for name, value in (("degree", degree), ("inv_degree", inv_degree)):
        if value is not None and not 1 <= value <= MAX_SIP_DEGREE:
            raise ValueError(f"SIP {name} must be between 1 and {MAX_SIP_DEGREE}, got {value}")
    (x0, x1), (y0, y1) = bbox
    crpix = (0.5 * (x0 + x1), 0.5 * (y0 + y1))
    ra0, dec0 = wcs(*crpix, with_bounding_box=False)
    crval = (float(ra0) % 360.0, float(dec0))
    gx, gy = np.meshgrid(np.linspace(x0, x1, npoints), np.linspace(y0, y1, npoints))
    gx, gy = gx.ravel(), gy.ravel()
    ra, dec = wcs(gx, gy, with_bounding_box=False)
    u, v = _tan_project(np.asarray(ra), np.asarray(dec), crval)
    dx, dy = gx - crpix[0], gy - crpix[1]
    norm = max(abs(x1 - x0), abs(y1 - y0), 1.0) / 2.0
    target = np.column_stack([u, v])

    forward = []
    for deg in range(1, MAX_SIP_DEGREE + 1):
        terms = _terms(deg, 1)
        coef = _solve(_design(dx, dy, terms, norm), target)
        cd = np.array([[coef[0, 0], coef[1, 0]], [coef[0, 1], coef[1, 1]]]) / norm
        cd_inv = np.linalg.inv(cd)
        resid = (_design(dx, dy, terms, norm) @ coef) - target
        pix = resid @ cd_inv.T
        forward.append((deg, float(np.max(np.hypot(pix[:, 0], pix[:, 1]))), (terms, coef, cd)))
    deg, err, (terms, coef, cd) = _pick(forward, max_pix_error, degree)
    cd_inv = np.linalg.inv(cd)
    higher = [(k, t) for k, t in enumerate(terms) if t[0] + t[1] >= 2]
    sip_a = {}
    sip_b = {}
    for k, (i, j) in higher:
        scale = norm ** (i + j)
        a, b = cd_inv @ coef[k] / scale
        sip_a[(i, j)] = float(a)
        sip_b[(i, j)] = float(b)

    big_u, big_v = (target @ cd_inv.T).T
    inverse = []
    inv_target = np.column_stack([dx - big_u, dy - big_v])
    for ideg in range(1, MAX_SIP_DEGREE + 1):
        iterms = _terms(ideg, 2)
        if not iterms:
            resid = inv_target
            inverse.append((ideg, float(np.max(np.hypot(resid[:, 0], resid[:, 1]))), ([], None)))
            continue
        design = _design(big_u, big_v, iterms, norm)
        icoef = _solve(design, inv_target)
        resid = design @ icoef - inv_target
        inverse.append((ideg, float(np.max(np.hypot(resid[:, 0], resid[:, 1]))), (iterms, icoef)))
    ideg, ierr, (iterms, icoef) = _pick(inverse, max_inv_pix_error, inv_degree)

    kw: dict[str, float | int | str] = {
        "WCSAXES": 2,
        "CTYPE1": "RA---TAN-SIP",
        "CTYPE2": "DEC--TAN-SIP",
        "CUNIT1": "deg",
        "CUNIT2": "deg",
        "CRPIX1": crpix[0] + 1.0,
        "CRPIX2": crpix[1] + 1.0,
        "CRVAL1": crval[0],
        "CRVAL2": crval[1],
        "CD1_1": float(cd[0, 0]),
        "CD1_2": float(cd[0, 1]),
        "CD2_1": float(cd[1, 0]),
        "CD2_2": float(cd[1, 1]),
        "A_ORDER": deg,
        "B_ORDER": deg,
    }
    for (i, j), value in sip_a.items():
        kw[f"A_{i}_{j}"] = value
    for (i, j), value in sip_b.items():
        kw[f"B_{i}_{j}"] = value
    kw["AP_ORDER"] = ideg
    kw["BP_ORDER"] = ideg
    for k, (i, j) in enumerate(iterms):
        scale = norm ** (i + j)
        kw[f"AP_{i}_{j}"] = float(icoef[k, 0] / scale)
        kw[f"BP_{i}_{j}"] = float(icoef[k, 1] / scale)
    log.debug("SIP fit: order %d (%.2g pix), inverse order %d (%.2g pix)", deg, err, ideg, ierr)
    return SipFit(kw, deg, ideg, err, ierr)
