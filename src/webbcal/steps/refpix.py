"""refpix: remove amplifier drifts measured in the reference pixels.

Near-IR (NIRCam, NIRISS, NIRSpec, FGS), in the detector's readout frame:

* 4-output data (full frame, full-width subarrays): per group and amplifier, the
  sigma-clipped mean of the top/bottom reference rows (odd and even columns separately
  with ``odd_even_columns``) is subtracted from the amplifier's columns; with
  ``use_side_ref_pixels`` the left/right reference columns, running-median smoothed over
  ``side_smoothing_length`` rows and scaled by ``side_gain``, are subtracted row by row;
* 1-output subarrays: the clipped mean of all reference pixels of the group (odd/even
  columns separately with ``odd_even_columns``) is subtracted; the step is SKIPPED when
  the subarray has no usable reference pixel.

MIRI full frame: the first group is subtracted, the per-amplifier means of the left and
right reference columns (odd/even rows separately with ``odd_even_rows``) are removed
from every later group, and the first group is added back. MIRI subarrays are SKIPPED.

Reference pixels are those flagged REFERENCE_PIXEL in PIXELDQ (set by dq_init); those
also flagged DO_NOT_USE are not used (as in the official step). NIRSpec IRS2 (the only
mode with a REFPIX reference) and the SIRS algorithm are not implemented: IRS2 exposures
are SKIPPED and ``refpix_algorithm="sirs"`` is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from webbcal.core import Refs, Step, param, register
from webbcal.datamodels import RampModel, dqflags
from webbcal.errors import ParameterError
from webbcal.kernels.refpix import correct_refpix_miri, correct_refpix_nir
from webbcal.steps._common import instrument_of, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["RefPixParams", "RefPixStep"]


@dataclass(frozen=True, kw_only=True)
class RefPixParams:
    """Parameters of refpix (the official names and defaults)."""

    odd_even_columns: bool = param(True, "NIR: top/bottom means for odd and even columns")
    use_side_ref_pixels: bool = param(True, "NIR: subtract the smoothed side reference signal")
    side_smoothing_length: int = param(11, "NIR: running-median height for the side signal")
    side_gain: float = param(1.0, "NIR: factor applied to the side reference signal")
    odd_even_rows: bool = param(True, "MIRI: means for odd and even rows separately")
    ovr_corr_mitigation_ftr: float = param(3.0, "IRS2 only (not implemented)")
    preserve_irs2_refpix: bool = param(False, "IRS2 only (not implemented)")
    irs2_mean_subtraction: bool = param(False, "IRS2 only (not implemented)")
    refpix_algorithm: Literal["median", "sirs"] = param("median", "NIR full frame: algorithm")
    sigreject: float = param(4.0, "SIRS only (not implemented)")
    gaussmooth: float = param(1.0, "SIRS only (not implemented)")
    halfwidth: int = param(30, "SIRS only (not implemented)")


@register
class RefPixStep(Step):
    """Subtract the amplifier drifts measured in the reference pixels."""

    alias = "refpix"
    class_name = "RefPixStep"
    description = "Subtract amplifier offsets and row drifts seen by the reference pixels"
    Params = RefPixParams
    optional_reftypes = ("refpix",)

    def skip_reason(self, model: Any, params: RefPixParams) -> str | None:
        """MIRI subarrays and NIRSpec IRS2 are SKIPPED."""
        inst = instrument_of(model)
        readpatt = str(model.meta.exposure.readpatt or "").upper()
        if inst == "MIRI" and str(model.meta.subarray.name or "FULL").upper() != "FULL":
            return "the MIRI reference-pixel correction is not applied to subarrays"
        if inst == "NIRSPEC" and readpatt.startswith("NRSIRS2"):
            return "the NIRSpec IRS2 reference-pixel correction is not implemented"
        if (
            isinstance(model, RampModel)
            and model.has("pixeldq")
            and not _any_usable_reference_pixel(model.pixeldq)
        ):
            return "the (sub)array has no usable reference pixels"
        return None

    def process(self, model: Any, refs: Refs, params: RefPixParams) -> RampModel:
        """Correct every group in place."""
        if params.refpix_algorithm == "sirs":
            raise ParameterError(
                f"{self.name}: refpix_algorithm='sirs' is not implemented; use 'median'"
            )
        ramp = to_ramp_model(model, self.name)
        flags = dqflags.pixel
        if instrument_of(ramp) == "MIRI":
            result = correct_refpix_miri(ramp.data, ramp.pixeldq,
                                         odd_even_rows=params.odd_even_rows,
                                         do_not_use=flags["DO_NOT_USE"])  # fmt: skip
        else:
            sub, exp = ramp.meta.subarray, ramp.meta.exposure
            zeroframe = ramp.zeroframe if exp.zero_frame and ramp.has("zeroframe") else None
            result = correct_refpix_nir(
                ramp.data, ramp.pixeldq, detector=str(ramp.meta.instrument.detector).upper(),
                xstart=int(sub.xstart or 1), ystart=int(sub.ystart or 1),
                noutputs=int(exp.noutputs or 4), subarray=sub.name,
                odd_even_columns=params.odd_even_columns,
                use_side_ref_pixels=params.use_side_ref_pixels,
                side_smoothing_length=params.side_smoothing_length, side_gain=params.side_gain,
                zeroframe=zeroframe, do_not_use=flags["DO_NOT_USE"],
                reference_pixel=flags["REFERENCE_PIXEL"],
            )  # fmt: skip
        if result.bad_reference_pixels:
            log.warning("%s: some amplifiers or groups had no usable reference pixels; their "
                        "correction was left out", self.name)  # fmt: skip
        return ramp


def _usable_reference_pixels(pixeldq: np.ndarray) -> np.ndarray:
    """Reference pixels the correction can use: REFERENCE_PIXEL set, DO_NOT_USE not."""
    ref = np.uint32(dqflags.pixel["REFERENCE_PIXEL"])
    dnu = np.uint32(dqflags.pixel["DO_NOT_USE"])
    return ((pixeldq & ref) != 0) & ((pixeldq & dnu) == 0)


def _any_usable_reference_pixel(pixeldq: np.ndarray, rows: int = 64) -> bool:
    """Whether any reference pixel is usable, looking ``rows`` rows at a time.

    The first block of a frame with reference rows answers at once.
    """
    return any(
        _usable_reference_pixels(pixeldq[..., y : y + rows, :]).any()
        for y in range(0, pixeldq.shape[-2], rows)
    )
