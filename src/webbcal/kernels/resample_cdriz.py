"""Drizzle kernels other than "square" (point, turbo, gaussian, lanczos2/3) via ``drizzle``.

The ``drizzle`` package's C kernels (``drizzle.resample.Drizzle``) do the work, once for
the data and once for the square root of each variance, as the official step does; the
results are turned into the sums that :class:`~webbcal.kernels.resample_accum.Drizzler`
accumulates (``sum(dow d)``, ``sum(dow)``, ``sum(dow sigma_k)``, the context bit).

.. warning:: the gaussian and lanczos kernels do not conserve flux (as in the official
   pipeline).
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["drizzle_with_package"]


def _drizzle(kernel, pixmap, image, weight, box, pixfrac, iscale, ratio, shape):
    from drizzle.resample import Drizzle

    xmin, xmax, ymin, ymax = box
    driz = Drizzle(kernel=kernel, fillval="0", out_shape=shape, disable_ctx=True)
    driz.add_image(
        image, exptime=1.0, pixmap=pixmap, iscale=iscale, pixel_scale_ratio=ratio,
        weight_map=weight, pixfrac=pixfrac, in_units="cps",
        xmin=xmin, xmax=xmax, ymin=ymin, ymax=ymax,
    )  # fmt: skip
    return np.nan_to_num(driz.out_img), driz.out_wht


def drizzle_with_package(
    kernel: str,
    pixmap: np.ndarray,
    data: np.ndarray,
    weight: np.ndarray,
    variances: tuple[np.ndarray, np.ndarray, np.ndarray],
    box: tuple[int, int, int, int],
    pixfrac: float,
    iscale: float,
    pixel_scale_ratio: float,
    window: tuple[int, int, int, int],
    views: tuple[np.ndarray, np.ndarray, np.ndarray],
    iwht: np.ndarray,
    separate: bool,
    sig: np.ndarray,
    slots: np.ndarray,
    bit: np.int32,
) -> None:
    """Drizzle one input with a ``drizzle`` package kernel into the window sums.

    ``pixmap`` is shifted to the window's origin and the package draws on the window.
    Non-finite data get zero weight. Arguments as in ``Drizzler.add``.
    """
    oy0, ox0, h, w = window
    local = pixmap - np.array([ox0, oy0], dtype=np.float64)
    weight = np.where(np.isfinite(data), weight, 0.0).astype(np.float32)
    data = np.where(np.isfinite(data), data, 0.0).astype(np.float32)
    mean, wht = _drizzle(kernel, local, data, weight, box, pixfrac, iscale,
                         pixel_scale_ratio, (h, w))  # fmt: skip
    total, out_wht, ctx = views
    total += mean * wht
    out_wht += wht
    if separate:
        iwht += wht
    if ctx.size:  # an empty plane: no context kept
        ctx[wht > 0] |= bit
    for k, var in enumerate(variances):
        if var.size == 0 or slots[k] < 0:
            continue
        with np.errstate(invalid="ignore"):
            sigma = np.sqrt(var)
        smean, swht = _drizzle(kernel, local, sigma, weight, box, pixfrac, 1.0,
                               pixel_scale_ratio, (h, w))  # fmt: skip
        sig[slots[k]] += np.where(swht > 0, smean * swht, 0.0).astype(np.float32)
