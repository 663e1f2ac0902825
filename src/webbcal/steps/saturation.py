"""saturation: flag groups at or above the saturation threshold and at the A/D floor.

Thresholds come from the SATURATION reference (raw DN) cut to the subarray; NaN thresholds
and NO_SAT_CHECK pixels get the 16-bit A/D limit (65535) and NO_SAT_CHECK in PIXELDQ. A
group at or above its threshold is flagged SATURATED together with every later group;
``n_pix_grow_sat`` rings of neighbours are flagged too (charge migration). Groups at or
below 0 DN get AD_FLOOR | DO_NOT_USE. With ``use_readpatt`` and frame-averaged groups
(NFRAMES > 1), groups that saturated part-way are found from the read pattern (and the
superbias, when one applies); the ZEROFRAME is checked and zeroed where saturated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.core import Refs, Step, param, register
from webbcal.datamodels import RampModel, dqflags
from webbcal.kernels.saturation import flag_saturation, grouped_read_pattern
from webbcal.steps._common import ref_array, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["SaturationParams", "SaturationStep"]

#: The hard limit of the 16-bit A/D converters.
ATOD_LIMIT = 65535.0


@dataclass(frozen=True, kw_only=True)
class SaturationParams:
    """Parameters of saturation (the official names and defaults)."""

    n_pix_grow_sat: int = param(1, "Rings of neighbouring pixels also flagged (charge spill)")
    use_readpatt: bool = param(True, "Use the read pattern to flag part-saturated groups")


@register
class SaturationStep(Step):
    """Flag saturated and A/D-floor groups."""

    alias = "saturation"
    class_name = "SaturationStep"
    description = "Flag saturated groups (and their neighbours) and A/D-floor groups"
    Params = SaturationParams
    reftypes = ("saturation",)
    optional_reftypes = ("superbias",)

    def process(self, model: Any, refs: Refs, params: SaturationParams) -> RampModel:
        """Flag GROUPDQ in place; NO_SAT_CHECK goes to PIXELDQ."""
        ramp = to_ramp_model(model, self.name)
        ref = refs.saturation
        threshold = ref_array(ref, "data", ramp, what="SATURATION")
        sat_dq = (ref_array(ref, "dq", ramp, what="SATURATION") if ref.has("dq")
                  else np.zeros(threshold.shape, np.uint32))  # fmt: skip
        nframes = int(ramp.meta.exposure.nframes or 1)
        read_pattern, bias = None, None
        if params.use_readpatt and nframes > 1:
            read_pattern = grouped_read_pattern(ramp.data.shape[1], nframes)
            if refs.path("superbias") is not None:
                bias_ref = refs.superbias
                bias = ref_array(bias_ref, "data", ramp, what="SUPERBIAS")
        zeroframe = None
        if ramp.meta.exposure.zero_frame and ramp.has("zeroframe"):
            zeroframe = ramp.zeroframe
        flags = dqflags.pixel
        result = flag_saturation(
            ramp.data, ramp.groupdq, ramp.pixeldq, threshold, sat_dq,
            n_pix_grow_sat=params.n_pix_grow_sat, read_pattern=read_pattern, bias=bias,
            zeroframe=zeroframe, atod_limit=ATOD_LIMIT, do_not_use=flags["DO_NOT_USE"],
            saturated=flags["SATURATED"], ad_floor=flags["AD_FLOOR"],
            no_sat_check=flags["NO_SAT_CHECK"],
        )  # fmt: skip
        log.info("%s: %d saturated pixels, %d at the A/D floor", self.name,
                 result.n_saturated, result.n_ad_floor)  # fmt: skip
        return ramp
