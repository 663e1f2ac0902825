"""Numba internals of jump: a side-by-side screen for pixels that surely have no jump.

The iterative and single-pass methods (:mod:`webbcal.kernels._jump_numba`) flag nothing
in a pixel when their first test finds no difference farther than ``thr * sigma`` from
the median, ``sigma = sqrt(|median| + rnterm)``. :func:`screen_block` proves this for
most pixels of a block of columns at once, with the pixels side by side (one
accumulator per pixel, in loops that vectorise), without selecting any median:

* one pass gives the count, sum, smallest and largest value ``vmin``, ``vmax`` of each
  pixel's usable differences (absolute values for the iterative method, whose first
  median leaves out the largest value and its ties);
* any median in ``[A, B]``, ``A = vmax - T``, ``B = vmin + T``,
  ``T = thr * sqrt(L + rnterm)`` shrunk by a relative 1e-6 (far more than any rounding
  of the exact test), leaves every difference within ``thr * sigma`` when
  ``|median| >= L``. ``L`` is 0, or, when the mean is far from zero, the mean's
  magnitude less four standard errors, with the interval then cut to that side of zero;
* a second pass counts the values below ``A`` and up to ``B`` (float32 bounds rounded
  inwards): they say whether the median is in ``[A, B]``.

A pixel passes only when all of this holds, so the screen is exact: every other pixel
(jumps, infinite values, two or three usable differences, no read noise) goes through
the per-pixel code, which flags exactly what it flagged before.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Relative shrinking of the half-width ``T``: far more than the rounding of the exact
#: test (float32 residuals: 6e-8; float64 arithmetic: 1e-15).
_MARGIN = 1e-6
#: Relative nudge making the float32 rounding of a bound go inwards.
_NUDGE = 2.0**-22


@njit(cache=True, nogil=True)
def gather_diffs(data, gdq, gain, y, x0, w, bad, dblk, qblk, prev):
    """First differences and GROUPDQ of columns ``x0:x0 + w`` of row ``y``.

    ``dblk[i * (ng - 1) + d, b]``: the float32 difference of groups ``d + 1`` and ``d``
    in electrons (NaN where either is ``bad``), the per-pixel code's differences;
    ``qblk[i * ng + g, b]``: GROUPDQ. ``prev``: float32 scratch of ``w`` values.
    """
    nints, ng = data.shape[0], data.shape[1]
    nd = ng - 1
    grow = gain[y, x0 : x0 + w]
    nan = np.float32(np.nan)
    for i in range(nints):
        drow = data[i, 0, y, x0 : x0 + w]
        qrow = gdq[i, 0, y, x0 : x0 + w]
        qout = qblk[i * ng]
        for b in range(w):
            q = qrow[b]
            qout[b] = q
            prev[b] = nan if q & bad else drow[b] * grow[b]
        for g in range(1, ng):
            drow = data[i, g, y, x0 : x0 + w]
            qrow = gdq[i, g, y, x0 : x0 + w]
            qout = qblk[i * ng + g]
            out = dblk[i * nd + g - 1]
            for b in range(w):
                q = qrow[b]
                qout[b] = q
                e = nan if q & bad else drow[b] * grow[b]
                out[b] = e - prev[b]
                prev[b] = e


@njit(cache=True, nogil=True)
def screen_block(dblk, qblk, w, iterative, rnt, thr, st, quiet, qor):
    """Mark the block pixels whose first jump test surely flags nothing.

    Parameters
    ----------
    dblk, qblk : ndarray, float32 (ndiffs, width) and uint8 (nplanes, width)
        Differences and GROUPDQ of the block (:func:`gather_diffs`).
    w : int
        Used columns of the block.
    iterative : bool
        Iterative method (absolute differences, largest value and its ties left out of
        the median, at least 4 usable differences) rather than the single pass.
    rnt : ndarray, float64 (width,)
        Read-noise term of each pixel (``(rn * gain)**2 / nframes``).
    thr : float
        Threshold of the first test (``rejection_threshold``).
    st : ndarray, float32 (9, width)
        Scratch.
    quiet : ndarray, bool (width,)
        Out: True where the pixel's first test flags nothing (or it has too few usable
        differences to flag any).
    qor : ndarray, uint8 (width,)
        Out: the OR of the pixel's GROUPDQ over all planes.
    """
    cnt, tot, vmn, vmx, lo, hi = st[0], st[1], st[2], st[3], st[4], st[5]
    below, upto, ties = st[6], st[7], st[8]
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for b in range(w):
        cnt[b] = zero
        tot[b] = zero
        vmn[b] = np.inf
        vmx[b] = -np.inf
        below[b] = zero
        upto[b] = zero
        ties[b] = zero
        qor[b] = 0
    for p in range(qblk.shape[0]):
        qrow = qblk[p]
        for b in range(w):
            qor[b] |= qrow[b]
    for k in range(dblk.shape[0]):  # count, sum and extremes (fmin/fmax skip NaN)
        row = dblk[k]
        for b in range(w):
            v = abs(row[b]) if iterative else row[b]
            ok = v == v
            cnt[b] += one if ok else zero
            tot[b] += v if ok else zero
            vmn[b] = np.fmin(vmn[b], v)
            vmx[b] = np.fmax(vmx[b], v)
    _bounds(w, cnt, tot, vmn, vmx, rnt, thr, iterative, lo, hi)
    if iterative:
        for k in range(dblk.shape[0]):
            row = dblk[k]
            for b in range(w):
                v = abs(row[b])
                tie = v == vmx[b]  # left out of the median, with the largest value
                below[b] += one if (v < lo[b]) & (not tie) else zero  # NaN: neither
                upto[b] += one if (v <= hi[b]) & (not tie) else zero
                ties[b] += one if tie else zero
    else:
        for k in range(dblk.shape[0]):
            row = dblk[k]
            for b in range(w):
                v = row[b]
                below[b] += one if v < lo[b] else zero
                upto[b] += one if v <= hi[b] else zero
    least = np.float32(2.0 if iterative else 1.0)
    for b in range(w):  # is the median (of the values less the ties) in [lo, hi]?
        n = cnt[b]
        m = n - ties[b]
        inside = (below[b] <= np.floor((m - one) * 0.5)) & (upto[b] >= np.floor(m * 0.5) + one)
        quiet[b] = (n < least) | ((lo[b] <= hi[b]) & (m >= one) & inside)


@njit(cache=True, nogil=True)
def _bounds(w, cnt, tot, vmn, vmx, rnt, thr, iterative, lo, hi):
    """Float32 interval ``[lo[b], hi[b]]`` that each median must be in (empty: no screen).

    Branch-free, so that the loop vectorises.
    """
    least = 4.0 if iterative else 1.0
    for b in range(w):
        n = np.float64(cnt[b])
        top = np.float64(vmx[b])
        bottom = np.float64(vmn[b])
        r = rnt[b]
        total = np.float64(tot[b]) - top if iterative else np.float64(tot[b])
        mean = total / max(n - 1.0 if iterative else n, 1.0)
        am = abs(mean)
        low = am - 4.0 * math.sqrt((am + r) / max(n, 1.0))
        floor = max(low, 0.0)
        s = math.sqrt(floor + r)
        t = thr * s * (1.0 - _MARGIN)
        a = top - t
        c = bottom + t
        # with floor > 0 the median must be on the mean's side of zero, |median| >= L
        a = max(a, floor) if (floor > 0.0) & (mean > 0.0) else a
        c = min(c, -floor) if (floor > 0.0) & (mean < 0.0) else c
        ok = (n >= least) & (r >= 1e-6) & (top < np.inf) & (bottom > -np.inf)
        ok = ok & ((abs(top) + abs(bottom)) * 1e-9 < s) & (a <= c)
        # float32 bounds rounded inwards (a nudge of 2**-22 covers the rounding)
        lo[b] = np.float32(a + abs(a) * _NUDGE) if ok else np.float32(np.inf)
        hi[b] = np.float32(c - abs(c) * _NUDGE) if ok else np.float32(-np.inf)
