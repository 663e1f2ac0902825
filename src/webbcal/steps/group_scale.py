"""group_scale: correct on-board frame averaging done with a power-of-two divisor.

The on-board average of NFRAMES frames is a bit shift by FRMDIVSR (the next power of two),
so groups are low by NFRAMES/FRMDIVSR when NFRAMES is not a power of two. This step
multiplies every group by FRMDIVSR/NFRAMES; it is SKIPPED when the two are equal or
FRMDIVSR is unset. A raw exposure becomes a float32 ``RampModel`` here (once). ERR and
the variance arrays, when a ramp already has them, are rescaled too (by the factor and its
square).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from webbcal.core import Refs, Step, register
from webbcal.core.params import NoParams
from webbcal.datamodels import GuiderRawModel, RampModel
from webbcal.kernels.group_scale import scale_groups
from webbcal.steps._common import is_guider, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["GroupScaleStep", "group_scale_factor"]


def group_scale_factor(model: Any) -> float | None:
    """FRMDIVSR / NFRAMES, or None when no rescaling is needed."""
    exp = model.meta.exposure
    divisor, nframes = exp.frame_divisor, exp.nframes
    if divisor is None or nframes is None or int(divisor) == int(nframes) or int(nframes) < 1:
        return None
    return float(divisor) / float(nframes)


@register
class GroupScaleStep(Step):
    """Rescale groups averaged on board with a power-of-two divisor."""

    alias = "group_scale"
    class_name = "GroupScaleStep"
    description = "Rescale frame-averaged groups by FRMDIVSR/NFRAMES"
    Params = NoParams

    def skip_reason(self, model: Any, params: NoParams) -> str | None:
        """SKIPPED when NFRAMES equals FRMDIVSR (or FRMDIVSR is unset)."""
        if group_scale_factor(model) is None:
            exp = model.meta.exposure
            return f"NFRAMES={exp.nframes} and FRMDIVSR={exp.frame_divisor}: no rescaling needed"
        return None

    def process(self, model: Any, refs: Refs, params: NoParams) -> Any:
        """Multiply the groups (and any ERR / variances) by FRMDIVSR / NFRAMES."""
        ramp = to_ramp_model(model, self.name, GuiderRawModel if is_guider(model) else RampModel)
        exp = ramp.meta.exposure
        factor = scale_groups(ramp.data, int(exp.nframes), int(exp.frame_divisor))
        log.info("%s: rescaled by FRMDIVSR/NFRAMES = %g", self.name, factor)
        if ramp.has("err"):
            ramp.err *= np.float32(factor)
        for name in ("var_poisson", "var_rnoise"):
            if name in ramp.declared() and ramp.has(name):
                getattr(ramp, name)[...] *= np.float32(factor * factor)
        return ramp
