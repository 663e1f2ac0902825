"""calwebb_guider: FGS guiding-mode exposures (ID, ACQ1, ACQ2, TRACK, FineGuide) -> _cal.

Steps: ``dq_init`` (mask flags into the guider DQ), ``guider_cds`` (count rates from the
correlated double samples) and ``flat_field``. The product is a 3-D ``GuiderCalModel``
(one image per integration; one for ID modes) saved with the suffix ``_cal``.
"""

from __future__ import annotations

import logging
from typing import Any

from webbcal.core import Pipeline, Refs, register
from webbcal.core.params import NoParams
from webbcal.errors import InputError
from webbcal.steps._common import GUIDER_EXP_TYPES, exp_type_of
from webbcal.steps.dq_init import DQInitStep
from webbcal.steps.flat_field import FlatFieldStep
from webbcal.steps.guider_cds import GuiderCdsStep

log = logging.getLogger(__name__)

__all__ = ["GuiderPipeline"]


@register
class GuiderPipeline(Pipeline):
    """FGS guiding modes: DQ initialisation, CDS count rates and flat fielding."""

    alias = "calwebb_guider"
    class_name = "GuiderPipeline"
    description = "FGS guiding modes: dq_init, guider_cds, flat_field (-> _cal)"
    Params = NoParams
    suffix = "cal"
    step_defs = {
        "dq_init": DQInitStep,
        "guider_cds": GuiderCdsStep,
        "flat_field": FlatFieldStep,
    }

    def process(self, model: Any, refs: Refs, params: NoParams) -> Any:
        """Run dq_init, guider_cds and flat_field."""
        if exp_type_of(model) not in GUIDER_EXP_TYPES:
            modes = ", ".join(sorted(GUIDER_EXP_TYPES))
            raise InputError(
                f"calwebb_guider processes FGS guiding modes ({modes}); "
                f"EXP_TYPE is {model.meta.exposure.type}",
                path=model.meta.filename,
            )
        for name in ("dq_init", "guider_cds", "flat_field"):
            model = self.run_step(name, model)
        return model
