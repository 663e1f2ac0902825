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
rest averaged. One numba kernel does everything, a traps row at a time (parallel over
rows): slopes, decay and correction (skipped for a row whose traps are all empty, as the
first exposure's are) and captures are passes along the row, which vectorize; only the
captures of jumps go pixel by pixel. The traps-filled image may be larger than the data
(full frame for a subarray: it then decays everywhere and is filled only inside the data
window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError
from webbcal.kernels._nbstats import NET_A, NET_B, NET_MAXN, NET_PTR, sort_nan_last

__all__ = ["PersistenceResult", "TrapParams", "correct_persistence", "decay_traps"]

F32_MAX = float(np.finfo(np.float32).max)

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


@njit(cache=True, nogil=True)
def _capture_tables(par0, par1, par2, ng, tframe, tgroup, nres):
    """Per trap family the capture factors that depend only on counts and times.

    ``ramp[k, n]``: the quadratic-capture bracket for ``n`` groups above PERSAT;
    ``sat[k, n]``: the fraction of empty traps filled while above PERSAT;
    ``jump[k, g]``: the capture per DN of a jump in group ``g``. The expressions are
    those evaluated per pixel by the official code, so the values are the same.
    """
    nfam = par0.size
    ramp = np.zeros((nfam, ng + 1))
    sat = np.zeros((nfam, ng + 1))
    jump = np.zeros((nfam, ng))
    totaltime = ng * tgroup + nres * tframe
    for k in range(nfam):
        p0 = par0[k]
        p1 = par1[k]
        p2 = par2[k]
        tau = 1.0e10 if p1 == 0.0 else 1.0 / abs(p1)
        for n in range(ng + 1):
            sattime = n * tgroup
            dt = totaltime - sattime
            ramp[k, n] = (
                dt * dt * (p0 + p2) / 2.0
                + p0 * (dt * tau + tau * tau) * math.exp(-dt / tau)
                - p0 * tau * tau
            )
            sat[k, n] = 1.0 - math.exp(-abs(p1) * sattime)
        for g in range(1, ng):
            dtc = (float(ng - g) - 0.5) * tgroup
            jump[k, g] = p0 * (1.0 - math.exp(p1 * dtc)) + p2
    return ramp, sat, jump


@njit(cache=True, nogil=True)
def _compare_rows(a, b, n):
    """One comparator of a sorting network applied to every column: min to a, max to b."""
    for x in range(n):
        u = a[x]
        w = b[x]
        # "+ 0" (-0.0 becomes 0.0, which the float32 sums do not see) keeps LLVM from
        # storing the minimum as a masked store, which is several times slower
        a[x] = min(u, w) + np.float32(0.0)
        b[x] = max(u, w)


@njit(cache=True, nogil=True)
def _row_slopes(data, gdq, i, y, huge, sat, jump, d, cnt, acc, slope):
    """Slopes (DN/group) of row ``y`` of integration ``i``, before correction.

    Per pixel: the mean of its sorted group differences, less as many of the largest as
    there are jumps and saturated groups (those count as ``huge``), summed in float32 in
    sorted order. The row is sorted at once, column by column, by a sorting network
    (pixels with NaN differences are sorted one by one, NaN last, as ``np.sort``).
    """
    _, ng, _, nx = data.shape
    if ng == 1:
        for x in range(nx):
            slope[x] = data[i, 0, y, x]
        return
    nd = ng - 1
    cnt[:] = 0
    for g in range(ng):
        fl = gdq[i, g, y]
        for x in range(nx):
            cnt[x] += (fl[x] & jump) != 0
    any_nan = False
    hv = np.float32(huge)
    for g in range(nd):
        lo = data[i, g, y]
        hi = data[i, g + 1, y]
        fl = gdq[i, g + 1, y]
        dg = d[g]
        for x in range(nx):
            s = (fl[x] & sat) != 0
            v = hv if s else hi[x] - lo[x]
            cnt[x] += s
            any_nan |= v != v
            dg[x] = v
    network = nd <= NET_MAXN
    if network:
        for c in range(NET_PTR[nd], NET_PTR[nd + 1]):
            _compare_rows(d[NET_A[c]], d[NET_B[c]], nx)
    if any_nan or not network:
        col = np.empty(nd, np.float32)
        for x in range(nx):
            nan = False
            for g in range(nd):
                v = data[i, g + 1, y, x] - data[i, g, y, x]
                if gdq[i, g + 1, y, x] & sat:
                    v = np.float32(huge)
                nan |= v != v
                col[g] = v
            if nan or not network:
                sort_nan_last(col, nd)
                for g in range(nd):
                    d[g, x] = col[g]
    acc[:] = 0.0
    for g in range(nd):
        dg = d[g]
        for x in range(nx):
            acc[x] += dg[x] if g < nd - cnt[x] else np.float32(0.0)
    for x in range(nx):
        upper = nd - cnt[x]
        slope[x] = acc[x] / np.float32(upper) if upper > 0 else np.float32(0.0)


@njit(cache=True, nogil=True)
def _decay_only(traps, yy, lo, hi, fgroup, freset, ng, reset):
    """Decay columns ``lo:hi`` of one traps row over an integration (no data there)."""
    nfam = traps.shape[0]
    t = traps[:, yy]
    for x in range(lo, hi):
        empty = True
        for k in range(nfam):
            empty &= t[k, x] == 0.0
        if empty:
            continue
        for g in range(ng):
            for k in range(nfam):
                if reset and g == 0:
                    t[k, x] -= t[k, x] * freset[k]
                t[k, x] -= t[k, x] * fgroup[k]


@njit(cache=True, nogil=True)
def _correct_row(
    data,
    i,
    y,
    traps,
    yy,
    ox,
    fgroup,
    freset,
    reset,
    dec,
    pers,
    cutoff,
    do_flag,
    pdq,
    pflag,
    out,
    save,
):
    """Subtract the charge the filled traps of one row release, group by group.

    Pixels whose traps are all empty release nothing: their data are left as they are.
    """
    _, ng, _, nx = data.shape
    nfam = traps.shape[0]
    dec[:] = 0.0
    for g in range(ng):
        pers[:] = 0.0
        for k in range(nfam):
            tk = traps[k, yy, ox : ox + nx]
            dk = dec[k]
            fg = fgroup[k]
            fr = freset[k]
            for x in range(nx):
                v = tk[x]
                if reset and g == 0:
                    v -= v * fr
                dg = v * fg
                dk[x] += dg
                tk[x] = v - dg
                pers[x] += dk[x]
        row = data[i, g, y]
        for x in range(nx):
            row[x] = np.float32(np.float64(row[x]) - pers[x])
        if save:
            o = out[i, g, y]
            for x in range(nx):
                o[x] = pers[x]
        if do_flag:
            for x in range(nx):
                if pers[x] >= cutoff:
                    pdq[y, x] |= pflag


@njit(cache=True, nogil=True)
def _capture_row(
    data,
    gdq,
    i,
    y,
    traps,
    yy,
    ox,
    tab,
    dens,
    ps_row,
    bad,
    par0,
    par2,
    ramp_tabs,
    sat_tabs,
    jump_tabs,
    grp_slope,
    tgroup,
    jump,
    satc,
    base,
    cr,
    anyflag,
):
    """Fill the traps of one row at the end of integration ``i`` (from the corrected data).

    ``dens``, ``ps_row`` and ``bad`` are the row's usable trap density, PERSAT and unusable
    PERSAT pixels (see :func:`_reference_row`).
    """
    _, ng, _, nx = data.shape
    nfam = traps.shape[0]
    satc[:] = 0
    for g in range(ng):
        row = data[i, g, y]
        for x in range(nx):
            satc[x] += row[x] > ps_row[x]
    tg = np.float32(tgroup)
    for x in range(nx):
        slope = grp_slope[x] / (ps_row[x] * tg)
        base[x] = np.float64(dens[x] * (slope * slope))
    for x in range(nx):
        if bad[x]:
            satc[x] = 0
            base[x] = 0.0
    # captures of jumps (slope-corrected amplitudes): few pixels, one by one
    cr[:] = 0.0
    anyflag[:] = 0
    for g in range(1, ng):
        fl = gdq[i, g, y]
        for x in range(nx):
            anyflag[x] |= fl[x]
    for x in range(nx):
        if not anyflag[x] & jump:
            continue
        for k in range(nfam):
            c = np.float32(0.0)
            for g in range(1, ng):
                if gdq[i, g, y, x] & jump:
                    amp = (data[i, g, y, x] - data[i, g - 1, y, x]) - grp_slope[x]
                    if amp < 0.0:
                        amp = np.float32(0.0)
                    c = np.float32(c + dens[x] * amp * jump_tabs[tab, k, g])
            cr[k, x] = np.float32(c * SCALEFACTOR)
    for k in range(nfam):
        tk = traps[k, yy, ox : ox + nx]
        rt = ramp_tabs[tab, k]
        st = sat_tabs[tab, k]
        crk = cr[k]
        p0 = par0[k]
        p2 = par2[k]
        for x in range(nx):
            n = satc[x]
            filled = base[x] * rt[n]
            filled *= SCALEFACTOR
            if n > 0:
                d = dens[x]
                if n == ng:
                    filled = d * p2
                exp_filled = filled - d * p2
                filled = filled + (d * p0 - exp_filled) * st[n]
            filled += crk[x]
            tk[x] = np.float32(np.float64(tk[x]) + filled)


@njit(cache=True, nogil=True)
def _reference_row(y, density, density_dq, persat, persat_dq, do_not_use, dens, ps_row, bad):
    """Row ``y`` of the trap density and PERSAT references, as used.

    NaN density or DO_NOT_USE in its DQ: 0; NaN PERSAT: 1e7; DO_NOT_USE in the PERSAT DQ:
    unusable (slope 0, never above PERSAT).
    """
    nx = dens.size
    has_ddq = density_dq.shape[0] > 1 or density_dq.shape[1] > 1
    has_pdq = persat_dq.shape[0] > 1 or persat_dq.shape[1] > 1
    for x in range(nx):
        d = density[y, x]
        if d != d or (has_ddq and density_dq[y, x] & do_not_use):
            d = np.float32(0.0)
        dens[x] = d
        p = persat[y, x]
        ps_row[x] = np.float32(1.0e7) if p != p else p
        bad[x] = has_pdq and (persat_dq[y, x] & do_not_use) != 0


@njit(cache=True, parallel=True, nogil=True)
def _persistence(
    data,
    gdq,
    pdq,
    traps,
    oy,
    ox,
    density,
    density_dq,
    persat,
    persat_dq,
    do_not_use,
    par0,
    par2,
    ramp_tabs,
    sat_tabs,
    jump_tabs,
    fgroup,
    freset,
    tgroup,
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
    for yy in prange(ty):
        filled = False
        for k in range(nfam):
            tk = traps[k, yy]
            for xx in range(tx):
                v = tk[xx]  # as np.nan_to_num
                if v != v:
                    v = np.float32(0.0)
                elif v == np.inf:
                    v = np.float32(F32_MAX)
                elif v == -np.inf:
                    v = np.float32(-F32_MAX)
                tk[xx] = v
                filled |= v != 0.0
        y = yy - oy
        inside = 0 <= y < ny
        d = np.empty((max(ng - 1, 1), nx), np.float32)
        cnt = np.empty(nx, np.int64)
        acc = np.empty(nx, np.float32)
        slopes = np.empty(nx, np.float32)
        dec = np.empty((nfam, nx))
        pers = np.empty(nx)
        satc = np.empty(nx, np.int64)
        base = np.empty(nx)
        cr = np.empty((nfam, nx), np.float32)
        anyflag = np.empty(nx, np.uint8)
        dens = np.empty(nx, np.float32)
        ps_row = np.empty(nx, np.float32)
        bad = np.empty(nx, np.bool_)
        if inside:
            _reference_row(y, density, density_dq, persat, persat_dq, do_not_use, dens, ps_row,
                           bad)  # fmt: skip
        for i in range(nints):
            reset = i > 0 and nres_later > 0
            tab = 0 if i == 0 else 1
            if not inside:
                if filled:
                    _decay_only(traps, yy, 0, tx, fgroup, freset, ng, reset)
                continue
            if filled:
                _decay_only(traps, yy, 0, ox, fgroup, freset, ng, reset)
                _decay_only(traps, yy, ox + nx, tx, fgroup, freset, ng, reset)
            # the slopes are those of the data before this integration's correction
            _row_slopes(data, gdq, i, y, huge[i], sat, jump, d, cnt, acc, slopes)
            if filled:
                _correct_row(data, i, y, traps, yy, ox, fgroup, freset, reset, dec, pers, cutoff,
                             do_flag, pdq, pflag, out, save)  # fmt: skip
            elif do_flag and cutoff <= 0.0:
                for x in range(nx):
                    pdq[y, x] |= pflag
            _capture_row(data, gdq, i, y, traps, yy, ox, tab, dens, ps_row, bad, par0, par2,
                         ramp_tabs, sat_tabs, jump_tabs, slopes, tgroup, jump, satc, base, cr,
                         anyflag)  # fmt: skip
            filled = True


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
    # NaN / inf traps are read as np.nan_to_num makes them (0, float32 max)
    work = traps_filled if traps_filled.dtype == np.float32 else traps_filled.astype(np.float32)
    refs = [np.asarray(trap_density, np.float32), np.asarray(persat, np.float32)]
    dqs = [np.zeros((1, 1), np.uint32) if q is None else np.asarray(q).astype(np.uint32, copy=False)
           for q in (trap_density_dq, persat_dq)]  # fmt: skip
    for a in refs + [q for q in dqs if q.size > 1]:
        if a.shape != (ny, nx):
            raise ParameterError(f"reference shape {a.shape} does not match the data {(ny, nx)}")
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
    tables = [
        _capture_tables(p0, p1, p2, ng, float(frame_time), float(group_time), nres)
        for nres in (int(nresets), int(nres_later))
    ]
    ramp_tabs, sat_tabs, jump_tabs = (np.stack([t[j] for t in tables]) for j in range(3))
    _persistence(
        data,
        groupdq,
        pixeldq,
        work,
        oy,
        ox,
        refs[0],
        dqs[0],
        refs[1],
        dqs[1],
        np.uint32(do_not_use),
        p0,
        p2,
        ramp_tabs,
        sat_tabs,
        jump_tabs,
        fgroup,
        freset,
        float(group_time),
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
