"""Read the JWST SIAF (Science Instrument Aperture File) shipped with pysiaf, without pysiaf.

Importing :mod:`pysiaf` makes an HTTP request (a PRD version check) with no timeout, so the
runtime code never imports it: it locates pysiaf's installed data directory with
:func:`importlib.util.find_spec` (which does not execute the package) and parses the SIAF
XML of the newest PRD release there.  Nothing is downloaded.

The polynomial conventions follow JWST-STScI-001550 (as implemented by pysiaf):

* science frame: 1-based pixel coordinates of an aperture; ``dx = x_sci - XSciRef``;
* ideal frame: ``x_idl = sum_ij Sci2IdlX{i}{j} * dx**(i-j) * dy**j`` [arcsec];
* V2/V3 (planar approximation)::

      V2 = V2Ref + VIdlParity * x_idl * cos(a) + y_idl * sin(a)
      V3 = V3Ref - VIdlParity * x_idl * sin(a) + y_idl * cos(a),   a = V3IdlYAngle

* NIRSpec: the detector apertures' polynomials map science pixels to the grating-wheel
  (GWA) plane; the ``<FILTER>_GWA_OTE`` transform apertures map the GWA plane to the
  telescope (XAN, YAN) [deg]; ``V2 = XAN``, ``V3 = -YAN - 468"``.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from webbcal.errors import InputError
from webbcal.instruments._polynomials import poly_eval, poly_invert

__all__ = [
    "ApertureGeometry",
    "SiafPolynomial",
    "aperture_geometry",
    "prd_version",
    "siaf_subarray_start",
]

_SIAF_FILES = {
    "NIRCAM": "NIRCam_SIAF.xml",
    "NIRISS": "NIRISS_SIAF.xml",
    "NIRSPEC": "NIRSpec_SIAF.xml",
    "MIRI": "MIRI_SIAF.xml",
    "FGS": "FGS_SIAF.xml",
}

#: Aperture-name prefix -> (instrument, DETECTOR keyword value or None).
_PREFIXES = {
    "NRCA1": ("NIRCAM", "NRCA1"),
    "NRCA2": ("NIRCAM", "NRCA2"),
    "NRCA3": ("NIRCAM", "NRCA3"),
    "NRCA4": ("NIRCAM", "NRCA4"),
    "NRCA5": ("NIRCAM", "NRCALONG"),
    "NRCB1": ("NIRCAM", "NRCB1"),
    "NRCB2": ("NIRCAM", "NRCB2"),
    "NRCB3": ("NIRCAM", "NRCB3"),
    "NRCB4": ("NIRCAM", "NRCB4"),
    "NRCB5": ("NIRCAM", "NRCBLONG"),
    "MIRIM": ("MIRI", "MIRIMAGE"),
    "NIS": ("NIRISS", "NIS"),
    "FGS1": ("FGS", "GUIDER1"),
    "FGS2": ("FGS", "GUIDER2"),
    "NRS1": ("NIRSPEC", "NRS1"),
    "NRS2": ("NIRSPEC", "NRS2"),
}

#: Offset between the V3 and YAN origins [arcsec] (JWST-STScI-001550).
V3_TO_YAN_OFFSET = 0.13 * 3600.0

NIRSPEC_TA_FILTERS = ("CLEAR", "F110W", "F140X")


# --------------------------------------------------------------------------- SIAF files
@functools.cache
def _siaf_dir() -> tuple[str, Path]:
    spec = importlib.util.find_spec("pysiaf")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("pysiaf is not installed; its SIAF XML files are needed for geometry")
    root = Path(next(iter(spec.submodule_search_locations))) / "prd_data" / "JWST"
    # Same rule as pysiaf: the newest release whose name is PRDOPSSOC-<digits...>
    # (the old PRDOPSSOC-<letter>-<digits> releases cannot be the newest).
    releases = sorted(
        p.name for p in root.glob("PRDOPSSOC-*") if not re.match(r"^PRDOPSSOC-[A-Z]-\d+", p.name)
    )
    if not releases:
        raise InputError(f"no JWST PRD release found under {root}", path=root)
    version = releases[-1]
    return version, root / version / "SIAFXML" / "SIAFXML"


def prd_version() -> str:
    """The PRD release (e.g. ``"PRDOPSSOC-075"``) whose SIAF is used."""
    return _siaf_dir()[0]


@functools.cache
def _records(instrument: str) -> dict[str, dict[str, str | None]]:
    path = _siaf_dir()[1] / _SIAF_FILES[instrument]
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise InputError(f"cannot read the SIAF: {exc}", path=path) from exc
    out: dict[str, dict[str, str | None]] = {}
    for entry in root.iter("SiafEntry"):
        rec = {child.tag: child.text for child in entry}
        out[str(rec["AperName"])] = rec
    return out


def _instrument_of(aperture: str) -> tuple[str, str | None]:
    prefix = aperture.split("_")[0]
    if prefix in _PREFIXES:
        return _PREFIXES[prefix]
    for inst in _SIAF_FILES:  # other apertures (NRS_..., *_GWA_OTE, NRCALL_...): search
        if aperture in _records(inst):
            return inst, None
    raise InputError(f"unknown SIAF aperture {aperture!r}")


def _record(aperture: str) -> tuple[str, str | None, dict[str, str | None]]:
    aperture = str(aperture).strip().upper()
    inst, det = _instrument_of(aperture)
    recs = _records(inst)
    if aperture not in recs:
        raise InputError(f"unknown SIAF aperture {aperture!r} (PRD {prd_version()})")
    return inst, det, recs[aperture]


# --------------------------------------------------------------------------- polynomials
def _flat(*arrays) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """Broadcast to a common shape and return it with flat contiguous float64 copies."""
    arrs = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
    return arrs[0].shape, [np.ascontiguousarray(a).ravel() for a in arrs]


@dataclass(frozen=True, eq=False)
class SiafPolynomial:
    """A pair of SIAF 2-D polynomials ``(u, v) = (P_u(x, y), P_v(x, y))``.

    ``coef[0, k]`` and ``coef[1, k]`` multiply ``x**(i-j) * y**j`` for the k-th pair
    ``(i, j)``, ``i = 0..degree``, ``j = 0..i`` (the SIAF ``Sci2IdlX{i}{j}`` order).
    Evaluation runs in compiled (numba) loops over any array shape.
    """

    degree: int
    coef: np.ndarray

    @property
    def cx(self) -> np.ndarray:
        """Coefficients of the u polynomial."""
        return self.coef[0]

    @property
    def cy(self) -> np.ndarray:
        """Coefficients of the v polynomial."""
        return self.coef[1]

    @property
    def exponents(self) -> tuple[np.ndarray, np.ndarray]:
        """``(px, py)``: x and y exponents of each coefficient."""
        px = [i - j for i in range(self.degree + 1) for j in range(i + 1)]
        py = [j for i in range(self.degree + 1) for j in range(i + 1)]
        return np.array(px), np.array(py)

    def evaluate(self, x, y, jacobian: bool = False):
        """``(u, v)``, plus ``(du/dx, du/dy, dv/dx, dv/dy)`` when ``jacobian``."""
        shape, (xf, yf) = _flat(x, y)
        out = np.empty((2, xf.size))
        jac = np.empty((4, xf.size) if jacobian else (4, 0))
        poly_eval(self.coef, self.degree, xf, yf, out, jac, jacobian)
        u, v = out[0].reshape(shape), out[1].reshape(shape)
        if not jacobian:
            return u, v
        return u, v, tuple(j.reshape(shape) for j in jac)

    def __call__(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate both polynomials."""
        return self.evaluate(x, y)

    def jacobian(self, x, y) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Partial derivatives ``(du/dx, du/dy, dv/dx, dv/dy)`` at ``(x, y)``."""
        return self.evaluate(x, y, jacobian=True)[2]

    def solve(self, u, v, x0, y0, *, tol: float = 1e-10, max_iter: int = 20):
        """Points ``(x, y)`` with ``P(x, y) = (u, v)``, by Newton steps from ``(x0, y0)``."""
        shape, (uf, vf, xf, yf) = _flat(u, v, x0, y0)
        xf, yf = xf.copy(), yf.copy()  # solved in place; never write into the caller's arrays
        poly_invert(self.coef, self.degree, uf, vf, xf, yf, tol, max_iter)
        return xf.reshape(shape), yf.reshape(shape)


def _polynomial(rec: dict[str, str | None], label: str) -> SiafPolynomial:
    degree = int(str(rec["Sci2IdlDeg"]))
    keys = [f"{i}{j}" for i in range(degree + 1) for j in range(i + 1)]
    coef = np.array([[float(rec[f"{label}{axis}{k}"] or 0.0) for k in keys] for axis in ("X", "Y")])
    return SiafPolynomial(degree, coef)


# --------------------------------------------------------------------------- geometry
@dataclass(frozen=True, eq=False)
class ApertureGeometry:
    """Numbers of one SIAF aperture, plus the pixel grid they are applied to.

    Pixel coordinates given to the geometry functions are 0-based ``(x, y)`` indices of a
    ``shape = (ny, nx)`` pixel grid whose pixel ``(0, 0)`` is the aperture's 1-based
    science pixel ``(1 + xoffset, 1 + yoffset)``; for a subarray read from a detector, the
    grid is the subarray and the offsets are ``SUBSTRT - 1``.

    Attributes mirror the SIAF fields: ``v2_ref, v3_ref`` [arcsec], ``v3_idl_yangle`` [deg],
    ``vidl_parity``, ``x_sci_ref, y_sci_ref`` (1-based), ``x_sci_scale, y_sci_scale``
    [arcsec/pixel], ``det_sci_yangle`` [deg], ``det_sci_parity``, ``x_det_ref, y_det_ref``,
    ``sci2idl``/``idl2sci`` (:class:`SiafPolynomial`, science offsets <-> ideal arcsec).
    NIRSpec detector apertures also carry ``gwa_ote``/``ote_gwa`` (GWA plane <-> XAN/YAN
    degrees) for ``nirspec_filter``; their ``sci2idl`` maps to the GWA plane instead.
    """

    instrument: str
    detector: str | None
    aperture: str
    prd_version: str
    v2_ref: float
    v3_ref: float
    v3_idl_yangle: float
    vidl_parity: int
    x_sci_ref: float
    y_sci_ref: float
    x_sci_scale: float
    y_sci_scale: float
    x_sci_size: int
    y_sci_size: int
    det_sci_yangle: float
    det_sci_parity: int
    x_det_ref: float
    y_det_ref: float
    sci2idl: SiafPolynomial
    idl2sci: SiafPolynomial
    gwa_ote: SiafPolynomial | None = None
    ote_gwa: SiafPolynomial | None = None
    nirspec_filter: str | None = None
    xoffset: int = 0
    yoffset: int = 0
    shape: tuple[int, int] | None = None

    @property
    def degree(self) -> int:
        """Degree of the science <-> ideal polynomials."""
        return self.sci2idl.degree

    @property
    def is_nirspec(self) -> bool:
        """True when the science polynomials go through the NIRSpec GWA plane."""
        return self.gwa_ote is not None

    @property
    def grid_shape(self) -> tuple[int, int]:
        """``(ny, nx)`` of the pixel grid (the aperture's science size unless set)."""
        return self.shape if self.shape is not None else (self.y_sci_size, self.x_sci_size)

    @property
    def reference_pixel(self) -> tuple[float, float]:
        """0-based ``(x, y)`` of the aperture's reference point on the pixel grid."""
        return self.x_sci_ref - 1.0 - self.xoffset, self.y_sci_ref - 1.0 - self.yoffset

    @property
    def pixel_area(self) -> float:
        """Nominal pixel area ``XSciScale * YSciScale`` [arcsec**2]."""
        return self.x_sci_scale * self.y_sci_scale


def _f(rec: dict[str, str | None], key: str) -> float:
    value = rec.get(key)
    return float(value) if value not in (None, "") else float("nan")


@functools.cache
def aperture_geometry(aperture: str, *, nirspec_filter: str = "CLEAR") -> ApertureGeometry:
    """Return the :class:`ApertureGeometry` of a SIAF aperture (e.g. ``"NRCA1_FULL"``).

    The pixel grid is the aperture's own science frame.  ``nirspec_filter`` (CLEAR,
    F110W or F140X) selects the NIRSpec GWA -> OTE transform; it is ignored otherwise.
    Results are cached: treat them as read-only.

    Raises
    ------
    webbcal.errors.InputError
        For an unknown aperture or NIRSpec filter.
    """
    inst, det, rec = _record(aperture)
    gwa_ote = ote_gwa = None
    nrs_filter = None
    if inst == "NIRSPEC" and rec["AperType"] in ("FULLSCA", "OSS"):
        nrs_filter = str(nirspec_filter).upper()
        if nrs_filter not in NIRSPEC_TA_FILTERS:
            raise InputError(
                f"NIRSpec filter {nirspec_filter!r} has no GWA->OTE transform; "
                f"expected one of {', '.join(NIRSPEC_TA_FILTERS)}"
            )
        trec = _records("NIRSPEC")[f"{nrs_filter}_GWA_OTE"]
        gwa_ote, ote_gwa = _polynomial(trec, "Sci2Idl"), _polynomial(trec, "Idl2Sci")
    return ApertureGeometry(
        instrument=inst,
        detector=det,
        aperture=str(rec["AperName"]),
        prd_version=prd_version(),
        v2_ref=_f(rec, "V2Ref"),
        v3_ref=_f(rec, "V3Ref"),
        v3_idl_yangle=_f(rec, "V3IdlYAngle"),
        vidl_parity=int(_f(rec, "VIdlParity")),
        x_sci_ref=_f(rec, "XSciRef"),
        y_sci_ref=_f(rec, "YSciRef"),
        x_sci_scale=_f(rec, "XSciScale"),
        y_sci_scale=_f(rec, "YSciScale"),
        x_sci_size=int(_f(rec, "XSciSize")),
        y_sci_size=int(_f(rec, "YSciSize")),
        det_sci_yangle=_f(rec, "DetSciYAngle"),
        det_sci_parity=int(_f(rec, "DetSciParity")),
        x_det_ref=_f(rec, "XDetRef"),
        y_det_ref=_f(rec, "YDetRef"),
        sci2idl=_polynomial(rec, "Sci2Idl"),
        idl2sci=_polynomial(rec, "Idl2Sci"),
        gwa_ote=gwa_ote,
        ote_gwa=ote_gwa,
        nirspec_filter=nrs_filter,
    )


def _sci_to_det(g: ApertureGeometry, x, y):
    a = np.deg2rad(g.det_sci_yangle)
    dx, dy = x - g.x_sci_ref, y - g.y_sci_ref
    p = g.det_sci_parity
    return (
        g.x_det_ref + p * np.cos(a) * dx + p * np.sin(a) * dy,
        g.y_det_ref - np.sin(a) * dx + np.cos(a) * dy,
    )


def _det_to_sci(g: ApertureGeometry, x, y):
    a = np.deg2rad(g.det_sci_yangle)
    dx, dy = x - g.x_det_ref, y - g.y_det_ref
    p = g.det_sci_parity
    return (
        g.x_sci_ref + p * np.cos(a) * dx - np.sin(a) * dy,
        g.y_sci_ref + p * np.sin(a) * dx + np.cos(a) * dy,
    )


def siaf_subarray_start(aperture: str, full_aperture: str) -> tuple[int, int]:
    """1-based ``(SUBSTRT1, SUBSTRT2)`` of a SIAF subarray aperture in a detector's DMS frame.

    The subarray's first science pixel is carried to the detector frame and back into the
    science frame of ``full_aperture`` (the detector's full-frame aperture).
    """
    sub, full = aperture_geometry(aperture), aperture_geometry(full_aperture)
    xs, ys = _det_to_sci(full, *_sci_to_det(sub, 1.0, 1.0))
    return round(float(xs)), round(float(ys))
