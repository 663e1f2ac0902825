"""lastframe: flag the last group of every MIRI integration DO_NOT_USE.

The last group of a MIRI integration is offset by the reset of the next one; with more
than 2 groups it is flagged DO_NOT_USE in every integration. SKIPPED for other instruments
and for ramps of 2 groups or fewer.
"""

from __future__ import annotations

import logging
from typing import Any

from webbcal.core import Refs, Step, register
from webbcal.core.params import NoParams
from webbcal.datamodels import RampModel, dqflags
from webbcal.kernels.lastframe import flag_last_group
from webbcal.steps._common import instrument_of, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["LastFrameStep"]


@register
class LastFrameStep(Step):
    """MIRI: flag the last group of each integration."""

    alias = "lastframe"
    class_name = "LastFrameStep"
    description = "MIRI: flag the last group of each integration DO_NOT_USE"
    Params = NoParams

    def skip_reason(self, model: Any, params: NoParams) -> str | None:
        """MIRI only, and only for more than 2 groups."""
        if instrument_of(model) != "MIRI":
            return "the last-frame correction is only for MIRI"
        if model.shape is not None and model.shape[1] <= 2:
            return f"too few groups ({model.shape[1]}) to drop the last one"
        return None

    def process(self, model: Any, refs: Refs, params: NoParams) -> RampModel:
        """Set DO_NOT_USE on the last group (in place)."""
        ramp = to_ramp_model(model, self.name)
        flag_last_group(ramp.groupdq, do_not_use=dqflags.group["DO_NOT_USE"])
        return ramp
