"""Telescope pointing: the V2/V3 -> sky transform and the velocity-aberration correction.

The attitude of JWST is described by the WCS keywords of the SCI header: the aperture
reference point (``V2_REF``, ``V3_REF`` [arcsec]) points at (``RA_REF``, ``DEC_REF``) [deg]
and the V3 axis has position angle ``ROLL_REF`` [deg, east of north] there. The exact
spherical transform from telescope coordinates to the sky is the rotation

    u_sky = Rz(ra) Ry(-dec) Rx(-roll) Ry(v3) Rz(-v2) u_tel

of unit vectors (JWST-STScI-001550). It is written with astropy models (Scale to degrees,
``SphericalToCartesian``, ``RotationSequence3D``, ``CartesianToSpherical``), which have exact
inverses and serialize to ASDF, so the official data models read the WCS back.

Differential velocity aberration scales offsets from the reference point by ``VA_SCALE``
about (V2_REF, V3_REF): ``v' = v_ref + s (v - v_ref)``; the frame after it is ``v2v3vacorr``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webbcal.errors import InputError

if TYPE_CHECKING:
    from astropy.modeling import Model

log = logging.getLogger(__name__)

__all__ = ["Pointing", "v2v3_to_sky", "va_correction"]

#: (meta.wcsinfo attribute, FITS keyword) of the values the sky transform needs.
_REQUIRED = (
    ("v2_ref", "V2_REF"),
    ("v3_ref", "V3_REF"),
    ("roll_ref", "ROLL_REF"),
    ("ra_ref", "RA_REF"),
    ("dec_ref", "DEC_REF"),
)


@dataclass(frozen=True)
class Pointing:
    """The pointing keywords of one exposure.

    Attributes
    ----------
    v2_ref, v3_ref : float
        Aperture reference point [arcsec].
    roll_ref : float
        Position angle of V3 at the reference point [deg].
    ra_ref, dec_ref : float
        Sky position of the reference point [deg].
    v3yangle : float
        Angle from V3 to the ideal Y axis [deg] (``V3I_YANG``).
    vparity : int
        Ideal X axis parity relative to V2 (``VPARITY``, +1 or -1).
    va_scale : float or None
        Velocity-aberration scale factor (``VA_SCALE``).

    """

    v2_ref: float
    v3_ref: float
    roll_ref: float
    ra_ref: float
    dec_ref: float
    v3yangle: float = 0.0
    vparity: int = -1
    va_scale: float | None = None

    @classmethod
    def from_model(cls, model: Any) -> Pointing:
        """Read the pointing keywords of ``model``.

        Raises
        ------
        InputError
            Naming the missing keywords, when one of V2_REF, V3_REF, ROLL_REF, RA_REF,
            DEC_REF is absent.
        """
        info = model.meta.wcsinfo
        missing = [kw for attr, kw in _REQUIRED if getattr(info, attr) is None]
        if missing:
            raise InputError(
                f"the SCI header has no {', '.join(missing)}: assign_wcs needs the pointing "
                "keywords (V2_REF, V3_REF, ROLL_REF, RA_REF, DEC_REF) to build the WCS",
                path=model.meta.filename,
            )
        va = model.meta.velocity_aberration.scale_factor
        return cls(
            v2_ref=float(info.v2_ref),
            v3_ref=float(info.v3_ref),
            roll_ref=float(info.roll_ref),
            ra_ref=float(info.ra_ref),
            dec_ref=float(info.dec_ref),
            v3yangle=float(info.v3yangle or 0.0),
            vparity=int(info.vparity or -1),
            va_scale=None if va is None else float(va),
        )


def v2v3_to_sky(p: Pointing) -> Model:
    """V2/V3 [arcsec] -> (RA, Dec) [deg] for the attitude of ``p`` (exact both ways)."""
    from astropy.modeling import models
    from gwcs.geometry import CartesianToSpherical, SphericalToCartesian

    angles = [p.v2_ref / 3600.0, -p.v3_ref / 3600.0, p.roll_ref, p.dec_ref, -p.ra_ref]
    rotation = models.RotationSequence3D(angles, axes_order="zyxyz", name="attitude")
    transform = (
        (models.Scale(1.0 / 3600.0, name="v2_deg") & models.Scale(1.0 / 3600.0, name="v3_deg"))
        | SphericalToCartesian(name="to_cartesian", wrap_lon_at=180)
        | rotation
        | CartesianToSpherical(name="to_spherical", wrap_lon_at=360)
    )
    transform.name = "v23tosky"
    return transform


def va_correction(p: Pointing) -> Model:
    """The differential velocity-aberration correction in V2/V3 (identity without VA_SCALE)."""
    from astropy.modeling import models

    scale = p.va_scale
    if scale is None or scale == 1.0:
        return models.Identity(2, name="dva_correction")
    transform = (
        models.Scale(scale, name="va_scale_v2") & models.Scale(scale, name="va_scale_v3")
    ) | (
        models.Shift((1.0 - scale) * p.v2_ref, name="va_v2_shift")
        & models.Shift((1.0 - scale) * p.v3_ref, name="va_v3_shift")
    )
    transform.name = "dva_correction"
    return transform
