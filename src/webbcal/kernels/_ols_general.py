"""The general per-pixel path of the OLS ramp fit (see :mod:`webbcal.kernels._ols_kernel`).

It follows stcal's ``OLS_C`` rules step by step (see :mod:`webbcal.kernels._ols_numba`),
for the pixels that the column-vectorised paths leave: any group flag, a bad gain, a
DO_NOT_USE or SATURATED pixel, fewer than 3 groups, the median-rate sums. An integration
without any group flag (most of a time series) skips the flag bookkeeping and segment
search, and its variances are computed once per pixel; the arithmetic is the same, so
are the values. The per-integration products of a block of pixels are collected and
written plane by plane (``_scatter_ints``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from webbcal.kernels._ols_numba import (
    _BIT_CHARGELOSS,
    _BIT_SET_SAT,
    _INVALID,
    _NB,
    _NOT_PERS,
    ACC_F_EVAR_R,
    ACC_F_SLOPE,
    ACC_F_VP,
    ACC_F_VR,
    ACC_I_BITS,
    ACC_I_DQ,
    ACC_I_NDNU,
    ACC_I_NSAT,
    CHARGELOSS,
    DO_NOT_USE,
    JUMP_DET,
    LARGE_VARIANCE_THRESHOLD,
    NO_GAIN_VALUE,
    OPTIMAL_POWERS,
    PERSISTENCE,
    SATURATED,
    _chargeloss_invvar_r,
    _len1_time,
    _power_index,
    _rate_values,
    _rnoise_var,
    _slope_direct,
)

#: SHA-256 (first 16 hex digits) of ``_ols_numba.py``, whose functions are compiled into
#: the functions below (see ``_ols_kernel.OLS_NUMBA_SHA256``; a test checks it).
OLS_NUMBA_SHA256 = "8e80250a25b04790"


@njit(**_NB)
def _weighted_sum(y, off, length, rn, gain, weighted, coef, lmax):
    """The optimally weighted sum of segment ``y[off:off + length]`` (slope x group time).

    The weights' power follows the segment's S/N (0 when unweighted); NaN values count as
    0, as in stcal. Segments longer than the coefficient table are summed directly.
    """
    dat = y[off + length - 1] - y[off]
    den = rn * rn + dat * gain
    snr = 0.0
    if not (den <= 0.0 or gain == 0.0):  # NaN goes here, as stcal
        snr = dat * gain / math.sqrt(den)
        snr = 0.0 if snr < 0.0 else snr
    ip = _power_index(snr) if weighted else 0
    if length > lmax:
        return _slope_direct(y, off, length, OPTIMAL_POWERS[ip])
    acc = 0.0
    for g in range(length):
        v = y[off + g]
        if not math.isnan(v):
            acc += coef[ip, length, g] * v
    return acc


@njit(**_NB)
def _general_pixels(r, o, ni, ng, n, bcol, icol, bufd, bufq, qor, med, pre, sums, pdq, gain2d,
                    rn2d, dark2d, zf, mrate2d, flags, gt, ft, ogt, coef, lmax, ped_tmp, acc_f,
                    acc_i, nints_total, r_slope, r_vp, r_vr, r_err, r_dq, mr_out, ci_dq, ci_sl,
                    ci_vp, ci_vr, ci_err, ci_ped):
    """Fit pixels ``j < n`` of input row ``r`` (output row ``o``) by the general path.

    (See the note in ``_ols_numba`` on why this function is long.) Pixel ``j`` is image column
    ``icol[j]`` and buffer column ``c = bcol[j]`` of ``bufd``/``bufq`` (``[i * ng + g, c]``:
    group g of integration i), ``qor`` (``[i, c]``: the flags of integration i, OR-ed) and
    ``med`` (``[i, c]``: its median rate); with ``pre``, ``sums[i, c]`` is the optimally
    weighted sum of integration i if it has no group flag. Its per-integration products go to
    ``ci_*[i, j]`` (see ``_scatter_ints``), its rate product to ``r_*`` (unless acc_mode).
    ``flags`` = (use_zf, use_mrate, sup1g, clear_jump, do_chg, weighted, want_ped,
    acc_mode, median_only, ...); with median_only only ``mr_out`` (sums of median rates)
    is written.
    """
    use_zf, use_mrate, sup1g, clear_jump = flags[0], flags[1], flags[2], flags[3]
    do_chg, weighted, want_ped, acc_mode = flags[4], flags[5], flags[6], flags[7]
    median_only = flags[8]
    nan = np.nan
    nk = ni * ng
    y = np.empty(nk)
    q = np.empty(nk, np.int64)
    is0 = np.empty(ni, np.bool_)
    isz = np.empty(ni, np.bool_)
    sup = np.empty(ni, np.bool_)
    chg = np.empty(ni, np.bool_)
    idq = np.empty(ni, np.int64)
    nsat = np.empty(ni, np.int64)
    nds = np.empty(ni, np.int64)
    seg_s = np.empty(ng, np.int64)
    seg_l = np.empty(ng, np.int64)
    qtmp = np.empty(ng, np.int64)
    smp = np.zeros(ni, np.bool_)
    # an integration without any group flag is one segment of all groups: the general
    # path skips its flag bookkeeping and segment search (the values are the same)
    simple_ok = ng >= 3 and not median_only
    for j in range(n):
        c = bcol[j]
        col = icol[j]
        pix = np.int64(pdq[r, col]) if not median_only else 0
        gain = np.float64(gain2d[r, col]) if not median_only else 1.0
        if not gain > 0.0:
            pix |= DO_NOT_USE | NO_GAIN_VALUE

        # --- load the ramps: suppression, MIRI jump clearing, flag counts, ZEROFRAME
        seen = 0
        for i in range(ni):
            base = i * ng
            smp[i] = simple_ok and qor[i, c] == 0
            if smp[i]:
                if pre:
                    y[base] = bufd[base, c]  # (the pedestal's)
                else:
                    for g in range(ng):
                        y[base + g] = bufd[base + g, c]
                q[base] = 0
                sup[i] = False
                is0[i] = False
                isz[i] = False
                chg[i] = False
                idq[i] = pix
                nsat[i] = 0
                nds[i] = 0
                continue
            supp = False
            if sup1g:
                ngood = 0
                for g in range(ng):
                    ngood += (bufq[base + g, c] & 0xDF) == 0  # good ignoring PERSISTENCE
                supp = ngood == 1
            sup[i] = supp
            orq = 0
            cgood = 0
            cdnu = 0
            cds = 0
            csat = 0
            for g in range(ng):
                k = base + g
                v = np.int64(bufq[k, c])
                if clear_jump and g == 0:
                    v &= ~JUMP_DET
                if supp:
                    v |= DO_NOT_USE
                q[k] = v
                orq |= v
                cgood += v == 0
                cdnu += v != 0 and (v & DO_NOT_USE) != 0
                cds += (v & _INVALID) != 0
                if v & SATURATED:
                    y[k] = nan
                    csat += 1
                else:
                    y[k] = bufd[k, c]
            is0[i] = False
            isz[i] = False
            chg[i] = (orq & CHARGELOSS) != 0
            if not sup1g:
                if cgood == 1 and q[base] == 0:
                    is0[i] = True
                elif cgood == 0 and use_zf:
                    z = np.float64(zf[i, r, col])
                    if z != 0.0:
                        y[base] = z
                        q[base] = 0
                        cds -= 1
                        if csat == ng:
                            csat -= 1
                        if cdnu == ng:
                            cdnu -= 1
                        isz[i] = True
            orq &= JUMP_DET | PERSISTENCE
            idq[i] = pix | orq
            nsat[i] = csat
            nds[i] = cds
            seen |= orq

        # --- median rate: mean over integrations of the median first difference
        if use_mrate:
            mr = mrate2d[r, col]
        else:
            macc = 0.0
            for i in range(ni):
                base = i * ng
                if ng == 1:
                    m = y[base] / ogt  # stcal keeps NaN here
                elif is0[i]:
                    m = y[base] / ogt
                elif isz[i]:
                    m = y[base] / ft
                elif sup[i]:
                    m = 0.0  # all groups DO_NOT_USE
                else:
                    m = med[i, c]
                    if math.isnan(m):
                        m = 0.0
                macc += m
            if median_only:
                mr_out[o, col] += macc
                continue
            mr = macc / ni

        # --- exposure accumulators (continued from earlier chunks in acc_mode)
        st_vp = 0.0
        st_vr = 0.0
        st_sl = 0.0
        st_ev = 0.0
        n_dnu = 0
        n_sat = 0
        bits = 0
        rdq = pix | seen
        if acc_mode:
            st_vp = acc_f[ACC_F_VP, o, col]
            st_vr = acc_f[ACC_F_VR, o, col]
            st_sl = acc_f[ACC_F_SLOPE, o, col]
            st_ev = acc_f[ACC_F_EVAR_R, o, col]
            n_dnu = acc_i[ACC_I_NDNU, o, col]
            n_sat = acc_i[ACC_I_NSAT, o, col]
            rdq |= acc_i[ACC_I_DQ, o, col]
            bits = acc_i[ACC_I_BITS, o, col]
        rn = np.float64(rn2d[r, col])
        dc = np.float64(dark2d[r, col])

        # --- fit each integration
        # (the variances of an integration without group flags, one segment of all
        # groups, are the same for all such integrations of the pixel: kept in c_*)
        have_c = False
        c_vr = c_ir = c_ip = c_vpi = c_vri = c_err = 0.0
        for i in range(ni):
            base = i * ng
            dqi = idq[i]
            islope = 0.0
            vpi = 0.0
            vri = 0.0
            erri = 0.0
            nseg = 0
            if smp[i]:
                if pre:
                    acc = sums[i, c]
                else:
                    acc = _weighted_sum(y, base, ng, rn, gain, weighted, coef, lmax)
                if not have_c:
                    c_vr = _rnoise_var(rn, gain, gt, ng)
                    pden = gt * gain * (ng - 1.0)
                    vp = (mr + dc) / pden if mr > 0.0 else dc / pden
                    c_ir = 0.0 + 1.0 / c_vr
                    c_ip = 0.0 + 1.0 / vp if vp > 0.0 else 0.0
                    c_vpi = 1.0 / c_ip if c_ip > 0.0 else 0.0
                    c_vpi = 0.0 if c_vpi >= LARGE_VARIANCE_THRESHOLD else c_vpi
                    c_vri = 1.0 / c_ir
                    c_vri = 0.0 if c_vri >= LARGE_VARIANCE_THRESHOLD else c_vri
                    ve = 1.0 / (0.0 + 1.0 / (vp + c_vr))
                    c_err = 0.0 if ve > LARGE_VARIANCE_THRESHOLD else math.sqrt(ve)
                    have_c = True
                num = 0.0 + acc / gt / c_vr
                if dqi & _INVALID:
                    islope = nan
                else:
                    vpi = c_vpi
                    vri = c_vri
                    islope = num * c_vri
                    erri = c_err
                if c_ip > 0.0:
                    st_vp += c_ip
                st_vr += c_ir
                st_sl += num
            elif q[base] & SATURATED:
                dqi |= _INVALID
                islope = nan
            else:
                # segments: runs of good groups, a lone JUMP_DET group starts one
                maxlen = 0
                in_seg = False
                start = 0
                for idx in range(ng + 1):
                    if idx < ng and (q[base + idx] & _NOT_PERS) == 0:
                        if not in_seg:
                            start = idx
                            if idx > 0 and (q[base + idx - 1] & _NOT_PERS) == JUMP_DET:
                                start = idx - 1
                            in_seg = True
                    elif in_seg:
                        length = idx - start
                        if not (length == 1 and maxlen > 1):
                            seg_s[nseg] = start
                            seg_l[nseg] = length
                            nseg += 1
                            maxlen = max(maxlen, length)
                        in_seg = False
                if nseg >= 2:  # prune 1-group segments as stcal does
                    if maxlen < 2:
                        nseg = 1
                    else:
                        kept = 0
                        for s in range(nseg):
                            if seg_l[s] != 1:
                                seg_s[kept] = seg_s[s]
                                seg_l[kept] = seg_l[s]
                                kept += 1
                        nseg = kept
            if nds[i] == ng:
                dqi |= DO_NOT_USE
                if nsat[i] == ng:
                    dqi |= SATURATED
            elif nseg > 0:
                t1 = _len1_time(sup1g, is0[i], isz[i], gt, ft, ogt)
                inv_r = 0.0
                inv_p = 0.0
                inv_e = 0.0
                num = 0.0
                for s in range(nseg):
                    length = seg_l[s]
                    off = base + seg_s[s]
                    if length == 1:
                        sl = y[off] / t1
                        pden = t1 * gain
                        vr = _rnoise_var(rn, gain, t1, 1)
                    elif length == 2:
                        sl = (y[off + 1] - y[off]) / gt
                        pden = gt * gain
                        vr = _rnoise_var(rn, gain, gt, 2)
                    else:
                        acc = _weighted_sum(y, off, length, rn, gain, weighted, coef, lmax)
                        sl = acc / gt
                        pden = gt * gain * (length - 1.0)
                        vr = _rnoise_var(rn, gain, gt, length)
                    vp = (mr + dc) / pden if mr > 0.0 else dc / pden
                    inv_r += 1.0 / vr
                    if vp > 0.0:
                        inv_p += 1.0 / vp
                    inv_e += 1.0 / (vp + vr)
                    num += sl / vr
                if inv_p > 0.0:
                    vpi = 1.0 / inv_p
                if vpi >= LARGE_VARIANCE_THRESHOLD:
                    vpi = 0.0
                vri = 1.0 / inv_r
                if vri >= LARGE_VARIANCE_THRESHOLD:
                    vri = 0.0
                if dqi & _INVALID:
                    islope = nan
                    vpi = 0.0
                    vri = 0.0
                else:
                    ve = 1.0 / inv_e
                    islope = num * vri
                    erri = 0.0 if ve > LARGE_VARIANCE_THRESHOLD else math.sqrt(ve)
                if inv_p > 0.0:
                    st_vp += inv_p
                st_vr += inv_r
                st_sl += num
            if dqi & DO_NOT_USE:
                n_dnu += 1
                islope = nan
            if want_ped:
                ped = 0.0
                if not dqi & SATURATED:
                    ped = y[base] - islope * ped_tmp
                    if math.isnan(ped):
                        ped = 0.0
                ci_ped[i, j] = ped
            if dqi & SATURATED:
                n_sat += 1
                islope = nan
            if nsat[i] > 0:
                dqi |= SATURATED
                bits |= _BIT_SET_SAT
            ci_dq[i, j] = dqi
            ci_sl[i, j] = islope
            ci_vp[i, j] = vpi
            ci_vr[i, j] = vri
            ci_err[i, j] = erri

        # --- CHARGELOSS: read-noise variance from segments with those groups restored
        if do_chg:
            for i in range(ni):
                if not chg[i]:
                    if ci_vr[i, j] > 0.0:
                        st_ev += 1.0 / ci_vr[i, j]
                    continue
                bits |= _BIT_CHARGELOSS
                t1 = _len1_time(sup1g, is0[i], isz[i], gt, ft, ogt)
                inv = _chargeloss_invvar_r(bufq, c, i * ng, ng, rn, gain, t1, gt, seg_s,
                                           seg_l, qtmp)
                v = 1.0 / inv
                ci_vr[i, j] = 0.0 if v >= LARGE_VARIANCE_THRESHOLD else v
                st_ev += inv

        if acc_mode:
            acc_f[ACC_F_VP, o, col] = st_vp
            acc_f[ACC_F_VR, o, col] = st_vr
            acc_f[ACC_F_SLOPE, o, col] = st_sl
            acc_f[ACC_F_EVAR_R, o, col] = st_ev
            acc_i[ACC_I_NDNU, o, col] = n_dnu
            acc_i[ACC_I_NSAT, o, col] = n_sat
            acc_i[ACC_I_DQ, o, col] = rdq
            acc_i[ACC_I_BITS, o, col] = bits
        else:
            sl, vp, vr, err, rdq = _rate_values(st_vp, st_vr, st_sl, st_ev, n_dnu, n_sat,
                                                rdq, bits, nints_total)
            r_slope[o, col] = sl
            r_vp[o, col] = vp
            r_vr[o, col] = vr
            r_err[o, col] = err
            r_dq[o, col] = rdq


@njit(**_NB)
def _scatter_ints(o, ni, n, icol, want_ped, ci_dq, ci_sl, ci_vp, ci_vr, ci_err, ci_ped, i_slope,
                  i_vp, i_vr, i_err, i_ped, i_dq):
    """Write ``ci_*[i, j]`` to image column ``icol[j]`` of output row ``o`` of integration i.

    Integration by integration: the planes of a pixel's integrations are far apart.
    """
    for i in range(ni):
        for j in range(n):
            col = icol[j]
            i_dq[i, o, col] = ci_dq[i, j]
            i_slope[i, o, col] = ci_sl[i, j]
            i_vp[i, o, col] = ci_vp[i, j]
            i_vr[i, o, col] = ci_vr[i, j]
            i_err[i, o, col] = ci_err[i, j]
        for j in range(n if want_ped else 0):
            i_ped[i, o, icol[j]] = ci_ped[i, j]
