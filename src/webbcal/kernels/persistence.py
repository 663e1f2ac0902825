"""Persistence correction by the trap model (the official ``persistence`` step).

Each pixel has ``nfamilies`` trap families (capture parameters ``capture0..2`` and a
``decay_param``, from the TRAPPARS table) and a traps-filled state carried from exposure
to exposure. Per integration and group:

* the traps filled at the start decay by ``filled * (1 - exp(-t / tau))``,
  ``tau = 1 / |decay_param|``, over each group time (and over the reset frames before
  every integration after the first); the released charge accumulated since the start
  of the integration, summed over families, is the persistence (DN) subtracted from the
  group; PERSISTENCE is set in PIXELDQ where it reaches ``flag_cutoff``;
* at the end of each integration, traps are filled by the ramp (quadratic capture
  model with ``capture0..2`` and the ramp slope as a fraction of the PERSAT level per
  second, over the unsaturated time), by the time spent above PERSAT, and by every
  JUMP_DET group (amplitude above the slope, captured until the end of the integration).

The slope is estimated per integration before correction: group differences sorted,
those of saturated groups and as many of the largest as there are jumps left out, the
rest averaged. Everything is done per pixel by one numba kernel; the traps-filled
image may be larger than the data (full frame for a subarray: it then decays everywhere
and is filled only inside the data window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError
from webbcal.kernels._nbstats import sort_nan_last

__all__ = ["PersistenceResult", "TrapParams", "correct_persistence", "decay_traps"]

#: Charges freed from traps have a different gain from photo-electrons (official factor).
SCALEFACTOR = 2.0


@dataclass(frozen=True)
class TrapParams:
    """Columns of the TRAPPARS table, one element per trap family."""

    capture0: np.ndarray
    capture1: np.ndarray
    capture2: np.ndarray
    decay_param: np.ndarray

    def arrays(self):
        """The four columns as float64 arrays of one length."""
        cols = [
            np.atleast_1d(np.asarray(c, np.float64))
            for c in (self.capture0, self.capture1, self.capture2, self.decay_param)
        ]
        if len({c.size for c in cols}) != 1 or cols[0].size == 0:
            raise ParameterError("the trap parameter columns must be non-empty and of one length")
        return cols


@dataclass
class PersistenceResult:
    """Outputs of :func:`correct_persistence`.

    ``trapsfilled`` is the traps-filled image at the end of the exposure (the input array,
    updated in place, or a new one); ``persistence`` the value subtracted from each group
    (None unless requested).
    """

    trapsfilled: np.ndarray
    persistence: np.ndarray | None


def _decay_factor(decay_param: float, dt: float) -> float:
    if decay_param == 0.0:
        return 0.0
    return 1.0 - math.exp(-dt / (1.0 / abs(decay_param)))


def decay_traps(traps_filled: np.ndarray, delta_t: float, decay_param: np.ndarray) -> np.ndarray:
    """Traps left after ``delta_t`` seconds of decay (a new float32 array)."""
    out = np.array(traps_filled, dtype=np.float32, copy=True)
    for k, p in enumerate(np.atleast_1d(decay_param)):
        out[k] -= out[k] * np.float32(_decay_factor(float(p), float(delta_t)))
    return out


@njit(cache=True, parallel=True, nogil=True)
def _max_diff(data, out):
    nints, ng, ny, nx = data.shape
    for i in range(nints):
        best = np.full(ny, -np.inf, np.float32)
        nan_seen = np.zeros(ny, np.bool_)
        for y in prange(ny):
            for g in range(ng - 1):
                for x in range(nx):
                    d = data[i, g + 1, y, x] - data[i, g, y, x]
                    if d != d:
                        nan_seen[y] = True
                    elif d > best[y]:
                        best[y] = d
        m = -np.inf
        for y in range(ny):
            if nan_seen[y]:
                m = np.nan
                break
            if best[y] > m:
                m = best[y]
        out[i] = m


@njit(cache=True, parallel=True, nogil=True)
def _persistence(
    data,
    gdq,
    pdq,
    traps,
    oy,
    ox,
    density,
    persat,
    persat_bad,
    any_persat_bad,
    par0,
    par1,
    par2,
    fgroup,
    freset,
    tframe,
    tgroup,
    nres_first,
    nres_later,
    huge,
    cutoff,
    do_flag,
    pflag,
    sat,
    jump,
    out,
    save,
):
    nints, ng, ny, nx = data.shape
    nfam, ty, tx = traps.shape
    nd = ng - 1
    for yy in prange(ty):
        t = np.empty(nfam, np.float32)
        dec = np.empty(nfam)
        d = np.empty(max(nd, 1), np.float32)
        for xx in range(tx):
            for k in range(nfam):
                t[k] = traps[k, yy, xx]
            y = yy - oy
            x = xx - ox
            inside = 0 <= y < ny and 0 <= x < nx
            for i in range(nints):
                nres = nres_first if i == 0 else nres_later
                if not inside:
                    for g in range(ng):
                        for k in range(nfam):
                            if i > 0 and g == 0 and nres > 0:
                                t[k] -= t[k] * freset[k]
                            t[k] -= t[k] * fgroup[k]
                    continue
                # ---- slope (before this integration is corrected)
                bad_ps = any_persat_bad and persat_bad[y, x]
                ps = np.float32(1.0) if bad_ps else persat[y, x]
                if ng == 1:
                    grp_slope = data[i, 0, y, x]
                else:
                    ncr = 0
                    for g in range(ng):
                        if gdq[i, g, y, x] & jump:
                            ncr += 1
                    nsat = 0
                    for g in range(nd):
                        v = data[i, g + 1, y, x] - data[i, g, y, x]
                        if gdq[i, g + 1, y, x] & sat:
                            v = np.float32(huge[i])
                            nsat += 1
                        d[g] = v
                    sort_nan_last(d, nd)
                    srt = d
                    upper = nd - (ncr + nsat)
                    if upper < 0:
                        upper = 0
                    acc = np.float32(0.0)
                    for g in range(nd):
                        if g < upper:
                            acc += srt[g]
                        else:
                            acc += np.float32(0.0)
                    if upper <= 0:
                        grp_slope = np.float32(0.0)
                    else:
                        grp_slope = acc / np.float32(upper)
                if bad_ps:
                    slope = np.float32(0.0)
                else:
                    slope = grp_slope / (ps * np.float32(tgroup))
                # ---- decay and correction, group by group
                for k in range(nfam):
                    dec[k] = 0.0
                for g in range(ng):
                    pers = 0.0
                    for k in range(nfam):
                        if i > 0 and g == 0 and nres > 0:
                            t[k] -= t[k] * freset[k]
                        dg = t[k] * fgroup[k]
                        dec[k] += dg
                        t[k] -= dg
                        pers += dec[k]
                    data[i, g, y, x] = np.float32(np.float64(data[i, g, y, x]) - pers)
                    if save:
                        out[i, g, y, x] = pers
                    if do_flag and pers >= cutoff:
                        pdq[y, x] |= pflag
                # ---- capture at the end of the integration (corrected data)
                totaltime = ng * tgroup + nres * tframe
                satc = 0
                if not bad_ps:
                    for g in range(ng):
                        if data[i, g, y, x] > persat[y, x]:
                            satc += 1
                sattime = satc * tgroup
                dt = totaltime - sattime
                dens = density[y, x]
                for k in range(nfam):
                    p0 = par0[k]
                    p1 = par1[k]
                    p2 = par2[k]
                    tau = 1.0e10 if p1 == 0.0 else 1.0 / abs(p1)
                    base = np.float64(dens * (slope * slope))
                    filled = base * (
                        dt * dt * (p0 + p2) / 2.0
                        + p0 * (dt * tau + tau * tau) * math.exp(-dt / tau)
                        - p0 * tau * tau
                    )
                    filled *= SCALEFACTOR
                    if satc > 0:
                        if satc == ng:
                            filled = dens * p2
                        exp_filled = filled - dens * p2
                        empty = dens * p0 - exp_filled
                        filled = filled + empty * (1.0 - math.exp(-abs(p1) * sattime))
                    cr = np.float32(0.0)
                    for g in range(1, ng):
                        if gdq[i, g, y, x] & jump:
                            dtc = (float(ng - g) - 0.5) * tgroup
                            amp = (data[i, g, y, x] - data[i, g - 1, y, x]) - grp_slope
                            if amp < 0.0:
                                amp = np.float32(0.0)
                            cr = np.float32(
                                cr + dens * amp * (p0 * (1.0 - math.exp(p1 * dtc)) + p2)
                            )
                    cr = np.float32(cr * SCALEFACTOR)
                    filled += cr
                    t[k] = np.float32(np.float64(t[k]) + filled)
            for k in range(nfam):
                traps[k, yy, xx] = t[k]


def correct_persistence(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    traps_filled: np.ndarray | None,
    trap_density: np.ndarray,
    persat: np.ndarray,
    traps: TrapParams,
    *,
    frame_time: float,
    group_time: float,
    nresets: int = 1,
    nresets_between: int | None = None,
    flag_cutoff: float | None = 40.0,
    return_persistence: bool = False,
    traps_offset: tuple[int, int] = (0, 0),
    trap_density_dq: np.ndarray | None = None,
    persat_dq: np.ndarray | None = None,
    do_not_use: int = 1,
    saturated: int = 2,
    jump_det: int = 4,
    persistence: int = 32,
    compute_traps: bool = True,
) -> PersistenceResult:
    """Subtract persistence in place and update the traps-filled state.

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Ramps (DN), corrected in place.
    groupdq : ndarray, uint8, same shape
        Read only (SATURATED and JUMP_DET are used for the slope and the captures).
    pixeldq : ndarray, uint32, (ny, nx)
        PERSISTENCE is added where the subtracted value reaches ``flag_cutoff``.
    traps_filled : ndarray, (nfamilies, TY, TX), or None
        Traps filled at the start of the exposure (already decayed from the previous
        exposure's end, see :func:`decay_traps`); updated in place when float32.
        None: no filled traps (a new zero array is returned). It may cover more than the
        data (full frame for a subarray); ``traps_offset`` locates the data in it.
    trap_density, persat : ndarray, (ny, nx)
        TRAPDENSITY and PERSAT references cut to the data (NaN: 0 and 1e7). Pixels with
        DO_NOT_USE in ``trap_density_dq`` get density 0; with DO_NOT_USE in ``persat_dq``
        their slope is 0 and they never count as above PERSAT.
    traps : TrapParams
        TRAPPARS columns.
    frame_time, group_time : float
        TFRAME and TGROUP (s).
    nresets, nresets_between : int
        Reset frames before the first and before later integrations (NRSTSTRT /
        NRESETS; default: both ``nresets``).
    flag_cutoff : float or None
        PERSISTENCE flag threshold (DN); None disables flagging.
    return_persistence : bool
        Also return the subtracted persistence (``save_persistence``).
    traps_offset : (int, int)
        Row and column of the data's first pixel in ``traps_filled``.
    trap_density_dq, persat_dq : ndarray, optional
        DQ of the TRAPDENSITY and PERSAT references.
    do_not_use, saturated, jump_det, persistence : int
        DQ flag values.
    compute_traps : bool
        Accepted for compatibility: captures are always computed, because they feed
        the persistence of later integrations.

    Returns
    -------
    PersistenceResult
    """
    if data.ndim != 4 or groupdq.shape != data.shape:
        raise ParameterError(
            f"data and groupdq must be 4-D of one shape, got {data.shape} and {groupdq.shape}"
        )
    nints, ng, ny, nx = data.shape
    p0, p1, p2, p3 = traps.arrays()
    nfam = p0.size
    if traps_filled is None:
        traps_filled = np.zeros((nfam, ny, nx), np.float32)
    if traps_filled.ndim != 3 or traps_filled.shape[0] != nfam:
        raise ParameterError(f"traps_filled must be ({nfam}, ny, nx), got {traps_filled.shape}")
    oy, ox = (int(v) for v in traps_offset)
    if oy < 0 or ox < 0 or oy + ny > traps_filled.shape[1] or ox + nx > traps_filled.shape[2]:
        raise ParameterError(
            f"data window {(oy, ox, ny, nx)} is outside traps_filled {traps_filled.shape}"
        )
    work = traps_filled if traps_filled.dtype == np.float32 else traps_filled.astype(np.float32)
    np.nan_to_num(work, copy=False, nan=0.0)
    density = np.array(trap_density, dtype=np.float32, copy=True)
    density[np.isnan(density)] = 0.0
    if trap_density_dq is not None:
        density[(np.asarray(trap_density_dq) & do_not_use) > 0] = 0.0
    ps = np.array(persat, dtype=np.float32, copy=True)
    ps[np.isnan(ps)] = 1.0e7
    ps_bad = (
        np.zeros((ny, nx), np.bool_)
        if persat_dq is None
        else (np.asarray(persat_dq) & do_not_use) > 0
    )
    nres_later = nresets if nresets_between is None else nresets_between
    fgroup = np.array([np.float32(_decay_factor(p, group_time)) for p in p3], np.float32)
    freset = np.array(
        [np.float32(_decay_factor(p, frame_time * nres_later)) for p in p3], np.float32
    )
    huge = np.zeros(nints, np.float64)
    if ng > 1:
        md = np.zeros(nints, np.float32)
        _max_diff(data, md)
        huge[:] = [max(2.0 * float(m), 1.0e5) for m in md]
    out = np.zeros(data.shape if return_persistence else (1, 1, 1, 1), np.float32)
    _persistence(
        data,
        groupdq,
        pixeldq,
        work,
        oy,
        ox,
        density,
        ps,
        ps_bad,
        bool(ps_bad.any()),
        p0,
        p1,
        p2,
        fgroup,
        freset,
        float(frame_time),
        float(group_time),
        int(nresets),
        int(nres_later),
        huge,
        0.0 if flag_cutoff is None else float(flag_cutoff),
        flag_cutoff is not None,
        pixeldq.dtype.type(persistence),
        np.uint8(saturated),
        np.uint8(jump_det),
        out,
        bool(return_persistence),
    )
    if work is not traps_filled:
        traps_filled = work
    return PersistenceResult(traps_filled, out if return_persistence else None)
