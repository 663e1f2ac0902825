"""Numba internals of the OLS ramp fit (see :mod:`webbcal.kernels.ramp_fit` for the API).

The per-pixel arithmetic follows stcal's ``OLS_C`` C extension (``slope_fitter.c``) step
by step and in double precision, so that results agree with it to rounding:

* segments are runs of good groups (PERSISTENCE ignored); a group whose only flag is
  JUMP_DET starts the next segment; 1-group segments are dropped when a longer one
  exists, and only the first is kept when all are 1 group long;
* a segment of >= 3 groups is fitted with Fixsen et al. (2000) "optimal" weights
  ``|(i - mid) / mid| ** P`` with ``P`` chosen from the segment signal-to-noise;
  2-group segments use the difference, 1-group segments ``value / time``;
* the Poisson variance of every segment uses the pixel's *median rate* (the mean over
  integrations of the per-integration median of first differences), plus dark current;
* integration and exposure slopes are read-noise-variance weighted means (JP-4318).

The optimal-weight slope of a segment is a fixed linear combination of its groups for
each (length, power) pair; those coefficients are tabulated once per call
(``coef[power, length, group]``) so a segment costs one dot product.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# Official JWST group/pixel DQ bits used by ramp fitting.
DO_NOT_USE = 1
SATURATED = 2
JUMP_DET = 4
PERSISTENCE = 32
CHARGELOSS = 128
NO_GAIN_VALUE = 524288
_NOT_PERS = ~PERSISTENCE & 0xFFFFFFFF
_INVALID = DO_NOT_USE | SATURATED

#: Variances at or above this are treated as "no information" and written as 0 (stcal).
LARGE_VARIANCE_THRESHOLD = 1.0e6

#: Fixsen et al. (2000) exponents, selected by segment S/N (<5, <10, <20, <50, <100, >=100).
OPTIMAL_POWERS = np.array([0.0, 0.4, 1.0, 3.0, 6.0, 10.0])

# Accumulator planes (exposure-level running sums, for integration chunking).
ACC_F_VP, ACC_F_VR, ACC_F_SLOPE, ACC_F_EVAR_R = 0, 1, 2, 3
ACC_I_NDNU, ACC_I_NSAT, ACC_I_DQ, ACC_I_BITS = 0, 1, 2, 3
_BIT_SET_SAT, _BIT_CHARGELOSS = 1, 2

# Note for maintainers: the general per-pixel path lives in one function
# (``_ols_general._general_pixels``) on purpose. Every call that passes an array costs numba two
# atomic reference-count updates, and with several helpers per pixel that dominated the
# run time; helpers on the hot path therefore take scalars only, and array helpers are
# called per block of columns or for rare cases.
_NB = {"cache": True, "nogil": True, "error_model": "numpy"}


def optimal_weight(length: int, power: float) -> np.ndarray:
    """Fixsen weights ``|(i - mid)/mid|**P`` of a segment, rounded as stcal does (powf)."""
    mid = (length - 1) / 2.0
    x = np.abs((np.arange(length) - mid) * (1.0 / mid)).astype(np.float32)
    return np.power(x, np.float32(power)).astype(np.float64)


def slope_coefficients(max_length: int, weighted: bool) -> np.ndarray:
    """Table ``coef[p, L, i]``: slope (per group) = sum_i coef * y_i for L >= 3 groups.

    ``coef[p, L, L - 1 - i] == -coef[p, L, i]`` exactly.
    """
    npow = len(OPTIMAL_POWERS)
    coef = np.zeros((npow, max_length + 1, max(max_length, 1)))
    for ip, power in enumerate(OPTIMAL_POWERS):
        for length in range(3, max_length + 1):
            w = optimal_weight(length, power if weighted else 0.0)
            x = np.arange(length, dtype=np.float64)
            sw, swx, swxx = w.sum(), (w * x).sum(), (w * x * x).sum()
            cf = w * (x * sw - swx) / (sw * swxx - swx * swx)
            # exactly antisymmetric (it is in exact arithmetic): the clean-pixel path
            # sums coef[k] * (y[k] - y[L-1-k]) over the first half only
            coef[ip, length, :length] = (cf - cf[::-1]) / 2.0
    return coef


def _pairwise_pairs(n: int) -> list[tuple[int, int]]:
    """Comparators (a, b), a < b, of Parberry's pairwise sorting network for n values.

    Built for the next power of two; comparators reaching the padding (b >= n, +inf
    there) never move anything and are left out.
    """
    size = 1 << max(n - 1, 0).bit_length()
    pairs = []
    a = 1
    while a < size:  # sort pairs, pairs of pairs, ...
        b, c = a, 0
        while b < size:
            pairs.append((b - a, b))
            b, c = b + 1, (c + 1) % a
            if c == 0:
                b += a
        a *= 2
    a, e = size // 4, 1
    while a > 0:  # merge
        d = e
        while d > 0:
            b, c = (d + 1) * a, 0
            while b < size:
                pairs.append((b - d * a, b))
                b, c = b + 1, (c + 1) % a
                if c == 0:
                    b += a
            d //= 2
        a, e = a // 2, 2 * e + 1
    return [(x, y) for x, y in pairs if y < n]


def median_network(n: int) -> np.ndarray:
    """Comparators (a, b) that put the two middle values of n in place (ranks n//2 - 1, n//2).

    For n = 1 only rank 0. The pairwise sorting network with every comparator left out
    that cannot change those outputs (about 30 % fewer for 49 values). Values left out of
    the median (see ``_block_medians``) are spread as -inf and +inf so that the median of
    the rest is always at these ranks.
    """
    need = {n // 2 - 1, n // 2} if n > 1 else {0}
    kept = []
    for a, b in reversed(_pairwise_pairs(n)):
        if a in need or b in need:
            kept.append((a, b))
            need |= {a, b}
    return np.array(kept[::-1], np.int64).reshape(-1, 2)


@njit(**_NB)
def _power_index(snr):
    """Index into OPTIMAL_POWERS for a segment S/N (branch-free; NaN -> 10 as stcal)."""
    if math.isnan(snr):
        return 5
    return (int(snr >= 5.0) + int(snr >= 10.0) + int(snr >= 20.0) + int(snr >= 50.0)
            + int(snr >= 100.0))


@njit(**_NB)
def _slope_direct(y, off, length, power):
    """Weighted OLS slope (per group) computed from sums, for segments beyond the table."""
    mid = (length - 1) / 2.0
    invmid = 1.0 / mid
    sw = 0.0
    sx = 0.0
    sxx = 0.0
    sy = 0.0
    sxy = 0.0
    p32 = np.float32(power)
    for g in range(length):
        w = np.float64(np.float32(abs((g - mid) * invmid)) ** p32)
        v = y[off + g]
        if math.isnan(v):
            v = 0.0
        xw = g * w
        sw += w
        sx += xw
        sxx += g * xw
        sy += v * w
        sxy += v * xw
    return (sw * sxy - sx * sy) / (sw * sxx - sx * sx)


@njit(**_NB)
def _median(a, n):
    """Median of a[:n] (n >= 1, no NaN): rank counting for short arrays, else quickselect.

    Equal to the median of the sorted values that stcal takes, ties included.
    """
    if n == 1:
        return a[0]
    if n == 2:
        return (a[0] + a[1]) / 2.0
    h = n >> 1
    if n <= 24:
        klo = h if n & 1 else h - 1
        vhi = a[0]
        vlo = a[0]
        for i in range(n):
            x = a[i]
            lt = 0
            le = -1
            for j in range(n):
                lt += a[j] < x
                le += a[j] <= x
            if lt <= h and h <= le:
                vhi = x
            if lt <= klo and klo <= le:
                vlo = x
        return vhi if n & 1 else (vhi + vlo) / 2.0
    hi = _select(a, n, h)
    if n & 1:
        return hi
    lo = a[0]
    for i in range(1, h):
        if a[i] > lo:
            lo = a[i]
    return (hi + lo) / 2.0


@njit(**_NB)
def _select(a, n, k):
    """k-th smallest of a[:n] (Hoare quickselect); afterwards a[:k] <= a[k]."""
    left = 0
    right = n - 1
    while right > left:
        mid = (left + right) >> 1
        pivot = a[mid]
        i = left
        j = right
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                t = a[i]
                a[i] = a[j]
                a[j] = t
                i += 1
                j -= 1
        if k <= j:
            right = j
        elif k >= i:
            left = i
        else:
            break
    return a[k]


@njit(**_NB)
def _find_segments(q, base, ngroups, seg_s, seg_l):
    """Segments of an integration ramp as stcal builds and prunes them; returns count."""
    nseg = 0
    maxlen = 0
    in_seg = False
    start = 0
    for idx in range(ngroups + 1):
        good = idx < ngroups and (q[base + idx] & _NOT_PERS) == 0
        if good:
            if not in_seg:
                if idx > 0 and (q[base + idx - 1] & _NOT_PERS) == JUMP_DET:
                    start = idx - 1
                else:
                    start = idx
                in_seg = True
        elif in_seg:
            length = idx - start
            if not (length == 1 and maxlen > 1):
                seg_s[nseg] = start
                seg_l[nseg] = length
                nseg += 1
                if length > maxlen:
                    maxlen = length
            in_seg = False
    if nseg >= 2:
        if maxlen < 2:
            nseg = 1
        else:
            k = 0
            for s in range(nseg):
                if seg_l[s] != 1:
                    seg_s[k] = seg_s[s]
                    seg_l[k] = seg_l[s]
                    k += 1
            nseg = k
    return nseg


@njit(**_NB)
def _rnoise_var(rn, gain, t, length):
    """Read-noise variance of a segment slope: 12 (rn/t)^2 / ((L^3 - L) gain^2)."""
    rnum = rn / t
    rnum = 12.0 * rnum * rnum
    if length <= 2:
        rden = 6.0 * gain * gain
    else:
        if not gain > 0.0:
            return 0.0
        rden = (length * length * length - length) * gain * gain
    return rnum / rden


@njit(**_NB)
def _len1_time(sup1g, is0, isz, gt, ft, ogt):
    if not sup1g:
        if is0:
            return ogt
        if isz:
            return ft
    return gt


@njit(**_NB)
def _chargeloss_invvar_r(bufq, c, base, ngroups, rn, gain, t1, gt, seg_s, seg_l, qtmp):
    """Sum of inverse read-noise variances of the segments with CHARGELOSS groups restored."""
    for g in range(ngroups):
        v = np.int64(bufq[base + g, c])
        if v & CHARGELOSS:
            v ^= DO_NOT_USE | CHARGELOSS
        qtmp[g] = v
    nseg = _find_segments(qtmp, 0, ngroups, seg_s, seg_l)
    inv = 0.0
    for s in range(nseg):
        length = seg_l[s]
        if length == 1:
            v = _rnoise_var(rn, gain, t1, 1)
        else:
            v = _rnoise_var(rn, gain, gt, length)
        if v > 0.0:
            inv += 1.0 / v
    return inv



@njit(**_NB)
def _fill_block(data, gdq, r, c0, cw, bufd, bufq, g0, ng):
    """Copy columns c0:c0+cw of row r, groups g0:g0+ng of all integrations, to [i*ng+g, c].

    (Groups are selected here rather than by slicing: a slice of the group axis is not
    contiguous, and numba's loops over such arrays are slower.)
    """
    for i in range(data.shape[0]):
        for g in range(ng):
            k = i * ng + g
            for c in range(cw):
                bufd[k, c] = data[i, g0 + g, r, c0 + c]
                bufq[k, c] = gdq[i, g0 + g, r, c0 + c]


@njit(**_NB)
def _flag_or(bufq, ni, ng, cw, qor):
    """qor[i, c]: all group flags of integration i of block column c, OR-ed."""
    for i in range(ni):
        for c in range(cw):
            qor[i, c] = 0
        for g in range(ng):
            k = i * ng + g
            for c in range(cw):
                qor[i, c] |= bufq[k, c]


@njit(**_NB)
def _block_medians(bufd, bufq, ni, ng, cw, gt, net, dif, cnt, med):
    """Per-integration median first difference of every pixel of a block -> med[i, c].

    Differences involving DO_NOT_USE or SATURATED groups, or ending on a JUMP_DET group,
    are excluded (stcal); a pixel without any keeps the first group's rate (or NaN).
    The differences are taken in DN (exact in float64) and only the median is divided by
    the group time (stcal divides each group first: the result differs in the last bit).
    Short ramps go through a median network applied across the block's pixels
    (vectorised; ``net`` from :func:`median_network`), long ones are sorted per pixel.
    Excluded values alternate +inf, -inf: with ``k`` of them, ``k // 2`` sort first and
    the rest last, so the median of the ``n`` others is at rank ``(nd - 1) // 2`` (n odd)
    or the mean of ranks ``nd // 2 - 1`` and ``nd // 2`` (n even), whatever ``k``.
    """
    nd = ng - 1
    inf = np.inf
    lo = nd // 2 - 1
    hi = nd // 2
    odd = (nd - 1) // 2
    for i in range(ni):
        base = i * ng
        for c in range(cw):
            cnt[c] = 0
        for kk in range(nd):
            k0 = base + kk
            for c in range(cw):
                q0 = bufq[k0, c]
                q1 = bufq[k0 + 1, c]
                d = np.float64(bufd[k0 + 1, c]) - np.float64(bufd[k0, c])  # exact
                bad = ((q0 | q1) & _INVALID) != 0 or (q1 & JUMP_DET) != 0 or math.isnan(d)
                pad = -inf if (kk - cnt[c]) & 1 else inf
                dif[kk, c] = pad if bad else d
                cnt[c] += not bad
        if nd <= 64:
            for p in range(net.shape[0]):
                ra = dif[net[p, 0]]
                rb = dif[net[p, 1]]
                for c in range(cw):
                    x = ra[c]
                    z = rb[c]
                    # "+ 0.0" (-0.0 becomes 0.0, harmless here) keeps LLVM from storing
                    # the minimum as a masked store, which is several times slower
                    ra[c] = min(x, z) + 0.0
                    rb[c] = max(x, z)
        for c in range(cw):
            n = cnt[c]
            if n == 0:
                m = np.nan if (bufq[base, c] & _INVALID) else bufd[base, c] / gt
            elif nd <= 64:
                m = (dif[odd, c] if n & 1 else (dif[hi, c] + dif[lo, c]) / 2.0) / gt
            else:
                m = _column_median(dif, c, n) / gt
            med[i, c] = m


@njit(**_NB)
def _block_clean(r, o, c0, cw, ni, ng, bufd, bufq, med, pdq, gain2d, rn2d, dark2d, mrate2d,
                 use_mrate, do_chg, weighted, want_ped, acc_mode, want_ints, gt, coef, ped_tmp,
                 acc_f, acc_i, nints_total, r_slope, r_vp, r_vr, r_err, r_dq, i_slope, i_vp,
                 i_vr, i_err, i_ped, i_dq, ws, clean):
    """Fit the block's *clean* pixels column-vectorised; flags them in ``clean``.

    Clean: ngroups >= 3, gain > 0, no DO_NOT_USE/SATURATED pixel flag and no group flag
    at all in any integration. Each integration is then one segment of all groups and the
    general path reduces to branch-free arithmetic over the block, with the per-pixel
    variances (the same for every integration) computed once. Input row ``r`` is written
    to output row ``o``; the per-integration arrays only ``if want_ints``.
    """
    flg, gn, rnv, mrv, vr, _vp, inv_r, inv_p, vri, vpi, erri, acc, sl, ssl, svp, svr, sev, \
        tmp = (ws[0], ws[1], ws[2], ws[3], ws[4], ws[5], ws[6], ws[7], ws[8], ws[9], ws[10],
               ws[11], ws[12], ws[13], ws[14], ws[15], ws[16], ws[17])
    length = ng
    nfac = length * length * length - length
    for c in range(cw):
        flg[c] = 0.0
    for k in range(ni * ng):
        for c in range(cw):
            flg[c] += bufq[k, c]  # flags are >= 0: the sum is 0 only if all are 0
    for c in range(cw):
        mrv[c] = mrate2d[r, c0 + c] if use_mrate else 0.0
    if not use_mrate:
        for i in range(ni):
            for c in range(cw):
                m = med[i, c]
                mrv[c] += 0.0 if m != m else m
        for c in range(cw):
            mrv[c] /= ni
    dkv = _vp
    for c in range(cw):
        col = c0 + c
        gn[c] = gain2d[r, col]
        rnv[c] = rn2d[r, col]
        dkv[c] = dark2d[r, col]
        clean[c] = (flg[c] == 0.0) & (gn[c] > 0.0) & ((pdq[r, col] & _INVALID) == 0)
    # branch-free over 1-D scratch rows only, so that the loop vectorises
    for c in range(cw):
        g = gn[c]
        dc = dkv[c]
        rnum = rnv[c] / gt
        rnum = 12.0 * rnum * rnum
        v_r = rnum / (nfac * g * g)
        pden = gt * g * (length - 1.0)
        v_p = ((mrv[c] + dc) if mrv[c] > 0.0 else dc) / pden
        ir = 1.0 / v_r
        ip_ = 1.0 / v_p if v_p > 0.0 else 0.0
        a = 1.0 / ip_ if ip_ > 0.0 else 0.0
        vpi[c] = 0.0 if a >= LARGE_VARIANCE_THRESHOLD else a
        a = 1.0 / ir
        vri[c] = 0.0 if a >= LARGE_VARIANCE_THRESHOLD else a
        ve = 1.0 / (1.0 / (v_p + v_r))
        erri[c] = 0.0 if ve > LARGE_VARIANCE_THRESHOLD else math.sqrt(ve)
        vr[c] = v_r
        inv_r[c] = ir
        inv_p[c] = ip_
        ssl[c] = 0.0
        svp[c] = 0.0
        svr[c] = 0.0
        sev[c] = 0.0
    for i in range(ni):
        base = i * ng
        last = base + ng - 1
        for c in range(cw):
            dat = np.float64(bufd[last, c]) - np.float64(bufd[base, c])
            g = gn[c]
            den = rnv[c] * rnv[c] + dat * g
            snr = dat * g / math.sqrt(den)
            snr = 0.0 if (den <= 0.0) | (snr < 0.0) else snr  # NaN stays NaN, as stcal
            t = ((1.0 if snr >= 5.0 else 0.0) + (1.0 if snr >= 10.0 else 0.0)
                 + (1.0 if snr >= 20.0 else 0.0) + (1.0 if snr >= 50.0 else 0.0)
                 + (1.0 if snr >= 100.0 else 0.0))
            t = 5.0 if snr != snr else t
            tmp[c] = t if weighted else 0.0
        # the optimal-weight dot product with each pixel's power: the weights are
        # antisymmetric, so sum coef[k] * (y[k] - y[L-1-k]) over the first half; the
        # coefficient is picked per pixel with selects (no gathers)
        for c in range(cw):
            acc[c] = 0.0
        for k in range(ng // 2):
            k0 = coef[0, length, k]
            k1 = coef[1, length, k]
            k2 = coef[2, length, k]
            k3 = coef[3, length, k]
            k4 = coef[4, length, k]
            k5 = coef[5, length, k]
            ka = base + k
            kb = base + ng - 1 - k
            for c in range(cw):
                t = tmp[c]
                w = k0
                w = k1 if t == 1.0 else w
                w = k2 if t == 2.0 else w
                w = k3 if t == 3.0 else w
                w = k4 if t == 4.0 else w
                w = k5 if t == 5.0 else w
                va = np.float64(bufd[ka, c])
                vb = np.float64(bufd[kb, c])
                va = va if va == va else 0.0
                vb = vb if vb == vb else 0.0
                acc[c] += w * (va - vb)
        for c in range(cw):
            num = acc[c] / gt / vr[c]
            sl[c] = num * vri[c]
            ssl[c] += num
            svp[c] += inv_p[c]
            svr[c] += inv_r[c]
            sev[c] += 1.0 / vri[c] if vri[c] > 0.0 else 0.0
        if not want_ints:
            continue
        # written for every pixel: the general path overwrites those that are not clean
        for c in range(cw):
            col = c0 + c
            i_slope[i, o, col] = sl[c]
            i_vp[i, o, col] = vpi[c]
            i_vr[i, o, col] = vri[c]
            i_err[i, o, col] = erri[c]
            i_dq[i, o, col] = pdq[r, col]
        if want_ped:
            for c in range(cw):
                ped = bufd[base, c] - sl[c] * ped_tmp
                i_ped[i, o, c0 + c] = 0.0 if ped != ped else ped
    for c in range(cw):
        if not clean[c]:
            continue
        col = c0 + c
        pix = np.int64(pdq[r, col])
        if acc_mode:
            acc_f[ACC_F_VP, o, col] += svp[c]
            acc_f[ACC_F_VR, o, col] += svr[c]
            acc_f[ACC_F_SLOPE, o, col] += ssl[c]
            if do_chg:
                acc_f[ACC_F_EVAR_R, o, col] += sev[c]
            acc_i[ACC_I_DQ, o, col] |= pix
        else:
            sl_, vp_, vr_, err, dq = _rate_values(svp[c], svr[c], ssl[c], 0.0, 0, 0, pix, 0,
                                                  nints_total)
            r_slope[o, col] = sl_
            r_vp[o, col] = vp_
            r_vr[o, col] = vr_
            r_err[o, col] = err
            r_dq[o, col] = dq


@njit(**_NB)
def _column_median(dif, c, n):
    """Median of the n finite values of dif[:, c] (they are not sorted)."""
    a = np.empty(n)
    k = 0
    for j in range(dif.shape[0]):
        if abs(dif[j, c]) != np.inf:
            a[k] = dif[j, c]
            k += 1
    return _median(a, n)


@njit(**_NB)
def _rate_values(st_vp, st_vr, st_sl, st_ev, n_dnu, n_sat, dq, bits, nints):
    """Exposure-level (rate) values from the accumulated sums, as stcal finalises them."""
    if n_dnu == nints:
        dq |= DO_NOT_USE
    if n_sat == nints:
        dq |= SATURATED
    vp = 1.0 / st_vp if st_vp > 0.0 else st_vp
    if vp >= LARGE_VARIANCE_THRESHOLD or vp < 0.0:
        vp = 0.0
    vr = 1.0 / st_vr if st_vr > 0.0 else st_vr
    if vr >= LARGE_VARIANCE_THRESHOLD:
        vr = 0.0
    err = math.sqrt(vp + vr)
    slope = st_sl
    if dq & _INVALID:
        slope = np.nan
        vp = 0.0
        vr = 0.0
        err = 0.0
    if bits & _BIT_SET_SAT:
        dq |= SATURATED
    if not math.isnan(slope):
        slope = slope * vr
    if bits & _BIT_CHARGELOSS:
        if st_ev > 0.0:
            vr = 1.0 / st_ev
        if vr >= LARGE_VARIANCE_THRESHOLD:
            vr = 0.0
    return slope, vp, vr, err, dq


@njit(parallel=True, **_NB)
def rn_electrons(rn, gain, s2n, out):
    """``out = float32(float64(rn) * (float64(gain) / s2n))`` row-parallel (2-D arrays)."""
    for r in prange(rn.shape[0]):
        for c in range(rn.shape[1]):
            out[r, c] = np.float64(rn[r, c]) * (np.float64(gain[r, c]) / s2n)
