"""linearity: correct the ramps for the detector's non-linear response.

Each group not flagged SATURATED becomes ``sum_i c_i * D**i`` with the coefficients of the
LINEARITY reference (``(ncoeffs, ny, nx)``, cut to the subarray). Pixels whose coefficients
are NaN or that the reference flags NO_LIN_CORR are left uncorrected and flagged
NO_LIN_CORR; the reference DQ is OR-ed into PIXELDQ. The ZEROFRAME is corrected too.
"""

from __future__ import annotations

import logging
from typing import Any

from webbcal.core import Refs, Step, register
from webbcal.core.params import NoParams
from webbcal.datamodels import RampModel, dqflags
from webbcal.kernels.linearity import correct_linearity
from webbcal.steps._common import ref_array, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["LinearityStep"]


@register
class LinearityStep(Step):
    """Apply the polynomial linearity correction."""

    alias = "linearity"
    class_name = "LinearityStep"
    description = "Correct the ramps for non-linearity (polynomial coefficients)"
    Params = NoParams
    reftypes = ("linearity",)

    def process(self, model: Any, refs: Refs, params: NoParams) -> RampModel:
        """Correct the unsaturated groups in place."""
        ramp = to_ramp_model(model, self.name)
        ref = refs.linearity
        coeffs = ref_array(ref, "coeffs", ramp, what="LINEARITY")
        lin_dq = ref_array(ref, "dq", ramp, what="LINEARITY") if ref.has("dq") else None
        zeroframe = None
        if ramp.meta.exposure.zero_frame and ramp.has("zeroframe"):
            zeroframe = ramp.zeroframe
        correct_linearity(
            ramp.data, ramp.groupdq, ramp.pixeldq, coeffs, lin_dq, zeroframe=zeroframe,
            saturated=dqflags.group["SATURATED"], no_lin_corr=dqflags.pixel["NO_LIN_CORR"],
        )  # fmt: skip
        return ramp
