"""ipc: remove inter-pixel capacitance by deconvolving the IPC kernel from every group.

The IPC reference is a small 2-D kernel (e.g. 3x3) or a per-pixel 4-D kernel; it is
deconvolved (to first order) from every group of every integration, in place. Reference
pixels are neither corrected nor used (near-IR: the 4-pixel borders of the detector that
fall in the (sub)array). The official ``pars-detector1pipeline`` skips this step for every
instrument, and so does calwebb_detector1's default configuration.
"""

from __future__ import annotations

import logging
from typing import Any

from webbcal.core import Refs, Step, register
from webbcal.core.params import NoParams
from webbcal.datamodels import RampModel
from webbcal.kernels.ipc import correct_ipc, reference_counts
from webbcal.steps._common import instrument_of, ref_array, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["IPCStep"]


@register
class IPCStep(Step):
    """Deconvolve the inter-pixel capacitance kernel."""

    alias = "ipc"
    class_name = "IPCStep"
    description = "Deconvolve the inter-pixel capacitance kernel from every group"
    Params = NoParams
    reftypes = ("ipc",)

    def process(self, model: Any, refs: Refs, params: NoParams) -> RampModel:
        """Correct every group in place."""
        ramp = to_ramp_model(model, self.name)
        ref = refs.ipc
        kernel = ref.data
        if kernel.ndim == 4:
            kernel = ref_array(ref, kernel, ramp, what="IPC")
        ny, nx = ramp.data.shape[-2:]
        sub = ramp.meta.subarray
        borders = reference_counts(instrument_of(ramp), int(sub.xstart or 1),
                                   int(sub.ystart or 1), nx, ny)  # fmt: skip
        correct_ipc(ramp.data, kernel, borders=borders)
        return ramp
