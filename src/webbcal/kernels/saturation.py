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

import numba
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


#: Bits of the per-integration state plane: saturated by threshold in this or an earlier
#: group, and inside the grown box of such a pixel.
_S, _G = 1, 2
#: Bits of the per-group mark plane: newly saturated in this group, and flagged
#: SATURATED on input without being saturated by threshold (grown in this group only).
_NEW, _PRE = 1, 2


@njit(cache=True, nogil=True)
def _threshold_rows(plane, dq, thr, state, mark, rowmark, y0, y1, off, write, sat, floor_flags):
    """Threshold test of rows ``y0:y1`` of one group; marks what must be grown.

    SATURATED goes to pixels saturated (or grown) in this or earlier groups, AD_FLOOR |
    DO_NOT_USE to those at or below 0 DN. ``state``, ``mark`` and ``rowmark`` hold rows
    from ``off`` on; without ``write`` only they are updated (halo rows of a neighbouring
    row block, see :func:`_forward_by_rows`).
    """
    nx = plane.shape[1]
    for y in range(y0, y1):
        r = y - off
        rm = np.uint8(0)
        for x in range(nx):
            s = state[r, x]
            v = plane[y, x]
            q = dq[y, x]
            m = np.uint8(0)
            if v >= thr[y, x] and not s & _S:
                s |= _S
                m = np.uint8(_NEW)
            elif write and q & sat and not s & _S:
                m = np.uint8(_PRE)
            if s:
                q |= sat
            if v <= 0:
                q |= floor_flags
            if write:
                dq[y, x] = q
            state[r, x] = s
            mark[r, x] = m
            rm |= m
        rowmark[r] = rm


@njit(cache=True, nogil=True)
def _grow_rows(dq, state, mark, rowmark, n, y0, y1, off, sat):
    """SATURATED in rows ``y0:y1`` within ``n`` pixels (box) of every marked pixel.

    The box of a newly saturated pixel also joins the grown set of later groups.
    """
    ny, nx = dq.shape
    for y in range(y0, y1):
        for yy in range(max(0, y - n), min(ny, y + n + 1)):
            if rowmark[yy - off] == 0:
                continue
            for x in range(nx):
                m = mark[yy - off, x]
                if m == 0:
                    continue
                for xx in range(max(0, x - n), min(nx, x + n + 1)):
                    dq[y, xx] |= sat
                    if m & _NEW:
                        state[y - off, xx] |= _G


@njit(cache=True, parallel=True, nogil=True)
def _forward_by_integration(data, gdq, thr, n, sat, floor_flags):
    """Integrations in parallel, each one serially (several integrations)."""
    nints, ng, ny, nx = data.shape
    for i in prange(nints):
        state = np.zeros((ny, nx), np.uint8)
        mark = np.empty((ny, nx), np.uint8)
        rowmark = np.empty(ny, np.uint8)
        for g in range(ng):
            dq = gdq[i, g]
            _threshold_rows(data[i, g], dq, thr, state, mark, rowmark, 0, ny, 0, True, sat,
                            floor_flags)  # fmt: skip
            if n > 0 and rowmark.any():
                _grow_rows(dq, state, mark, rowmark, n, 0, ny, 0, sat)


@njit(cache=True, parallel=True, nogil=True)
def _forward_by_rows(data, gdq, thr, n, sat, floor_flags, nblocks):
    """Row blocks in parallel (one integration, or few).

    Each block follows the saturation history of its rows and of ``n`` halo rows on each
    side, so that it grows its neighbours' saturated pixels into its rows without waiting
    for them. Input SATURATED flags are not grown here (the caller then uses
    :func:`_forward_by_integration`).
    """
    nints, ng, ny, nx = data.shape
    block = (ny + nblocks - 1) // nblocks
    for b in prange(nblocks):
        y0 = min(ny, b * block)
        y1 = min(ny, y0 + block)
        h0 = max(0, y0 - n)
        h1 = min(ny, y1 + n)
        state = np.empty((h1 - h0, nx), np.uint8)
        mark = np.empty((h1 - h0, nx), np.uint8)
        rowmark = np.empty(h1 - h0, np.uint8)
        for i in range(nints):
            state[:] = 0
            for g in range(ng):
                plane = data[i, g]
                dq = gdq[i, g]
                _threshold_rows(plane, dq, thr, state, mark, rowmark, h0, y0, h0, False, sat,
                                floor_flags)  # fmt: skip
                _threshold_rows(plane, dq, thr, state, mark, rowmark, y0, y1, h0, True, sat,
                                floor_flags)  # fmt: skip
                _threshold_rows(plane, dq, thr, state, mark, rowmark, y1, h1, h0, False, sat,
                                floor_flags)  # fmt: skip
                if n > 0 and rowmark.any():
                    _grow_rows(dq, state, mark, rowmark, n, y0, y1, h0, sat)


@njit(cache=True, parallel=True, nogil=True)
def _has_flag(gdq, flag):
    nints, ng, ny, nx = gdq.shape
    rows = np.zeros(ny, np.bool_)
    for y in prange(ny):
        acc = np.uint8(0)
        for i in range(nints):
            for g in range(ng):
                for x in range(nx):
                    acc |= gdq[i, g, y, x]
        rows[y] = acc & flag != 0
    return rows.any()


@njit(cache=True, nogil=True)
def _grow_flag(src, dst, out_flag, n):
    """OR ``out_flag`` into ``dst`` within ``n`` pixels (box) of every nonzero ``src`` pixel."""
    ny, nx = src.shape
    for y in range(ny):
        for x in range(nx):
            if src[y, x]:
                for yy in range(max(0, y - n), min(ny, y + n + 1)):
                    for xx in range(max(0, x - n), min(nx, x + n + 1)):
                        dst[yy, xx] |= out_flag


@njit(cache=True, parallel=True, nogil=True)
def _zero_frames(zeroframe, thr, n):
    """Set ZEROFRAME pixels to 0 where saturated (grown like the groups) or <= 0 DN."""
    nints, ny, nx = zeroframe.shape
    for i in prange(nints):
        zf = zeroframe[i]
        hit = np.zeros((ny, nx), np.uint8)
        for y in range(ny):
            for x in range(nx):
                hit[y, x] = zf[y, x] >= thr[y, x]
        zero = np.zeros((ny, nx), np.uint8)
        _grow_flag(hit, zero, np.uint8(1), n)
        for y in range(ny):
            for x in range(nx):
                if zero[y, x] or zf[y, x] <= 0:
                    zf[y, x] = 0.0


@njit(cache=True, parallel=True, nogil=True)
def _count_flagged(gdq, sat, floor):
    """Pixels with ``sat`` / ``floor`` in any integration and group."""
    nints, ng, ny, nx = gdq.shape
    ns = np.zeros(ny, np.int64)
    nf = np.zeros(ny, np.int64)
    for y in prange(ny):
        acc = np.zeros(nx, np.uint8)
        for i in range(nints):
            for g in range(ng):
                for x in range(nx):
                    acc[x] |= gdq[i, g, y, x]
        for x in range(nx):
            if acc[x] & sat:
                ns[y] += 1
            if acc[x] & floor:
                nf[y] += 1
    return ns.sum(), nf.sum()


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


@njit(cache=True, parallel=True, nogil=True)
def _thresholds(sat_thresh, sat_dq, pixeldq, thr, nocheck, above, no_sat_check):
    """Thresholds as used and the reference DQ OR-ed into PIXELDQ, in one pass.

    A NaN threshold or NO_SAT_CHECK in the reference DQ: never checked (``above`` the A/D
    limit); a NaN threshold also adds NO_SAT_CHECK to PIXELDQ.
    """
    ny, nx = thr.shape
    for y in prange(ny):
        for x in range(nx):
            t = sat_thresh[y, x]
            q = sat_dq[y, x]
            nan = t != t
            skip = nan or (q & no_sat_check) == no_sat_check
            pixeldq[y, x] |= (q | no_sat_check) if nan else q
            nocheck[y, x] = skip
            thr[y, x] = above if skip else t


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

    if bias is not None and np.shape(bias) != (ny, nx):
        raise ParameterError(f"bias shape {np.shape(bias)} does not match the data {(ny, nx)}")
    thr = np.empty((ny, nx), np.float32)
    nocheck = np.empty((ny, nx), np.bool_)
    ref_dq = np.asarray(sat_dq).astype(pixeldq.dtype, copy=False)
    _thresholds(np.asarray(sat_thresh, np.float32), ref_dq, pixeldq, thr, nocheck,
                np.float32(atod_limit + 1), pixeldq.dtype.type(no_sat_check))  # fmt: skip

    floor_flags = u8(ad_floor | do_not_use)
    n = int(n_pix_grow_sat)
    threads = numba.get_num_threads()
    if nints >= threads or threads == 1 or ny < 64 or _has_flag(groupdq, sat):
        _forward_by_integration(data, groupdq, thr, n, sat, floor_flags)
    else:
        _forward_by_rows(data, groupdq, thr, n, sat, floor_flags, threads)
    if read_pattern is not None:
        bias2d = np.zeros((ny, nx), np.float32) if bias is None else np.asarray(bias, np.float32)
        _grouped_reads(data, groupdq, thr, nocheck, bias2d, read_pattern, n, sat, dnu)
    if zeroframe is not None:
        _zero_frames(zeroframe, thr, n)

    n_sat, n_floor = _count_flagged(groupdq, sat, u8(ad_floor))
    return SaturationResult(int(n_sat), int(n_floor))


def _grouped_reads(data, groupdq, thr, nocheck, bias2d, read_pattern, n, sat, dnu):
    """The grouped-readout checks of :func:`flag_saturation`, integration by integration."""
    nints, ngroups, ny, nx = data.shape
    mask = np.empty((ny, nx), np.uint8)
    dil = [float(np.mean(read_pattern[g]) / read_pattern[g][-1]) for g in range(ngroups)]
    for i in range(nints):
        for g in range(ngroups - 2, -1, -1):
            if dil[g] == 1:
                continue
            args = (data[i, g], groupdq[i, g], groupdq[i, g + 1], thr, nocheck, dil[g])
            if _partial_group(*args, sat, dnu, mask) > 0:
                _grow_flag(mask, groupdq[i, g], dnu, n)
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
