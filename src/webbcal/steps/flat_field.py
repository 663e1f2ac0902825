"""flat_field: divide a count-rate image (or cube) by the pixel flat field.

For imaging (ImageModel), per-integration cubes (CubeModel) and FGS guider products
(GuiderCalModel), following the official step:

* flat pixels that are NaN, zero (or negative), or flagged NO_FLAT_FIELD in the FLAT
  reference are reset to 1 and flagged NO_FLAT_FIELD in the science DQ;
* the flat DQ is OR-ed into the science DQ (every plane of a cube);
* SCI is divided by the flat;
* products with variance arrays: VAR_POISSON and VAR_RNOISE are divided by flat**2,
  ``VAR_FLAT = SCI**2 * (ERR_flat / flat)**2`` (SCI already flat-fielded) is created and
  ``ERR = sqrt(VAR_POISSON + VAR_RNOISE + VAR_FLAT)``;
* products without them (guider): ``ERR = sqrt(ERR**2 / flat**2 + SCI**2 (ERR_flat/flat)**2)``.

The arithmetic is done in float32, in place, in one numba pass
(:mod:`webbcal.kernels.flatfield`). NIRSpec spectroscopic flats (built on the fly
from the dflat/sflat/fflat references) are not implemented: those exposures are SKIPPED.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.core import Refs, Step, param, register
from webbcal.datamodels import dqflags
from webbcal.errors import InputError
from webbcal.kernels.flatfield import flat_field_planes
from webbcal.steps._common import exp_type_of, instrument_of, ref_array

log = logging.getLogger(__name__)

__all__ = ["FlatFieldParams", "FlatFieldStep", "apply_flat"]

_NO_FLAT = np.uint32(dqflags.pixel["NO_FLAT_FIELD"])
#: NIRSpec EXP_TYPEs that are imaging (flat-fielded with the FLAT reference).
_NRS_IMAGING = frozenset(
    ("NRS_IMAGE", "NRS_WATA", "NRS_MSATA", "NRS_TACONFIRM", "NRS_CONFIRM", "NRS_FOCUS",
     "NRS_MIMF", "NRS_TACQ", "NRS_TASLIT", "NRS_BOTA")
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class FlatFieldParams:
    """Parameters of flat_field (the official ones)."""

    flat_suffix: str | None = param(
        None, "NIRSpec only: suffix of the on-the-fly flat product (not implemented)"
    )


@register
class FlatFieldStep(Step):
    """Divide the data by the pixel flat field and propagate its variance."""

    alias = "flat_field"
    class_name = "FlatFieldStep"
    description = "Flat-field count rates (creates VAR_FLAT, updates ERR)"
    Params = FlatFieldParams
    reftypes = ("flat",)

    def skip_reason(self, model: Any, params: FlatFieldParams) -> str | None:
        """NIRSpec spectroscopy needs on-the-fly flats, which webbcal does not build."""
        if instrument_of(model) == "NIRSPEC" and exp_type_of(model) not in _NRS_IMAGING:
            return "NIRSpec spectroscopic flat fields (dflat/sflat/fflat) are not implemented"
        return None

    def process(self, model: Any, refs: Refs, params: FlatFieldParams) -> Any:
        """Flat-field ``model`` in place."""
        if model.shape is None or len(model.shape) not in (2, 3):
            raise InputError(
                f"{self.name}: expected a 2-D rate or 3-D rateints/guider product, got "
                f"{type(model).__name__} {model.shape}",
                path=model.meta.filename,
            )
        flat_ref = refs.flat
        image = tuple(model.shape[-2:])
        flat = ref_array(flat_ref, "data", model, what="FLAT", shape=image)
        flat_dq = ref_array(flat_ref, "dq", model, what="FLAT", shape=image) \
            if flat_ref.has("dq") else None  # fmt: skip
        flat_err = ref_array(flat_ref, "err", model, what="FLAT", shape=image) \
            if flat_ref.has("err") else None  # fmt: skip
        apply_flat(model, flat, flat_dq, flat_err)
        return model


def apply_flat(
    model: Any, flat: np.ndarray, flat_dq: np.ndarray | None, flat_err: np.ndarray | None
) -> None:
    """Flat-field a 2-D or 3-D model in place (see the module docstring).

    Parameters
    ----------
    model : ImageModel, CubeModel or GuiderCalModel
        Science data; SCI, DQ, ERR (and the variances, when the model declares them).
    flat, flat_dq, flat_err : ndarray
        The FLAT reference's SCI, DQ and ERR, already cut to the data's (ny, nx).
    """
    shape = model.shape
    stack = (1, *shape) if len(shape) == 2 else shape

    def planes(array: np.ndarray) -> np.ndarray:
        return array.reshape(stack)

    sci = model.data
    dq = model.dq.reshape((-1, *shape[-2:]))  # guider products: one 2-D DQ for all planes
    declared = model.declared()
    if "var_poisson" in declared and "var_flat" in declared:
        var_p, var_r = model.var_poisson, model.var_rnoise
        var_f = np.empty(shape, np.float32)
        err = np.empty(shape, np.float32)
        nbad = flat_field_planes(planes(sci), dq, planes(err), flat, flat_dq, flat_err,
                                 _NO_FLAT, var_poisson=planes(var_p), var_rnoise=planes(var_r),
                                 var_flat=planes(var_f))  # fmt: skip
        model.var_flat = var_f
    else:
        err = model.err
        nbad = flat_field_planes(planes(sci), dq, planes(err), flat, flat_dq, flat_err,
                                 _NO_FLAT)  # fmt: skip
    model.err = err
    log.info("flat_field: %d pixels have no flat-field value (NO_FLAT_FIELD)", nbad)
