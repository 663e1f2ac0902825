"""The gwcs of an imaging exposure: detector -> v2v3 -> v2v3vacorr -> world.

Frames and transforms, as in the official imaging WCS:

``detector``
    0-based pixel coordinates of the data array (a subarray's own pixels).
``v2v3``
    Telescope coordinates [arcsec], reached by
    ``Shift(xstart - 1) & Shift(ystart - 1)`` (subarrays: to full-frame pixels), then the
    FILTEROFFSET shift (MIRI imager), then the DISTORTION reference model (full-frame
    pixels -> V2/V3).
``v2v3vacorr``
    V2/V3 after the differential velocity-aberration scaling (identity without VA_SCALE).
``world``
    ICRS (RA, Dec) [deg] through the attitude rotation of :mod:`webbcal.wcs.pointing`.

The bounding box is the data array, ``((-0.5, nx - 0.5), (-0.5, ny - 0.5))``. Every step has
an analytic inverse (the distortion reference's own), so ``wcs.invert(ra, dec)`` is a model
evaluation. The WCS serializes to ASDF with the standard astropy and gwcs tags.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from webbcal.wcs.pointing import Pointing, v2v3_to_sky, va_correction

if TYPE_CHECKING:
    from astropy.modeling import Model
    from gwcs import WCS

log = logging.getLogger(__name__)

__all__ = [
    "bounding_box",
    "footprint",
    "imaging_frames",
    "imaging_wcs",
    "s_region",
    "subarray_offset",
]


def bounding_box(shape: tuple[int, ...]) -> tuple[tuple[float, float], tuple[float, float]]:
    """``((-0.5, nx - 0.5), (-0.5, ny - 0.5))`` for an array of ``shape`` (..., ny, nx)."""
    ny, nx = shape[-2:]
    return ((-0.5, nx - 0.5), (-0.5, ny - 0.5))


def subarray_offset(model: Any) -> tuple[int, int]:
    """``(SUBSTRT1 - 1, SUBSTRT2 - 1)``: full-frame position of the data's pixel (0, 0)."""
    sub = model.meta.subarray
    return int(sub.xstart or 1) - 1, int(sub.ystart or 1) - 1


def imaging_frames() -> tuple[Any, Any, Any, Any]:
    """The official frames ``detector``, ``v2v3``, ``v2v3vacorr`` and ``world`` (ICRS)."""
    import astropy.coordinates as coord
    import astropy.units as u
    from gwcs import coordinate_frames as cf

    detector = cf.Frame2D(name="detector", axes_order=(0, 1), unit=(u.pix, u.pix))
    v2v3 = cf.Frame2D(
        name="v2v3", axes_order=(0, 1), axes_names=("v2", "v3"), unit=(u.arcsec, u.arcsec)
    )
    v2v3vacorr = cf.Frame2D(
        name="v2v3vacorr", axes_order=(0, 1), axes_names=("v2", "v3"), unit=(u.arcsec, u.arcsec)
    )
    world = cf.CelestialFrame(reference_frame=coord.ICRS(), name="world")
    return detector, v2v3, v2v3vacorr, world


def imaging_wcs(
    distortion: Model,
    pointing: Pointing,
    shape: tuple[int, ...],
    *,
    offset: tuple[int, int] = (0, 0),
    filter_offset: tuple[float, float] | None = None,
) -> WCS:
    """Build the imaging gwcs of an exposure.

    Parameters
    ----------
    distortion : astropy Model
        Full-frame 0-based pixels -> V2/V3 [arcsec], with an ``inverse``.
    pointing : Pointing
        The exposure's pointing keywords.
    shape : tuple of int
        Data shape (``(..., ny, nx)``); sets the bounding box.
    offset : tuple of int
        ``(SUBSTRT1 - 1, SUBSTRT2 - 1)`` of a subarray.
    filter_offset : tuple of float, optional
        FILTEROFFSET ``(column_offset, row_offset)`` [pixels] added before the distortion.

    Returns
    -------
    gwcs.WCS
    """
    from astropy.modeling import models
    from gwcs import WCS

    det2v23 = distortion
    if filter_offset is not None and any(filter_offset):
        col, row = (float(v) for v in filter_offset)
        shift = models.Shift(col, name="filter_offset_x") & models.Shift(
            row, name="filter_offset_y"
        )
        det2v23 = shift | det2v23
    if any(offset):
        shift = models.Shift(float(offset[0]), name="subarray_x") & models.Shift(
            float(offset[1]), name="subarray_y"
        )
        det2v23 = shift | det2v23
    det2v23.name = "det2v23"
    detector, v2v3, v2v3vacorr, world = imaging_frames()
    wcs = WCS(
        [
            (detector, det2v23),
            (v2v3, va_correction(pointing)),
            (v2v3vacorr, v2v3_to_sky(pointing)),
            (world, None),
        ]
    )
    wcs.bounding_box = bounding_box(shape)
    wcs.array_shape = tuple(int(n) for n in shape[-2:])
    return wcs


def footprint(wcs: WCS, shape: tuple[int, ...]) -> np.ndarray:
    """(RA, Dec) [deg] of the centres of the four corner pixels, shape (4, 2).

    Order: (0, 0), (0, ny-1), (nx-1, ny-1), (nx-1, 0), as the official footprints.
    """
    ny, nx = shape[-2:]
    x = np.array([0.0, 0.0, nx - 1.0, nx - 1.0])
    y = np.array([0.0, ny - 1.0, ny - 1.0, 0.0])
    ra, dec = wcs(x, y, with_bounding_box=False)
    return np.column_stack([np.mod(ra, 360.0), dec])


def s_region(corners: np.ndarray) -> str | None:
    """The S_REGION keyword value of a footprint (None if it has NaNs)."""
    values = np.asarray(corners, dtype=float).ravel()
    if not np.all(np.isfinite(values)):
        return None
    return "POLYGON ICRS  " + " ".join(f"{v:.9f}" for v in values)
