"""guider_cds: count-rate images from the correlated double samples of FGS guiding data.

Per guiding mode (EXP_TYPE): ACQ1, ACQ2 and TRACK give one image per integration, last
group minus first group over the group time; ID (ID-IMAGE, ID-STACK) takes the minimum of
the two integrations' differences and gives one image; FineGuide uses the mean of the
last 4 groups minus the mean of the first 4. ERR comes from the read noise and the
Poisson noise (GAIN and READNOISE references, cut to the window). The result is a
``GuiderCalModel`` (DN/s) carrying the input's DQ and guider tables.
"""

from __future__ import annotations

import logging
from typing import Any

from webbcal.core import Refs, Step, register
from webbcal.core.params import NoParams
from webbcal.datamodels import GuiderCalModel, GuiderRawModel
from webbcal.errors import InputError
from webbcal.kernels.guider_cds import guider_rates
from webbcal.steps._common import (
    GUIDER_EXP_TYPES,
    copy_meta,
    exp_type_of,
    readout,
    ref_array,
    to_ramp_model,
)

log = logging.getLogger(__name__)

__all__ = ["GuiderCdsStep"]

_TABLES = ("planned_star_table", "flight_star_table", "pointing_table", "centroid_table",
           "track_sub_table")  # fmt: skip


@register
class GuiderCdsStep(Step):
    """FGS guiding modes: count rates from correlated double samples."""

    alias = "guider_cds"
    class_name = "GuiderCdsStep"
    description = "FGS guiding: count-rate images from correlated double sampling"
    Params = NoParams
    reftypes = ("gain", "readnoise")

    def skip_reason(self, model: Any, params: NoParams) -> str | None:
        """Only the FGS guiding EXP_TYPEs."""
        if exp_type_of(model) not in GUIDER_EXP_TYPES:
            return f"EXP_TYPE {model.meta.exposure.type} is not an FGS guiding mode"
        return None

    def process(self, model: Any, refs: Refs, params: NoParams) -> GuiderCalModel:
        """Compute the rates and their errors."""
        raw = to_ramp_model(model, self.name, GuiderRawModel)
        exp_type = exp_type_of(raw)
        nints, ngroups = raw.data.shape[:2]
        need = 8 if exp_type == "FGS_FINEGUIDE" else 2
        if ngroups < need or (exp_type.startswith("FGS_ID") and nints < 2):
            raise InputError(
                f"{self.name}: {exp_type} data need at least {need} groups"
                f"{' and 2 integrations' if exp_type.startswith('FGS_ID') else ''}; the SCI "
                f"array has {nints} integration(s) of {ngroups} group(s)",
                path=raw.meta.filename,
            )
        timing = readout(raw, self.name)
        gain_ref, rn_ref = refs.gain, refs.readnoise
        gain = ref_array(gain_ref, "data", raw, what="GAIN")
        readnoise = ref_array(rn_ref, "data", raw, what="READNOISE")
        rate, err = guider_rates(raw.data, exp_type, timing.group_time, gain, readnoise)
        out = GuiderCalModel(data=rate, err=err, dq=raw.dq)
        copy_meta(raw, out)
        for name in _TABLES:
            if raw.has(name):
                setattr(out, name, getattr(raw, name))
        out.meta.bunit_data = "DN/s"
        out.meta.bunit_err = "DN/s"
        return out
