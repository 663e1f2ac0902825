"""Pointing: attitude matrices, dither/mosaic offsets and the WCS keywords of an exposure.

Sky <-> telescope (V2, V3) uses the exact spherical attitude rotation of JWST
(JWST-STScI-001550, as pysiaf's ``attitude``): ``sky = M @ u(v2, v3)`` with
``M = Rz(ra) Ry(-dec) Rx(-pa) Ry(v3) Rz(-v2)`` built at a reference point (v2, v3) that
points at (ra, dec) with the V3 axis at position angle ``pa`` there. (V2, V3) <-> detector
pixels goes through the SIAF geometry of :mod:`webbcal.instruments.geometry` (Sci2Idl
distortion polynomial and the planar ideal <-> V2V3 relation; its inverse is Newton-polished,
so ``sky -> pixel -> sky`` closes to ~1e-9 pixel), the model the pipeline's WCS uses.

Dithers and mosaic tiles are offsets (x, y) [arcsec] of the pointing in the aperture's ideal
frame (written as XOFFSET/YOFFSET): exposure ``k`` is pointed so that the target lands at
ideal ``(dx, dy)`` instead of the reference point, with the same V3 position angle. A pointing
error (``dv2, dv3`` [arcsec], ``droll`` [deg]) makes the true attitude differ from the one
written in the headers; the truth records both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from webbcal.instruments.geometry import sci_to_v2v3, v2v3_to_sci
from webbcal.instruments.siaf import ApertureGeometry, aperture_geometry

__all__ = [
    "ExposurePointing",
    "SkyGeometry",
    "attitude_matrix",
    "dither_offsets",
    "mosaic_offsets",
    "position_angle",
    "radec_to_v2v3",
    "v2v3_to_radec",
]

_ARCSEC = math.pi / 180.0 / 3600.0


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _unit(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(lon) * np.cos(lat), np.sin(lon) * np.cos(lat), np.sin(lat)])


def attitude_matrix(v2: float, v3: float, ra: float, dec: float, pa: float) -> np.ndarray:
    """Attitude matrix putting V2/V3 [arcsec] ``(v2, v3)`` on ``(ra, dec)``, V3 at PA ``pa``."""
    return (
        _rz(math.radians(ra))
        @ _ry(-math.radians(dec))
        @ _rx(-math.radians(pa))
        @ _ry(v3 * _ARCSEC)
        @ _rz(-v2 * _ARCSEC)
    )


def v2v3_to_radec(att: np.ndarray, v2, v3) -> tuple[np.ndarray, np.ndarray]:
    """(RA, Dec) [deg] of telescope coordinates (V2, V3) [arcsec] (vectorised)."""
    v = _unit(np.asarray(v2, float) * _ARCSEC, np.asarray(v3, float) * _ARCSEC)
    s = np.tensordot(att, v, axes=1)
    ra = np.degrees(np.arctan2(s[1], s[0])) % 360.0
    dec = np.degrees(np.arcsin(np.clip(s[2], -1.0, 1.0)))
    return ra, dec


def radec_to_v2v3(att: np.ndarray, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """Telescope coordinates (V2, V3) [arcsec] of sky positions (RA, Dec) [deg]."""
    s = _unit(np.radians(np.asarray(ra, float)), np.radians(np.asarray(dec, float)))
    v = np.tensordot(att.T, s, axes=1)
    v2 = np.arctan2(v[1], v[0]) / _ARCSEC
    v3 = np.arcsin(np.clip(v[2], -1.0, 1.0)) / _ARCSEC
    return v2, v3


def position_angle(att: np.ndarray, v2: float, v3: float) -> float:
    """Position angle [deg, E of N] of the +V3 direction at telescope point (v2, v3)."""
    a2, a3 = v2 * _ARCSEC, v3 * _ARCSEC
    d = np.array([-math.cos(a2) * math.sin(a3), -math.sin(a2) * math.sin(a3), math.cos(a3)])
    dsky = att @ d
    ra, dec = v2v3_to_radec(att, v2, v3)
    r, q = math.radians(float(ra)), math.radians(float(dec))
    north = np.array([-math.sin(q) * math.cos(r), -math.sin(q) * math.sin(r), math.cos(q)])
    east = np.array([-math.sin(r), math.cos(r), 0.0])
    return math.degrees(math.atan2(dsky @ east, dsky @ north)) % 360.0


def idl_to_v2v3(g: ApertureGeometry, x, y) -> tuple[np.ndarray, np.ndarray]:
    """SIAF ideal [arcsec] -> V2, V3 [arcsec] (planar relation of the aperture)."""
    a = math.radians(g.v3_idl_yangle)
    p = g.vidl_parity
    x, y = np.asarray(x, float), np.asarray(y, float)
    return (
        g.v2_ref + p * x * math.cos(a) + y * math.sin(a),
        g.v3_ref - p * x * math.sin(a) + y * math.cos(a),
    )


def v2v3_to_idl(g: ApertureGeometry, v2, v3) -> tuple[np.ndarray, np.ndarray]:
    """V2, V3 [arcsec] -> SIAF ideal [arcsec] (exact inverse of :func:`idl_to_v2v3`)."""
    a = math.radians(g.v3_idl_yangle)
    p = g.vidl_parity
    d2, d3 = np.asarray(v2, float) - g.v2_ref, np.asarray(v3, float) - g.v3_ref
    return p * (d2 * math.cos(a) - d3 * math.sin(a)), d2 * math.sin(a) + d3 * math.cos(a)


@dataclass(frozen=True)
class SkyGeometry:
    """Pixel <-> V2V3 of the simulated window (:func:`webbcal.instruments.geometry.get_geometry`).

    ``filter_offset`` (column, row) [pixels] is the MIRI imager's FILTEROFFSET: the WCS
    adds it to pixel coordinates before the distortion, so sources are placed at the
    distortion model's position minus the offset.
    """

    geometry: ApertureGeometry
    filter_offset: tuple[float, float] = (0.0, 0.0)

    def pix_to_v2v3(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """0-based array pixels -> V2, V3 [arcsec]."""
        fx, fy = self.filter_offset
        return sci_to_v2v3(self.geometry, np.asarray(x, float) + fx, np.asarray(y, float) + fy)

    def v2v3_to_pix(self, v2, v3) -> tuple[np.ndarray, np.ndarray]:
        """V2, V3 [arcsec] -> 0-based array pixels (Newton-polished inverse)."""
        x, y = v2v3_to_sci(self.geometry, v2, v3)
        return x - self.filter_offset[0], y - self.filter_offset[1]

    def pix_to_radec(self, att: np.ndarray, x, y) -> tuple[np.ndarray, np.ndarray]:
        """0-based pixels -> (RA, Dec) [deg] for attitude ``att``."""
        return v2v3_to_radec(att, *self.pix_to_v2v3(x, y))

    def radec_to_pix(self, att: np.ndarray, ra, dec) -> tuple[np.ndarray, np.ndarray]:
        """(RA, Dec) [deg] -> 0-based pixels for attitude ``att``."""
        return self.v2v3_to_pix(*radec_to_v2v3(att, ra, dec))


def dither_offsets(pattern: str, npoints: int, size: float = 1.5) -> list[tuple[float, float]]:
    """Ideal-frame offsets [arcsec] of a dither pattern.

    ``"NONE"``: one position; ``"BOX"``: a 4-point box of side ``size`` (repeated sub-pixel
    shifted boxes beyond 4 points); ``"LINE"``: ``npoints`` along the diagonal, ``size`` apart.
    """
    pat = pattern.upper()
    if pat == "NONE" or npoints <= 1:
        return [(0.0, 0.0)] * max(npoints, 1)
    if pat == "BOX":
        base = [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]
        out = []
        for k in range(npoints):
            bx, by = base[k % 4]
            cycle = k // 4
            out.append((size * bx + 0.137 * cycle, size * by + 0.071 * cycle))
        return out
    if pat == "LINE":
        return [
            (size * (k - (npoints - 1) / 2), size * (k - (npoints - 1) / 2)) for k in range(npoints)
        ]
    raise ValueError(f"unknown dither pattern {pattern!r}: use NONE, BOX or LINE")


def mosaic_offsets(rows: int, cols: int, step_x: float, step_y: float) -> list[tuple[float, float]]:
    """Ideal-frame offsets [arcsec] of a ``rows`` x ``cols`` mosaic, centred on the target."""
    return [
        (step_x * (c - (cols - 1) / 2), step_y * (r - (rows - 1) / 2))
        for r in range(rows)
        for c in range(cols)
    ]


@dataclass(frozen=True)
class ExposurePointing:
    """The attitude of one exposure: as recorded in the header and as it really was.

    Attributes
    ----------
    aperture : ApertureGeometry
        The APERNAME aperture, whose reference point defines RA_REF/DEC_REF/ROLL_REF.
    att : ndarray
        Header (commanded) attitude matrix.
    att_true : ndarray
        True attitude (header attitude with the pointing error applied).
    offset : tuple of float
        Ideal-frame dither+mosaic offset [arcsec] (XOFFSET, YOFFSET).
    error : tuple of float
        Pointing error ``(dv2, dv3, droll)`` [arcsec, arcsec, deg].

    """

    aperture: ApertureGeometry
    att: np.ndarray
    att_true: np.ndarray
    offset: tuple[float, float] = (0.0, 0.0)
    error: tuple[float, float, float] = (0.0, 0.0, 0.0)
    extra: dict = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        aperture: str | ApertureGeometry,
        ra: float,
        dec: float,
        pa_v3: float,
        *,
        offset: tuple[float, float] = (0.0, 0.0),
        error: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> ExposurePointing:
        """Point ``aperture`` at (``ra``, ``dec``) with V3 at PA ``pa_v3`` there, then offset.

        With ``offset = (dx, dy)`` the target sits at ideal ``(dx, dy)``: the attitude puts
        the aperture's V2V3 point of ideal (dx, dy) on the target, with the same roll.
        """
        g = aperture_geometry(aperture) if isinstance(aperture, str) else aperture
        v2, v3 = idl_to_v2v3(g, offset[0], offset[1])
        att = attitude_matrix(float(v2), float(v3), ra, dec, pa_v3)
        ra_r, dec_r = v2v3_to_radec(att, g.v2_ref, g.v3_ref)
        roll = position_angle(att, g.v2_ref, g.v3_ref)
        dv2, dv3, droll = error
        att_true = attitude_matrix(
            g.v2_ref + dv2, g.v3_ref + dv3, float(ra_r), float(dec_r), roll + droll
        )
        return cls(g, att, att_true, (float(offset[0]), float(offset[1])), tuple(map(float, error)))

    def reference(self, att: np.ndarray | None = None) -> tuple[float, float, float]:
        """(RA_REF, DEC_REF, ROLL_REF) of the aperture reference point [deg]."""
        a = self.att if att is None else att
        g = self.aperture
        ra, dec = v2v3_to_radec(a, g.v2_ref, g.v3_ref)
        return float(ra), float(dec), position_angle(a, g.v2_ref, g.v3_ref)

    def keywords(self, grid_offset: tuple[int, int] = (0, 0)) -> dict[str, float | int | str]:
        """The pointing and FITS WCS keyword values of the header attitude.

        ``grid_offset`` is (xstart - 1, ystart - 1) of the written array when the APERNAME
        aperture is a full-frame aperture and the array a subarray of it.
        """
        g = self.aperture
        ra_ref, dec_ref, roll_ref = self.reference()
        ra_v1, dec_v1 = v2v3_to_radec(self.att, 0.0, 0.0)
        pa_v3 = position_angle(self.att, 0.0, 0.0)
        pa_aper = (roll_ref - g.vidl_parity * g.v3_idl_yangle) % 360.0
        pa = math.radians(pa_aper)
        vp = g.vidl_parity
        return {
            "RA_REF": ra_ref,
            "DEC_REF": dec_ref,
            "ROLL_REF": roll_ref,
            "V2_REF": g.v2_ref,
            "V3_REF": g.v3_ref,
            "V3I_YANG": g.v3_idl_yangle,
            "VPARITY": int(vp),
            "RA_V1": float(ra_v1),
            "DEC_V1": float(dec_v1),
            "PA_V3": pa_v3,
            "PA_APER": pa_aper,
            "APERNAME": g.aperture,
            "CRPIX1": g.x_sci_ref - grid_offset[0],
            "CRPIX2": g.y_sci_ref - grid_offset[1],
            "CRVAL1": ra_ref,
            "CRVAL2": dec_ref,
            "CDELT1": g.x_sci_scale / 3600.0,
            "CDELT2": g.y_sci_scale / 3600.0,
            "PC1_1": vp * math.cos(pa),
            "PC1_2": math.sin(pa),
            "PC2_1": -vp * math.sin(pa),
            "PC2_2": math.cos(pa),
            "XOFFSET": self.offset[0],
            "YOFFSET": self.offset[1],
        }
