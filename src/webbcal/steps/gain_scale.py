"""gain_scale: rescale count rates taken with a non-standard gain setting.

The factor is the GAINFACT of the GAIN reference file, which ramp_fit copies into the
science metadata (``meta.exposure.gain_factor``); when the science data lack it the gain
reference is read. SCI and ERR are multiplied by the factor and VAR_POISSON / VAR_RNOISE
by its square. The step is SKIPPED when no factor is found (the standard-gain references
have no GAINFACT).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from webbcal import datamodels
from webbcal.core import Refs, Step, register
from webbcal.core.params import NoParams
from webbcal.kernels.gain_scale import scale_by_gain_factor

log = logging.getLogger(__name__)

__all__ = ["GainScaleStep"]


@register
class GainScaleStep(Step):
    """Rescale rates (and their errors and variances) by GAINFACT."""

    alias = "gain_scale"
    class_name = "GainScaleStep"
    description = "Rescale rates taken with a non-standard gain (GAINFACT)"
    Params = NoParams
    optional_reftypes = ("gain",)

    def skip_reason(self, model: Any, params: NoParams) -> str | None:
        """SKIPPED when neither the data nor the gain reference give GAINFACT."""
        if _factor(model, self._gain_reference(model)) is None:
            return "no GAINFACT in the data or the GAIN reference: standard gain"
        return None

    def _gain_reference(self, model: Any) -> Path | None:
        if model.meta.exposure.gain_factor is not None:
            return None
        override = self.config.override("gain") if self.config is not None else None
        if override is not None:
            return None if override.strip().upper() == "N/A" else Path(override)
        return self._resolver()("gain", model)

    def process(self, model: Any, refs: Refs, params: NoParams) -> Any:
        """Multiply SCI and ERR by GAINFACT and the variances by its square."""
        factor = _factor(model, refs.path("gain"))
        log.info("%s: rescaling by GAINFACT = %g", self.name, factor)
        declared = model.declared()

        def present(name: str) -> np.ndarray | None:
            return getattr(model, name) if name in declared and model.has(name) else None

        scale_by_gain_factor(model.data, present("err"), factor,
                             var_poisson=present("var_poisson"),
                             var_rnoise=present("var_rnoise"))  # fmt: skip
        model.meta.exposure.gain_factor = factor
        return model


def _factor(model: Any, gain_path: Path | None) -> float | None:
    factor = model.meta.exposure.gain_factor
    if factor is None and gain_path is not None:
        with datamodels.open(gain_path) as gain:
            factor = gain.meta.exposure.gain_factor
    return None if factor is None else float(factor)
