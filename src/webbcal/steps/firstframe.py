"""firstframe: flag the first group of every MIRI integration DO_NOT_USE.

The first group of a MIRI integration carries a reset transient; with more than 3 groups
it is flagged DO_NOT_USE in every integration, so that jump and ramp_fit ignore it. With
``bright_use_group1`` the first group is kept for pixels already saturated in the third
group (so that a slope can still be fitted from the first two). SKIPPED for other
instruments and for ramps of 3 groups or fewer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from webbcal.core import Refs, Step, param, register
from webbcal.datamodels import RampModel, dqflags
from webbcal.kernels.firstframe import flag_first_group
from webbcal.steps._common import instrument_of, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["FirstFrameParams", "FirstFrameStep"]


@dataclass(frozen=True, kw_only=True)
class FirstFrameParams:
    """Parameters of firstframe (the official ones)."""

    bright_use_group1: bool = param(True, "Keep group 1 where group 3 is saturated")


@register
class FirstFrameStep(Step):
    """MIRI: flag the first group of each integration."""

    alias = "firstframe"
    class_name = "FirstFrameStep"
    description = "MIRI: flag the first group of each integration DO_NOT_USE"
    Params = FirstFrameParams

    def skip_reason(self, model: Any, params: FirstFrameParams) -> str | None:
        """MIRI only, and only for more than 3 groups."""
        if instrument_of(model) != "MIRI":
            return "the first-frame correction is only for MIRI"
        if model.shape is not None and model.shape[1] <= 3:
            return f"too few groups ({model.shape[1]}) to drop the first one"
        return None

    def process(self, model: Any, refs: Refs, params: FirstFrameParams) -> RampModel:
        """Set DO_NOT_USE on the first group (in place)."""
        ramp = to_ramp_model(model, self.name)
        flag_first_group(
            ramp.groupdq, bright_use_group1=params.bright_use_group1,
            do_not_use=dqflags.group["DO_NOT_USE"], saturated=dqflags.group["SATURATED"],
        )  # fmt: skip
        return ramp
