"""reset: subtract the MIRI reset anomaly (RESET reference) from the first groups.

The RESET reference holds, per integration and group, the offset the reset transient adds
(``(nints, ngroups, ny, nx)``); it is subtracted in place from the matching groups of each
integration, integrations beyond the reference using its last one and groups beyond it
receiving no correction. NaN values are not subtracted; the reference DQ is OR-ed into
PIXELDQ. SKIPPED for other instruments.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from webbcal.core import Refs, Step, register
from webbcal.core.params import NoParams
from webbcal.datamodels import RampModel
from webbcal.kernels.reset import subtract_reset
from webbcal.steps._common import instrument_of, ref_array, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["ResetStep"]


@register
class ResetStep(Step):
    """MIRI: subtract the reset anomaly."""

    alias = "reset"
    class_name = "ResetStep"
    description = "MIRI: subtract the reset anomaly (RESET reference)"
    Params = NoParams
    reftypes = ("reset",)

    def skip_reason(self, model: Any, params: NoParams) -> str | None:
        """MIRI only."""
        if instrument_of(model) != "MIRI":
            return "the reset correction is only for MIRI"
        return None

    def process(self, model: Any, refs: Refs, params: NoParams) -> RampModel:
        """Subtract the reset anomaly in place."""
        ramp = to_ramp_model(model, self.name)
        ref = refs.reset
        start = ramp.meta.exposure.integration_start
        subtract_reset(ramp.data, ref_array(ref, "data", ramp, what="RESET"),
                       integration_start=None if start is None else int(start))
        if ref.has("dq"):
            np.bitwise_or(ramp.pixeldq, ref_array(ref, "dq", ramp, what="RESET"),
                          out=ramp.pixeldq)  # fmt: skip
        return ramp
