"""background: image-from-image subtraction of the association's background exposures.

For a science exposure whose level-2 association product lists ``background`` members
(``self.product`` of the step), following the official step (non-WFSS modes):

1. the SCI arrays of all background exposures are sigma-clipped together, pixel by pixel
   (``astropy.stats.sigma_clip`` with ``sigma`` and ``maxiters``; median centre, standard
   deviation), and the unclipped values averaged;
2. their ERR arrays are summed in quadrature over the same unclipped values and divided by
   the number of those values: the uncertainty of the mean;
3. their DQ arrays are OR-ed;
4. the average is subtracted from the science SCI (every integration of a rateints), the
   DQ is OR-ed into the science DQ. As in the official step, the science ERR is left
   unchanged (the median level subtracted and its uncertainty are logged).

A background exposure with several integrations contributes its integration mean. The
step is SKIPPED for a single exposure or a product without background members, and for
WFSS/SOSS exposures (their background methods are not implemented).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.core import Refs, Step, param, register
from webbcal.core.inputs import open_model
from webbcal.errors import InputError
from webbcal.steps._common import exp_type_of

log = logging.getLogger(__name__)

__all__ = ["AverageBackground", "BackgroundParams", "BackgroundStep", "average_background"]

_NOT_IMPLEMENTED = ("NIS_WFSS", "NRC_WFSS", "NRC_GRISM", "NIS_SOSS")


@dataclass(frozen=True, kw_only=True)
class BackgroundParams:
    """Parameters of background (the official non-WFSS ones)."""

    sigma: float = param(3.0, "Clipping limit in standard deviations")
    maxiters: int | None = param(None, "Clipping iterations (None: until convergence)")


@dataclass
class AverageBackground:
    """The combined background: mean SCI, its uncertainty, OR-ed DQ, number of inputs."""

    data: np.ndarray
    err: np.ndarray
    dq: np.ndarray
    count: int


def _planes(model: Any, name: str) -> np.ndarray:
    """A 2-D array of a background model (the integration mean of a 3-D one)."""
    array = getattr(model, name)
    if array.ndim == 2:
        return np.asarray(array)
    if name == "dq":
        return np.bitwise_or.reduce(array, axis=0)
    if name == "err":
        n = array.shape[0]
        return np.sqrt(np.nansum(np.square(array, dtype=np.float64), axis=0)) / n
    return np.nanmean(array, axis=0)


def average_background(
    models: list[Any], sigma: float = 3.0, maxiters: int | None = None
) -> AverageBackground:
    """Sigma-clipped mean of background exposures, with the uncertainty of the mean."""
    from astropy.stats import sigma_clip

    data = np.stack([_planes(m, "data") for m in models]).astype(np.float64)
    err2 = np.stack([np.square(_planes(m, "err"), dtype=np.float64) for m in models])
    dq = np.bitwise_or.reduce(np.stack([_planes(m, "dq") for m in models]), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        clipped = sigma_clip(data, sigma=sigma, maxiters=maxiters, axis=0, masked=True)
        mask = np.ma.getmaskarray(clipped)
        count = (~mask).sum(axis=0)
        mean = np.where(count > 0, np.ma.mean(clipped, axis=0).filled(np.nan), np.nan)
        err = np.sqrt(np.where(mask, 0.0, err2).sum(axis=0)) / np.maximum(count, 1)
    err = np.where(count > 0, err, np.nan)
    return AverageBackground(
        mean.astype(np.float32), err.astype(np.float32), dq.astype(np.uint32), len(models)
    )


@register
class BackgroundStep(Step):
    """Subtract the average of the association's background exposures."""

    alias = "background"
    class_name = "BackgroundStep"
    description = "Subtract the sigma-clipped mean of the background exposures"
    Params = BackgroundParams
    cal_step = "bkg_subtract"

    def _members(self) -> list[Any]:
        product = self.product
        return list(product.members_of("background")) if product is not None else []

    def skip_reason(self, model: Any, params: BackgroundParams) -> str | None:
        """Nothing to subtract without background members."""
        exp_type = exp_type_of(model)
        if exp_type in _NOT_IMPLEMENTED:
            return f"the {exp_type} background method is not implemented"
        if not self._members():
            if self.product is None:
                return "a single exposure has no background exposures (use an association)"
            return f"association product {self.product.name} has no background members"
        return None

    def process(self, model: Any, refs: Refs, params: BackgroundParams) -> Any:
        """Subtract the average background from ``model`` in place."""
        members = self._members()
        models = []
        for member in members:
            if member.path is None:
                raise InputError(f"background member {member.expname} has no resolvable path")
            models.append(open_model(member.path))
        shape = tuple(model.shape[-2:])
        for member, bkg in zip(members, models):
            if tuple(bkg.shape[-2:]) != shape:
                raise InputError(
                    f"background exposure {member.expname} is {bkg.shape[-1]}x"
                    f"{bkg.shape[-2]} pixels but the science exposure is {shape[1]}x{shape[0]}",
                    path=member.path,
                )
        avg = average_background(models, params.sigma, params.maxiters)
        for bkg in models:
            bkg.close()
        model.data -= avg.data  # broadcasts over the integrations of a cube
        np.bitwise_or(model.dq, avg.dq, out=model.dq)
        level = float(np.nanmedian(avg.data))
        log.info(
            "background: subtracted the mean of %d exposure(s): median %.4g, median "
            "uncertainty of the mean %.3g",
            avg.count, level, float(np.nanmedian(avg.err)),
        )  # fmt: skip
        return model
