"""Reference-pixel corrections (the official ``refpix`` step, "median" algorithm).

Near-IR detectors (NIRCam, NIRISS, NIRSpec, FGS), per integration and group, in the
detector frame (the DMS image is flipped/transposed back, see :data:`DMS_TO_DETECTOR`):

1. per amplifier (four 512-column stripes) the 3-sigma clipped means (``scipy.stats.
   sigmaclip``) of the top (rows 2044-2047) and bottom (rows 0-3) reference rows, for
   odd and even columns separately (``odd_even_columns``) or together, excluding
   DO_NOT_USE pixels; top and bottom are averaged (or the one available) and subtracted
   from the amplifier's columns (odd/even separately);
2. with ``use_side_ref_pixels``: a running median over ``side_smoothing_length`` rows
   (reflected at the ends) of the 4 left and the 4 right reference columns, averaged,
   times ``side_gain``, is subtracted from each row.

Subarrays are embedded in a full frame whose reference pixels outside the window are
DO_NOT_USE; with 4 outputs they are corrected as a full frame, with 1 output by a single
(or odd/even) clipped mean of all usable reference pixels (REFERENCE_PIXEL set,
DO_NOT_USE not), skipped when there are none. NIRSpec SUB512/SUB512S/SUB32 use their
first and last 4 columns as reference pixels. The ZEROFRAME is corrected the same way.

MIRI (full frame only): the first group is subtracted, then per group and amplifier
(every 4th column) the clipped means of the left (columns 0-3) and right (1028-1031)
reference columns, odd and even rows separately (``odd_even_rows``), are averaged and
subtracted, and the first group is added back; processing stops at the first group
without usable reference pixels.

Not implemented (the step must refuse them): the SIRS convolution algorithm, NIRSpec
IRS2 readouts and NIRCam multistripe subarrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError
from webbcal.kernels import refpix_nir
from webbcal.kernels._refpix_common import DMS_TO_DETECTOR, clipped_mean, to_detector_frame
from webbcal.kernels.refpix_nir import NRS_EDGELESS_SUBARRAYS

__all__ = [
    "DMS_TO_DETECTOR",
    "NRS_EDGELESS_SUBARRAYS",
    "RefpixResult",
    "correct_refpix_miri",
    "correct_refpix_nir",
    "to_detector_frame",
]


@dataclass(frozen=True)
class RefpixResult:
    """What a reference-pixel correction did.

    ``applied``: a correction was made; ``bad_reference_pixels``: some amplifier or group
    had no usable reference pixels (its correction was left out).
    """

    applied: bool
    bad_reference_pixels: bool


def correct_refpix_nir(
    data: np.ndarray,
    pixeldq: np.ndarray,
    *,
    detector: str,
    xstart: int = 1,
    ystart: int = 1,
    noutputs: int = 4,
    subarray: str | None = None,
    odd_even_columns: bool = True,
    use_side_ref_pixels: bool = True,
    side_smoothing_length: int = 11,
    side_gain: float = 1.0,
    zeroframe: np.ndarray | None = None,
    do_not_use: int = 1,
    reference_pixel: int = 2147483648,
) -> RefpixResult:
    """Near-IR reference-pixel correction, in place.

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Ramps in the DMS orientation, corrected in place.
    pixeldq : ndarray, uint32, (ny, nx)
        PIXELDQ (REFERENCE_PIXEL, DO_NOT_USE); read only.
    detector : str
        DETECTOR, for the DMS -> detector orientation.
    xstart, ystart : int
        SUBSTRT1/SUBSTRT2 (1-based, DMS frame) of the window.
    noutputs : int
        NOUTPUTS; subarrays read by 1 output use the single-mean method.
    subarray : str, optional
        SUBARRAY name (NIRSpec edgeless subarrays get their outer columns as references).
    odd_even_columns, use_side_ref_pixels, side_smoothing_length, side_gain
        The official step parameters.
    zeroframe : ndarray, (nints, ny, nx), optional
        Corrected the same way, keeping zeros (unusable values).
    do_not_use, reference_pixel : int
        DQ flag values.

    Notes
    -----
    Every (integration, group) plane is corrected by one numba pass over the window, in
    parallel, without copies. The arithmetic is the official one: the first plane of a
    4-output exposure in float32, later planes in float64 when the side correction is
    on (the official code keeps one group buffer, float64 once a side correction has
    been made), the result stored as float32.
    """
    if data.ndim != 4 or pixeldq.shape != data.shape[2:]:
        raise ParameterError(f"data {data.shape} and pixeldq {pixeldq.shape} do not match")
    dq = refpix_nir.effective_dq(pixeldq, subarray, reference_pixel)
    where = dict(detector=detector, xstart=xstart, ystart=ystart, noutputs=noutputs)
    positions = refpix_nir.reference_positions(dq, reference_pixel=reference_pixel,
                                               do_not_use=do_not_use, **where)  # fmt: skip
    cubes = [(data, False)]
    if zeroframe is not None:
        cubes.append((zeroframe[:, np.newaxis], True))
    bad = False
    for cube, is_zeroframe in cubes:
        plan = refpix_nir.measure(
            refpix_nir.gather(cube, positions), positions, dq,
            odd_even_columns=odd_even_columns, use_side_ref_pixels=use_side_ref_pixels,
            side_smoothing_length=side_smoothing_length, side_gain=side_gain,
            start_wide=is_zeroframe, keep_zeros=is_zeroframe, do_not_use=do_not_use,
            reference_pixel=reference_pixel, **where,
        )  # fmt: skip
        if plan is None:
            return RefpixResult(False, True)
        refpix_nir.apply(plan, cube)
        bad |= plan.bad
    return RefpixResult(True, bad)


# MIRI


@njit(cache=True, parallel=True, nogil=True)
def _miri_offsets(data, dq, odd_even, dnu, corr, bad):
    """Offsets per (integration, group >= 1), amplifier and row parity; bad planes."""
    nints, ng, ny, _ = data.shape
    npar = 2 if odd_even else 1
    step = 2 if odd_even else 1
    for p in prange(nints * (ng - 1)):
        i = p // (ng - 1)
        g = p % (ng - 1) + 1
        buf = np.empty(ny)
        work = np.empty(ny)
        for amp in range(4):
            for par in range(npar):
                side_val = np.empty(2)
                side32 = np.empty(2, np.bool_)
                for s in range(2):
                    c = amp if s == 0 else 1028 + amp
                    m = 0
                    for r in range(par, ny, step):
                        if dq[r, c] & dnu == 0:
                            buf[m] = np.float32(np.float64(data[i, g, r, c]) - data[i, 0, r, c])
                            m += 1
                    value, is32, ok = clipped_mean(buf, m, True, work)
                    if not ok:
                        bad[p] = True
                    side_val[s] = value
                    side32[s] = is32
                a, b = side_val[0], side_val[1]
                if side32[0] and side32[1]:
                    v = np.float64(np.float32(np.float32(a + b) * np.float32(0.5)))
                else:
                    v = 0.5 * (a + b)
                corr[p, amp, par] = v
                if not odd_even:
                    corr[p, amp, 1] = v


@njit(cache=True, parallel=True, nogil=True)
def _miri_apply(data, corr, ncorrected):
    """Subtract the first group, the offsets (first ``ncorrected`` planes), add it back."""
    nints, ng, ny, nx = data.shape
    for p in prange(nints * (ng - 1)):
        i = p // (ng - 1)
        g = p % (ng - 1) + 1
        # the offset of every column, for even and odd rows
        offsets = np.empty((2, nx))
        for par in range(2):
            for c in range(nx):
                offsets[par, c] = corr[p, c % 4, par]
        for r in range(ny):
            first = data[i, 0, r]
            row = data[i, g, r]
            if p < ncorrected:
                off = offsets[r % 2]
                for c in range(nx):
                    f = np.float64(first[c])
                    y = np.float64(np.float32(np.float64(row[c]) - f))
                    row[c] = np.float64(np.float32(y - off[c])) + f
            else:
                for c in range(nx):
                    f = np.float64(first[c])
                    row[c] = np.float64(np.float32(np.float64(row[c]) - f)) + f


_MIRI_SHAPE = (1024, 1032)


def correct_refpix_miri(
    data: np.ndarray, pixeldq: np.ndarray, *, odd_even_rows: bool = True, do_not_use: int = 1
) -> RefpixResult:
    """MIRI full-frame reference-pixel correction, in place (see the module docstring).

    The official step skips MIRI subarrays; anything but a 1024 x 1032 frame is refused.
    Processing stops at the first (integration, group) without usable reference pixels,
    as in the official code; the first group's round trip (subtracted, added back in
    float32) still applies to the later groups.
    """
    if data.ndim != 4 or data.shape[2:] != _MIRI_SHAPE or pixeldq.shape != _MIRI_SHAPE:
        raise ParameterError(
            f"the MIRI reference-pixel correction needs full frames {_MIRI_SHAPE}, got {data.shape}"
        )
    nints, ngroups = data.shape[:2]
    if ngroups < 2:
        return RefpixResult(True, False)
    nplanes = nints * (ngroups - 1)
    corr = np.zeros((nplanes, 4, 2))
    bad = np.zeros(nplanes, np.bool_)
    _miri_offsets(data, pixeldq, bool(odd_even_rows), np.uint32(do_not_use), corr, bad)
    ncorrected = int(np.argmax(bad)) if bad.any() else nplanes
    _miri_apply(data, corr, ncorrected)
    return RefpixResult(True, bool(bad.any()))
