"""calwebb_dark: dark exposures -> the corrected ramp (``_dark``).

All of calwebb_detector1's corrections up to, but not including, ``dark_current``:

    near-IR: group_scale dq_init saturation ipc superbias refpix linearity
    MIRI:    group_scale dq_init saturation ipc firstframe lastframe linearity rscd

(the official list: MIRI's ``reset`` is not run, nor ``refpix``, which follows
``dark_current`` in calwebb_detector1). The
product is the 4-D RampModel saved with the suffix ``_dark``. ``ipc`` is skipped by
default, as in calwebb_detector1.
"""

from __future__ import annotations

import logging
from typing import Any

from webbcal.core import Pipeline, Refs, register
from webbcal.core.params import Layer, NoParams
from webbcal.steps._common import instrument_of
from webbcal.steps.dq_init import DQInitStep
from webbcal.steps.firstframe import FirstFrameStep
from webbcal.steps.group_scale import GroupScaleStep
from webbcal.steps.ipc import IPCStep
from webbcal.steps.lastframe import LastFrameStep
from webbcal.steps.linearity import LinearityStep
from webbcal.steps.refpix import RefPixStep
from webbcal.steps.rscd import RscdStep
from webbcal.steps.saturation import SaturationStep
from webbcal.steps.superbias import SuperBiasStep

log = logging.getLogger(__name__)

__all__ = ["MIRI_DARK_STEPS", "NIR_DARK_STEPS", "DarkPipeline"]

NIR_DARK_STEPS = ("group_scale", "dq_init", "saturation", "ipc", "superbias", "refpix",
                  "linearity")  # fmt: skip
MIRI_DARK_STEPS = ("group_scale", "dq_init", "saturation", "ipc", "firstframe", "lastframe",
                   "linearity", "rscd")  # fmt: skip


@register
class DarkPipeline(Pipeline):
    """Dark exposures: detector corrections up to (not including) dark_current."""

    alias = "calwebb_dark"
    class_name = "DarkPipeline"
    description = "Darks: calwebb_detector1 corrections before dark_current (-> _dark)"
    Params = NoParams
    suffix = "dark"
    step_defs = {
        "group_scale": GroupScaleStep,
        "dq_init": DQInitStep,
        "saturation": SaturationStep,
        "ipc": IPCStep,
        "superbias": SuperBiasStep,
        "refpix": RefPixStep,
        "linearity": LinearityStep,
        "firstframe": FirstFrameStep,
        "lastframe": LastFrameStep,
        "rscd": RscdStep,
    }

    def _pars_layer(self, cls: type, model: Any) -> Layer | None:
        layer = super()._pars_layer(cls, model)
        if layer is None and cls is type(self) and model is not None:
            layer = Layer.from_overrides(
                {"steps": {"ipc": {"skip": True}}}, source="webbcal default pars-darkpipeline"
            )
        return layer

    def process(self, model: Any, refs: Refs, params: NoParams) -> Any:
        """Run the instrument's steps up to dark_current."""
        order = MIRI_DARK_STEPS if instrument_of(model) == "MIRI" else NIR_DARK_STEPS
        for name in order:
            model = self.run_step(name, model)
        return model
