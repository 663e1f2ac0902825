"""persistence: subtract the charge released by traps filled in earlier exposures.

A traps-filled image (one plane per trap family of the TRAPPARS table; zeros unless
``input_trapsfilled`` names the ``_trapsfilled`` file of the detector's previous exposure,
decayed from its EXPEND to this exposure's EXPSTART) predicts, group by group, the charge
the traps release; it is subtracted from the ramps, and pixels corrected by at least
``flag_pers_cutoff`` DN are flagged PERSISTENCE. The traps this exposure fills (from its
ramp slopes, saturation relative to the PERSAT reference and its jumps, with the
TRAPDENSITY reference) give the updated traps-filled image, saved as ``_trapsfilled`` when
``save_trapsfilled``; ``save_persistence`` saves the persistence subtracted as
``_output_pers``.

The result is a :class:`PersistenceResult`: the corrected ramp (main product), the
traps-filled model and, on request, the persistence model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from webbcal import datamodels
from webbcal.core import Refs, Step, StepResult, param, product, register
from webbcal.datamodels import Array, DataModel, RampModel, dqflags
from webbcal.errors import InputError
from webbcal.kernels.pagemem import zeros_small_pages
from webbcal.kernels.persistence import TrapParams, correct_persistence, decay_traps
from webbcal.steps._common import copy_meta, readout, ref_array, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["PersistenceParams", "PersistenceResult", "PersistenceStep", "TrapsFilledModel"]

_SECONDS_PER_DAY = 86400.0


class TrapsFilledModel(DataModel):
    """Traps filled at the end of an exposure, one plane per trap family (_trapsfilled)."""

    fields = {
        "data": Array("SCI", "f4", 3, 0.0, required=True, doc="(ntraps, ny, nx) filled traps"),
    }


@dataclass(frozen=True, kw_only=True)
class PersistenceParams:
    """Parameters of persistence (the official names and defaults)."""

    input_trapsfilled: str = param("", "The previous exposure's _trapsfilled file ('': none)")
    flag_pers_cutoff: float | None = param(40.0, "Flag PERSISTENCE where >= this many DN")
    save_persistence: bool = param(False, "Save the persistence subtracted (_output_pers)")
    save_trapsfilled: bool = param(True, "Save the updated traps-filled image (_trapsfilled)")
    modify_input: bool = param(False, "Accepted for compatibility (webbcal works in place)")


@dataclass(frozen=True)
class PersistenceResult(StepResult):
    """The products of persistence."""

    ramp: Any = product(None, doc="The persistence-corrected ramp")
    trapsfilled: Any = product("trapsfilled", doc="Traps filled at the end of the exposure")
    output_pers: Any = product("output_pers", doc="Persistence subtracted (save_persistence)")


@register
class PersistenceStep(Step):
    """Correct the ramps for persistence from earlier exposures."""

    alias = "persistence"
    class_name = "PersistenceStep"
    description = "Subtract persistence predicted by a trap model; update the filled traps"
    Params = PersistenceParams
    reftypes = ("trapdensity", "trappars", "persat")
    Result = PersistenceResult

    def process(self, model: Any, refs: Refs, params: PersistenceParams) -> PersistenceResult:
        """Correct in place; return the ramp and the traps-filled (and persistence) models."""
        ramp = to_ramp_model(model, self.name)
        timing = readout(ramp, self.name)
        density_ref, persat_ref = refs.trapdensity, refs.persat
        density = ref_array(density_ref, "data", ramp, what="TRAPDENSITY")
        persat = ref_array(persat_ref, "data", ramp, what="PERSAT")
        density_dq = _dq(density_ref, ramp, "TRAPDENSITY")
        persat_dq = _dq(persat_ref, ramp, "PERSAT")
        table = refs.trappars.trappars_table
        traps = TrapParams(
            capture0=np.asarray(table["capture0"], np.float64),
            capture1=np.asarray(table["capture1"], np.float64),
            capture2=np.asarray(table["capture2"], np.float64),
            decay_param=np.asarray(table["decay_param"], np.float64),
        )
        filled, offset = _start_traps(params.input_trapsfilled, ramp, traps)
        exp = ramp.meta.exposure
        nresets = int(exp.nresets_at_start) if exp.nresets_at_start is not None else 1
        between = int(exp.nresets_between_ints) if exp.nresets_between_ints is not None else None
        flags = dqflags.pixel
        result = correct_persistence(
            ramp.data, ramp.groupdq, ramp.pixeldq, filled, density, persat, traps,
            frame_time=timing.frame_time, group_time=timing.group_time,
            nresets=nresets, nresets_between=between, flag_cutoff=params.flag_pers_cutoff,
            return_persistence=params.save_persistence, traps_offset=offset,
            trap_density_dq=density_dq, persat_dq=persat_dq,
            do_not_use=flags["DO_NOT_USE"], saturated=flags["SATURATED"],
            jump_det=flags["JUMP_DET"], persistence=flags["PERSISTENCE"],
        )  # fmt: skip
        trapsfilled = None
        if params.save_trapsfilled:
            trapsfilled = TrapsFilledModel(data=result.trapsfilled)
            copy_meta(ramp, trapsfilled)
            _full_frame_window(trapsfilled, ramp)
        output_pers = None
        if params.save_persistence and result.persistence is not None:
            output_pers = RampModel(data=result.persistence)
            copy_meta(ramp, output_pers)
        return PersistenceResult(ramp=ramp, trapsfilled=trapsfilled, output_pers=output_pers)


def _dq(ref: Any, ramp: RampModel, what: str) -> np.ndarray | None:
    return ref_array(ref, "dq", ramp, what=what) if ref.has("dq") else None


def _detector_shape(ramp: RampModel) -> tuple[int, int]:
    from webbcal.instruments import get_detector

    det = get_detector(str(ramp.meta.instrument.name), str(ramp.meta.instrument.detector))
    return det.shape


def _start_traps(
    name: str, ramp: RampModel, traps: TrapParams
) -> tuple[np.ndarray, tuple[int, int]]:
    """Traps filled at the start (full frame, as the official product) and the data offset."""
    ny, nx = ramp.data.shape[-2:]
    sub = ramp.meta.subarray
    try:
        full = _detector_shape(ramp)
    except InputError:
        full = (ny, nx)
    offset = (int(sub.ystart or 1) - 1, int(sub.xstart or 1) - 1) if full != (ny, nx) else (0, 0)
    previous = _input_traps(name, ramp, traps)
    if previous is not None:
        if previous.shape[1:] == (ny, nx):
            return previous, (0, 0)
        if previous.shape[1:] != full:
            raise InputError(
                f"input_trapsfilled is {previous.shape}; expected ({len(traps.decay_param)}, "
                f"{full[0]}, {full[1]}) or the data's ({ny}, {nx})",
                path=name,
            )
        return previous, offset
    return zeros_small_pages((len(traps.decay_param), *full), np.float32), offset


def _full_frame_window(model: DataModel, ramp: RampModel) -> None:
    """Describe a full-frame traps-filled image's window (SUBSTRT/SUBSIZE)."""
    ny, nx = model.data.shape[-2:]
    if (ny, nx) != ramp.data.shape[-2:]:
        sub = model.meta.subarray
        sub.name, sub.xstart, sub.ystart, sub.xsize, sub.ysize = "FULL", 1, 1, nx, ny


def _input_traps(name: str, ramp: RampModel, traps: TrapParams) -> np.ndarray | None:
    """The input traps-filled image, decayed to this exposure's start (None: none)."""
    if not name or name.strip().lower() == "none":
        return None
    path = Path(name).expanduser()
    if not path.is_file():
        raise InputError("input_trapsfilled: file not found", path=path)
    with datamodels.open(path) as prev:
        filled = np.array(prev.data, np.float32)
        end = prev.meta.exposure.end_time
    if filled.ndim != 3 or filled.shape[0] != len(traps.decay_param):
        raise InputError(
            f"input_trapsfilled is {filled.shape}; it needs one plane per trap family "
            f"({len(traps.decay_param)})",
            path=path,
        )
    start = ramp.meta.exposure.start_time
    if end is not None and start is not None and start > end:
        filled = decay_traps(filled, float(start - end) * _SECONDS_PER_DAY, traps.decay_param)
    return filled
