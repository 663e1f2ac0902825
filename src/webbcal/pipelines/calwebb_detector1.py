"""calwebb_detector1: Stage 1 detector corrections and ramp fitting (uncal -> rate).

Step order (the official one; the MIRI order differs)::

    near-IR: group_scale dq_init saturation ipc superbias refpix linearity persistence
             dark_current jump ramp_fit gain_scale
    MIRI:    group_scale dq_init saturation ipc firstframe lastframe reset linearity rscd
             dark_current refpix jump ramp_fit gain_scale

Products: ``_rate`` (ImageModel, always) and ``_rateints`` (CubeModel, when NINTS > 1),
returned as a :class:`Detector1Result`; with ``save_calibrated_ramp`` the ramp after
``jump`` is saved as ``_ramp``.

Default configuration (what the CRDS ``pars-detector1pipeline`` references select by
TSOVISIT, applied when no such parameter reference is found): ``ipc`` is skipped for every
exposure, and ``reset`` for MIRI (its dark references include the reset anomaly); time
series (TSOVISIT true, or NRC_TSIMAGE, NRC_TSGRISM, NRS_BRIGHTOBJ) also skip
``persistence``, and for MIRI ``firstframe``, ``lastframe`` and ``rscd``. These are
ordinary parameter layers: a parameter file or ``--steps.ipc.skip=false`` overrides them.

Memory: the raw SCI array is converted to float32 once by dq_init (streamed group by
group from the file), every later step works in place on that one 4-D array and its
GROUPDQ, and the 4-D ramp is released as soon as ramp_fit has made the rates (unless
``save_calibrated_ramp`` keeps it for saving).

Long exposures (near-IR, several integrations, a float32 ramp plus GROUPDQ larger than
``max_ramp_memory`` GB) are processed in row bands of all integrations, read straight from
the uncal file (:mod:`webbcal.steps._stream`): every step from dq_init to ramp_fit runs
on one band after the other, and ramp_fit writes the band's rows into the exposure's
products, so that memory holds one band and the products. The bands carry halo rows
(jump's neighbour flags, grown saturation, ipc) that are corrected but not fitted. The
reference-pixel correction is measured first from the exposure's reference strips
(which go through the steps before refpix on their own) and applied to every band
(:func:`webbcal.steps.refpix.measured_corrections`); each reference array is read once
for all bands (:func:`webbcal.steps._common.cached_references`). The products are those
of whole-ramp processing, with two exceptions: jump's choice of method counts groups
that are DO_NOT_USE in a whole (integration, group) plane of a band rather than of the
frame, and PRIMECRS counts the jumps of the halo rows twice. Not streamed (the whole
ramp is held): MIRI, ``save_calibrated_ramp``, a persistence step that runs (its traps
carry from integration to integration), and snowball/shower flagging.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.core import Pipeline, Refs, StepResult, param, product, register
from webbcal.core.params import Layer
from webbcal.datamodels import CubeModel, ImageModel, RampModel
from webbcal.errors import InputError
from webbcal.kernels.pagemem import zeros_small_pages
from webbcal.steps._common import cached_references, instrument_of, is_guider, is_tso
from webbcal.steps._stream import BandBuffers, row_bands, window_models
from webbcal.steps.dark_current import DarkCurrentStep
from webbcal.steps.dq_init import DQInitStep
from webbcal.steps.firstframe import FirstFrameStep
from webbcal.steps.gain_scale import GainScaleStep
from webbcal.steps.group_scale import GroupScaleStep
from webbcal.steps.ipc import IPCStep
from webbcal.steps.jump import JumpStep
from webbcal.steps.lastframe import LastFrameStep
from webbcal.steps.linearity import LinearityStep
from webbcal.steps.persistence import PersistenceStep
from webbcal.steps.ramp_fit import RampFitStep, outputs_into
from webbcal.steps.refpix import (
    MeasuredRefpix,
    ReferenceStrips,
    RefPixStep,
    measured_corrections,
)
from webbcal.steps.reset import ResetStep
from webbcal.steps.rscd import RscdStep
from webbcal.steps.saturation import SaturationStep
from webbcal.steps.superbias import SuperBiasStep

log = logging.getLogger(__name__)

__all__ = [
    "MIRI_STEPS",
    "NIR_STEPS",
    "Detector1Params",
    "Detector1Pipeline",
    "Detector1Result",
    "default_pars",
]

#: Steps up to and including jump, near-IR order.
NIR_STEPS = ("group_scale", "dq_init", "saturation", "ipc", "superbias", "refpix",
             "linearity", "persistence", "dark_current", "jump")  # fmt: skip
#: Steps up to and including jump, MIRI order.
MIRI_STEPS = ("group_scale", "dq_init", "saturation", "ipc", "firstframe", "lastframe",
              "reset", "linearity", "rscd", "dark_current", "refpix", "jump")  # fmt: skip


def default_pars(model: Any) -> Layer:
    """The default step configuration of an exposure (see the module docstring)."""
    skip = {"ipc"}
    if instrument_of(model) == "MIRI":
        # The MIRI dark references include the reset anomaly (as the current official
        # ones do): running reset as well would subtract it twice.
        skip |= {"reset"}
    if is_tso(model):
        skip |= {"persistence"}
        if instrument_of(model) == "MIRI":
            skip |= {"firstframe", "lastframe", "rscd"}
    tso = "TSO" if is_tso(model) else "non-TSO"
    return Layer.from_overrides(
        {"steps": {name: {"skip": True} for name in sorted(skip)}},
        source=f"webbcal default pars-detector1pipeline ({tso})",
    )


@dataclass(frozen=True, kw_only=True)
class Detector1Params:
    """Parameters of calwebb_detector1."""

    save_calibrated_ramp: bool = param(False, "Save the ramp after jump as _ramp")
    max_ramp_memory: float = param(
        0.5, "GB above which a near-IR ramp is processed in row bands (0: never)"
    )


@dataclass(frozen=True)
class Detector1Result(StepResult):
    """The products of calwebb_detector1."""

    rate: Any = product(None, doc="Integration-averaged count rate (ImageModel)")
    rateints: Any = product("rateints", doc="Per-integration count rates (NINTS > 1)")
    ramp: Any = product("ramp", doc="The calibrated ramp, only when ramp_fit is skipped")


@register
class Detector1Pipeline(Pipeline):
    """Stage 1: detector-level corrections and ramp fitting."""

    alias = "calwebb_detector1"
    class_name = "Detector1Pipeline"
    description = "Stage 1: detector corrections and ramp fitting (uncal -> rate, rateints)"
    Params = Detector1Params
    suffix = "rate"
    Result = Detector1Result
    step_defs = {
        "group_scale": GroupScaleStep,
        "dq_init": DQInitStep,
        "saturation": SaturationStep,
        "ipc": IPCStep,
        "superbias": SuperBiasStep,
        "refpix": RefPixStep,
        "linearity": LinearityStep,
        "persistence": PersistenceStep,
        "dark_current": DarkCurrentStep,
        "firstframe": FirstFrameStep,
        "lastframe": LastFrameStep,
        "reset": ResetStep,
        "rscd": RscdStep,
        "jump": JumpStep,
        "ramp_fit": RampFitStep,
        "gain_scale": GainScaleStep,
    }

    def _pars_layer(self, cls: type, model: Any) -> Layer | None:
        layer = super()._pars_layer(cls, model)
        if layer is None and cls is type(self) and model is not None:
            layer = default_pars(model)
            log.info("%s: %s", self.name, layer.source)
        return layer

    def process(self, model: Any, refs: Refs, params: Detector1Params) -> Detector1Result:
        """Run the instrument's steps, fit the ramps and rescale the rates."""
        if is_guider(model):
            raise InputError(
                f"{model.meta.exposure.type} is an FGS guiding exposure: process it with "
                "calwebb_guider",
                path=model.meta.filename,
            )
        order = MIRI_STEPS if instrument_of(model) == "MIRI" else NIR_STEPS
        band = self._stream_plan(model, params)
        if band is not None:
            return self._process_streamed(model, order, band)
        ramp = model
        for name in order:
            ramp = self._correct(name, ramp)
        if params.save_calibrated_ramp:
            self.save_product(ramp, "ramp")
        fit = self.run_step("ramp_fit", ramp)
        if isinstance(fit.rate, RampModel) or fit.rate is None:
            log.warning("%s: ramp_fit was skipped; the product is the calibrated ramp",
                        self.name)  # fmt: skip
            return Detector1Result(ramp=ramp)
        del ramp
        rate = self.run_step("gain_scale", fit.rate)
        rateints = None
        if fit.rateints is not None:
            rateints = self.run_step("gain_scale", fit.rateints)
        return Detector1Result(rate=rate, rateints=rateints)

    def _correct(self, name: str, ramp: Any) -> Any:
        """Run one correction step; persistence's side products are saved with the rate."""
        result = self.run_step(name, ramp)
        if not isinstance(result, StepResult):
            return result
        if self.config.common.save_results:
            for suffix, ext, value in list(result.products())[1:]:
                if value is not None:
                    self.save_product(value, suffix, ext)
        return result.main

    # ------------------------------------------------------------------ streaming

    def _stream_plan(self, model: Any, params: Detector1Params) -> int | None:
        """Rows per band when streaming, else None."""
        shape = model.shape
        if params.max_ramp_memory <= 0 or shape is None or len(shape) != 4 or shape[0] < 2:
            return None
        nints, ngroups, ny, nx = shape
        ramp_bytes = 5 * nints * ngroups * ny * nx  # float32 SCI + uint8 GROUPDQ
        if ramp_bytes <= params.max_ramp_memory * 2**30:
            return None
        steps = self.config.steps
        jump = steps["jump"].params
        why = None
        if instrument_of(model) == "MIRI":
            why = "MIRI integrations depend on each other (dark, reset, rscd)"
        elif params.save_calibrated_ramp:
            why = "save_calibrated_ramp needs the whole ramp"
        elif not steps["persistence"].common.skip and self._resolver()("trapdensity", model):
            why = "the persistence step carries traps from integration to integration"
        elif jump.expand_large_events or jump.find_showers:
            why = "snowball/shower flagging needs whole frames"
        if why is not None:
            log.info("%s: %.2f GB ramp processed whole: %s", self.name, ramp_bytes / 2**30, why)
            return None
        target = min(_PART_BYTES, max(2**20, params.max_ramp_memory * 2**30 / 2))
        band = max(_MIN_BAND, int(target // (5 * nints * ngroups * nx)))
        band = -(-ny // -(-ny // band))  # as many bands, of equal height
        log.info("%s: %.2f GB ramp processed in bands of %d rows", self.name,
                 ramp_bytes / 2**30, band)  # fmt: skip
        return band

    def _halo(self) -> int:
        """Rows on each side of a band that its own rows depend on.

        jump flags the neighbours of a jump (1 row), and needs that row's saturation
        flags, grown from ``n_pix_grow_sat`` rows further, and its IPC correction, which
        reads up to 2 rows further (a 5x5 kernel).
        """
        steps = self.config.steps
        grow = int(steps["saturation"].params.n_pix_grow_sat)
        ipc = 0 if steps["ipc"].common.skip else 2
        return 1 + max(grow, ipc)

    def _process_streamed(self, model: Any, order: tuple[str, ...], band: int) -> Detector1Result:
        """Row bands of all integrations through every step (see the module notes)."""
        nints, ngroups, ny, nx = model.shape
        halo = self._halo()
        bands = [(y0, y1, max(0, y0 - halo), min(ny, y1 + halo)) for y0, y1 in row_bands(ny, band)]
        buffers = BandBuffers(nints * ngroups * nx * max(h1 - h0 for _, _, h0, h1 in bands))
        rate_arrays = _empty_rates((ny, nx))
        ints_arrays = _empty_rates((nints, ny, nx))
        rate_meta = ints_meta = None
        crs = []
        with cached_references(model):
            measured = self._measure_refpix(model, order)
            with measured_corrections(measured):
                for y0, y1, h0, h1 in bands:
                    (part,) = window_models(model, (h0, h1), [(0, nx)], buffers)
                    for name in order:
                        part = self._correct(name, part)
                    exp = part.meta.exposure
                    crs.append((exp.primary_cosmic_rays, exp.extended_emission_events, h1 - h0))
                    # pixels are independent in ramp_fit: the band's own rows (not the
                    # halo) are fitted straight into their rows of the exposure's products
                    with outputs_into(rate_arrays, ints_arrays, (y0 - h0, y1 - h0), y0):
                        fit = self.run_step("ramp_fit", part)
                    del part
                    rate_meta = fit.rate
                    if fit.rateints is not None:
                        ints_meta = fit.rateints
        rate = _assemble(ImageModel, rate_arrays, rate_meta, model)
        rateints = None
        if ints_meta is not None:
            rateints = _assemble(CubeModel, ints_arrays, ints_meta, model)
            if model.has("int_times"):
                rateints.int_times = model.int_times
        for out in (rate, rateints):
            if out is not None:
                _combine_cr_rates(out, crs)
        rate = self.run_step("gain_scale", rate)
        if rateints is not None:
            rateints = self.run_step("gain_scale", rateints)
        return Detector1Result(rate=rate, rateints=rateints)

    def _measure_refpix(self, model: Any, order: tuple[str, ...]) -> MeasuredRefpix | None:
        """The exposure's near-IR reference-pixel correction, measured from its strips.

        The strips (reference rows, and reference columns over all rows) go through the
        steps before refpix on their own: those treat pixels independently, except ipc,
        which leaves reference pixels alone and is left out here. None when refpix is
        skipped or finds no usable reference pixel (it is then skipped in every band).
        """
        config = self.config.steps["refpix"]
        if config.common.skip or "refpix" not in order:
            return None
        nints, ngroups, ny, nx = model.shape
        before = [name for name in order[: order.index("refpix")] if name != "ipc"]
        probe = self.run_step("dq_init", _one_plane(model))
        refpix = self.step_defs["refpix"](name="refpix", resolver=self.resolver)
        if not probe.has("pixeldq") or refpix.skip_reason(probe, config.params) is not None:
            return None  # skipped for the exposure: the bands find the same reason
        strips = ReferenceStrips.of(model, np.asarray(probe.pixeldq))
        parts = [window_models(model, rows, [(0, nx)]) for rows in strips.rows]
        if strips.cols:
            parts.append(window_models(model, (0, ny), strips.cols))
        windows = [(rows, (0, nx)) for rows in strips.rows] + [((0, ny), c) for c in strips.cols]
        done = []
        for models in parts:
            for part in models:
                for name in before:
                    part = self._correct(name, part)
                done.append(part)
        pixeldq = np.zeros((ny, nx), np.uint32)
        for ((y0, y1), (x0, x1)), part in zip(windows, done, strict=True):
            pixeldq[y0:y1, x0:x1] = part.pixeldq
        values = strips.values([(*w, p.data) for w, p in zip(windows, done, strict=True)],
                               (nints, ngroups))  # fmt: skip
        zeroframe = None
        if model.meta.exposure.zero_frame and all(p.has("zeroframe") for p in done):
            zeroframe = strips.values(
                [(*w, np.asarray(p.zeroframe)[:, np.newaxis]) for w, p in zip(windows, done,
                                                                              strict=True)],
                (nints, 1),
            )  # fmt: skip
        return MeasuredRefpix.measure(model, config.params, strips, pixeldq, values, zeroframe)


def _one_plane(model: Any) -> Any:
    """A stand-in of ``model`` with one zero (integration, group) plane."""
    stand_in = RampModel(data=np.zeros((1, 1, *model.shape[-2:]), np.float32))
    stand_in.meta.update(model.meta.to_dict())
    return stand_in


_RATE_ARRAYS = ("data", "dq", "err", "var_poisson", "var_rnoise")
#: Largest row band of a streamed exposure (float32 + GROUPDQ bytes), and fewest rows:
#: bands carry halo rows, processed twice, so they should not be thin.
_PART_BYTES = 256 * 2**20
_MIN_BAND = 8


def _empty_rates(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    # the rateints of a long series are hundreds of MB: small pages, faulted in by all
    # threads (see webbcal.kernels.pagemem), before ramp_fit writes band after band
    return {name: zeros_small_pages(shape, np.uint32 if name == "dq" else np.float32)
            for name in _RATE_ARRAYS}  # fmt: skip


def _assemble(cls: type, arrays: dict[str, np.ndarray], meta_model: Any, source: Any) -> Any:
    """A product with the full arrays and the metadata of a band's product."""
    out = cls(**arrays)
    out.meta.update(meta_model.meta.to_dict())
    sub, orig = out.meta.subarray, source.meta.subarray
    sub.ystart, sub.ysize, sub.xstart, sub.xsize = orig.ystart, orig.ysize, orig.xstart, orig.xsize
    return out


def _combine_cr_rates(model: Any, crs: list[tuple[Any, Any, int]]) -> None:
    """PRIMECRS / EXTNCRS of the exposure from those of the bands (weighted by rows)."""
    known = [(float(c), float(e or 0.0), n) for c, e, n in crs if c is not None]
    rows = sum(n for _, _, n in known)
    if rows:
        exp = model.meta.exposure
        exp.primary_cosmic_rays = sum(c * n for c, _, n in known) / rows
        exp.extended_emission_events = sum(e * n for _, e, n in known) / rows
