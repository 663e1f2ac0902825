"""dq_init: start the data-quality arrays of a raw exposure from the MASK reference.

The raw ``Level1bModel`` becomes a ``RampModel`` here (SCI converted from uint16 to float32
once, see :func:`webbcal.steps._common.to_ramp_model`); its PIXELDQ is the bitwise OR of
any PIXELDQ it had and the MASK reference's DQ (cut to the subarray), and GROUPDQ starts at
zero when the input had none. No ERR array is made: Stage 1 ramps carry none.

FGS guiding-mode exposures (FGS_ID-IMAGE, FGS_ID-STACK, FGS_ACQ1, FGS_ACQ2, FGS_TRACK,
FGS_FINEGUIDE) become a ``GuiderRawModel`` whose 2-D DQ receives the mask flags instead.

``user_supplied_dq``: a FITS file whose first 2-D integer image (same shape as one group)
is OR-ed into PIXELDQ as well, as the official parameter does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from webbcal.core import Refs, Step, param, register
from webbcal.datamodels import GuiderRawModel, RampModel
from webbcal.errors import InputError
from webbcal.kernels.pagemem import zeros_small_pages
from webbcal.steps._common import check_window, is_guider, ref_array, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["DQInitParams", "DQInitStep"]


@dataclass(frozen=True, kw_only=True)
class DQInitParams:
    """Parameters of dq_init."""

    user_supplied_dq: str | None = param(
        None, "FITS file with a 2-D integer DQ image OR-ed into the pixel DQ"
    )


@register
class DQInitStep(Step):
    """Initialise PIXELDQ (DQ for guider data) from the MASK reference file."""

    alias = "dq_init"
    class_name = "DQInitStep"
    description = "Initialise the pixel DQ from the MASK reference (uncal -> ramp)"
    Params = DQInitParams
    reftypes = ("mask",)

    def process(self, model: Any, refs: Refs, params: DQInitParams) -> Any:
        """Convert to a ramp model and OR the mask flags into its pixel DQ."""
        check_window(model, self.name)
        guider = is_guider(model)
        ramp = to_ramp_model(model, self.name, GuiderRawModel if guider else RampModel)
        mask = refs.mask
        flags = ref_array(mask, "dq", ramp, what="MASK")
        if guider:
            np.bitwise_or(ramp.dq, flags, out=ramp.dq)
        else:
            np.bitwise_or(ramp.pixeldq, flags, out=ramp.pixeldq)
            if not ramp.has("groupdq"):  # zeros; small pages, faulted in by all threads
                ramp.groupdq = zeros_small_pages(ramp.data.shape, np.uint8)
        if params.user_supplied_dq:
            target = ramp.dq if guider else ramp.pixeldq
            np.bitwise_or(target, _user_dq(params.user_supplied_dq, target.shape), out=target)
        return ramp


def _user_dq(path: str, shape: tuple[int, ...]) -> np.ndarray:
    """The first 2-D integer image of a user DQ file, checked against ``shape``."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise InputError("user_supplied_dq: file not found", path=file)
    with fits.open(file) as hdul:
        for hdu in hdul:
            data = getattr(hdu, "data", None)
            if isinstance(data, np.ndarray) and data.ndim == 2 and data.dtype.kind in "iu":
                if data.shape != tuple(shape):
                    raise InputError(
                        f"user_supplied_dq: the DQ image is {data.shape}, the data {shape}",
                        path=file,
                    )
                return data.astype(np.uint32)
    raise InputError("user_supplied_dq: no 2-D integer image in the file", path=file)
