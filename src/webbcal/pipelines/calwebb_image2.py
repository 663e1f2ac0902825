"""calwebb_image2: Stage 2 imaging (rate -> cal and i2d; rateints -> calints).

Steps, in order: ``background`` (image-from-image subtraction of the association
product's background exposures), ``assign_wcs``, ``flat_field``, ``photom``, ``resample``.

Inputs: one ``_rate`` (ImageModel) or ``_rateints`` (CubeModel) exposure, or a level-2
association (each science member in turn; its product's ``background`` members feed the
background step). Products, returned as an :class:`Image2Result`:

* ``_cal`` (2-D input) or ``_calints`` (3-D input): the calibrated exposure;
* ``_i2d``: the exposure drizzled onto an undistorted grid (2-D inputs only);
* ``_bsub`` / ``_bsubints`` with ``save_bsub``, when a background was subtracted.

The official configurations are built in as a default ``pars-image2pipeline`` layer
(applied when no such parameter reference is selected): time series (TSOVISIT true, or
NRC_TSIMAGE) -- the ``calwebb_tso-image2`` form -- skip ``background`` and ``resample``;
wavefront sensing and control exposures (PATTTYPE = WFSC) -- ``calwebb_wfs-image2`` --
skip ``resample``. They are ordinary parameter layers, overridden by a parameter file or
``--steps.resample.skip=false``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from webbcal.core import Pipeline, Refs, StepResult, param, product, register
from webbcal.core.params import Layer
from webbcal.datamodels import ImageModel
from webbcal.steps._common import is_tso
from webbcal.steps.assign_wcs import AssignWcsStep
from webbcal.steps.background import BackgroundStep
from webbcal.steps.flat_field import FlatFieldStep
from webbcal.steps.photom import PhotomStep
from webbcal.steps.resample import ResampleStep

log = logging.getLogger(__name__)

__all__ = ["Image2Params", "Image2Pipeline", "Image2Result", "default_pars", "is_wfsc"]


def is_wfsc(model: Any) -> bool:
    """True for wavefront sensing and control exposures (PATTTYPE = WFSC)."""
    return str(model.meta.dither.primary_type or "").strip().upper() == "WFSC"


def default_pars(model: Any) -> Layer:
    """The default step configuration of an exposure (see the module docstring)."""
    if is_tso(model):
        skip, form = ("background", "resample"), "TSO (calwebb_tso-image2)"
    elif is_wfsc(model):
        skip, form = ("resample",), "WFS&C (calwebb_wfs-image2)"
    else:
        skip, form = (), "imaging"
    return Layer.from_overrides(
        {"steps": {name: {"skip": True} for name in skip}},
        source=f"webbcal default pars-image2pipeline ({form})",
    )


@dataclass(frozen=True, kw_only=True)
class Image2Params:
    """Parameters of calwebb_image2."""

    save_bsub: bool = param(False, "Save the background-subtracted exposure as _bsub(ints)")


@dataclass(frozen=True)
class Image2Result(StepResult):
    """The products of calwebb_image2."""

    cal: Any = product(None, doc="Calibrated exposure (_cal, or _calints for 3-D input)")
    i2d: Any = product("i2d", doc="Resampled image (_i2d), for 2-D inputs that are resampled")


@register
class Image2Pipeline(Pipeline):
    """Stage 2 imaging: background, WCS, flat field, flux calibration, resampling."""

    alias = "calwebb_image2"
    class_name = "Image2Pipeline"
    description = "Stage 2 imaging (rate -> cal, i2d; rateints -> calints)"
    Params = Image2Params
    suffix = "cal"
    Result = Image2Result
    step_defs = {
        "background": BackgroundStep,
        "assign_wcs": AssignWcsStep,
        "flat_field": FlatFieldStep,
        "photom": PhotomStep,
        "resample": ResampleStep,
    }

    def _pars_layer(self, cls: type, model: Any) -> Layer | None:
        layer = super()._pars_layer(cls, model)
        if layer is None and cls is type(self) and model is not None:
            layer = default_pars(model)
            log.info("%s: %s", self.name, layer.source)
        return layer

    def output_suffix(self, result: Any) -> str:
        """``cal`` for images, ``calints`` for per-integration cubes."""
        main = result.main if isinstance(result, StepResult) else result
        shape = getattr(main, "shape", None)
        return "calints" if shape is not None and len(shape) == 3 else "cal"

    def process(self, model: Any, refs: Refs, params: Image2Params) -> Image2Result:
        """Calibrate one exposure (the association product of a member is ``self.product``)."""
        cube = model.shape is not None and len(model.shape) == 3
        model = self.run_step("background", model)
        if params.save_bsub and model.meta.cal_step.bkg_subtract == "COMPLETE":
            self.save_product(model, "bsubints" if cube else "bsub")
        for name in ("assign_wcs", "flat_field", "photom"):
            model = self.run_step(name, model)
        i2d = self.run_step("resample", model)
        if not isinstance(i2d, ImageModel) or i2d is model:
            i2d = None
        return Image2Result(cal=model, i2d=i2d)
