"""superbias: subtract the bias frame (SUPERBIAS reference) from every group.

The superbias, cut to the subarray (NaN values treated as 0, i.e. not subtracted), is
subtracted in place from every group of every integration, and from the ZEROFRAME (where
it is not 0). Its DQ is OR-ed into PIXELDQ. Near-IR only: MIRI has no superbias
reference, so the step is SKIPPED there.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from webbcal.core import Refs, Step, register
from webbcal.core.params import NoParams
from webbcal.datamodels import RampModel
from webbcal.kernels.superbias import subtract_superbias
from webbcal.steps._common import ref_array, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["SuperBiasStep"]


@register
class SuperBiasStep(Step):
    """Subtract the superbias from every group."""

    alias = "superbias"
    class_name = "SuperBiasStep"
    description = "Subtract the superbias (bias frame) from every group"
    Params = NoParams
    reftypes = ("superbias",)

    def process(self, model: Any, refs: Refs, params: NoParams) -> RampModel:
        """Subtract the bias in place; OR its DQ into PIXELDQ."""
        ramp = to_ramp_model(model, self.name)
        ref = refs.superbias
        bias = ref_array(ref, "data", ramp, what="SUPERBIAS")
        zeroframe = None
        if ramp.meta.exposure.zero_frame and ramp.has("zeroframe"):
            zeroframe = ramp.zeroframe
        subtract_superbias(ramp.data, bias, zeroframe=zeroframe)
        if ref.has("dq"):
            np.bitwise_or(ramp.pixeldq, ref_array(ref, "dq", ramp, what="SUPERBIAS"),
                          out=ramp.pixeldq)  # fmt: skip
        return ramp
