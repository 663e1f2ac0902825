"""Detector geometry from the SIAF: pixels <-> V2/V3, distortion models, pixel areas.

Pixel coordinates are 0-based ``(x, y)`` in the DMS (science) frame of the window a
geometry describes (full frame or subarray); V2/V3 are in arcsec.  The polynomials run in
compiled (numba) loops over arrays of any shape, with coefficients read once from the SIAF
(no pysiaf calls).

* :func:`sci_to_v2v3` applies the SIAF science -> ideal polynomial and the planar ideal ->
  V2/V3 rotation (pysiaf's default ``planar_approximation``); NIRSpec goes through the
  grating-wheel plane and the GWA -> OTE transform of the chosen TA filter.
* :func:`v2v3_to_sci` starts from the SIAF inverse polynomials and refines with Newton
  steps on the forward transform, so that round trips agree to ~1e-10 pixel.
* :func:`distortion_models` builds astropy models (forward with ``.inverse``) shaped like
  the official DISTORTION reference files; the inverse polynomial is refitted to the
  forward one, as the SIAF inverse is only good to ~0.2 pixel at the detector corners.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from webbcal.errors import InputError
from webbcal.instruments.detectors import get_detector
from webbcal.instruments.siaf import (
    V3_TO_YAN_OFFSET,
    ApertureGeometry,
    SiafPolynomial,
    aperture_geometry,
)
from webbcal.instruments.subarrays import Subarray, get_subarray

if TYPE_CHECKING:
    from astropy.modeling import Model

__all__ = [
    "PixelArea",
    "distortion_models",
    "get_geometry",
    "idl_to_v2v3",
    "nominal_pixel_area",
    "pixel_area_map",
    "sci_to_v2v3",
    "v2v3_to_idl",
    "v2v3_to_sci",
]

#: Square arcseconds per steradian.
ARCSEC2_PER_SR = (180.0 / np.pi * 3600.0) ** 2


# --------------------------------------------------------------------------- geometry
def get_geometry(
    instrument: str,
    detector: str,
    subarray: Subarray | str | None = None,
    *,
    filter: str | None = None,
) -> ApertureGeometry:
    """Geometry of a detector's full-frame SIAF aperture, on the pixels of a window.

    Parameters
    ----------
    instrument, detector : str
        INSTRUME and DETECTOR values.
    subarray : Subarray or str, optional
        The window whose pixels the coordinates refer to (full frame when omitted).
    filter : str, optional
        NIRSpec target-acquisition filter (CLEAR, F110W, F140X) for the GWA -> OTE
        transform; default CLEAR.  Ignored for other instruments.

    Raises
    ------
    webbcal.errors.InputError
        For unknown names, a window without position, or a detector the SIAF does not
        describe (MIRI MRS).
    """
    det = get_detector(instrument, detector)
    if isinstance(subarray, str):
        subarray = get_subarray(det.instrument, subarray, det.name)
    nrs_filter = (filter or "CLEAR").upper() if det.instrument == "NIRSPEC" else None
    return _geometry(det.instrument, det.name, subarray, nrs_filter)


@functools.lru_cache(maxsize=256)
def _geometry(
    instrument: str, detector: str, subarray: Subarray | None, nrs_filter: str | None
) -> ApertureGeometry:
    det = get_detector(instrument, detector)
    if det.siaf_aperture is None:
        raise InputError(f"the SIAF has no detector aperture for {instrument} {detector}")
    full = aperture_geometry(det.siaf_aperture, nirspec_filter=nrs_filter or "CLEAR")
    if subarray is None:
        return replace(full, shape=det.shape)
    if not subarray.has_position:
        raise InputError(f"{instrument} subarray {subarray.name} has no known position")
    return replace(
        full, xoffset=subarray.xstart - 1, yoffset=subarray.ystart - 1, shape=subarray.shape
    )


# --------------------------------------------------------------------------- transforms
def _offsets(g: ApertureGeometry, x, y) -> tuple[np.ndarray, np.ndarray]:
    """0-based grid pixels -> offsets from the aperture's reference point."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return x + (1.0 + g.xoffset - g.x_sci_ref), y + (1.0 + g.yoffset - g.y_sci_ref)


def _scalar_or_array(v: np.ndarray):
    return v[()] if isinstance(v, np.ndarray) and v.ndim == 0 else v


def _rotation(g: ApertureGeometry) -> tuple[float, float, float, float]:
    """Ideal -> V2/V3 matrix ``[[a, b], [c, d]]``."""
    ang = np.deg2rad(g.v3_idl_yangle)
    p = g.vidl_parity
    return p * np.cos(ang), np.sin(ang), -p * np.sin(ang), np.cos(ang)


def _forward(g: ApertureGeometry, dx, dy, jacobian: bool = False):
    """Offsets from the reference pixel -> V2/V3 [arcsec] (and the 2x2 Jacobian)."""
    if g.is_nirspec:
        if not jacobian:
            gx, gy = g.sci2idl(dx, dy)
            ox, oy = g.gwa_ote(-gx, -gy)  # the GWA mirror flips the direction (no tilt)
            return 3600.0 * ox, -3600.0 * oy - V3_TO_YAN_OFFSET
        gx, gy, (a1, b1, c1, d1) = g.sci2idl.evaluate(dx, dy, jacobian=True)
        ox, oy, (a2, b2, c2, d2) = g.gwa_ote.evaluate(-gx, -gy, jacobian=True)
        # d(V2, V3)/d(dx, dy) = diag(3600, -3600) @ J_ote @ (-I) @ J_gwa
        jac = (
            -3600.0 * (a2 * a1 + b2 * c1),
            -3600.0 * (a2 * b1 + b2 * d1),
            3600.0 * (c2 * a1 + d2 * c1),
            3600.0 * (c2 * b1 + d2 * d1),
        )
        return 3600.0 * ox, -3600.0 * oy - V3_TO_YAN_OFFSET, jac
    if not jacobian:
        return _ideal_to_v2v3(g, *g.sci2idl(dx, dy))
    xi, yi, (pa, pb, pc, pd) = g.sci2idl.evaluate(dx, dy, jacobian=True)
    a, b, c, d = _rotation(g)
    jac = (a * pa + b * pc, a * pb + b * pd, c * pa + d * pc, c * pb + d * pd)
    return *_ideal_to_v2v3(g, xi, yi), jac


def _ideal_to_v2v3(g: ApertureGeometry, xi, yi):
    """Ideal coordinates -> V2/V3 (planar rotation about the reference point)."""
    a, b, c, d = _rotation(g)
    return g.v2_ref + a * xi + b * yi, g.v3_ref + c * xi + d * yi


def _v2v3_to_ideal(g: ApertureGeometry, v2, v3):
    """V2/V3 -> ideal coordinates (inverse of the planar rotation)."""
    a, b, c, d = _rotation(g)
    det = a * d - b * c
    dv2, dv3 = v2 - g.v2_ref, v3 - g.v3_ref
    return (d * dv2 - b * dv3) / det, (-c * dv2 + a * dv3) / det


def idl_to_v2v3(geometry: ApertureGeometry, x_idl, y_idl) -> tuple[np.ndarray, np.ndarray]:
    """Ideal coordinates of the aperture [arcsec] -> ``(V2, V3)`` [arcsec] (planar)."""
    v2, v3 = _ideal_to_v2v3(
        geometry, np.asarray(x_idl, dtype=float), np.asarray(y_idl, dtype=float)
    )
    return _scalar_or_array(v2), _scalar_or_array(v3)


def v2v3_to_idl(geometry: ApertureGeometry, v2, v3) -> tuple[np.ndarray, np.ndarray]:
    """``(V2, V3)`` [arcsec] -> ideal coordinates of the aperture [arcsec] (planar)."""
    x, y = _v2v3_to_ideal(geometry, np.asarray(v2, dtype=float), np.asarray(v3, dtype=float))
    return _scalar_or_array(x), _scalar_or_array(y)


def sci_to_v2v3(geometry: ApertureGeometry, x, y) -> tuple[np.ndarray, np.ndarray]:
    """0-based pixel coordinates of ``geometry``'s window -> ``(V2, V3)`` [arcsec]."""
    v2, v3 = _forward(geometry, *_offsets(geometry, x, y))
    return _scalar_or_array(v2), _scalar_or_array(v3)


def v2v3_to_sci(
    geometry: ApertureGeometry, v2, v3, *, tol: float = 1e-10, max_iter: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """``(V2, V3)`` [arcsec] -> 0-based pixel coordinates of ``geometry``'s window.

    The SIAF inverse polynomials give the start; Newton steps on the forward polynomials
    continue until the correction is below ``tol`` pixel, so that round trips through
    :func:`sci_to_v2v3` close to ~1e-10 pixel.
    """
    g = geometry
    v2 = np.asarray(v2, dtype=float)
    v3 = np.asarray(v3, dtype=float)
    if g.is_nirspec:
        xan, yan = v2 / 3600.0, (-v3 - V3_TO_YAN_OFFSET) / 3600.0
        wx, wy = g.gwa_ote.solve(xan, yan, *g.ote_gwa(xan, yan), tol=1e-15, max_iter=max_iter)
        u, v = -wx, -wy  # GWA sky side -> detector side
    else:
        u, v = _v2v3_to_ideal(g, v2, v3)
    dx, dy = g.sci2idl.solve(u, v, *g.idl2sci(u, v), tol=tol, max_iter=max_iter)
    x = dx + (g.x_sci_ref - 1.0 - g.xoffset)
    y = dy + (g.y_sci_ref - 1.0 - g.yoffset)
    return _scalar_or_array(x), _scalar_or_array(y)


# --------------------------------------------------------------------------- astropy models
def _astropy_pair(p: SiafPolynomial) -> Model:
    """``Polynomial2D & Polynomial2D`` evaluating the pair (same inputs to both)."""
    from astropy.modeling import models

    px, py = p.exponents
    u, v = (
        models.Polynomial2D(p.degree, **{f"c{i}_{j}": float(c) for i, j, c in zip(px, py, cs)})
        for cs in p.coef
    )
    return models.Mapping((0, 1, 0, 1)) | (u & v)


def _fit_inverse(g: ApertureGeometry, degree: int) -> SiafPolynomial:
    """Fit least-squares polynomials (u, v) -> (dx, dy) to the forward transform.

    (u, v) are ideal coordinates (NIRSpec: V2, V3 offsets); the fit grid covers the full
    frame plus a 16-pixel margin.
    """
    ny, nx = g.y_sci_size, g.x_sci_size
    xs = np.linspace(-16.0, nx + 16.0, 60)
    ys = np.linspace(-16.0, ny + 16.0, 60)
    sx, sy = np.meshgrid(xs + 1.0 - g.x_sci_ref, ys + 1.0 - g.y_sci_ref)
    sx, sy = sx.ravel(), sy.ravel()
    u, v = _to_fit_frame(g, *_forward(g, sx, sy))
    fit = SiafPolynomial(degree, np.zeros((2, (degree + 1) * (degree + 2) // 2)))
    px, py = fit.exponents
    design = u[:, None] ** px * v[:, None] ** py
    norm = np.linalg.norm(design, axis=0)
    coef = np.linalg.lstsq(design / norm, np.stack([sx, sy], axis=1), rcond=None)[0]
    return SiafPolynomial(degree, np.ascontiguousarray((coef / norm[:, None]).T))


def _to_fit_frame(g: ApertureGeometry, v2, v3):
    """V2/V3 -> the frame the inverse polynomial is fitted in (ideal; NIRSpec: dV2, dV3)."""
    if g.is_nirspec:
        return v2 - g.v2_ref, v3 - g.v3_ref
    return _v2v3_to_ideal(g, v2, v3)


def distortion_models(
    instrument: str,
    detector: str,
    subarray: Subarray | str | None = None,
    *,
    filter: str | None = None,
    inverse_degree: int | None = None,
) -> tuple[Model, Model]:
    """Astropy models pixel -> V2/V3 [arcsec] and back, built from the SIAF polynomials.

    Without ``subarray`` the input is the full-frame 0-based pixel, as in the official
    DISTORTION reference files (``Shift(1) & Shift(1) | Shift(-XSciRef) & Shift(-YSciRef)
    | Mapping | Polynomial2D & Polynomial2D | ideal -> V2/V3``); with it, a
    ``Shift(SUBSTRT1 - 1) & Shift(SUBSTRT2 - 1)`` is put in front.  The forward model's
    ``.inverse`` is set to the returned inverse, a polynomial of degree ``inverse_degree``
    (default: SIAF degree + 3) fitted to the forward transform.
    """
    from astropy.modeling import models  # imported here: it takes seconds to import

    g = get_geometry(instrument, detector, subarray, filter=filter)
    core = (
        (models.Shift(1.0) & models.Shift(1.0))
        | (models.Shift(-g.x_sci_ref) & models.Shift(-g.y_sci_ref))
        | _astropy_pair(g.sci2idl)
    )
    if g.is_nirspec:
        core = (
            core
            | (models.Scale(-1.0) & models.Scale(-1.0))
            | _astropy_pair(g.gwa_ote)
            | (models.Scale(3600.0) & (models.Scale(-3600.0) | models.Shift(-V3_TO_YAN_OFFSET)))
        )
    else:
        a, b, c, d = _rotation(g)
        core = (
            core
            | models.Mapping((0, 1, 0, 1))
            | (
                models.Polynomial2D(1, c0_0=g.v2_ref, c1_0=a, c0_1=b)
                & models.Polynomial2D(1, c0_0=g.v3_ref, c1_0=c, c0_1=d)
            )
        )

    fit = _fit_inverse(g, g.degree + 3 if inverse_degree is None else int(inverse_degree))
    if g.is_nirspec:
        to_fit = models.Shift(-g.v2_ref) & models.Shift(-g.v3_ref)
    else:
        a, b, c, d = _rotation(g)
        det = a * d - b * c
        to_fit = (
            (models.Shift(-g.v2_ref) & models.Shift(-g.v3_ref))
            | models.Mapping((0, 1, 0, 1))
            | (
                models.Polynomial2D(1, c1_0=d / det, c0_1=-b / det)
                & models.Polynomial2D(1, c1_0=-c / det, c0_1=a / det)
            )
        )
    inverse = (
        to_fit
        | _astropy_pair(fit)
        | (models.Shift(g.x_sci_ref - 1.0) & models.Shift(g.y_sci_ref - 1.0))
    )
    if g.xoffset or g.yoffset:
        core = (models.Shift(float(g.xoffset)) & models.Shift(float(g.yoffset))) | core
        inverse = inverse | (models.Shift(-float(g.xoffset)) & models.Shift(-float(g.yoffset)))
    forward = core
    forward.inverse = inverse
    return forward, inverse


# --------------------------------------------------------------------------- pixel areas
class PixelArea(NamedTuple):
    """Nominal pixel area."""

    arcsec2: float
    sr: float


def nominal_pixel_area(instrument: str, detector: str) -> PixelArea:
    """Pixel area ``XSciScale * YSciScale`` of a detector's full-frame SIAF aperture."""
    g = get_geometry(instrument, detector)
    return PixelArea(g.pixel_area, g.pixel_area / ARCSEC2_PER_SR)


def _abs_det_jacobian(g: ApertureGeometry, dx, dy) -> np.ndarray:
    _, _, (a, b, c, d) = _forward(g, dx, dy, jacobian=True)
    return np.abs(a * d - b * c)


def pixel_area_map(
    instrument: str,
    detector: str,
    subarray: Subarray | str | None = None,
    *,
    filter: str | None = None,
) -> np.ndarray:
    """Relative pixel area on the sky, ``(ny, nx)`` of the window, 1 at the reference pixel.

    The area is ``|det J|`` of the pixel -> V2/V3 transform (the planar ideal -> V2/V3 step
    is a rotation, so this is the ideal-frame area), divided by its value at the
    aperture's reference point (XSciRef, YSciRef of the full-frame aperture).
    """
    g = get_geometry(instrument, detector, subarray, filter=filter)
    ny, nx = g.grid_shape
    ref = float(_abs_det_jacobian(g, 0.0, 0.0))
    xs = np.arange(nx, dtype=float) + (1.0 + g.xoffset - g.x_sci_ref)
    ys = np.arange(ny, dtype=float) + (1.0 + g.yoffset - g.y_sci_ref)
    out = np.empty((ny, nx))
    rows = max(1, 524288 // nx)  # bound the temporaries to ~4 MB per array
    for y0 in range(0, ny, rows):
        sx, sy = np.meshgrid(xs, ys[y0 : y0 + rows])
        out[y0 : y0 + rows] = _abs_det_jacobian(g, sx, sy) / ref
    return out
