"""Numba row loop and parallel entry points of the OLS ramp fit.

Per row: copy column blocks of all groups into thread-local buffers, take the per-
integration median rates of the whole block (median network across pixels), fit the
block's clean pixels column-vectorised, and fit every other pixel with the general
per-pixel path below, which follows stcal's ``OLS_C`` rules step by step (see
:mod:`webbcal.kernels._ols_numba`). In that path an integration without any group flag
(most of a time series) skips the flag bookkeeping and segment search, and its
variances are computed once per pixel; the arithmetic is the same, so are the values.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

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
    _block_clean,
    _block_medians,
    _chargeloss_invvar_r,
    _fill_block,
    _flag_or,
    _len1_time,
    _power_index,
    _rate_values,
    _rnoise_var,
    _slope_direct,
)

#: SHA-256 (first 16 hex digits) of ``_ols_numba.py``, whose functions are compiled into
#: the kernels below. numba's on-disk cache of this module is keyed on the text of this
#: file alone: an edit of ``_ols_numba.py`` must change this value too, or the stale
#: compiled kernel keeps running (a test checks that the value is current; touching the
#: file is not enough, numba hashes the contents).
OLS_NUMBA_SHA256 = "0416e43a799c893b"


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
def _ols_row(r, o, g0, ng, data, gdq, pdq, gain2d, rn2d, dark2d, zf, mrate2d, flags, gt, ft, ogt,
             coef, lmax, net, ped_tmp, cb, acc_f, acc_i, nints_total, r_slope, r_vp, r_vr, r_err,
             r_dq, i_slope, i_vp, i_vr, i_err, i_ped, i_dq, mr_out):
    """Fit groups ``g0:g0 + ng`` of input row ``r`` into output row ``o``.

    (See the module notes on why this function is long.)
    ``flags`` = (use_zf, use_mrate, sup1g, clear_jump, do_chg, weighted, want_ped,
    acc_mode, median_only, want_ints). ``r_*`` receive the rate product (unless
    acc_mode), ``i_*`` the rateints product (if want_ints); with median_only only
    ``mr_out`` (sums of median rates) is written.
    """
    use_zf, use_mrate, sup1g, clear_jump = flags[0], flags[1], flags[2], flags[3]
    do_chg, weighted, want_ped, acc_mode = flags[4], flags[5], flags[6], flags[7]
    median_only, want_ints = flags[8], flags[9]
    nan = np.nan
    ni, _ng, _ny, nx = data.shape
    nk = ni * ng
    bufd = np.empty((nk, cb), data.dtype)
    bufq = np.empty((nk, cb), np.uint8)
    dif = np.empty((max(ng - 1, 1), cb))
    cnt = np.empty(cb, np.int64)
    med = np.empty((ni, cb))
    ws = np.empty((18, cb))
    clean = np.zeros(cb, np.bool_)
    y = np.empty(nk)
    q = np.empty(nk, np.int64)
    is0 = np.empty(ni, np.bool_)
    isz = np.empty(ni, np.bool_)
    sup = np.empty(ni, np.bool_)
    chg = np.empty(ni, np.bool_)
    idq = np.empty(ni, np.int64)
    nsat = np.empty(ni, np.int64)
    nds = np.empty(ni, np.int64)
    isl = np.empty(ni)
    ivp = np.empty(ni)
    ivr = np.empty(ni)
    ier = np.empty(ni)
    iped = np.empty(ni)
    seg_s = np.empty(ng, np.int64)
    seg_l = np.empty(ng, np.int64)
    qtmp = np.empty(ng, np.int64)
    qor = np.empty((ni, cb), np.uint8)
    smp = np.zeros(ni, np.bool_)
    # an integration without any group flag is one segment of all groups: the general
    # path skips its flag bookkeeping and segment search (the values are the same)
    simple_ok = ng >= 3 and not median_only
    for c0 in range(0, nx, cb):
        cw = min(cb, nx - c0)
        _fill_block(data, gdq, r, c0, cw, bufd, bufq, g0, ng)
        if simple_ok:
            _flag_or(bufq, ni, ng, cw, qor)
        if not use_mrate and ng > 1:
            _block_medians(bufd, bufq, ni, ng, cw, gt, net, dif, cnt, med)
        if ng >= 3 and not median_only and lmax == ng:
            _block_clean(r, o, c0, cw, ni, ng, bufd, bufq, med, pdq, gain2d, rn2d, dark2d,
                         mrate2d, use_mrate, do_chg, weighted, want_ped, acc_mode, want_ints,
                         gt, coef, ped_tmp, acc_f, acc_i, nints_total, r_slope, r_vp, r_vr,
                         r_err, r_dq, i_slope, i_vp, i_vr, i_err, i_ped, i_dq, ws, clean)
        for c in range(cw):
            if clean[c]:
                continue
            col = c0 + c
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
                    iped[i] = ped
                if dqi & SATURATED:
                    n_sat += 1
                    islope = nan
                if nsat[i] > 0:
                    dqi |= SATURATED
                    bits |= _BIT_SET_SAT
                idq[i] = dqi
                isl[i] = islope
                ivp[i] = vpi
                ivr[i] = vri
                ier[i] = erri

            # --- CHARGELOSS: read-noise variance from segments with those groups restored
            if do_chg:
                for i in range(ni):
                    if not chg[i]:
                        if ivr[i] > 0.0:
                            st_ev += 1.0 / ivr[i]
                        continue
                    bits |= _BIT_CHARGELOSS
                    t1 = _len1_time(sup1g, is0[i], isz[i], gt, ft, ogt)
                    inv = _chargeloss_invvar_r(bufq, c, i * ng, ng, rn, gain, t1, gt, seg_s,
                                               seg_l, qtmp)
                    v = 1.0 / inv
                    ivr[i] = 0.0 if v >= LARGE_VARIANCE_THRESHOLD else v
                    st_ev += inv

            for i in range(ni if want_ints else 0):
                i_dq[i, o, col] = idq[i]
                i_slope[i, o, col] = isl[i]
                i_vp[i, o, col] = ivp[i]
                i_vr[i, o, col] = ivr[i]
                i_err[i, o, col] = ier[i]
                if want_ped:
                    i_ped[i, o, col] = iped[i]
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


@njit(parallel=True, **_NB)
def ols_kernel(data, gdq, pdq, gain2d, rn2d, dark2d, zf, mrate2d, flags, gt, ft, ogt, coef,
               lmax, net, ped_tmp, cb, acc_f, acc_i, nints_total, r_slope, r_vp, r_vr, r_err, r_dq,
               i_slope, i_vp, i_vr, i_err, i_ped, i_dq, mr_out, row0, row1, shift, g0, ng):
    """Fit rows ``row0:row1`` (or only sum median rates), in parallel; see ``_ols_row``.

    Input row ``r`` is written to output row ``r + shift``; groups ``g0:g0 + ng`` are
    fitted.
    """
    for k in prange(row1 - row0):
        r = row0 + k
        _ols_row(r, r + shift, g0, ng, data, gdq, pdq, gain2d, rn2d, dark2d, zf, mrate2d, flags, gt,
                 ft, ogt, coef, lmax, net, ped_tmp, cb, acc_f, acc_i, nints_total, r_slope,
                 r_vp, r_vr, r_err, r_dq, i_slope, i_vp, i_vr, i_err, i_ped, i_dq, mr_out)


@njit(parallel=True, **_NB)
def finalize_kernel(acc_f, acc_i, nints_total, r_slope, r_vp, r_vr, r_err, r_dq):
    """Rate product from accumulated integration chunks."""
    for r in prange(acc_f.shape[1]):
        for col in range(acc_f.shape[2]):
            sl, vp, vr, err, dq = _rate_values(
                acc_f[ACC_F_VP, r, col], acc_f[ACC_F_VR, r, col], acc_f[ACC_F_SLOPE, r, col],
                acc_f[ACC_F_EVAR_R, r, col], acc_i[ACC_I_NDNU, r, col],
                acc_i[ACC_I_NSAT, r, col], acc_i[ACC_I_DQ, r, col], acc_i[ACC_I_BITS, r, col],
                nints_total)
            r_slope[r, col] = sl
            r_vp[r, col] = vp
            r_vr[r, col] = vr
            r_err[r, col] = err
            r_dq[r, col] = dq
