"""wfs_combine (``calwebb_wfs-image3``): combine a dithered pair of WFS&C images.

As the official step (whose alias is ``calwebb_wfs-image3``), for each association product
of two science exposures:

1. **Offsets.** The centre pixel of image 1 is taken to the sky with its WCS and back to
   image 2's pixels with image 2's WCS; the difference is the offset of image 2. With
   ``flip_dithers`` (default) the images are swapped when the X offset is negative, so the
   star lands on the same pixel whatever the dither order.
2. **Refinement** (``do_refine``). Image 1 smoothed with a Gaussian of ``blur_size``
   pixels locates the star (mean position of the pixels above half the smoothed peak); in a
   ``psf_size`` box around it (bad pixels filled with the median of the good ones within
   ``n_size`` pixels), the sum of squared differences between image 1 and image 2 is
   computed for integer offsets within +-2 pixels of the WCS offset; its minimum, refined by a
   parabola through its neighbours, is the sub-pixel offset. Image 2 is then interpolated
   bilinearly at the offset positions (its ERR combined as ``sqrt(sum w**2 err**2)``: this
   is the case where the step changes ERR). Without refinement the offset is rounded to
   whole pixels and image 2 is only shifted.
3. **Combination**, pixel by pixel (a pixel is bad when its DQ has DO_NOT_USE): both good
   -- the mean of SCI and of ERR, image 1's DQ; one good -- its SCI, ERR and DQ; both bad --
   SCI = ERR = 0 and DQ = DO_NOT_USE plus the flags the two share.

The product is ``<product>_wfscmb.fits`` with image 1's metadata and WCS.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.core import Exposures, Refs, Step, param, register
from webbcal.datamodels import ImageModel, dqflags
from webbcal.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["WfsCombineParams", "WfsCombineStep", "combine_pair", "wcs_offset"]

#: Integer search range [pixels] around the WCS offset when refining.
SEARCH = 2


@dataclass(frozen=True, kw_only=True)
class WfsCombineParams:
    """Parameters of wfs_combine (the official ones)."""

    do_refine: bool = param(False, "Refine the WCS offset by image matching")
    flip_dithers: bool = param(True, "Swap the images when the X offset is negative")
    psf_size: int = param(100, "Box [pixels] used to refine the offset")
    blur_size: int = param(10, "Gaussian smoothing [pixels] to locate the star")
    n_size: int = param(2, "Neighbourhood [pixels] filling bad pixels before matching")


def wcs_offset(model1: Any, model2: Any) -> tuple[float, float]:
    """``(dx, dy)``: where image 1's centre falls in image 2, minus that centre [pixels]."""
    ny, nx = model1.shape
    cx, cy = (nx - 1) / 2.0, (ny - 1) / 2.0
    ra, dec = model1.meta.wcs(cx, cy, with_bounding_box=False)
    x2, y2 = model2.meta.wcs.invert(ra, dec, with_bounding_box=False)
    return float(x2 - cx), float(y2 - cy)


def _filled(data: np.ndarray, bad: np.ndarray, size: int) -> np.ndarray:
    from scipy.ndimage import generic_filter

    if not bad.any():
        return data
    work = np.where(bad, np.nan, data.astype(np.float64))
    med = generic_filter(work, np.nanmedian, size=2 * max(1, size) + 1, mode="nearest")
    return np.where(bad, np.nan_to_num(med), data)


def _star(data: np.ndarray, blur: float) -> tuple[int, int]:
    from scipy.ndimage import gaussian_filter

    smooth = gaussian_filter(np.nan_to_num(data), max(blur, 0.5))
    ys, xs = np.nonzero(smooth > 0.5 * smooth.max())
    return round(float(ys.mean())), round(float(xs.mean()))


def _refine(m1: Any, m2: Any, dx0: int, dy0: int, p: WfsCombineParams) -> tuple[float, float]:
    """Sub-pixel offset of image 2 from image matching around the star (module doc)."""
    d1, d2 = np.nan_to_num(m1.data), np.nan_to_num(m2.data)
    bad1 = (m1.dq & dqflags.DO_NOT_USE) != 0
    bad2 = (m2.dq & dqflags.DO_NOT_USE) != 0
    ny, nx = d1.shape
    yc, xc = _star(np.where(bad1, 0.0, d1), p.blur_size)
    h = max(2, p.psf_size // 2)
    y0, y1 = max(0, yc - h), min(ny, yc + h)
    x0, x1 = max(0, xc - h), min(nx, xc + h)
    a = _filled(d1[y0:y1, x0:x1], bad1[y0:y1, x0:x1], p.n_size)
    # image 2 over the box at every searched offset
    by0, bx0 = y0 + dy0 - SEARCH, x0 + dx0 - SEARCH
    by1, bx1 = y1 + dy0 + SEARCH, x1 + dx0 + SEARCH
    if by0 < 0 or bx0 < 0 or by1 > d2.shape[0] or bx1 > d2.shape[1]:
        log.warning("wfs_combine: the refinement box leaves image 2; WCS offset kept")
        return float(dx0), float(dy0)
    b = _filled(d2[by0:by1, bx0:bx1], bad2[by0:by1, bx0:bx1], p.n_size)
    cost = np.empty((2 * SEARCH + 1, 2 * SEARCH + 1))
    hy, hx = a.shape
    for j in range(2 * SEARCH + 1):
        for i in range(2 * SEARCH + 1):
            cost[j, i] = float(np.sum((a - b[j : j + hy, i : i + hx]) ** 2))
    jm, im = np.unravel_index(np.argmin(cost), cost.shape)

    def vertex(c_m: float, c_0: float, c_p: float) -> float:
        den = c_m - 2.0 * c_0 + c_p
        if not den > 0:
            return 0.0
        return float(np.clip(0.5 * (c_m - c_p) / den, -0.5, 0.5))

    fx = vertex(*cost[jm, im - 1 : im + 2]) if 0 < im < 2 * SEARCH else 0.0
    fy = vertex(*cost[jm - 1 : jm + 2, im]) if 0 < jm < 2 * SEARCH else 0.0
    return dx0 + (im - SEARCH) + fx, dy0 + (jm - SEARCH) + fy


def _shifted(data, err, dq, dx, dy, shape):
    """Image 2 at image 1's pixels + (dx, dy): shifted (whole pixels) or bilinear."""
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    px, py = xx + dx, yy + dy
    if abs(dx - round(dx)) < 1e-9 and abs(dy - round(dy)) < 1e-9:
        ix, iy = np.rint(px).astype(np.int64), np.rint(py).astype(np.int64)
        taps = [(ix, iy, np.ones(shape))]
    else:
        ix, iy = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
        tx, ty = px - ix, py - iy
        taps = [(ix + ox, iy + oy, (tx if ox else 1 - tx) * (ty if oy else 1 - ty))
                for ox, oy in ((0, 0), (1, 0), (0, 1), (1, 1))]  # fmt: skip
    sci = np.zeros(shape)
    var = np.zeros(shape)
    out_dq = np.zeros(shape, np.uint32)
    bad = np.zeros(shape, bool)
    for jx, jy, w in taps:
        inside = (jx >= 0) & (jx < data.shape[1]) & (jy >= 0) & (jy < data.shape[0])
        cx, cy = np.clip(jx, 0, data.shape[1] - 1), np.clip(jy, 0, data.shape[0] - 1)
        used = w > 0
        q = dq[cy, cx]
        bad |= used & (~inside | ((q & dqflags.DO_NOT_USE) != 0))
        sci += np.where(used, w * data[cy, cx], 0.0)
        var += np.where(used, (w * err[cy, cx]) ** 2, 0.0)
        out_dq |= np.where(used & inside, q, 0).astype(np.uint32)
    out_dq[bad] |= dqflags.DO_NOT_USE
    return sci, np.sqrt(var), out_dq


def combine_pair(sci1, err1, dq1, sci2, err2, dq2):
    """The official combination of two aligned images (see the module docstring)."""
    bad1 = (dq1 & dqflags.DO_NOT_USE) != 0
    bad2 = (dq2 & dqflags.DO_NOT_USE) != 0
    both = ~bad1 & ~bad2
    sci = np.where(both, 0.5 * (sci1 + sci2), np.where(bad1, np.where(bad2, 0.0, sci2), sci1))
    err = np.where(both, 0.5 * (err1 + err2), np.where(bad1, np.where(bad2, 0.0, err2), err1))
    dq = np.where(bad1, np.where(bad2, dqflags.DO_NOT_USE | (dq1 & dq2), dq2), dq1)
    return sci.astype(np.float32), err.astype(np.float32), dq.astype(np.uint32)


@register
class WfsCombineStep(Step):
    """Combine pairs of dithered WFS&C images (the official ``calwebb_wfs-image3``)."""

    alias = "calwebb_wfs-image3"
    class_name = "WfsCombineStep"
    description = "Stage 3 WFS&C: combine a dithered pair of images (_wfscmb)"
    Params = WfsCombineParams
    cal_step = "wfs_combine"
    suffix = "wfscmb"
    input_kind = "association"

    def process(self, target: Exposures, refs: Refs, params: WfsCombineParams) -> ImageModel:
        """Combine the two science exposures of one association product."""
        science = target.of_type("science")
        models = list(science) or list(target)
        if len(models) != 2:
            raise InputError(f"wfs_combine needs exactly two science exposures, got {len(models)}")
        m1, m2 = models
        for m in models:
            if m.meta.wcs is None:
                raise InputError("wfs_combine needs a WCS: run assign_wcs", path=m.meta.filename)
        dx, dy = wcs_offset(m1, m2)
        if not math.isfinite(dx + dy):
            raise InputError("wfs_combine: the WCS offset between the images is not finite",
                             path=m2.meta.filename)  # fmt: skip
        if params.flip_dithers and dx < 0:
            m1, m2 = m2, m1
            dx, dy = wcs_offset(m1, m2)
            log.info("wfs_combine: images swapped (flip_dithers)")
        nominal = (round(dx), round(dy))
        if params.do_refine:
            dx, dy = _refine(m1, m2, nominal[0], nominal[1], params)
        else:
            dx, dy = float(nominal[0]), float(nominal[1])
        log.info("wfs_combine: offset of %s: (%.3f, %.3f) pixels%s", m2.meta.filename, dx, dy,
                 " (refined)" if params.do_refine else "")  # fmt: skip
        sci2, err2, dq2 = _shifted(m2.data, m2.err, m2.dq, dx, dy, m1.shape)
        sci, err, dq = combine_pair(m1.data, m1.err, m1.dq, sci2, err2, dq2)
        out = ImageModel(data=sci, err=err, dq=dq)
        meta = {k: v for k, v in m1.meta.to_dict().items() if k != "wcs"}
        out.meta.update(copy.deepcopy(meta))
        out.meta.wcs = m1.meta.wcs
        out.meta.webbcal = {
            **(dict(m1.meta.webbcal.to_dict()) if m1.meta.webbcal is not None else {}),
            "wfs_combine": {"offset_pix": [dx, dy], "reference": str(m1.meta.filename)},
        }
        return out
