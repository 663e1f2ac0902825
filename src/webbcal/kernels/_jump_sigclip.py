"""Numba internals of jump: per-pixel statistics and sigma clipping across integrations.

The median, noise and neighbour-trigger count of one pixel's differences
(:func:`plain_median`, :func:`sigma`, :func:`count_triggers`) serve every method.

With at least ``minimum_sigclip_groups`` integrations, jump clips each group difference
of a pixel against the same difference in the other integrations (astropy-style sigma
clipping, :func:`webbcal.kernels._nbstats.clip_bounds`). :func:`sigclip_row` does this for
one detector row, ``_COLS`` columns at a time:

* :func:`gather_row` turns the planes into float32 differences in electrons, one row of
  columns per (integration, difference), prefetching the planes it reads next (they
  are far apart in memory);
* most sets of differences lose nothing in the first clipping pass. A side-by-side test
  proves it from float32 sums, extremes and two counts per column (:func:`_moments`,
  :func:`_bounds`, :func:`_count_within`), without selecting any median: the test of
  :func:`clip_free` with a clipping half-width made smaller by a bound on the float32
  rounding, so that it never passes a set that clip_bounds would clip. The others
  (jumps, infinite values, overflow, sets at the margin) are clipped one by one;
* the median of all differences of each pixel with JUMP (for the neighbour triggers) is
  selected among the few values in a window around their mean (:func:`column_median`),
  the window's rank found by counting.

The flags are those of the per-pixel code (:func:`webbcal.kernels._jump_numba._primary_row`),
bit for bit.
"""

from __future__ import annotations

import math

import llvmlite.ir as ir
import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from webbcal.kernels._nbstats import (
    clip_bounds,
    kth_branchless,
    median_branchless,
    median_sorted,
    network_sort,
)
from webbcal.kernels._sortnet import UNROLLED_MAXN

#: Columns of a row whose differences are gathered and tested side by side.
_COLS = 256
#: Columns whose differences are gathered together for their medians.
_TCOLS = 32
#: Unit roundoff of float32.
_U32 = 2.0**-24
#: Values per difference above which the float32 sums are not trusted.
_NMAX = 2.0**20
#: Relative nudge making the float32 rounding of a bound go inwards.
_NUDGE = 2.0**-22
#: Planes ahead of the one gathered whose rows are prefetched.
_AHEAD = 2


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Hint that ``arr[idx]`` (1-D array) is read soon: LLVM's prefetch, into all caches."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
        # read, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


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


# ----------------------------------------------------------------------------------------
# sigma clipping across integrations, a row at a time


@njit(cache=True, nogil=True)
def sigclip_buffers(nints, ng, nx):
    """Scratch of :func:`sigclip_row` for one thread (reused for all its rows)."""
    nd = ng - 1
    cols = min(nx, _COLS)
    ntot = nints * nd
    return (
        np.empty((ntot, cols), np.float32),  # differences
        np.empty((nints * ng, cols), np.uint8),  # GROUPDQ
        np.empty((10, cols), np.float32),  # statistics of a difference
        np.empty((4, cols)),  # summaries of all differences
        np.empty(cols, np.float32),  # previous group
        np.empty(cols, np.uint8),  # OR of a column's GROUPDQ
        np.empty(cols, np.int64),  # JUMPs set in a column
        np.empty(cols, np.int64),  # columns with JUMP
        np.empty((_TCOLS, ntot), np.float32),  # differences of a few columns
        np.empty((_TCOLS, ntot), np.uint8),  # their GROUPDQ
        np.empty(3 * ntot),  # float64 scratch
    )


@njit(cache=True, nogil=True)
def gather_row(data, gdq, gain, y, x0, w, bad, dbuf, qbuf, prev, qor):
    """Differences and GROUPDQ of columns ``x0:x0 + w`` of row ``y``.

    ``dbuf[i * (ng - 1) + d, b]``: the float32 difference of groups ``d + 1`` and ``d``
    in electrons (NaN where either is ``bad``), as the per-pixel code computes it;
    ``qbuf[i * ng + g, b]``: GROUPDQ; ``qor[b]``: the OR of the column's GROUPDQ.
    ``prev``: float32 scratch.
    """
    nints, ng = data.shape[0], data.shape[1]
    nd = ng - 1
    grow = gain[y, x0 : x0 + w]
    nan = np.float32(np.nan)
    for b in range(w):
        qor[b] = 0
    for i in range(nints):
        for g in range(ng):
            p = i * ng + g
            ia = (p + _AHEAD) // ng  # the planes are far apart: fetch the later ones early
            if ia < nints:
                ga = p + _AHEAD - ia * ng
                ahead = data[ia, ga, y, x0 : x0 + w]
                for b in range(0, w, 16):
                    _prefetch(ahead, b)
                qahead = gdq[ia, ga, y, x0 : x0 + w]
                for b in range(0, w, 64):
                    _prefetch(qahead, b)
            drow = data[i, g, y, x0 : x0 + w]
            qrow = gdq[i, g, y, x0 : x0 + w]
            qout = qbuf[p]
            out = dbuf[i * nd + max(g - 1, 0)]
            for b in range(w):
                q = qrow[b]
                qout[b] = q
                qor[b] |= q
                e = drow[b] * grow[b]
                e = nan if q & bad else e
                out[b] = e - prev[b]  # (g = 0: overwritten by g = 1)
                prev[b] = e


@njit(cache=True, nogil=True)
def _moments(dbuf, d, nd, nints, w, st):
    """Statistics of difference ``d`` of each column, side by side (float32 ``st`` rows).

    Rows 0-5: count of the non-NaN values ``v``, sum and sum of squares of ``v - shift``,
    minimum, maximum, shift (the value of the first integration when finite, else 0).
    """
    cnt, s1, s2, vmn, vmx, sh = st[0], st[1], st[2], st[3], st[4], st[5]
    zero = np.float32(0.0)
    one = np.float32(1.0)
    first = dbuf[d]
    for b in range(w):
        v = first[b]
        sh[b] = v if abs(v) < np.inf else zero
        cnt[b] = zero
        s1[b] = zero
        s2[b] = zero
        vmn[b] = np.inf
        vmx[b] = -np.inf
    for i in range(nints):
        row = dbuf[i * nd + d]
        for b in range(w):  # (loads outside the selects: no masked loads or stores)
            v = row[b]
            ok = v == v
            t = v - sh[b]
            t = t if ok else zero
            cnt[b] += one if ok else zero
            s1[b] += t
            s2[b] += t * t
            vmn[b] = np.fmin(vmn[b], v)  # fmin / fmax skip NaN
            vmx[b] = np.fmax(vmx[b], v)


@njit(cache=True, nogil=True)
def _summarise(st, w, cst):
    """Add difference statistics (:func:`_moments`) to the column summaries ``cst``.

    Rows: sum and count of the non-NaN values, count taken out of the sum (by the caller:
    values flagged JUMP), smallest variance of one difference.
    """
    cnt, s1, s2, sh = st[0], st[1], st[2], st[5]
    for b in range(w):
        n = np.float64(cnt[b])
        a1 = np.float64(s1[b])
        cst[0, b] += a1 + np.float64(sh[b]) * n
        cst[1, b] += n
        var = max(np.float64(s2[b]) - a1 * a1 / max(n, 1.0), 0.0) / max(n, 1.0)
        cst[3, b] = min(cst[3, b], var) if n >= 2.0 else cst[3, b]


@njit(cache=True, nogil=True)
def _bounds(st, w, thr):
    """Rows 6, 7 of ``st``: an interval holding the median means nothing is clipped.

    As :func:`clip_free` with ``a = vmax - s``, ``b = vmin + s``, but with ``s`` from the
    float32 sums of :func:`_moments`, less a bound on their rounding error: ``4 (n + 2) u``
    of the sum of squares, where the error is below ``3 (n + 2) u / (1 - (n + 2) u)`` of
    it for ``n < _NMAX``. So ``s`` is never larger than the half-width ``thr * std`` that
    :func:`clip_bounds` computes in float64. The float32 bounds are rounded inwards (a
    float32 value ``v < lo`` may be >= a: the counts can only fail the test more often).
    ``(inf, -inf)`` where the test cannot pass (infinite values, overflow).
    """
    cnt, s1, s2, vmn, vmx = st[0], st[1], st[2], st[3], st[4]
    lo, hi = st[6], st[7]
    for b in range(w):
        n = np.float64(cnt[b])
        a1 = np.float64(s1[b])
        a2 = np.float64(s2[b])
        nn = max(n, 1.0)
        var = a2 - a1 * (a1 / nn) - 4.0 * (n + 2.0) * _U32 * a2
        s = thr * math.sqrt(max(var, 0.0) / nn) * (1.0 - 1e-12)
        top = np.float64(vmx[b])
        bottom = np.float64(vmn[b])
        a = top - s
        c = bottom + s
        ok = (n >= 1.0) & (n < _NMAX) & (top < np.inf) & (bottom > -np.inf) & (a2 < np.inf)
        ok = ok & (a + s >= top) & (c - s <= bottom) & (a <= c)
        # float32 bounds rounded inwards (the nudge covers the rounding but for tiny ones)
        la = np.float32(a + abs(a) * _NUDGE)
        hc = np.float32(c - abs(c) * _NUDGE)
        ok = ok & (np.float64(la) >= a) & (np.float64(hc) <= c)
        lo[b] = la if ok else np.float32(np.inf)
        hi[b] = hc if ok else np.float32(-np.inf)


@njit(cache=True, nogil=True)
def _count_within(dbuf, d, nd, nints, w, st):
    """Rows 8, 9 of ``st``: values of difference ``d`` below row 6 and up to row 7."""
    lo, hi, below, upto = st[6], st[7], st[8], st[9]
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for b in range(w):
        below[b] = zero
        upto[b] = zero
    for i in range(nints):
        row = dbuf[i * nd + d]
        for b in range(w):
            v = row[b]
            below[b] += one if v < lo[b] else zero  # NaN counts in neither
            upto[b] += one if v <= hi[b] else zero


@njit(cache=True, nogil=True)
def _clip_exact(dbuf, b, d, nd, nints, thr, maxiters, tmp):
    """Clipping bounds of difference ``d`` of column ``b`` (the full computation)."""
    c = 0
    for i in range(nints):
        v = np.float64(dbuf[i * nd + d, b])
        if math.isfinite(v):
            tmp[c] = v
            c += 1
    ntot = dbuf.shape[0]
    return clip_bounds(tmp, c, thr, thr, maxiters, tmp[ntot:], tmp[2 * ntot :])


@njit(cache=True, nogil=True)
def gather_columns(dbuf, qbuf, nints, ng, bcols, n, vals, qs):
    """Differences ``vals[j]`` and GROUPDQ ``qs[j]`` of the later groups of columns ``bcols[:n]``.

    One pass over the rows of the buffers (a column's values are a row apart).
    """
    nd = ng - 1
    for i in range(nints):
        for d in range(nd):
            k = i * nd + d
            drow = dbuf[k]
            qrow = qbuf[i * ng + d + 1]
            for j in range(n):
                b = bcols[j]
                vals[j, k] = drow[b]
                qs[j, k] = qrow[b]


@njit(cache=True, nogil=True)
def column_median(vals, m, centre, spread, tmp):
    """:func:`plain_median` of one pixel's float32 differences ``vals`` (``m`` not NaN).

    ``centre`` and ``spread`` (the mean and standard deviation of the values without
    JUMP, roughly) give a window that usually holds the middle values: counting the
    values below it gives the ranks of the few inside, among which the middle ones are
    selected (the same values as a selection among all). ``tmp``: float64 scratch of
    ``3 * vals.size`` values.
    """
    ntot = vals.size
    h = m // 2
    s1 = tmp[ntot : 2 * ntot]
    s2 = tmp[2 * ntot :]
    for width in (0.15, 2.0):
        lo = centre - width * spread
        hi = centre + width * spread
        if not (lo <= hi):  # (NaN)
            break
        below = 0
        inside = 0
        for k in range(ntot):
            v = np.float64(vals[k])
            below += v < lo
            tmp[inside] = v
            inside += (v >= lo) & (v <= hi)
        if below > h - 1 + m % 2 or below + inside <= h:
            continue
        mid = kth_branchless(tmp, inside, h - below, s1, s2)
        if m % 2 == 1:
            return mid
        return (kth_branchless(tmp, inside, h - 1 - below, s1, s2) + mid) / 2
    fd = tmp[2 * ntot :]  # rare: select among all values
    for k in range(ntot):
        fd[k] = np.float64(vals[k])
    return plain_median(fd, tmp, ntot)


@njit(cache=True, nogil=True)
def sigclip_row(y, data, gdq, gain, rn, rnd, thr, maxiters, do_nbr, min_nb, max_nb, dnu, sat,
                 jump, has_jump, has_trig, row_crs, row_trig, free, trig_med, bufs):  # fmt: skip
    """Primary detection of row ``y`` by sigma clipping across integrations.

    What :func:`webbcal.kernels._jump_numba._primary_row` does in that mode (same flags,
    counts and ``free`` planes), ``_COLS`` columns at a time: each difference of the
    columns is first tested side by side (:func:`_moments`, :func:`_bounds`,
    :func:`_count_within`); only those the test cannot clear are clipped one by one. The
    median of each pixel with neighbour triggers goes to ``trig_med`` (for
    :func:`webbcal.kernels._jump_numba._collect_triggers`). ``bufs``:
    :func:`sigclip_buffers`.
    """
    dbuf, qbuf, st, cst, prev, qor, newc, bcols, vals, qs, tmp = bufs
    nints, ng, _, nx = data.shape
    nd = ng - 1
    npl = nints * ng
    bad = dnu | sat
    both = jump | dnu
    keep = np.uint8(~jump & 0xFF)
    cols = dbuf.shape[1]
    ncr = 0
    ntrig = 0
    for x0 in range(0, nx, cols):
        w = min(cols, nx - x0)
        gather_row(data, gdq, gain, y, x0, w, bad, dbuf, qbuf, prev, qor)
        newc[:] = 0
        cst[:, :w] = 0.0
        cst[3, :w] = np.inf
        for d in range(nd):
            _moments(dbuf, d, nd, nints, w, st)
            _summarise(st, w, cst)
            _bounds(st, w, thr)
            _count_within(dbuf, d, nd, nints, w, st)
            for b in range(w):
                n = int(st[0, b])
                if n == 0 or _middle_in(int(st[8, b]), int(st[9, b]), n):
                    continue
                lo, hi = _clip_exact(dbuf, b, d, nd, nints, thr, maxiters, tmp)
                for i in range(nints):
                    p = i * ng + d + 1
                    v = np.float64(dbuf[i * nd + d, b])
                    q = qbuf[p, b]
                    if math.isfinite(v) and (v < lo or v > hi) and q & (bad | jump) == 0:
                        q |= jump
                        qbuf[p, b] = q
                        gdq[i, d + 1, y, x0 + b] = q
                        newc[b] += 1
                        cst[0, b] -= v  # (the median's window: values without JUMP)
                        cst[2, b] += 1.0
        for p in range(npl):  # planes with a pixel free of JUMP and DO_NOT_USE
            if free[y, p] == 0:
                for b in range(w):
                    if qbuf[p, b] & both == 0:
                        free[y, p] = 1
                        break
        nb = 0
        for b in range(w):  # count and clean up
            x = x0 + b
            nj = newc[b]
            if qor[b] & jump:  # JUMP given: count it, and clear it where DO_NOT_USE/SATURATED
                nj = 0
                for p in range(npl):
                    q = qbuf[p, b]
                    if q & jump:
                        ncr += 1
                        if q & bad:
                            q &= keep
                            qbuf[p, b] = q
                            i = p // ng
                            gdq[i, p - i * ng, y, x] = q
                        else:
                            nj += 1
            else:
                ncr += nj
            if nj > 0:
                has_jump[y, x] = 1
                bcols[nb] = b
                nb += 1
        if not do_nbr:
            continue
        for j0 in range(0, nb, _TCOLS):  # neighbour triggers, _TCOLS columns at a time
            n = min(_TCOLS, nb - j0)
            gather_columns(dbuf, qbuf, nints, ng, bcols[j0:], n, vals, qs)
            for j in range(n):
                b = bcols[j0 + j]
                x = x0 + b
                centre = cst[0, b] / max(cst[1, b] - cst[2, b], 1.0)
                med = column_median(vals[j], int(cst[1, b]), centre, math.sqrt(cst[3, b]), tmp)
                r = rn[y, x] * gain[y, x]
                sig = sigma(med, np.float64(r * r) / rnd)
                nt = 0
                vj = vals[j]
                qj = qs[j]
                for k in range(vj.size):
                    if qj[k] & jump:
                        rr = abs(np.float64(vj[k]) - med) / sig
                        if rr < max_nb and rr > min_nb:
                            nt += 1
                if nt > 0:
                    has_trig[y, x] = 1
                    trig_med[y, x] = med
                    ntrig += nt
    row_crs[y] = ncr
    row_trig[y] = ntrig
