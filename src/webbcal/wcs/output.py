"""The output (resampled) WCS of ``resample``: a TAN grid covering all input footprints.

As in the official step:

* the fiducial (CRVAL) is the centre of the union of the input footprints (the middle of
  the Cartesian bounding box of their corners on the unit sphere), or ``crval``;
* orientation: with ``rotation=None`` the grid keeps the first input's orientation
  (position angle of its ideal Y axis, ``ROLL_REF - VPARITY * V3I_YANG``); ``rotation=r``
  puts the output Y axis at position angle ``r`` (0: north up, east left). The PC matrix is
  ``[[p cos a, sin a], [-p sin a, cos a]]`` with ``p = VPARITY`` of the first input;
* pixel scale: ``pixel_scale`` [arcsec], else ``pixel_scale_ratio`` times the first input's
  scale at its reference point (the geometric mean of its x and y pixel sizes there);
* the array covers every footprint; CRPIX (``crpix``, 0-based) defaults to placing the
  lowest footprint corner at pixel 0; ``output_shape`` (nx, ny) overrides the size.

The transform is ``Shift(-crpix) | PC | Scale | Pix2Sky_TAN | RotateNative2Celestial``,
which serializes with the standard tags.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from webbcal.errors import ParameterError

if TYPE_CHECKING:
    from gwcs import WCS

    from webbcal.wcs.pointing import Pointing

log = logging.getLogger(__name__)

__all__ = [
    "OutputGrid",
    "bbox_corners",
    "fiducial",
    "mean_pixel_area",
    "output_grid",
    "scale_at",
    "tan_grid_wcs",
]


@dataclass(frozen=True)
class OutputGrid:
    """A resampling output grid.

    Attributes
    ----------
    wcs : gwcs.WCS
        Output pixels -> world, with bounding box and array shape.
    shape : tuple of int
        ``(ny, nx)``.
    crpix : tuple of float
        0-based reference pixel.
    crval : tuple of float
        (RA, Dec) of the reference pixel [deg].
    pc : ndarray
        2x2 rotation matrix.
    pixel_scale : float
        [arcsec].
    """

    wcs: WCS
    shape: tuple[int, int]
    crpix: tuple[float, float]
    crval: tuple[float, float]
    pc: np.ndarray
    pixel_scale: float

    @property
    def pixel_area_sr(self) -> float:
        """Nominal output pixel area [sr]."""
        return (math.radians(self.pixel_scale / 3600.0)) ** 2

    def fits_keywords(self) -> dict[str, float | int | str]:
        """The FITS WCS keywords of the grid (TAN, 1-based CRPIX, CDELT and PC)."""
        scale = self.pixel_scale / 3600.0
        return {
            "WCSAXES": 2,
            "CTYPE1": "RA---TAN",
            "CTYPE2": "DEC--TAN",
            "CUNIT1": "deg",
            "CUNIT2": "deg",
            "CRPIX1": self.crpix[0] + 1.0,
            "CRPIX2": self.crpix[1] + 1.0,
            "CRVAL1": self.crval[0],
            "CRVAL2": self.crval[1],
            "CDELT1": scale,
            "CDELT2": scale,
            "PC1_1": float(self.pc[0, 0]),
            "PC1_2": float(self.pc[0, 1]),
            "PC2_1": float(self.pc[1, 0]),
            "PC2_2": float(self.pc[1, 1]),
        }


def bbox_corners(wcs: WCS, shape: tuple[int, ...]) -> np.ndarray:
    """(RA, Dec) of the four outer corners of the data array (pixel edges), shape (4, 2)."""
    ny, nx = shape[-2:]
    x = np.array([-0.5, -0.5, nx - 0.5, nx - 0.5])
    y = np.array([-0.5, ny - 0.5, ny - 0.5, -0.5])
    ra, dec = wcs(x, y, with_bounding_box=False)
    return np.column_stack([ra, dec])


def fiducial(footprints: Sequence[np.ndarray]) -> tuple[float, float]:
    """Centre of the footprints: middle of their Cartesian bounding box on the sphere."""
    corners = np.vstack(footprints)
    lon, lat = np.radians(corners[:, 0]), np.radians(corners[:, 1])
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    mid = 0.5 * (xyz.max(axis=1) + xyz.min(axis=1))
    ra = math.degrees(math.atan2(mid[1], mid[0])) % 360.0
    dec = math.degrees(math.atan2(mid[2], math.hypot(mid[0], mid[1])))
    return ra, dec


def scale_at(wcs: WCS, ra: float, dec: float) -> float:
    """Pixel scale [arcsec] of ``wcs`` at (ra, dec): sqrt of the x and y pixel sizes there."""
    x, y = wcs.invert(ra, dec, with_bounding_box=False)
    px = np.array([x, x + 1.0, x])
    py = np.array([y, y, y + 1.0])
    a, d = wcs(px, py, with_bounding_box=False)
    a, d = np.radians(a), np.radians(d)

    def sep(i: int) -> float:
        c = np.sin(d[0]) * np.sin(d[i]) + np.cos(d[0]) * np.cos(d[i]) * np.cos(a[i] - a[0])
        s = math.hypot(
            np.cos(d[i]) * np.sin(a[i] - a[0]),
            np.cos(d[0]) * np.sin(d[i]) - np.sin(d[0]) * np.cos(d[i]) * np.cos(a[i] - a[0]),
        )
        return math.degrees(math.atan2(s, c)) * 3600.0

    return math.sqrt(sep(1) * sep(2))


def _unit_vectors(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)


def mean_pixel_area(
    wcs: WCS, xrange: tuple[int, int], yrange: tuple[int, int], *, spacing: int = 15
) -> float | None:
    """Mean solid angle [sr] of the pixels of a rectangle of pixel centres.

    The outline through the centres of pixels ``xrange[0]..xrange[1]`` by
    ``yrange[0]..yrange[1]`` (inclusive, points at most ``spacing`` pixels apart) is
    mapped to the sky; its solid angle, divided by the rectangle's area in pixels
    ``(x1 - x0) * (y1 - y0)``, is the mean pixel area, as the official resample computes
    it for the intensity scale. The solid angle is exact up to the outline's sampling: the
    outline is drawn in a Lambert azimuthal equal-area projection about its centre, where
    plane areas are solid angles. None when the rectangle is degenerate or the WCS is not
    finite on the outline.
    """
    (x0, x1), (y0, y1) = xrange, yrange
    if x1 <= x0 or y1 <= y0:
        return None
    nxs = max(1, math.ceil((x1 - x0) / spacing))
    nys = max(1, math.ceil((y1 - y0) / spacing))
    bx = np.linspace(x0, x1, nxs, endpoint=False)
    by = np.linspace(y0, y1, nys, endpoint=False)
    x = np.concatenate([bx, np.full(nys, x1), bx[::-1] + (x1 - x0) / nxs, np.full(nys, x0)])
    y = np.concatenate([np.full(nxs, y0), by, np.full(nxs, y1), by[::-1] + (y1 - y0) / nys])
    ra, dec = wcs(x, y, with_bounding_box=False)
    cra, cdec = wcs(0.5 * (x0 + x1), 0.5 * (y0 + y1), with_bounding_box=False)
    if not (np.all(np.isfinite(ra)) and np.all(np.isfinite(dec)) and np.isfinite(cra)):
        return None
    p = _unit_vectors(np.asarray(ra, float), np.asarray(dec, float))
    c = _unit_vectors(np.float64(cra), np.float64(cdec))
    e1 = np.cross([0.0, 0.0, 1.0], c)
    if np.linalg.norm(e1) < 1e-12:  # centre at a pole
        e1 = np.array([1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(c, e1)
    u, v = p @ e1, p @ e2
    norm = np.hypot(u, v)
    radius = np.sqrt(np.clip(2.0 * (1.0 - p @ c), 0.0, None))  # equal-area radius
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(norm > 0, radius / norm, 1.0)
    u, v = u * k, v * k
    area = 0.5 * abs(float(np.sum(u * np.roll(v, -1) - np.roll(u, -1) * v)))
    return area / float((x1 - x0) * (y1 - y0))


def _pc(angle_deg: float, vparity: int) -> np.ndarray:
    a = math.radians(angle_deg)
    return np.array([[vparity * math.cos(a), math.sin(a)], [-vparity * math.sin(a), math.cos(a)]])


def _sky_model(pc: np.ndarray, scale_deg: float, crval: tuple[float, float]):
    from astropy.modeling import models

    return (
        models.AffineTransformation2D(matrix=pc, name="pc_rotation_matrix")
        | (models.Scale(scale_deg, name="cdelt1") & models.Scale(scale_deg, name="cdelt2"))
        | models.Pix2Sky_TAN()
        | models.RotateNative2Celestial(crval[0], crval[1], 180.0)
    )


def tan_grid_wcs(
    crpix: tuple[float, float],
    crval: tuple[float, float],
    pc: np.ndarray,
    scale_deg: float,
    shape: tuple[int, int],
) -> WCS:
    """A gwcs (frames ``detector`` -> ``world``) for a TAN grid with 0-based ``crpix``."""
    from astropy.modeling import models
    from gwcs import WCS

    from webbcal.wcs.imaging import bounding_box, imaging_frames

    transform = (
        models.Shift(-crpix[0], name="crpix1") & models.Shift(-crpix[1], name="crpix2")
    ) | _sky_model(pc, scale_deg, crval)
    detector, _, _, world = imaging_frames()
    wcs = WCS([(detector, transform), (world, None)])
    wcs.bounding_box = bounding_box(shape)
    wcs.array_shape = shape
    return wcs


def output_grid(
    wcs_list: Sequence[WCS],
    shapes: Sequence[tuple[int, ...]],
    ref: Pointing,
    *,
    pixel_scale_ratio: float = 1.0,
    pixel_scale: float | None = None,
    rotation: float | None = None,
    crpix: tuple[float, float] | None = None,
    crval: tuple[float, float] | None = None,
    output_shape: tuple[int, int] | None = None,
) -> OutputGrid:
    """The output grid covering every input (see the module docstring).

    Parameters
    ----------
    wcs_list, shapes : sequences
        The inputs' WCS and data shapes; the first is the reference.
    ref : Pointing
        Pointing keywords of the first input (ROLL_REF, V3I_YANG, VPARITY, RA/DEC_REF).
    pixel_scale_ratio, pixel_scale, rotation, crpix, crval, output_shape
        As the official parameters (``output_shape`` is ``(nx, ny)``).

    Raises
    ------
    ParameterError
        When the grid would be smaller than 2 pixels on a side.
    """
    footprints = [bbox_corners(w, s) for w, s in zip(wcs_list, shapes)]
    center = tuple(float(v) for v in crval) if crval is not None else fiducial(footprints)
    vparity = -1 if ref.vparity < 0 else 1
    angle = ref.roll_ref - vparity * ref.v3yangle if rotation is None else float(rotation)
    pc = _pc(angle, vparity)
    if pixel_scale:
        scale = float(pixel_scale)
    else:
        scale = scale_at(wcs_list[0], ref.ra_ref, ref.dec_ref) * float(pixel_scale_ratio)
    model = _sky_model(pc, scale / 3600.0, center)
    inverse = model.inverse
    pts = np.vstack(footprints)
    dx, dy = inverse(pts[:, 0], pts[:, 1])
    lo = np.array([np.min(dx), np.min(dy)])
    hi = np.array([np.max(dx), np.max(dy)])
    if crpix is None:
        offset = -lo
    else:
        offset = np.asarray(crpix, dtype=float)  # the fiducial sits at native (0, 0)
    hi = hi + offset
    if output_shape is None:
        shape = (int(hi[1] + 0.5), int(hi[0] + 0.5))
    else:
        shape = (int(output_shape[1]), int(output_shape[0]))
    if min(shape) < 2:
        raise ParameterError(
            f"resample: the output grid would be {shape[1]}x{shape[0]} pixels; check "
            "pixel_scale, crpix and output_shape"
        )
    wcs = tan_grid_wcs((float(offset[0]), float(offset[1])), center, pc, scale / 3600.0, shape)
    log.info(
        "output grid %dx%d, %.5f arcsec/pixel, CRVAL (%.7f, %.7f), PA %.3f deg",
        shape[1], shape[0], scale, center[0], center[1], angle,
    )  # fmt: skip
    return OutputGrid(wcs, shape, (float(offset[0]), float(offset[1])), center, pc, scale)
