"""Numba internals of jump: per-pixel statistics and sigma clipping across integrations.

The median, noise and neighbour-trigger count of one pixel's differences
(:func:`plain_median`, :func:`sigma`, :func:`count_triggers`) serve every method.

With at least ``minimum_sigclip_groups`` integrations, jump clips each group difference
of a pixel against the same difference in the other integrations (astropy-style sigma
clipping, :func:`webbcal.kernels._nbstats.clip_bounds`). :func:`sigclip_row` does this for
one detector row: the planes are gathered a few hundred columns at a time (long reads,
so that each 4 kB page of the ramp is visited a few times per row rather than once per
block), then clipped ``_WIDTH`` pixels at a time, with the statistics of the block's
pixels computed side by side (one accumulator per pixel, each summing in the data order
of the per-pixel code). Most sets
of differences lose nothing in the first clipping pass; :func:`clip_free` recognises
them from their sum, standard deviation, extremes and two counts, without selecting the
median, so the median (and the rest of the clipping) is computed only for the few
others. The flags are those of the per-pixel
code (:func:`webbcal.kernels._jump_numba._primary_row`), bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from webbcal.kernels._nbstats import (
    clip_bounds,
    median_branchless,
    median_sorted,
    network_sort,
)
from webbcal.kernels._sortnet import UNROLLED_MAXN

#: Pixels of a row whose statistics are computed side by side.
_WIDTH = 32
#: Bytes of planes (float32 electrons and GROUPDQ) gathered at a time.
_GATHER_BYTES = 2 * 2**20


@njit(cache=True, nogil=True, inline="always")
def sigma(med, rnterm):
    """Noise of a difference: ``sqrt(|median| + read-noise term)``, NaN when zero."""
    s = math.sqrt(abs(med) + rnterm)
    if s == 0.0:
        return np.nan
    return s


@njit(cache=True, nogil=True)
def plain_median(fd, tmp, ntot):
    """Median of the non-NaN ``fd[:ntot]``; ``tmp`` is scratch of ``3 * ntot`` values."""
    m = 0
    for k in range(ntot):
        v = fd[k]
        if v == v:
            tmp[m] = v
            m += 1
    if m > UNROLLED_MAXN:  # long ramps: O(n) branch-free selection, not a full sort
        return median_branchless(tmp, m, tmp[ntot : 2 * ntot], tmp[2 * ntot :])
    network_sort(tmp, m)
    return median_sorted(tmp, m)


@njit(cache=True, nogil=True)
def count_triggers(fd, med, nints, nd, ng, rnterm, qrow, jump, min_nb, max_nb):
    """Jumps of one pixel between the neighbour-flagging limits.

    ``med`` is the :func:`plain_median` of the pixel's differences ``fd``, ``qrow`` its
    GROUPDQ.
    """
    sig = sigma(med, rnterm)
    nt = 0
    for i in range(nints):
        for d in range(nd):
            if qrow[i * ng + d + 1] & jump:
                r = abs(fd[i * nd + d] - med) / sig
                if r < max_nb and r > min_nb:
                    nt += 1
    return nt


@njit(cache=True, nogil=True, inline="always")
def pixel_triggers(e, col, qrow, fd, tmp, ntot, nints, nd, ng, r, rnd, jump, min_nb, max_nb):
    """Median and neighbour-trigger count of the pixel in column ``col`` of electrons ``e``.

    ``e[k, col]`` is the pixel's plane ``k`` (integration-major), ``r`` its read noise in
    electrons; ``fd`` and ``tmp`` are scratch of ``ntot`` differences.
    """
    for i in range(nints):
        for d in range(nd):
            k = i * ng + d
            fd[i * nd + d] = np.float64(e[k + 1, col] - e[k, col])
    rnterm = np.float64(r * r) / rnd
    med = plain_median(fd, tmp, ntot)
    return med, count_triggers(fd, med, nints, nd, ng, rnterm, qrow, jump, min_nb, max_nb)


@njit(cache=True, nogil=True)
def clip_free(buf, n, total, thr, vmin, vmax):
    """True when the first pass of :func:`clip_bounds` would keep all of ``buf[:n]``.

    ``total``, ``vmin`` and ``vmax`` are the sum (in data order), minimum and maximum of
    the finite ``buf[:n]`` (n >= 1). The pass keeps the values within
    ``median -/+ thr * std``; instead of selecting the median, this counts the values
    below ``a = vmax - s`` and up to ``b = vmin + s`` (``s = thr * std``, with ``std``
    computed as clip_bounds does): when the counts put the median in ``[a, b]``, the
    rounded bounds (monotonic in the median) hold every value, and clip_bounds would
    return at once with bounds that flag nothing. Exact: in every other case this returns
    False and the caller runs clip_bounds.
    """
    mean = total / n
    var = 0.0
    for k in range(n):
        dv = buf[k] - mean
        var += dv * dv
    s = thr * math.sqrt(var / n)
    return _median_within(buf, n, s, vmin, vmax)


@njit(cache=True, nogil=True, inline="always")
def _median_within(buf, n, s, vmin, vmax):
    """The counting test of :func:`clip_free` (``s``: the clipping half-width)."""
    a = vmax - s
    b = vmin + s
    if not (a + s >= vmax and b - s <= vmin and a <= b):
        return False
    below = 0
    upto = 0
    for k in range(n):
        v = buf[k]
        below += v < a
        upto += v <= b
    return _middle_in(below, upto, n)


@njit(cache=True, nogil=True, inline="always")
def _middle_in(below, upto, n):
    """Whether a sorted ``x[:n]`` with ``below`` values < a, ``upto`` <= b has its median in [a, b].

    The lower middle value (``x[h - 1]`` for even n, ``x[h]`` for odd) must be >= a and
    the upper middle ``x[h]`` <= b; the median is their mean (or the middle value).
    """
    h = n // 2
    return below <= (h - 1 if n % 2 == 0 else h) and upto >= h + 1


@njit(cache=True, nogil=True)
def gather_rows(data, gdq, gain, y, x0, w, bad, eblk, qblk):
    """Columns ``x0:x0 + w`` of row ``y``, one row per (integration, group) plane.

    ``eblk[i * ng + g, b]``: electrons (NaN where ``bad``); ``qblk[i * ng + g, b]``: GROUPDQ.
    Columns ``w:`` of the blocks get 0 (finite values that are never flagged).
    """
    nints, ng = data.shape[0], data.shape[1]
    width = eblk.shape[1]
    grow = np.zeros(width, np.float32)
    grow[:w] = gain[y, x0 : x0 + w]
    nan = np.float32(np.nan)
    if w < width:
        eblk[:, w:] = 0.0
        qblk[:, w:] = 0
    for i in range(nints):
        for g in range(ng):
            drow = data[i, g, y, x0 : x0 + w]
            qrow = gdq[i, g, y, x0 : x0 + w]
            erow = eblk[i * ng + g]
            qout = qblk[i * ng + g]
            for b in range(w):
                q = qrow[b]
                qout[b] = q
                erow[b] = nan if q & bad else drow[b] * grow[b]


@njit(cache=True, nogil=True)
def _clip_one(eblk, qblk, b, d, nints, ng, thr, maxiters, bad, jump, tmp, s1, s2):
    """Sigma clipping of difference ``d`` of the pixel in column ``b`` (the full computation).

    Flags JUMP in ``qblk``; returns the number of groups flagged.
    """
    c = 0
    for i in range(nints):
        v = np.float64(eblk[i * ng + d + 1, b] - eblk[i * ng + d, b])
        if math.isfinite(v):
            tmp[c] = v
            c += 1
    lo, hi = clip_bounds(tmp, c, thr, thr, maxiters, s1, s2)
    nf = 0
    for i in range(nints):
        p = i * ng + d + 1
        v = np.float64(eblk[p, b] - eblk[p - 1, b])
        if math.isfinite(v) and (v < lo or v > hi) and qblk[p, b] & bad == 0:
            qblk[p, b] |= jump
            nf += 1
    return nf


@njit(cache=True, nogil=True)
def clip_block(eblk, qblk, c0, w, nints, ng, thr, maxiters, bad, jump, stats, tmp, s1, s2):
    """Sigma-clip every difference of the ``w`` pixels in columns ``c0:``; JUMP to ``qblk``.

    ``eblk`` and ``qblk`` as filled by :func:`gather_rows` (with at least
    ``c0 + _WIDTH`` columns); ``stats``: float64 scratch of shape (10, _WIDTH); ``tmp``,
    ``s1``, ``s2``: float64 scratch of ``nints`` values. Returns the number of groups
    flagged.
    """
    nd = ng - 1
    tot, vmn, vmx, var, cnt = stats[0], stats[1], stats[2], stats[3], stats[4]
    lo, hi, below, upto, ok = stats[5], stats[6], stats[7], stats[8], stats[9]
    nf = 0
    for d in range(nd):
        for b in range(_WIDTH):
            tot[b] = 0.0
            vmn[b] = np.inf
            vmx[b] = -np.inf
            var[b] = 0.0
            cnt[b] = 0.0
            below[b] = 0.0
            upto[b] = 0.0
        for i in range(nints):  # sums, counts and extremes of the non-NaN differences
            e0 = eblk[i * ng + d, c0:]
            e1 = eblk[i * ng + d + 1, c0:]
            for b in range(_WIDTH):
                v = np.float64(e1[b] - e0[b])
                num = v == v
                tot[b] += v if num else 0.0
                cnt[b] += 1.0 if num else 0.0
                vmn[b] = np.fmin(vmn[b], v)  # fmin / fmax skip NaN
                vmx[b] = np.fmax(vmx[b], v)
        for b in range(_WIDTH):
            tot[b] = tot[b] / max(cnt[b], 1.0)  # the mean, total / n as clip_bounds
        for i in range(nints):  # variance about the mean, in data order
            e0 = eblk[i * ng + d, c0:]
            e1 = eblk[i * ng + d + 1, c0:]
            for b in range(_WIDTH):
                v = np.float64(e1[b] - e0[b])
                dv = v - tot[b]
                var[b] += dv * dv if v == v else 0.0
        for b in range(_WIDTH):  # the counting test of clip_free, side by side
            s = thr * math.sqrt(var[b] / max(cnt[b], 1.0))
            lo[b] = vmx[b] - s
            hi[b] = vmn[b] + s
            fits = lo[b] + s >= vmx[b] and hi[b] - s <= vmn[b] and lo[b] <= hi[b]
            # infinite values (not counted by the exact code): full computation
            fits = fits and vmx[b] < np.inf and vmn[b] > -np.inf
            ok[b] = 1.0 if fits else 0.0
        for i in range(nints):
            e0 = eblk[i * ng + d, c0:]
            e1 = eblk[i * ng + d + 1, c0:]
            for b in range(_WIDTH):
                v = np.float64(e1[b] - e0[b])
                below[b] += 1.0 if v < lo[b] else 0.0  # NaN counts in neither
                upto[b] += 1.0 if v <= hi[b] else 0.0
        for b in range(w):
            n = int(cnt[b])
            if n == 0 or (ok[b] == 1.0 and _middle_in(int(below[b]), int(upto[b]), n)):
                continue
            nf += _clip_one(eblk, qblk, c0 + b, d, nints, ng, thr, maxiters, bad, jump, tmp,
                            s1, s2)  # fmt: skip
    return nf


@njit(cache=True, nogil=True, inline="always")
def _finite(fd, start, step, n, tmp):
    """The finite values of ``fd[start::step][:n]`` copied to ``tmp``: count, sum, min, max."""
    c = 0
    total = 0.0
    vmin = np.inf
    vmax = -np.inf
    for j in range(n):
        v = fd[start + j * step]
        if math.isfinite(v):
            tmp[c] = v
            c += 1
            total += v
            vmin = min(vmin, v)
            vmax = max(vmax, v)
    return c, total, vmin, vmax


@njit(cache=True, nogil=True)
def sigclip_pixel(fd, tmp, fk, nints, nd, thr, maxiters, only_use_ints, qrow, ng, bad, s1, s2):
    """Sigma clipping across integrations (or all differences) of one pixel.

    ``qrow[i * ng + g]`` is the pixel's GROUPDQ. Sets of values that the first clipping
    pass would keep whole (most of them) are recognised by :func:`clip_free` without
    selecting their median.
    """
    nf = 0
    if only_use_ints:
        for d in range(nd):
            c, total, vmin, vmax = _finite(fd, d, nd, nints, tmp)
            if c == 0 or clip_free(tmp, c, total, thr, vmin, vmax):
                continue
            lo, hi = clip_bounds(tmp, c, thr, thr, maxiters, s1, s2)
            for i in range(nints):
                v = fd[i * nd + d]
                if math.isfinite(v) and (v < lo or v > hi) and qrow[i * ng + d + 1] & bad == 0:
                    fk[nf] = i * nd + d
                    nf += 1
    else:
        c, total, vmin, vmax = _finite(fd, 0, 1, nints * nd, tmp)
        if c == 0 or clip_free(tmp, c, total, thr, vmin, vmax):
            return 0
        lo, hi = clip_bounds(tmp, c, thr, thr, maxiters, s1, s2)
        for k in range(nints * nd):
            v = fd[k]
            if math.isfinite(v) and (v < lo or v > hi):
                i = k // nd
                d = k - i * nd
                if qrow[i * ng + d + 1] & bad == 0:
                    fk[nf] = k
                    nf += 1
    return nf


@njit(cache=True, nogil=True)
def _any_bits(qbuf):
    """The OR of all of ``qbuf`` (2-D, uint8)."""
    acc = np.uint8(0)
    for p in range(qbuf.shape[0]):
        row = qbuf[p]
        for b in range(row.size):
            acc |= row[b]
    return acc


@njit(cache=True, nogil=True)
def sigclip_row(y, data, gdq, gain, rn, rnd, thr, maxiters, do_nbr, min_nb, max_nb, dnu, sat,
                 jump, has_jump, has_trig, row_crs, row_trig, free, trig_med):  # fmt: skip
    """Primary detection of row ``y`` by sigma clipping across integrations.

    What :func:`webbcal.kernels._jump_numba._primary_row` does in that mode (same flags,
    counts and ``free`` planes), block by block: the block's pixels are clipped side by
    side (:func:`clip_block`). The median of each pixel with neighbour triggers goes to
    ``trig_med`` (for :func:`webbcal.kernels._jump_numba._collect_triggers`).
    """
    nints, ng, _, nx = data.shape
    nd = ng - 1
    ntot = nints * nd
    npl = nints * ng
    bad = dnu | sat
    both = jump | dnu
    keep = np.uint8(~jump & 0xFF)
    # the planes are gathered _GATHER_BYTES at a time (long reads: each 4 kB page of
    # the ramp is visited a few times per row, not once per block), then clipped by
    # blocks of _WIDTH columns
    wide = max(1, min(-(-nx // _WIDTH), _GATHER_BYTES // (5 * npl * _WIDTH))) * _WIDTH
    ebuf = np.empty((npl, wide), np.float32)
    qbuf = np.empty((npl, wide), np.uint8)
    stats = np.empty((10, _WIDTH))
    scratch = np.empty((3, nints))
    fd = np.empty(ntot)
    tmp = np.empty(3 * ntot)
    njump = np.empty(_WIDTH, np.int64)
    ncr = 0
    ntrig = 0
    for x0 in range(0, nx, _WIDTH):
        w = min(_WIDTH, nx - x0)
        c0 = x0 % wide
        if c0 == 0:
            gather_rows(data, gdq, gain, y, x0, min(wide, nx - x0), bad, ebuf, qbuf)
            qany = _any_bits(qbuf)
        flagged = clip_block(ebuf, qbuf, c0, w, nints, ng, thr, maxiters, bad, jump, stats,
                             scratch[0], scratch[1], scratch[2])  # fmt: skip
        if flagged > 0:
            for p in range(npl):
                i = p // ng
                for b in range(w):
                    if qbuf[p, c0 + b] & jump and not gdq[i, p - i * ng, y, x0 + b] & jump:
                        gdq[i, p - i * ng, y, x0 + b] = qbuf[p, c0 + b]
        for p in range(npl):  # planes with a pixel free of JUMP and DO_NOT_USE
            if free[y, p]:
                continue
            for b in range(w):
                if qbuf[p, c0 + b] & both == 0:
                    free[y, p] = 1
                    break
        if flagged == 0 and qany & jump == 0:
            continue  # no JUMP in the block: nothing to count, clean or trigger
        njump[:] = 0
        for p in range(npl):
            marked = 0
            for b in range(w):
                marked |= qbuf[p, c0 + b] & jump
            if marked:
                i = p // ng
                for b in range(w):
                    q = qbuf[p, c0 + b]
                    if q & jump:
                        ncr += 1
                        if q & bad:
                            qbuf[p, c0 + b] = q & keep
                            gdq[i, p - i * ng, y, x0 + b] = q & keep
                        else:
                            njump[b] += 1
        for b in range(w):
            if njump[b] == 0:
                continue
            x = x0 + b
            has_jump[y, x] = 1
            if do_nbr:
                r = rn[y, x] * gain[y, x]
                med, nt = pixel_triggers(ebuf, c0 + b, qbuf[:, c0 + b], fd, tmp, ntot, nints,
                                         nd, ng, r, rnd, jump, min_nb, max_nb)  # fmt: skip
                if nt > 0:
                    has_trig[y, x] = 1
                    trig_med[y, x] = med
                    ntrig += nt
    row_crs[y] = ncr
    row_trig[y] = ntrig
