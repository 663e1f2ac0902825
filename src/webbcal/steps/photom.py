"""photom: convert imaging count rates [DN/s] to surface brightness [MJy/sr].

Following the official step for imaging (NIRCam, NIRISS, MIRI imager, FGS):

* the PHOTOM reference row of the exposure is found by FILTER and PUPIL (NIRCam, NIRISS),
  FILTER and SUBARRAY (MIRI; a GENERIC row matches any subarray), or is the single row (FGS);
* SCI and ERR are **multiplied** by its PHOTMJSR (MJy/sr per DN/s) and VAR_POISSON,
  VAR_RNOISE and VAR_FLAT by its square. (The variance specification words this as
  "divided by the correction", the correction being the inverse, 1 / PHOTMJSR.)
  BUNIT becomes ``MJy/sr``; PHOTMJSR and PHOTUJA2 (the same conversion in uJy/arcsec^2)
  are recorded;
* the AREA reference (relative pixel area) is cut to the exposure's (sub)array and stored
  in the AREA extension; PIXAR_SR / PIXAR_A2 come from its header (from the PHOTOM header
  when no AREA reference applies).

Non-imaging exposures are SKIPPED (spectroscopic photometry is not implemented).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.core import Refs, Step, register
from webbcal.core.params import NoParams
from webbcal.errors import ReferenceFileError
from webbcal.steps._common import exp_type_of, instrument_of, ref_array
from webbcal.steps.assign_wcs import IMAGING_EXP_TYPES

log = logging.getLogger(__name__)

__all__ = ["MJYSR_TO_UJYA2", "PhotomStep", "PhotomValue", "find_photom_row"]

#: uJy/arcsec^2 per MJy/sr.
MJYSR_TO_UJYA2 = 1e12 / (180.0 / math.pi * 3600.0) ** 2


@dataclass(frozen=True)
class PhotomValue:
    """The conversion of one exposure: PHOTMJSR and its uncertainty [MJy/sr per DN/s]."""

    photmjsr: float
    uncertainty: float


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip().upper()


def find_photom_row(table: np.ndarray, model: Any, *, path: Any = None) -> PhotomValue:
    """The PHOTOM row matching the exposure (see the module docstring).

    Raises
    ------
    ReferenceFileError
        When no row matches, naming the exposure's values.
    """
    inst = instrument_of(model)
    names = set(table.dtype.names or ())
    filt = _text(model.meta.instrument.filter or "")
    pupil = _text(model.meta.instrument.pupil or "")
    sub = _text(model.meta.subarray.name or "")
    if len(table) == 0:
        raise ReferenceFileError("the PHOTOM table is empty", path=path)
    for row in table:
        if "filter" in names and _text(row["filter"]) != filt:
            continue
        if "pupil" in names and _text(row["pupil"]) not in (pupil, "ANY", "N/A"):
            continue
        if "subarray" in names and _text(row["subarray"]) not in (sub, "GENERIC", "ANY"):
            continue
        return PhotomValue(float(row["photmjsr"]), float(row["uncertainty"]))
    wanted = {"filter": filt, "pupil": pupil, "subarray": sub}
    described = ", ".join(f"{k.upper()}={v}" for k, v in wanted.items() if k in names)
    raise ReferenceFileError(
        f"photom: no row of the {inst} PHOTOM table matches {described}; pass "
        "--override_photom with a file that has one",
        path=path,
    )


def _scale(model: Any, name: str, factor: np.float32) -> None:
    if model.has(name):
        array = getattr(model, name)
        array *= factor


@register
class PhotomStep(Step):
    """Convert count rates to surface brightness (MJy/sr) and attach the pixel areas."""

    alias = "photom"
    class_name = "PhotomStep"
    description = "Flux calibration: DN/s -> MJy/sr (PHOTMJSR), AREA, PIXAR_SR/PIXAR_A2"
    Params = NoParams
    reftypes = ("photom",)
    optional_reftypes = ("area",)

    def skip_reason(self, model: Any, params: Any) -> str | None:
        """Only imaging photometry is implemented."""
        exp_type = exp_type_of(model)
        if exp_type not in IMAGING_EXP_TYPES:
            return f"photometric calibration of EXP_TYPE={exp_type or '<unset>'} is not implemented"
        return None

    def process(self, model: Any, refs: Refs, params: Any) -> Any:
        """Calibrate ``model`` in place."""
        photom = refs.photom
        value = find_photom_row(photom.phot_table, model, path=refs.path("photom"))
        phot = model.meta.photometry
        area_path = refs.path("area")
        if area_path is not None:
            area_ref = refs.area
            area = ref_array(area_ref, area_ref.data, model, what="AREA",
                             shape=tuple(model.shape[-2:]))  # fmt: skip
            model.area = np.array(area, dtype=np.float32)
            source = area_ref.meta.photometry
        else:
            source = photom.meta.photometry
        if source.pixelarea_steradians is not None:
            phot.pixelarea_steradians = float(source.pixelarea_steradians)
        if source.pixelarea_arcsecsq is not None:
            phot.pixelarea_arcsecsq = float(source.pixelarea_arcsecsq)

        conv = np.float32(value.photmjsr)
        model.data *= conv
        _scale(model, "err", conv)
        conv2 = np.float32(value.photmjsr**2)
        for name in ("var_poisson", "var_rnoise", "var_flat"):
            _scale(model, name, conv2)
        phot.conversion_megajanskys = value.photmjsr
        phot.conversion_microjanskys = value.photmjsr * MJYSR_TO_UJYA2
        model.meta.bunit_data = "MJy/sr"
        model.meta.bunit_err = "MJy/sr"
        log.info(
            "photom: PHOTMJSR = %.6g MJy/sr per DN/s (%s %s), PIXAR_SR = %s",
            value.photmjsr, model.meta.instrument.filter, model.meta.instrument.pupil or "",
            phot.pixelarea_steradians,
        )  # fmt: skip
        return model
