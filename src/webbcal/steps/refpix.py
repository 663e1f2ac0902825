"""refpix: remove amplifier drifts measured in the reference pixels.

Near-IR (NIRCam, NIRISS, NIRSpec, FGS), in the detector's readout frame:

* 4-output data (full frame, full-width subarrays): per group and amplifier, the
  sigma-clipped mean of the top/bottom reference rows (odd and even columns separately
  with ``odd_even_columns``) is subtracted from the amplifier's columns; with
  ``use_side_ref_pixels`` the left/right reference columns, running-median smoothed over
  ``side_smoothing_length`` rows and scaled by ``side_gain``, are subtracted row by row;
* 1-output subarrays: the clipped mean of all reference pixels of the group (odd/even
  columns separately with ``odd_even_columns``) is subtracted; the step is SKIPPED when
  the subarray has no usable reference pixel.

MIRI full frame: the first group is subtracted, the per-amplifier means of the left and
right reference columns (odd/even rows separately with ``odd_even_rows``) are removed
from every later group, and the first group is added back. MIRI subarrays are SKIPPED.

Reference pixels are those flagged REFERENCE_PIXEL in PIXELDQ (set by dq_init); those
also flagged DO_NOT_USE are not used (as in the official step). NIRSpec IRS2 (the only
mode with a REFPIX reference) and the SIRS algorithm are not implemented: IRS2 exposures
are SKIPPED and ``refpix_algorithm="sirs"`` is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from webbcal.core import Refs, Step, param, register
from webbcal.datamodels import RampModel, dqflags
from webbcal.errors import ParameterError
from webbcal.kernels import refpix_nir
from webbcal.kernels.refpix import correct_refpix_miri, correct_refpix_nir
from webbcal.steps._common import instrument_of, to_ramp_model

log = logging.getLogger(__name__)

__all__ = [
    "MeasuredRefpix",
    "RefPixParams",
    "RefPixStep",
    "ReferenceStrips",
    "measured_corrections",
]


@dataclass(frozen=True, kw_only=True)
class RefPixParams:
    """Parameters of refpix (the official names and defaults)."""

    odd_even_columns: bool = param(True, "NIR: top/bottom means for odd and even columns")
    use_side_ref_pixels: bool = param(True, "NIR: subtract the smoothed side reference signal")
    side_smoothing_length: int = param(11, "NIR: running-median height for the side signal")
    side_gain: float = param(1.0, "NIR: factor applied to the side reference signal")
    odd_even_rows: bool = param(True, "MIRI: means for odd and even rows separately")
    ovr_corr_mitigation_ftr: float = param(3.0, "IRS2 only (not implemented)")
    preserve_irs2_refpix: bool = param(False, "IRS2 only (not implemented)")
    irs2_mean_subtraction: bool = param(False, "IRS2 only (not implemented)")
    refpix_algorithm: Literal["median", "sirs"] = param("median", "NIR full frame: algorithm")
    sigreject: float = param(4.0, "SIRS only (not implemented)")
    gaussmooth: float = param(1.0, "SIRS only (not implemented)")
    halfwidth: int = param(30, "SIRS only (not implemented)")


@register
class RefPixStep(Step):
    """Subtract the amplifier drifts measured in the reference pixels."""

    alias = "refpix"
    class_name = "RefPixStep"
    description = "Subtract amplifier offsets and row drifts seen by the reference pixels"
    Params = RefPixParams
    optional_reftypes = ("refpix",)

    def skip_reason(self, model: Any, params: RefPixParams) -> str | None:
        """MIRI subarrays and NIRSpec IRS2 are SKIPPED."""
        if _measured is not None:
            return None  # the exposure's correction, measured from its reference strips
        inst = instrument_of(model)
        readpatt = str(model.meta.exposure.readpatt or "").upper()
        if inst == "MIRI" and str(model.meta.subarray.name or "FULL").upper() != "FULL":
            return "the MIRI reference-pixel correction is not applied to subarrays"
        if inst == "NIRSPEC" and readpatt.startswith("NRSIRS2"):
            return "the NIRSpec IRS2 reference-pixel correction is not implemented"
        if (
            isinstance(model, RampModel)
            and model.has("pixeldq")
            and not _any_usable_reference_pixel(model.pixeldq)
        ):
            return "the (sub)array has no usable reference pixels"
        return None

    def process(self, model: Any, refs: Refs, params: RefPixParams) -> RampModel:
        """Correct every group in place."""
        if params.refpix_algorithm == "sirs":
            raise ParameterError(
                f"{self.name}: refpix_algorithm='sirs' is not implemented; use 'median'"
            )
        ramp = to_ramp_model(model, self.name)
        flags = dqflags.pixel
        if _measured is not None:
            _measured.apply(ramp)
            return ramp
        if instrument_of(ramp) == "MIRI":
            result = correct_refpix_miri(ramp.data, ramp.pixeldq,
                                         odd_even_rows=params.odd_even_rows,
                                         do_not_use=flags["DO_NOT_USE"])  # fmt: skip
        else:
            sub, exp = ramp.meta.subarray, ramp.meta.exposure
            zeroframe = ramp.zeroframe if exp.zero_frame and ramp.has("zeroframe") else None
            result = correct_refpix_nir(
                ramp.data, ramp.pixeldq, detector=str(ramp.meta.instrument.detector).upper(),
                xstart=int(sub.xstart or 1), ystart=int(sub.ystart or 1),
                noutputs=int(exp.noutputs or 4), subarray=sub.name,
                odd_even_columns=params.odd_even_columns,
                use_side_ref_pixels=params.use_side_ref_pixels,
                side_smoothing_length=params.side_smoothing_length, side_gain=params.side_gain,
                zeroframe=zeroframe, do_not_use=flags["DO_NOT_USE"],
                reference_pixel=flags["REFERENCE_PIXEL"],
            )  # fmt: skip
        if result.bad_reference_pixels:
            log.warning("%s: some amplifiers or groups had no usable reference pixels; their "
                        "correction was left out", self.name)  # fmt: skip
        return ramp


@dataclass(frozen=True)
class ReferenceStrips:
    """Where the near-IR correction of an exposure reads its reference pixels.

    Attributes
    ----------
    positions : ndarray of bool
        The window pixels read (DMS frame): the detector's reference rows and columns
        and every REFERENCE_PIXEL of the exposure's initial PIXELDQ.
    rows : list of (int, int)
        Runs of window rows read whole.
    cols : list of (int, int)
        Runs of window columns read over all rows (for the positions left).
    """

    positions: np.ndarray
    rows: list[tuple[int, int]]
    cols: list[tuple[int, int]]

    @classmethod
    def of(cls, model: Any, pixeldq: np.ndarray) -> ReferenceStrips:
        """The strips of near-IR ``model``, given the PIXELDQ set by dq_init."""
        sub = model.meta.subarray
        dq = refpix_nir.effective_dq(pixeldq, sub.name, _REF)
        where = refpix_nir.strip_positions(dq.shape, **_window_of(model))
        where |= (dq & _REF) == _REF
        full = where.all(axis=1)
        return cls(where, _runs(full), _runs((where & ~full[:, None]).any(axis=0)))

    def values(self, parts: list[tuple[tuple[int, int], tuple[int, int], np.ndarray]],
               lead: tuple[int, ...]) -> np.ndarray:  # fmt: skip
        """Values ``lead + (npos,)`` at the positions from ``(rows, cols, array)`` parts."""
        npos = int(self.positions.sum())
        index = np.full(self.positions.shape, -1, np.int64)
        index[self.positions] = np.arange(npos)
        out = np.empty((int(np.prod(lead)), npos), np.float32)
        for (y0, y1), (x0, x1), array in parts:
            take = np.flatnonzero(self.positions[y0:y1, x0:x1])
            put = index[y0:y1, x0:x1].reshape(-1)[take]
            refpix_nir.place(array.reshape(out.shape[0], -1), take, out, put)
        return out.reshape(*lead, npos)


@dataclass(frozen=True)
class MeasuredRefpix:
    """The near-IR correction of a whole exposure, to apply to bands of its rows."""

    data: refpix_nir.NirPlan
    zeroframe: refpix_nir.NirPlan | None

    @classmethod
    def measure(
        cls,
        model: Any,
        params: RefPixParams,
        strips: ReferenceStrips,
        pixeldq: np.ndarray,
        values: np.ndarray,
        zeroframe: np.ndarray | None,
    ) -> MeasuredRefpix | None:
        """Measure from the strips' values (None: no usable reference pixel).

        ``pixeldq``: the window's PIXELDQ before refpix (only read at the positions);
        ``values``: ``(nints, ngroups, npos)`` and ``zeroframe``: ``(nints, 1, npos)`` at
        ``strips.positions`` after the steps before refpix.
        """
        flags = dqflags.pixel
        kw = dict(
            odd_even_columns=params.odd_even_columns,
            use_side_ref_pixels=params.use_side_ref_pixels,
            side_smoothing_length=params.side_smoothing_length, side_gain=params.side_gain,
            do_not_use=flags["DO_NOT_USE"], reference_pixel=_REF,
            noutputs=int(model.meta.exposure.noutputs or 4), **_window_of(model),
        )  # fmt: skip
        dq = refpix_nir.effective_dq(pixeldq, model.meta.subarray.name, _REF)
        data = refpix_nir.measure(values, strips.positions, dq, **kw)
        if data is None:
            return None
        zf = None
        if zeroframe is not None:
            zf = refpix_nir.measure(zeroframe, strips.positions, dq, start_wide=True,
                                    keep_zeros=True, **kw)  # fmt: skip
        if data.bad or (zf is not None and zf.bad):
            log.warning("refpix: some amplifiers or groups had no usable reference pixels; "
                        "their correction was left out")  # fmt: skip
        return cls(data, zf)

    def apply(self, ramp: RampModel) -> None:
        """Correct a band of rows of the exposure in place (and its ZEROFRAME)."""
        row0 = int(ramp.meta.subarray.ystart or 1) - 1 - self.data.window[0]
        refpix_nir.apply(self.data, ramp.data, row0)
        if self.zeroframe is not None and ramp.has("zeroframe"):
            refpix_nir.apply(self.zeroframe, ramp.zeroframe[:, np.newaxis], row0)


_REF = dqflags.pixel["REFERENCE_PIXEL"]
_measured: MeasuredRefpix | None = None


@contextmanager
def measured_corrections(measured: MeasuredRefpix | None) -> Iterator[None]:
    """Within the block, refpix applies ``measured`` (when not None) to its input.

    For a caller that processes an exposure in row bands: the correction was measured
    once from the exposure's reference strips (:class:`ReferenceStrips`), and each band,
    with or without reference pixels of its own, gets its rows of it.
    """
    global _measured
    previous, _measured = _measured, measured
    try:
        yield
    finally:
        _measured = previous


def _window_of(model: Any) -> dict[str, Any]:
    sub = model.meta.subarray
    return {"detector": str(model.meta.instrument.detector).upper(),
            "xstart": int(sub.xstart or 1), "ystart": int(sub.ystart or 1)}  # fmt: skip


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of the runs of True in a 1-D mask."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist(),
                    strict=True))  # fmt: skip


def _usable_reference_pixels(pixeldq: np.ndarray) -> np.ndarray:
    """Reference pixels the correction can use: REFERENCE_PIXEL set, DO_NOT_USE not."""
    ref = np.uint32(dqflags.pixel["REFERENCE_PIXEL"])
    dnu = np.uint32(dqflags.pixel["DO_NOT_USE"])
    return ((pixeldq & ref) != 0) & ((pixeldq & dnu) == 0)


def _any_usable_reference_pixel(pixeldq: np.ndarray, rows: int = 64) -> bool:
    """Whether any reference pixel is usable, looking ``rows`` rows at a time.

    The first block of a frame with reference rows answers at once.
    """
    return any(
        _usable_reference_pixels(pixeldq[..., y : y + rows, :]).any()
        for y in range(0, pixeldq.shape[-2], rows)
    )
