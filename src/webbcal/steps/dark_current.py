"""dark_current: subtract the dark current (DARK reference) group by group.

The dark reference holds one frame per read (NFRAMES=1, GROUPGAP=0); for frame-averaged
exposures its frames are averaged NFRAMES at a time, skipping GROUPGAP, to match each
group; a dark shorter than the exposure is extrapolated from its last two groups. The
step is SKIPPED when the dark has more frames per group than the exposure. Near-IR
darks are the same for every integration; MIRI darks (4-D) have one plane per
integration for the first ones, the last applying to the rest.
NaN dark values are not subtracted; the dark DQ is OR-ed into PIXELDQ. ERR is untouched.

The average dark current (``average_dark_current`` if given, else the reference's AVDRKCUR
array, else its AVDRKCUR keyword), in DN/s, is stored in the ramp's AVDRKCUR array, where
ramp_fit adds it to the Poisson variance. ``dark_output`` saves the frame-averaged dark
that was subtracted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from webbcal import datamodels
from webbcal.core import Refs, Step, param, register
from webbcal.core.naming import output_path
from webbcal.core.references import NOT_APPLICABLE
from webbcal.datamodels import DarkMIRIModel, DarkModel, RampModel
from webbcal.kernels.dark import subtract_dark, subtract_dark_frames
from webbcal.steps._common import readout, ref_array, ref_planes, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["DarkCurrentParams", "DarkCurrentStep"]


@dataclass(frozen=True, kw_only=True)
class DarkCurrentParams:
    """Parameters of dark_current (the official names)."""

    dark_output: str | None = param(None, "File to save the frame-averaged dark subtracted")
    average_dark_current: float | None = param(
        None, "Average dark current (DN/s) for the Poisson variance; default: the reference's"
    )


@register
class DarkCurrentStep(Step):
    """Subtract the dark current from every group."""

    alias = "dark_current"
    class_name = "DarkCurrentStep"
    cal_step = "dark_sub"
    description = "Subtract the dark current (frame-averaged to the readout pattern)"
    Params = DarkCurrentParams
    reftypes = ("dark",)

    def skip_reason(self, model: Any, params: DarkCurrentParams) -> str | None:
        """SKIPPED when the dark has more frames per group (or a larger gap) than the data."""
        path = self._dark_path(model)
        if path is None:
            return None
        dark_nframes, dark_groupgap = _dark_readout(path)
        exp = model.meta.exposure
        if dark_nframes > int(exp.nframes or 1) or dark_groupgap > int(exp.groupgap or 0):
            return (f"the dark has NFRAMES={dark_nframes}, GROUPGAP={dark_groupgap}, more than "
                    f"the exposure's {exp.nframes}, {exp.groupgap}")
        return None

    def _dark_path(self, model: Any) -> Path | None:
        override = self.config.override("dark") if self.config is not None else None
        if override is not None:
            return None if override.strip().upper() == NOT_APPLICABLE else Path(override)
        return self._resolver()("dark", model)

    def process(self, model: Any, refs: Refs, params: DarkCurrentParams) -> RampModel:
        """Subtract the dark in place and record the average dark current."""
        ramp = to_ramp_model(model, self.name)
        ref = refs.dark
        timing = readout(ramp, self.name)
        if ref.has("dq"):
            dark_dq = ref_array(ref, "dq", ramp, what="DARK")
        else:
            dark_dq = np.zeros(ramp.data.shape[-2:], np.uint32)
        dark_exp = ref.meta.exposure
        start = ramp.meta.exposure.integration_start
        readouts = dict(
            nframes=timing.nframes, groupgap=timing.groupgap,
            dark_nframes=int(dark_exp.nframes or 1), dark_groupgap=int(dark_exp.groupgap or 0),
            integration_start=None if start is None else int(start),
        )  # fmt: skip
        if params.dark_output is None:
            # the dark's frames are read group by group, never the whole array
            read, shape = ref_planes(ref, "data", ramp, what="DARK")
            subtract_dark_frames(ramp.data, ramp.pixeldq, read, shape, dark_dq, **readouts)
        else:
            dark = ref_array(ref, "data", ramp, what="DARK")
            result = subtract_dark(ramp.data, ramp.pixeldq, dark, dark_dq, **readouts)
            if result.dark is not None:
                self._save_dark(ref, result.dark, params.dark_output)
        ramp.average_dark_current = self._average_dark(ref, ramp, params)
        return ramp

    def _average_dark(self, ref: Any, ramp: RampModel, params: DarkCurrentParams) -> np.ndarray:
        shape = ramp.data.shape[-2:]
        if params.average_dark_current is not None:
            return np.full(shape, params.average_dark_current, np.float32)
        if ref.has("average_dark_current"):
            return np.array(ref_array(ref, "average_dark_current", ramp, what="DARK"),
                            np.float32)  # fmt: skip
        value = ref.meta.exposure.average_dark_current
        return np.full(shape, 0.0 if value is None else float(value), np.float32)

    def _save_dark(self, ref: Any, averaged: np.ndarray, name: str) -> None:
        cls = DarkMIRIModel if averaged.ndim == 4 else DarkModel
        out = cls(data=averaged)
        out.meta.update(ref.meta.to_dict())
        directory = self.config.common.output_dir if self.config is not None else None
        self.save_product_as(out, output_path(name, directory))


def _dark_readout(path: Path) -> tuple[int, int]:
    """NFRAMES and GROUPGAP of a dark reference (from the primary header of a FITS file)."""
    if path.suffix.lower() == ".fits" and path.is_file():
        header = fits.getheader(path, 0)
        if "NFRAMES" in header:
            return int(header["NFRAMES"] or 1), int(header.get("GROUPGAP") or 0)
    with datamodels.open(path) as ref:
        return int(ref.meta.exposure.nframes or 1), int(ref.meta.exposure.groupgap or 0)
