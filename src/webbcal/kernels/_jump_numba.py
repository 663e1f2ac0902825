"""Numba internals of the two-point jump detection (API: :mod:`webbcal.kernels.jump`).

Per-pixel pieces (iterative rejection, single pass, sigma clipping, neighbour triggers)
and the row-parallel phases: primary detection (fused with the count of primary jumps
and the clean-up of JUMP_DET on DO_NOT_USE / SATURATED groups), neighbour flagging from
a list of triggers, and after-jump flagging. For the iterative and single-pass methods
the primary detection first screens blocks of pixels side by side
(:mod:`webbcal.kernels._jump_screen`); only the pixels the screen cannot clear (those
with jumps, a few per cent) go through the per-pixel code.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from webbcal.kernels._jump_screen import gather_diffs, screen_block
from webbcal.kernels._jump_sigclip import (
    count_triggers,
    pixel_triggers,
    plain_median,
    sigclip_buffers,
    sigclip_pixel,
    sigclip_row,
    sigma,
)
from webbcal.kernels._nbstats import (
    median_sorted,
    network_sort,
)

ITERATIVE, SINGLE_PASS, SIGMA_CLIP = 0, 1, 2
#: Columns whose groups the primary detection gathers at a time (time series) and the
#: number of (integration, group) planes above which it does so.
_BLOCK = 16
_TRANSPOSE_MIN = 256
#: Columns of a block otherwise (its planes stay in the core's cache).
_COLS = 256


# ----------------------------------------------------------------------------------------
# per-pixel pieces


@njit(cache=True, nogil=True, inline="always")
def _iterative(fd, fda, tmp, fk, ntot, rnterm, thr4, thr3, thr2):
    """Iterative rejection of one pixel; flagged difference indices go to ``fk``."""
    n = 0
    for k in range(ntot):
        a = abs(fd[k])
        fda[k] = a
        if a == a:
            tmp[n] = a
            n += 1
    nf = 0
    first = True
    while n >= 2:
        network_sort(tmp, n)
        if n >= 4:
            # the largest value (and any tie with it) is left out of the median
            m = n - 1
            mx = tmp[n - 1]
            while m > 0 and tmp[m - 1] == mx:
                m -= 1
            med = median_sorted(tmp, m)
            thr = thr4
        elif n == 3:
            med = tmp[1]
            thr = thr3
        else:
            med = tmp[0]
            thr = thr2
        if not first:
            med = np.float64(np.float32(med))
        sig = sigma(med, rnterm)
        mr = -1.0
        for k in range(ntot):
            rr = abs(np.float32(fda[k] - med)) / sig
            mr = rr if rr > mr else mr
        if not (mr > thr):
            break
        m = 0
        for k in range(ntot):
            v = fda[k]
            if v == v:
                if abs(np.float32(v - med)) / sig == mr:
                    fk[nf] = k
                    nf += 1
                    fda[k] = np.nan
                else:
                    tmp[m] = v
                    m += 1
        n = m
        first = False
    return nf


@njit(cache=True, nogil=True)
def _pixel_diffs(data, gain, y, x, gdq, bad, fd):
    """First differences (electrons, float64 of the float32 difference) of one pixel."""
    nints, ng = data.shape[0], data.shape[1]
    nd = ng - 1
    g = gain[y, x]
    for i in range(nints):
        prev = data[i, 0, y, x] * g
        if gdq[i, 0, y, x] & bad:
            prev = np.float32(np.nan)
        for d in range(nd):
            cur = data[i, d + 1, y, x] * g
            if gdq[i, d + 1, y, x] & bad:
                cur = np.float32(np.nan)
            fd[i * nd + d] = np.float64(cur - prev)
            prev = cur


@njit(cache=True, nogil=True)
def _row_electrons(data, gdq, gain, y, bad):
    """Row ``y`` of all groups in electrons, NaN where flagged ``bad``: [i*ng+g, x]."""
    nints, ng, _, nx = data.shape
    ebuf = np.empty((nints * ng, nx), np.float32)
    for i in range(nints):
        for g in range(ng):
            row = i * ng + g
            for x in range(nx):
                v = data[i, g, y, x] * gain[y, x]
                if gdq[i, g, y, x] & bad:
                    v = np.float32(np.nan)
                ebuf[row, x] = v
    return ebuf


@njit(cache=True, nogil=True)
def _gather(data, gdq, gain, y, x0, w, bad, eblk, qblk):
    """Columns ``x0:x0 + w`` of row ``y``: electrons (NaN where ``bad``) and GROUPDQ.

    ``eblk[b, i * ng + g]``, ``qblk[b, i * ng + g]`` (any layout).
    """
    nints, ng = data.shape[0], data.shape[1]
    for i in range(nints):
        for g in range(ng):
            row = i * ng + g
            for b in range(w):
                q = gdq[i, g, y, x0 + b]
                v = data[i, g, y, x0 + b] * gain[y, x0 + b]
                if q & bad:
                    v = np.float32(np.nan)
                qblk[b, row] = q
                eblk[b, row] = v


# ----------------------------------------------------------------------------------------
# phases


@njit(cache=True, nogil=True)
def _primary_row(
    y,
    data,
    gdq,
    gain,
    rn,
    rnd,
    mode,
    thr4,
    thr3,
    thr2,
    maxiters,
    only_use_ints,
    do_nbr,
    min_nb,
    max_nb,
    dnu,
    sat,
    jump,
    has_jump,
    has_trig,
    row_crs,
    row_trig,
    track,
    free,
):
    """Primary detection for detector row ``y`` (see :func:`_primary`).

    With ``track``, ``free[y, i * ng + g]`` is set when a pixel of the row has neither
    JUMP nor DO_NOT_USE in plane (i, g) after the detection (before the clean-up), for
    the sigma-clipping rule on planes without such a pixel (:func:`_reset_full_planes`).
    """
    nints, ng, _, nx = data.shape
    nd = ng - 1
    ntot = nints * nd
    npl = nints * ng
    bad = dnu | sat
    both = jump | dnu
    keep = np.uint8(~jump & 0xFF)
    # many groups in all (time series): blocks of columns, each pixel's groups contiguous
    # (cache-friendly); otherwise blocks of _COLS columns, plane-major, screened side by
    # side for pixels that surely have no jump (they skip the per-pixel code)
    tr = npl > _TRANSPOSE_MIN
    screen = not tr and mode != SIGMA_CLIP
    bw = _BLOCK if tr else min(nx, _COLS)
    eblk = np.empty((bw, npl) if tr else (1, 1), np.float32)
    dblk = np.empty((1, 1) if tr else (ntot, bw), np.float32)
    qblk = np.empty((bw, npl) if tr else (npl, bw), np.uint8)
    st = np.empty((9, bw), np.float32)
    rnt = np.empty(bw)
    prev = np.empty(bw, np.float32)
    quiet = np.zeros(bw, np.bool_)
    qor = np.zeros(bw, np.uint8)
    fd = np.empty(ntot)
    fda = np.empty(ntot)
    tmp = np.empty(3 * ntot)
    tmp2 = np.empty(ntot)
    fk = np.empty(ntot, np.int64)
    ncr = 0
    ntrig = 0
    for x0 in range(0, nx, bw):
        w = min(bw, nx - x0)
        if tr:
            _gather(data, gdq, gain, y, x0, w, bad, eblk, qblk)
        else:
            gather_diffs(data, gdq, gain, y, x0, w, bad, dblk, qblk, prev)
        if screen:
            for b in range(w):
                r = rn[y, x0 + b] * gain[y, x0 + b]
                rnt[b] = np.float64(r * r) / rnd
            screen_block(dblk, qblk, w, mode == ITERATIVE, rnt, thr4, st, quiet, qor)
        for b in range(w):
            if screen and quiet[b] and qor[b] & jump == 0:
                continue  # no jump now or before: nothing to flag, count or clean
            x = x0 + b
            qrow = qblk[b, :] if tr else qblk[:, b]
            r = rn[y, x] * gain[y, x]
            rnterm = np.float64(r * r) / rnd
            if tr:
                for i in range(nints):
                    for d in range(nd):
                        k = i * ng + d
                        fd[i * nd + d] = np.float64(eblk[b, k + 1] - eblk[b, k])
            else:
                for k in range(ntot):
                    fd[k] = np.float64(dblk[k, b])
            if screen and quiet[b]:
                nf = 0
            elif mode == ITERATIVE:
                nf = _iterative(fd, fda, tmp, fk, ntot, rnterm, thr4, thr3, thr2)
            elif mode == SINGLE_PASS:
                med = plain_median(fd, tmp, ntot)
                sig = sigma(med, rnterm)
                nf = 0
                for k in range(ntot):
                    v = fd[k]
                    if math.isfinite(v) and abs(v - med) / sig > thr4:
                        fk[nf] = k
                        nf += 1
            else:
                nf = sigclip_pixel(
                    fd, tmp, fk, nints, nd, thr4, maxiters, only_use_ints, qrow, ng, bad, fda,
                    tmp2,
                )
            for j in range(nf):
                k = fk[j]
                i = k // nd
                g = k - i * nd + 1
                q = qrow[i * ng + g] | jump
                qrow[i * ng + g] = q
                gdq[i, g, y, x] = q
            anyj = False
            for p in range(npl):
                q = qrow[p]
                if track and q & both == 0:
                    free[y, p] = 1
                if q & jump:
                    ncr += 1
                    if q & bad:
                        q &= keep
                        qrow[p] = q
                        i = p // ng
                        gdq[i, p - i * ng, y, x] = q
                    else:
                        anyj = True
            if anyj:
                has_jump[y, x] = 1
                if do_nbr:
                    med = plain_median(fd, tmp, ntot)
                    nt = count_triggers(fd, med, nints, nd, ng, rnterm, qrow, jump, min_nb,
                                        max_nb)  # fmt: skip
                    if nt > 0:
                        has_trig[y, x] = 1
                        ntrig += nt
    row_crs[y] = ncr
    row_trig[y] = ntrig


@njit(cache=True, nogil=True)
def _primary(
    data,
    gdq,
    gain,
    rn,
    rnd,
    mode,
    thr4,
    thr3,
    thr2,
    maxiters,
    only_use_ints,
    do_nbr,
    min_nb,
    max_nb,
    dnu,
    sat,
    jump,
    has_jump,
    has_trig,
    row_crs,
    row_trig,
    track,
    free,
    trig_med,
    nthreads,
):
    """Primary detection, parallel over rows (the work is in :func:`_primary_row`).

    Sigma clipping across integrations (:func:`sigclip_row`) runs ``nthreads`` tasks,
    each with one set of buffers for every ``nthreads``-th row. (Two functions with one
    parallel loop each: with both loops in one function the second ran on one thread.)
    """
    if mode == SIGMA_CLIP and only_use_ints and track:
        _primary_sigclip(data, gdq, gain, rn, rnd, thr4, maxiters, do_nbr, min_nb, max_nb,
                         dnu, sat, jump, has_jump, has_trig, row_crs, row_trig, free,
                         trig_med, nthreads)  # fmt: skip
    else:
        _primary_rows(data, gdq, gain, rn, rnd, mode, thr4, thr3, thr2, maxiters,
                      only_use_ints, do_nbr, min_nb, max_nb, dnu, sat, jump, has_jump,
                      has_trig, row_crs, row_trig, track, free)  # fmt: skip


@njit(cache=True, parallel=True, nogil=True)
def _primary_sigclip(data, gdq, gain, rn, rnd, thr4, maxiters, do_nbr, min_nb, max_nb, dnu,
                     sat, jump, has_jump, has_trig, row_crs, row_trig, free, trig_med,
                     nthreads):  # fmt: skip
    nints, ng, ny, nx = data.shape
    nth = max(1, min(nthreads, ny))
    for t in prange(nth):
        bufs = sigclip_buffers(nints, ng, nx)
        for y in range(t, ny, nth):
            sigclip_row(y, data, gdq, gain, rn, rnd, thr4, maxiters, do_nbr, min_nb, max_nb,
                        dnu, sat, jump, has_jump, has_trig, row_crs, row_trig, free, trig_med,
                        bufs)  # fmt: skip


@njit(cache=True, parallel=True, nogil=True)
def _primary_rows(data, gdq, gain, rn, rnd, mode, thr4, thr3, thr2, maxiters, only_use_ints,
                  do_nbr, min_nb, max_nb, dnu, sat, jump, has_jump, has_trig, row_crs,
                  row_trig, track, free):  # fmt: skip
    for y in prange(data.shape[2]):
        _primary_row(y, data, gdq, gain, rn, rnd, mode, thr4, thr3, thr2, maxiters,
                     only_use_ints, do_nbr, min_nb, max_nb, dnu, sat, jump, has_jump,
                     has_trig, row_crs, row_trig, track, free)  # fmt: skip


@njit(cache=True, nogil=True)
def _reset_full_planes(gdq, full, jump):
    """Sigma-clip rule: clear JUMP-only pixels of the ``full[i * ng + g]`` planes.

    (Planes where every pixel has JUMP or DO_NOT_USE, as stcal.) Returns the number of
    pixels cleared.
    """
    nints, ng, ny, nx = gdq.shape
    n = 0
    for i in range(nints):
        for g in range(ng):
            if not full[i * ng + g]:
                continue
            for y in range(ny):
                for x in range(nx):
                    if gdq[i, g, y, x] == jump:
                        gdq[i, g, y, x] = 0
                        n += 1
    return n


@njit(cache=True, parallel=True, nogil=True)
def _post_count(
    data,
    gdq,
    gain,
    rn,
    rnd,
    do_nbr,
    min_nb,
    max_nb,
    dnu,
    sat,
    jump,
    has_jump,
    has_trig,
    row_crs,
    row_trig,
):
    """Count / clean-up / trigger pass, again after :func:`_reset_full_planes`."""
    nints, ng, ny, nx = data.shape
    nd = ng - 1
    ntot = nints * nd
    bad = dnu | sat
    keep = np.uint8(~jump & 0xFF)
    for y in prange(ny):
        qbuf = np.empty((nints * ng, nx), np.uint8)
        fd = np.empty(ntot)
        tmp = np.empty(3 * ntot)
        ncr = 0
        ntrig = 0
        for i in range(nints):
            for g in range(ng):
                for x in range(nx):
                    qbuf[i * ng + g, x] = gdq[i, g, y, x]
        ebuf = np.empty((0, nx), np.float32)
        for x in range(nx):
            anyj = False
            for i in range(nints):
                for g in range(ng):
                    q = qbuf[i * ng + g, x]
                    if q & jump:
                        ncr += 1
                        if q & bad == 0:
                            anyj = True
            if do_nbr and anyj:
                if ebuf.shape[0] == 0:  # the row's electrons, read once (contiguous)
                    ebuf = _row_electrons(data, gdq, gain, y, bad)
                r = rn[y, x] * gain[y, x]
                _, nt = pixel_triggers(ebuf, x, qbuf[:, x], fd, tmp, ntot, nints, nd, ng, r,
                                       rnd, jump, min_nb, max_nb)  # fmt: skip
                if nt > 0:
                    has_trig[y, x] = 1
                    ntrig += nt
            for i in range(nints):
                for g in range(ng):
                    q = qbuf[i * ng + g, x]
                    if q & jump and q & bad:
                        gdq[i, g, y, x] = q & keep
            if anyj:
                has_jump[y, x] = 1
        row_crs[y] = ncr
        row_trig[y] = ntrig


@njit(cache=True, parallel=True, nogil=True)
def _collect_triggers(
    data,
    gdq,
    gain,
    rn,
    rnd,
    min_nb,
    max_nb,
    dnu,
    sat,
    jump,
    has_trig,
    trig_med,
    stored,
    offsets,
    out_y,
    out_x,
    out_i,
    out_g,
):
    nints, ng, ny, nx = data.shape
    nd = ng - 1
    ntot = nints * nd
    bad = dnu | sat
    for y in prange(ny):
        pos = offsets[y]
        if offsets[y + 1] == pos:
            continue
        fd = np.empty(ntot)
        tmp = np.empty(3 * ntot)
        for x in range(nx):  # few pixels of a row: their groups are read one by one
            if not has_trig[y, x]:
                continue
            if stored:  # the median the primary detection used
                med = trig_med[y, x]
            else:
                _pixel_diffs(data, gain, y, x, gdq, bad, fd)
                med = plain_median(fd, tmp, ntot)
            r = rn[y, x] * gain[y, x]
            rnterm = np.float64(r * r) / rnd
            sig = sigma(med, rnterm)
            g = gain[y, x]
            for i in range(nints):
                for d in range(nd):
                    if gdq[i, d + 1, y, x] & jump:
                        if stored:  # only the differences at jumps are needed
                            e0 = data[i, d, y, x] * g
                            e1 = data[i, d + 1, y, x] * g
                            if gdq[i, d, y, x] & bad:
                                e0 = np.float32(np.nan)
                            if gdq[i, d + 1, y, x] & bad:
                                e1 = np.float32(np.nan)
                            fd[i * nd + d] = np.float64(e1 - e0)
                        rr = abs(fd[i * nd + d] - med) / sig
                        if rr < max_nb and rr > min_nb:
                            out_y[pos] = y
                            out_x[pos] = x
                            out_i[pos] = i
                            out_g[pos] = d + 1
                            pos += 1


@njit(cache=True, nogil=True)
def _flag_neighbours(gdq, out_y, out_x, out_i, out_g, bad, jump, has_jump):
    ny, nx = gdq.shape[2], gdq.shape[3]
    for e in range(out_y.size):
        y = out_y[e]
        x = out_x[e]
        i = out_i[e]
        g = out_g[e]
        for t in range(5):
            yy, xx = y, x
            if t == 1:
                yy = y - 1
            elif t == 2:
                yy = y + 1
            elif t == 3:
                xx = x - 1
            elif t == 4:
                xx = x + 1
            if yy < 0 or yy >= ny or xx < 0 or xx >= nx:
                continue
            if gdq[i, g, yy, xx] & bad == 0:
                gdq[i, g, yy, xx] |= jump
                has_jump[yy, xx] = 1


@njit(cache=True, parallel=True, nogil=True)
def _after_jump(data, gdq, gain, e1, n1, e2, n2, dnu, sat, jump, has_jump):
    nints, ng, ny, nx = data.shape
    nd = ng - 1
    ntot = nints * nd
    bad = dnu | sat
    for y in prange(ny):
        fd = np.empty(ntot)
        tmp = np.empty(3 * ntot)
        mark = np.empty(ng, np.bool_)
        for x in range(nx):
            if not has_jump[y, x]:
                continue
            _pixel_diffs(data, gain, y, x, gdq, bad, fd)
            med = plain_median(fd, tmp, ntot)
            for i in range(nints):
                mark[:] = False
                for g in range(1, ng):
                    if gdq[i, g, y, x] & jump:
                        ej = fd[i * nd + g - 1] - med
                        if n1 > 0 and ej >= e1:
                            for h in range(g, min(g + n1, ng - 1) + 1):
                                mark[h] = True
                        if n2 > 0 and ej >= e2:
                            for h in range(g, min(g + n2, ng - 1) + 1):
                                mark[h] = True
                for g in range(ng):
                    if mark[g] and gdq[i, g, y, x] & bad == 0:
                        gdq[i, g, y, x] |= jump


@njit(cache=True, nogil=True)
def _planes_all(gdq, flag):
    """``out[i, g]``: every pixel of plane (i, g) has ``flag`` set.

    Serial: a plane is usually decided by its first pixel, and waking the threads for
    thousands of such planes (time series) costs more than the scan.
    """
    nints, ng, ny, nx = gdq.shape
    out = np.ones((nints, ng), np.bool_)
    for p in range(nints * ng):
        i = p // ng
        g = p - i * ng
        done = False
        for y in range(ny):
            for x in range(nx):
                if gdq[i, g, y, x] & flag == 0:
                    out[i, g] = False
                    done = True
                    break
            if done:
                break
    return out


@njit(cache=True, parallel=True, nogil=True)
def _clear_redundant(gdq, dnu, sat, jump):
    nints, ng, ny, nx = gdq.shape
    bad = dnu | sat
    keep = np.uint8(~jump & 0xFF)
    for y in prange(ny):
        for i in range(nints):
            for g in range(ng):
                for x in range(nx):
                    q = gdq[i, g, y, x]
                    if q & jump and q & bad:
                        gdq[i, g, y, x] = q & keep


@njit(cache=True, parallel=True, nogil=True)
def _flag_bad_gain(gain, pixeldq, flag):
    ny, nx = gain.shape
    for y in prange(ny):
        for x in range(nx):
            g = gain[y, x]
            if not (g > 0.0):
                pixeldq[y, x] |= flag
