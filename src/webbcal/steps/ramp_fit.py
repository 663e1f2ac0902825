"""ramp_fit: count rates and their variances from the calibrated, jump-flagged ramps.

``algorithm="OLS_C"`` (default; ``"OLS"`` is the same algorithm) wraps
:func:`webbcal.kernels.ramp_fit.fit_ramps_ols`: optimally weighted least squares on the
jump-free segments of each ramp. ``"LIKELY"`` wraps the likelihood fit of
:mod:`webbcal.kernels.ramp_fit_likely` (at least 4 groups; fewer falls back to OLS_C as
the official step does; it also searches for jumps, as the official LIKELY does).

The result is a :class:`RampFitResult`: ``rate`` (ImageModel: SCI, DQ, ERR, VAR_POISSON,
VAR_RNOISE in DN/s) and, for more than one integration, ``rateints`` (CubeModel, one plane
per integration, with INT_TIMES). This is where VAR_POISSON and VAR_RNOISE are created and
ERR = sqrt(VAR_POISSON + VAR_RNOISE). ``firstgroup``/``lastgroup`` mark the groups outside
the range DO_NOT_USE first. MIRI ramps drop leading and trailing groups that are
DO_NOT_USE everywhere (firstframe/lastframe), as the official fit does. The average dark
current a dark step left in the ramp (AVDRKCUR, DN/s) adds to the Poisson variance.
With NINTS = 1 the per-integration arrays are neither allocated nor filled. A caller
that fits an exposure in row bands can have each band's rows written straight into the
exposure's products (:func:`outputs_into`).

``save_opt``/``opt_name`` (the per-segment optional product) and ``int_name`` are
accepted for compatibility; webbcal does not write the optional product, and names the
integration product ``<name>_rateints``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from webbcal.core import Refs, Step, StepResult, param, product, register
from webbcal.datamodels import CubeModel, ImageModel, RampModel, dqflags
from webbcal.errors import ParameterError
from webbcal.kernels import ramp_fit as kernel
from webbcal.steps._common import copy_meta, instrument_of, readout, ref_array, to_ramp_model

log = logging.getLogger(__name__)

__all__ = [
    "RampFitParams",
    "RampFitResult",
    "RampFitStep",
    "outputs_into",
    "rate_models",
]

#: Fewest groups the LIKELY algorithm accepts.
LIKELY_MIN_NGROUPS = 4


@dataclass(frozen=True)
class _Target:
    """Full-size product arrays that a fit of rows ``rows`` writes from output row ``at``."""

    rate: kernel.RateArrays
    rateints: kernel.RateArrays | None
    rows: tuple[int, int]
    at: int

    def views(self) -> tuple[kernel.RateArrays, kernel.RateArrays | None]:
        """The rows of the products that this fit fills."""
        sl = slice(self.at, self.at + self.rows[1] - self.rows[0])
        rate = kernel.RateArrays(*(getattr(self.rate, f)[sl] for f in _FIELDS))
        ints = None
        if self.rateints is not None:
            ints = kernel.RateArrays(*(getattr(self.rateints, f)[:, sl] for f in _FIELDS))
        return rate, ints


_FIELDS = ("data", "dq", "var_poisson", "var_rnoise", "err")
_target: _Target | None = None


@contextmanager
def outputs_into(
    rate: Mapping[str, np.ndarray],
    rateints: Mapping[str, np.ndarray] | None,
    rows: tuple[int, int],
    at: int,
) -> Iterator[None]:
    """Within the block, a fit writes rows ``rows`` of its input into the given arrays.

    For a caller that fits an exposure in row bands (with halo rows): input rows
    ``rows[0]:rows[1]`` of the next fit go to rows ``at:at + rows[1] - rows[0]`` of
    ``rate`` (2-D arrays ``data``, ``dq``, ``err``, ``var_poisson``, ``var_rnoise``) and
    of ``rateints`` (the same, 3-D; None: no per-integration products), and the
    products of the step are views of those rows. The OLS fit writes there directly
    (no halo rows fitted, no copies); other algorithms are copied in.
    """
    global _target
    f32, ints = np.float32, None
    for arrays in (rate, rateints):
        for name in _FIELDS if arrays is not None else ():
            a = arrays[name]
            if a.dtype != (np.uint32 if name == "dq" else f32) or not a.flags.c_contiguous:
                raise ValueError(f"{name} must be a C-contiguous array of the product dtype")
    if rateints is not None:
        ints = kernel.RateArrays(*(rateints[f] for f in _FIELDS))
    previous = _target
    _target = _Target(kernel.RateArrays(*(rate[f] for f in _FIELDS)), ints,
                      (int(rows[0]), int(rows[1])), int(at))  # fmt: skip
    try:
        yield
    finally:
        _target = previous


@dataclass(frozen=True, kw_only=True)
class RampFitParams:
    """Parameters of ramp_fit (the official names and defaults)."""

    algorithm: Literal["OLS_C", "OLS", "LIKELY"] = param("OLS_C", "Fitting algorithm")
    weighting: Literal["optimal", "unweighted"] = param("optimal", "OLS weighting of groups")
    int_name: str = param("", "Accepted for compatibility (the ints product is _rateints)")
    save_opt: bool = param(False, "Accepted for compatibility (no optional product)")
    opt_name: str = param("", "Accepted for compatibility (no optional product)")
    suppress_one_group: bool = param(True, "Treat ramps with one good group as having none")
    firstgroup: int | None = param(None, "First group used (0-based); earlier ones ignored")
    lastgroup: int | None = param(None, "Last group used (0-based); later ones ignored")
    maximum_cores: str = param("1", "Accepted for compatibility; numba uses its own threads")


@dataclass(frozen=True)
class RampFitResult(StepResult):
    """The products of ramp_fit."""

    rate: Any = product(None, doc="Integration-averaged count rate (ImageModel)")
    rateints: Any = product("rateints", doc="Per-integration count rates (CubeModel)")


@register
class RampFitStep(Step):
    """Fit count rates to the ramps (OLS_C or LIKELY)."""

    alias = "ramp_fit"
    class_name = "RampFitStep"
    description = "Fit count rates and variances to the ramps (rate, rateints)"
    Params = RampFitParams
    reftypes = ("readnoise", "gain")
    Result = RampFitResult

    def process(self, model: Any, refs: Refs, params: RampFitParams) -> RampFitResult:
        """Fit the ramps; returns the rate and (NINTS > 1) the rateints products."""
        ramp = to_ramp_model(model, self.name)
        for name in ("int_name", "save_opt", "opt_name"):
            if getattr(params, name):
                log.warning("%s: %s is accepted but has no effect in webbcal", self.name, name)
        gain_ref, rn_ref = refs.gain, refs.readnoise
        gain = ref_array(gain_ref, "data", ramp, what="GAIN")
        readnoise = ref_array(rn_ref, "data", ramp, what="READNOISE")
        _mark_group_range(ramp, params.firstgroup, params.lastgroup, self.name)
        algorithm = params.algorithm.upper()
        if algorithm == "LIKELY" and ramp.data.shape[1] < LIKELY_MIN_NGROUPS:
            log.info("%s: LIKELY needs %d groups, the ramps have %d; using OLS_C", self.name,
                     LIKELY_MIN_NGROUPS, ramp.data.shape[1])  # fmt: skip
            algorithm = "OLS_C"
        log.info("%s: algorithm %s, weighting %s", self.name, algorithm, params.weighting)
        placed = False
        if algorithm == "LIKELY":
            fit = _fit_likely(ramp, gain, readnoise, self.name)
        else:
            fit, placed = _fit_ols(ramp, gain, readnoise, params, self.name)
        if _target is not None and not placed:
            fit = _into_target(fit, _target)
        gain_factor = gain_ref.meta.exposure.gain_factor
        rate, rateints = rate_models(ramp, fit.rate, fit.rateints)
        for out in (rate, rateints):
            if out is not None and gain_factor is not None:
                out.meta.exposure.gain_factor = gain_factor
        return RampFitResult(rate=rate, rateints=rateints)


def _mark_group_range(ramp: RampModel, first: int | None, last: int | None, step: str) -> None:
    """Flag the groups outside [firstgroup, lastgroup] DO_NOT_USE (official semantics)."""
    if first is None and last is None:
        return
    ngroups = ramp.data.shape[1]
    first = 0 if first is None else first
    last = ngroups - 1 if last is None else last
    if first < 0:
        log.warning("%s: firstgroup < 0, reset to 0", step)
        first = 0
    if last >= ngroups:
        log.warning("%s: lastgroup >= NGROUPS (%d), reset to %d", step, ngroups, ngroups - 1)
        last = ngroups - 1
    if first >= last:
        log.warning("%s: firstgroup (%d) >= lastgroup (%d); group selection ignored", step,
                    first, last)  # fmt: skip
        return
    dnu = np.uint8(dqflags.group["DO_NOT_USE"])
    gdq = ramp.groupdq
    if first > 0:
        gdq[:, :first] |= dnu
    if last < ngroups - 1:
        gdq[:, last + 1 :] |= dnu


def _fit_ols(
    ramp: RampModel, gain: np.ndarray, readnoise: np.ndarray, params: RampFitParams, step: str
) -> tuple[kernel.RampFitResult, bool]:
    """The OLS fit, and whether it was written straight into the ``outputs_into`` rows."""
    timing = readout(ramp, step)
    data, groupdq = ramp.data, ramp.groupdq
    clear_first, groups = False, None
    if instrument_of(ramp) == "MIRI":
        kept = kernel.miri_group_range(groupdq)
        if kept is None:
            raise ParameterError(
                f"{step}: fewer than 2 usable groups remain after the MIRI first/last-group "
                "flags; no rate can be fitted",
                path=ramp.meta.filename,
            )
        first, stop = kept
        if (first, stop) != (0, data.shape[1]):
            groups, clear_first = kept, first > 0
    zeroframe = None
    if ramp.meta.exposure.zero_frame and ramp.has("zeroframe"):
        zeroframe = ramp.zeroframe
    dark = ramp.average_dark_current if ramp.has("average_dark_current") else None
    nints = data.shape[0]
    # NINTS == 1 has no rateints product: its arrays are neither allocated nor filled
    ints = nints > 1
    rows, at, out = None, 0, None
    if _target is not None and (_target.rateints is not None or not ints):
        rows, at = _target.rows, _target.at
        out = kernel.RampFitResult(rate=_target.rate, rateints=_target.rateints)
    fit = kernel.fit_ramps_ols(
        data, groupdq, ramp.pixeldq, gain, readnoise,
        frame_time=timing.frame_time, group_time=timing.group_time, nframes=timing.nframes,
        groupgap=timing.groupgap, dropframes1=timing.drop_frames1,
        weighting=params.weighting, zeroframe=zeroframe, dark_current=dark,
        suppress_one_group=params.suppress_one_group, clear_first_group_jump=clear_first,
        rateints=ints, rows=rows, out_row=at, groups=groups, out=out,
    )  # fmt: skip
    if rows is not None:  # written in place: the products are the target's rows
        rate, rateints = _target.views()
        return kernel.RampFitResult(rate=rate, rateints=rateints if ints else None), True
    return fit, False


def _into_target(fit: Any, target: _Target) -> Any:
    """A fit of all rows, copied into the target rows (when not written there already)."""
    rate, ints = target.views()
    r0, r1 = target.rows
    for name in _FIELDS:
        getattr(rate, name)[...] = getattr(fit.rate, name)[r0:r1]
        if ints is not None and fit.rateints is not None:
            getattr(ints, name)[...] = getattr(fit.rateints, name)[:, r0:r1]
    has_ints = ints is not None and fit.rateints is not None
    return kernel.RampFitResult(rate=rate, rateints=ints if has_ints else None)


def _fit_likely(ramp: RampModel, gain: np.ndarray, readnoise: np.ndarray, step: str) -> Any:
    from webbcal.kernels.ramp_fit_likely import fit_ramps_likely

    timing = readout(ramp, step)
    zeroframe = None
    if ramp.meta.exposure.zero_frame and ramp.has("zeroframe"):
        zeroframe = ramp.zeroframe
    dark = ramp.average_dark_current if ramp.has("average_dark_current") else None
    return fit_ramps_likely(
        ramp.data, ramp.groupdq, ramp.pixeldq, gain, readnoise,
        frame_time=timing.frame_time, group_time=timing.group_time, nframes=timing.nframes,
        groupgap=timing.groupgap, zeroframe=zeroframe, dark_current=dark,
    )  # fmt: skip


def rate_models(
    ramp: Any, rate: kernel.RateArrays | None, ints: kernel.RateArrays | None
) -> tuple[ImageModel | None, CubeModel | None]:
    """ImageModel (rate) and, for NINTS > 1, CubeModel (rateints) from fitted arrays."""
    rate_model = None
    if rate is not None:
        rate_model = ImageModel(
            data=rate.data, dq=rate.dq, err=rate.err,
            var_poisson=rate.var_poisson, var_rnoise=rate.var_rnoise,
        )  # fmt: skip
        _finish(ramp, rate_model)
    ints_model = None
    if ints is not None and ints.data.shape[0] > 1:
        ints_model = CubeModel(
            data=ints.data, dq=ints.dq, err=ints.err,
            var_poisson=ints.var_poisson, var_rnoise=ints.var_rnoise,
        )  # fmt: skip
        if ramp.has("int_times"):
            ints_model.int_times = ramp.int_times
        _finish(ramp, ints_model)
    return rate_model, ints_model


def _finish(ramp: Any, out: Any) -> None:
    copy_meta(ramp, out)
    out.meta.bunit_data = "DN/s"
    out.meta.bunit_err = "DN/s"
