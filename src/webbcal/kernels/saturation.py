"""Saturation flagging (the official ``saturation`` step, stcal ``flag_saturated_pixels``).

Per integration and group, in raw DN (the step runs before bias subtraction):

* a group at or above the pixel's threshold is flagged SATURATED, and so is every
  later group of that pixel; groups at or below 0 DN get AD_FLOOR | DO_NOT_USE;
* SATURATED is grown to the ``(2 n + 1)**2`` box around each flagged pixel
  (``n_pix_grow_sat``), plane by plane;
* pixels whose threshold is NaN or flagged NO_SAT_CHECK in the reference get a
  threshold above the A/D limit (never saturate) and NO_SAT_CHECK in PIXELDQ;
* grouped readouts (a read pattern with several frames per group): a group that is
  not yet flagged, whose *next* group is saturated, and that exceeds the threshold
  scaled by its dilution ``mean(frames) / last frame`` is flagged DO_NOT_USE (grown
  like saturation); then group 2 is flagged DO_NOT_USE where group 3 saturated but
  group 1 predicts no saturation and the 1->2 jump could hide a mid-group saturation
  (this test uses the superbias when given);
* the ZEROFRAME (when present) is set to 0 where saturated (grown) or at the A/D floor.

Thresholds may only be 2-D here (the 4-D multistripe form of stcal is not supported).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError

__all__ = ["SaturationResult", "flag_saturation", "grouped_read_pattern"]


@dataclass(frozen=True)
class SaturationResult:
    """Pixel counts for the log: pixels saturated / at the A/D floor in any group."""

    n_saturated: int
    n_ad_floor: int


def grouped_read_pattern(ngroups: int, nframes: int) -> list[list[int]]:
    """The read pattern the official step builds from NFRAMES (groupgap is ignored there).

    Group ``g`` holds frames ``g * nframes + 1 ... g * nframes + nframes`` (1-based).
    """
    return [[x + 1 + g * nframes for x in range(nframes)] for g in range(ngroups)]


@njit(cache=True, parallel=True, nogil=True)
def _forward_group(plane, dq, thr, prev, sat, floor_flags):
    ny, nx = plane.shape
    for y in prange(ny):
        for x in range(nx):
            v = plane[y, x]
            if v >= thr[y, x]:
                prev[y, x] = True
            q = dq[y, x]
            if prev[y, x]:
                q |= sat
            if v <= 0:
                q |= floor_flags
            dq[y, x] = q


@njit(cache=True, parallel=True, nogil=True)
def _dilate_flag(dq, src_flag, out_flag, n, tmp):
    """OR ``out_flag`` into ``dq`` within ``n`` pixels (box) of any pixel with ``src_flag``."""
    ny, nx = dq.shape
    for y in prange(ny):
        for x in range(nx):
            hit = np.uint8(0)
            for xx in range(max(0, x - n), min(nx, x + n + 1)):
                if dq[y, xx] & src_flag:
                    hit = np.uint8(1)
                    break
            tmp[y, x] = hit
    for y in prange(ny):
        for x in range(nx):
            for yy in range(max(0, y - n), min(ny, y + n + 1)):
                if tmp[yy, x]:
                    dq[y, x] |= out_flag
                    break


@njit(cache=True, parallel=True, nogil=True)
def _partial_group(plane, dq, nextdq, thr, nocheck, dil, sat, dnu, mask):
    ny, nx = plane.shape
    nhit = 0
    for y in prange(ny):
        for x in range(nx):
            f = 1.0 if nocheck[y, x] else dil
            hit = (
                plane[y, x] >= thr[y, x] * f
                and dq[y, x] & (sat | dnu) == 0
                and nextdq[y, x] & sat != 0
            )
            mask[y, x] = dnu if hit else 0
            if hit:
                nhit += 1
    return nhit


@njit(cache=True, parallel=True, nogil=True)
def _group2_check(d0, d1, dq1, dq2, thr, bias, mean0, last2, len1, sat, dnu):
    ny, nx = d0.shape
    for y in prange(ny):
        for x in range(nx):
            b = bias[y, x]
            scigp1 = d0[y, x] - b
            predicted = (np.float64(scigp1) / mean0) * last2 + np.float64(b)
            if not predicted < thr[y, x]:
                continue
            jump = d1[y, x] - d0[y, x]
            if not jump > (thr[y, x] - d0[y, x]) / len1:
                continue
            if dq2[y, x] & sat and not dq1[y, x] & sat:
                dq1[y, x] |= dnu


def flag_saturation(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    sat_thresh: np.ndarray,
    sat_dq: np.ndarray,
    *,
    n_pix_grow_sat: int = 1,
    read_pattern: list[list[int]] | None = None,
    bias: np.ndarray | None = None,
    zeroframe: np.ndarray | None = None,
    atod_limit: float = 65535.0,
    do_not_use: int = 1,
    saturated: int = 2,
    ad_floor: int = 64,
    no_sat_check: int = 2097152,
) -> SaturationResult:
    """Flag saturated and A/D-floor groups in place.

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Raw ramps in DN (not modified).
    groupdq : ndarray, uint8, same shape
        Updated in place.
    pixeldq : ndarray, uint32, (ny, nx)
        Updated in place with the reference DQ (plus NO_SAT_CHECK for NaN thresholds).
    sat_thresh, sat_dq : ndarray, (ny, nx)
        Saturation reference (DN, bias included) and its DQ, cut to the subarray; not
        modified.
    n_pix_grow_sat : int
        Box half-size for growing SATURATED (and the grouped-read DO_NOT_USE) flags.
    read_pattern : list of lists of int, optional
        Frames (1-based) in each group; enables the grouped-readout checks. The
        official step passes :func:`grouped_read_pattern` when ``use_readpatt``.
    bias : ndarray, (ny, nx), optional
        Superbias (DN) for the group-2 test; 0 when absent.
    zeroframe : ndarray, (nints, ny, nx), optional
        Updated in place (flagged values set to 0).
    atod_limit : float
        A/D converter limit; unchecked pixels get ``atod_limit + 1``.
    do_not_use, saturated, ad_floor, no_sat_check : int
        DQ flag values.

    Returns
    -------
    SaturationResult
    """
    if data.ndim != 4 or groupdq.shape != data.shape:
        raise ParameterError(
            f"data and groupdq must be 4-D of one shape, got {data.shape} and {groupdq.shape}"
        )
    nints, ngroups, ny, nx = data.shape
    if sat_thresh.shape != (ny, nx) or sat_dq.shape != (ny, nx):
        raise ParameterError(
            f"saturation reference shape {sat_thresh.shape} does not match the data {(ny, nx)}"
        )
    if n_pix_grow_sat < 0:
        raise ParameterError(f"n_pix_grow_sat must be >= 0, got {n_pix_grow_sat}")
    if read_pattern is not None and len(read_pattern) < ngroups:
        raise ParameterError(f"read_pattern has {len(read_pattern)} groups, data {ngroups}")
    u8 = np.uint8
    sat, dnu = u8(saturated), u8(do_not_use)

    thr = np.array(sat_thresh, dtype=np.float32, copy=True)
    nan_thr = np.isnan(thr)
    ref_dq = np.asarray(sat_dq).astype(pixeldq.dtype, copy=True)
    ref_dq[nan_thr] |= pixeldq.dtype.type(no_sat_check)
    nocheck = ((np.asarray(sat_dq) & no_sat_check) == no_sat_check) | nan_thr
    thr[nocheck] = atod_limit + 1
    bias2d = np.zeros((ny, nx), np.float32) if bias is None else np.asarray(bias, dtype=np.float32)
    if bias2d.shape != (ny, nx):
        raise ParameterError(f"bias shape {bias2d.shape} does not match the data {(ny, nx)}")

    prev = np.zeros((ny, nx), np.bool_)
    tmp = np.empty((ny, nx), np.uint8)
    mask = np.empty((ny, nx), np.uint8)
    floor_flags = u8(ad_floor | do_not_use)
    dil = None
    if read_pattern is not None:
        dil = [float(np.mean(read_pattern[g]) / read_pattern[g][-1]) for g in range(ngroups)]
    for i in range(nints):
        prev[:] = False
        for g in range(ngroups):
            _forward_group(data[i, g], groupdq[i, g], thr, prev, sat, floor_flags)
            if n_pix_grow_sat > 0:
                _dilate_flag(groupdq[i, g], sat, sat, n_pix_grow_sat, tmp)
        if dil is not None:
            for g in range(ngroups - 2, -1, -1):
                if dil[g] == 1:
                    continue
                if (
                    _partial_group(
                        data[i, g],
                        groupdq[i, g],
                        groupdq[i, g + 1],
                        thr,
                        nocheck,
                        dil[g],
                        sat,
                        dnu,
                        mask,
                    )
                    > 0
                ):
                    if n_pix_grow_sat > 0:
                        _dilate_flag(mask, dnu, dnu, n_pix_grow_sat, tmp)
                    groupdq[i, g] |= mask
            if ngroups > 2:
                _group2_check(
                    data[i, 0],
                    data[i, 1],
                    groupdq[i, 1],
                    groupdq[i, 2],
                    thr,
                    bias2d,
                    float(np.mean(read_pattern[0])),
                    float(read_pattern[2][-1]),
                    np.float32(len(read_pattern[1])),
                    sat,
                    dnu,
                )
        if zeroframe is not None:
            zf = zeroframe[i]
            zdq = np.where(zf >= thr, sat, u8(0)).astype(np.uint8)
            if n_pix_grow_sat > 0:
                _dilate_flag(zdq, sat, sat, n_pix_grow_sat, tmp)
            zdq |= np.where(zf <= 0, floor_flags, u8(0)).astype(np.uint8)
            zf[zdq != 0] = 0.0

    np.bitwise_or(pixeldq, ref_dq, out=pixeldq)
    n_sat = int(np.any(groupdq & sat, axis=(0, 1)).sum())
    n_floor = int(np.any(groupdq & u8(ad_floor), axis=(0, 1)).sum())
    return SaturationResult(n_sat, n_floor)
