"""Bounded-memory processing of long exposures: row bands of all integrations.

A long time series does not fit in memory as one float32 ramp (200 integrations of 10
groups of 256x256 pixels are 0.5 GB, plus GROUPDQ and the products). calwebb_detector1
then reads it from the uncal file in row bands of *all* integrations
(:func:`window_model`), and every step from ``dq_init`` to ``ramp_fit`` runs on one band
after the other (see :mod:`webbcal.pipelines.calwebb_detector1`): the steps treat pixels
independently, except saturation's growth to neighbours and jump's neighbour flags (a
few halo rows on each side of a band), and the reference-pixel correction, which is
measured once from the exposure's reference strips and applied to each band
(:func:`webbcal.steps.refpix.measured_corrections`).

The models made here carry the exposure's metadata with SUBSTRT1/2 and SUBSIZE1/2
adjusted, so that the steps cut their references correctly. All bands reuse one set of
buffers (:class:`BandBuffers`): on virtual machines the first touch of fresh memory
costs about as much as the work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from webbcal.datamodels import RampModel
from webbcal.kernels.pagemem import zeros_small_pages
from webbcal.steps._common import copy_meta
from webbcal.steps._rawread import read_windows

__all__ = ["BandBuffers", "row_bands", "window_models"]


class BandBuffers:
    """Flat float32 SCI and uint8 GROUPDQ buffers reused by bands.

    Parameters
    ----------
    size : int
        Samples of the largest band (integrations x groups x rows x columns).

    """

    def __init__(self, size: int) -> None:
        # hundreds of MB, fresh: small pages faulted in by all threads (kernels.pagemem)
        self.data = zeros_small_pages((size,), np.float32)
        self.groupdq = zeros_small_pages((size,), np.uint8)

    def view(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A C-contiguous ``shape`` view of the start of buffer ``name``."""
        return getattr(self, name)[: int(np.prod(shape))].reshape(shape)


def window_models(
    raw: Any,
    rows: tuple[int, int],
    cols: list[tuple[int, int]],
    buffers: BandBuffers | None = None,
) -> list[RampModel]:
    """RampModels (float32, zero GROUPDQ) of windows of all integrations of a raw exposure.

    The windows share rows ``rows`` and have columns ``cols[k]``; the file is read once.
    With ``buffers`` (only for a single window) the SCI values and GROUPDQ are put in them
    (views): the previous window's arrays must no longer be needed.
    """
    nints, ngroups = raw.shape[:2]
    y0, y1 = rows
    shapes = [(nints, ngroups, y1 - y0, x1 - x0) for x0, x1 in cols]
    outs = None
    if buffers is not None:
        if len(cols) != 1:
            raise ValueError("buffers hold a single window")
        outs = [buffers.view("data", shapes[0])]
    datas = read_windows(raw, rows, cols, outs)
    models = []
    for (x0, x1), shape, data in zip(cols, shapes, datas, strict=True):
        out = RampModel()
        copy_meta(raw, out)
        out.data = data
        if buffers is None:
            out.groupdq = np.zeros(shape, np.uint8)
        else:
            out.groupdq = buffers.view("groupdq", shape)
            out.groupdq.fill(0)
        sub, orig = out.meta.subarray, raw.meta.subarray
        sub.ystart = int(orig.ystart or 1) + y0
        sub.xstart = int(orig.xstart or 1) + x0
        sub.ysize, sub.xsize = y1 - y0, x1 - x0
        for name in ("pixeldq", "zeroframe"):
            if name in type(raw).declared() and raw.has(name):
                cut = np.asarray(getattr(raw, name))[..., y0:y1, x0:x1]
                setattr(out, name, np.array(cut, np.float32 if name == "zeroframe" else None))
        if raw.has("int_times"):
            out.int_times = raw.int_times
        if raw.has("group"):
            out.group = raw.group
        models.append(out)
    return models


def row_bands(ny: int, band: int) -> list[tuple[int, int]]:
    """``(y0, y1)`` bands of at most ``band`` rows covering ``range(ny)``."""
    band = max(1, int(band))
    return [(y0, min(ny, y0 + band)) for y0 in range(0, ny, band)]
