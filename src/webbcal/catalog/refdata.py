"""Reference data of a source catalog: aperture radii and corrections, AB-Vega offset.

* APCORR: the rows of the image's FILTER and PUPIL (NIRCam, NIRISS), FILTER and SUBARRAY
  (MIRI, a ``GENERIC`` subarray row matching any) or all rows (FGS) tabulate, per encircled
  energy fraction, the aperture radius [input pixels] and the aperture correction (total /
  aperture flux). The three ``aperture_ee`` values (percent) are interpolated linearly in
  EE; radii are divided by the resampled image's ``pixel_scale_ratio`` (PXSCLRT), so they
  are in its pixels. The local-background annulus is the largest ``skyin``/``skyout``.
* ABVEGAOFFSET: ``abvega_offset`` (AB - Vega magnitude) of the row with the image's
  FILTER (and PUPIL; DETECTOR for FGS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.errors import ReferenceFileError

__all__ = ["ApertureParams", "abvega_offset", "aperture_params"]


@dataclass(frozen=True)
class ApertureParams:
    """Aperture photometry set-up of one image (radii in its pixels)."""

    ee: tuple[int, int, int]
    radii: tuple[float, float, float]
    corrections: tuple[float, float, float]
    bkg_inner: float
    bkg_outer: float


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip().upper()


def _rows_for(table: Any, model: Any) -> Any:
    inst = model.meta.instrument
    names = table.dtype.names
    keep = np.ones(len(table), bool)
    want = {"filter": _text(inst.filter or ""), "pupil": _text(inst.pupil or "")}
    for column, value in want.items():
        if column in names:
            keep &= np.array([_text(v) == value for v in table[column]])
    if "subarray" in names:
        sub = _text(model.meta.subarray.name or "")
        exact = keep & np.array([_text(v) == sub for v in table["subarray"]])
        generic = keep & np.array([_text(v) == "GENERIC" for v in table["subarray"]])
        keep = exact if exact.any() else generic
    return table[keep]


def aperture_params(
    apcorr: Any, model: Any, ee: Sequence[int], *, path: Any = None
) -> ApertureParams:
    """The :class:`ApertureParams` of ``model`` from an APCORR reference (module doc)."""
    table = getattr(apcorr, "apcorr_table", None)
    if table is None:
        raise ReferenceFileError("the APCORR reference has no APCORR table", path=path)
    rows = _rows_for(table, model)
    if len(rows) < 2:
        inst = model.meta.instrument
        raise ReferenceFileError(
            f"APCORR has no rows for FILTER={inst.filter} PUPIL={inst.pupil}", path=path
        )
    order = np.argsort(rows["eefraction"])
    eef = np.asarray(rows["eefraction"], float)[order]
    radius = np.asarray(rows["radius"], float)[order]
    corr = np.asarray(rows["apcorr"], float)[order]
    fractions = np.asarray(ee, float) / 100.0
    if np.any(fractions < eef[0]) or np.any(fractions > eef[-1]):
        raise ReferenceFileError(
            f"aperture_ee {tuple(ee)} outside the APCORR range {eef[0]:.2f}-{eef[-1]:.2f}",
            path=path,
        )
    ratio = float(model.meta.resample.pixel_scale_ratio or 1.0)
    radii = np.interp(fractions, eef, radius) / ratio
    corrections = np.interp(fractions, eef, corr)
    return ApertureParams(
        ee=tuple(int(v) for v in ee),
        radii=tuple(float(r) for r in radii),
        corrections=tuple(float(c) for c in corrections),
        bkg_inner=float(np.max(rows["skyin"])) / ratio,
        bkg_outer=float(np.max(rows["skyout"])) / ratio,
    )


def abvega_offset(ref: Any, model: Any, *, path: Any = None) -> float:
    """The AB - Vega offset [mag] of ``model``'s filter from an ABVEGAOFFSET reference."""
    table = ref.tree.get("abvega_offset")
    if table is None:
        raise ReferenceFileError("the ABVEGAOFFSET reference has no abvega_offset", path=path)
    inst = model.meta.instrument
    keep = np.ones(len(table), bool)
    for column, value in (("filter", inst.filter), ("pupil", inst.pupil),
                          ("detector", inst.detector)):  # fmt: skip
        if column in table.colnames:
            keep &= np.array([_text(v) == _text(value or "") for v in table[column]])
    if not keep.any():
        raise ReferenceFileError(
            f"ABVEGAOFFSET has no row for FILTER={inst.filter} PUPIL={inst.pupil}", path=path
        )
    return float(np.asarray(table["abvega_offset"])[keep][0])
