"""Numba row loops and parallel entry points of the OLS ramp fit.

Block path, per row: copy column blocks of all groups into thread-local buffers, take
the per-integration median rates of the whole block (median network across pixels), fit
the block's clean pixels column-vectorised, and fit every other pixel with the general
per-pixel path (:mod:`webbcal.kernels._ols_general`), which follows stcal's ``OLS_C``
rules step by step. Series path (many integrations): the same, integration-major
without the block copy (:mod:`webbcal.kernels._ols_series`); only the pixels for the
general path are copied.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from webbcal.kernels._ols_general import _general_pixels, _scatter_ints
from webbcal.kernels._ols_numba import (
    _INVALID,
    _NB,
    ACC_F_EVAR_R,
    ACC_F_SLOPE,
    ACC_F_VP,
    ACC_F_VR,
    ACC_I_BITS,
    ACC_I_DQ,
    ACC_I_NDNU,
    ACC_I_NSAT,
    _block_clean,
    _block_medians,
    _fill_block,
    _flag_or,
    _rate_values,
)
from webbcal.kernels._ols_series import (
    WS_ROWS,
    WS_SIP,
    WS_SSL,
    WS_SVR,
    row_flags,
    series_pass,
    series_variances,
)

#: SHA-256 (first 16 hex digits) of ``_ols_numba.py``, whose functions are compiled into
#: the kernels below. numba's on-disk cache of this module is keyed on the text of this
#: file alone: an edit of ``_ols_numba.py`` must change this value too, or the stale
#: compiled kernel keeps running (a test checks that the value is current; touching the
#: file is not enough, numba hashes the contents).
OLS_NUMBA_SHA256 = "8e80250a25b04790"
#: The same for ``_ols_general.py`` and ``_ols_series.py`` (``_ols_general`` records the
#: hash of ``_ols_numba.py`` too: its own cached functions are compiled from it).
OLS_GENERAL_SHA256 = "2d28df75e12af650"
OLS_SERIES_SHA256 = "6f38dd15617690c2"


@njit(**_NB)
def _ols_row(r, o, g0, ng, data, gdq, pdq, gain2d, rn2d, dark2d, zf, mrate2d, flags, gt, ft, ogt,
             coef, lmax, net, ped_tmp, cb, acc_f, acc_i, nints_total, r_slope, r_vp, r_vr, r_err,
             r_dq, i_slope, i_vp, i_vr, i_err, i_ped, i_dq, mr_out):
    """Fit groups ``g0:g0 + ng`` of input row ``r`` into output row ``o``, by blocks.

    ``flags`` = (use_zf, use_mrate, sup1g, clear_jump, do_chg, weighted, want_ped,
    acc_mode, median_only, want_ints). ``r_*`` receive the rate product (unless
    acc_mode), ``i_*`` the rateints product (if want_ints); with median_only only
    ``mr_out`` (sums of median rates) is written.
    """
    use_mrate, do_chg, weighted, want_ped = flags[1], flags[4], flags[5], flags[6]
    acc_mode, median_only, want_ints = flags[7], flags[8], flags[9]
    ni, _ng, _ny, nx = data.shape
    nk = ni * ng
    bufd = np.empty((nk, cb), data.dtype)
    bufq = np.empty((nk, cb), np.uint8)
    dif = np.empty((max(ng - 1, 1), cb))
    cnt = np.empty(cb, np.int64)
    med = np.empty((ni, cb))
    ws = np.empty((18, cb))
    clean = np.zeros(cb, np.bool_)
    qor = np.empty((ni, cb), np.uint8)
    bcol = np.empty(cb, np.int64)
    icol = np.empty(cb, np.int64)
    ci_dq = np.empty((ni, cb), i_dq.dtype)
    ci_sl = np.empty((ni, cb), i_slope.dtype)
    ci_vp = np.empty((ni, cb), i_vp.dtype)
    ci_vr = np.empty((ni, cb))  # read back: float64
    ci_err = np.empty((ni, cb), i_err.dtype)
    ci_ped = np.empty((ni, cb), i_ped.dtype)
    for c0 in range(0, nx, cb):
        cw = min(cb, nx - c0)
        _fill_block(data, gdq, r, c0, cw, bufd, bufq, g0, ng)
        if ng >= 3 and not median_only:
            _flag_or(bufq, ni, ng, cw, qor)
        if not use_mrate and ng > 1:
            _block_medians(bufd, bufq, ni, ng, cw, gt, net, dif, cnt, med)
        if ng >= 3 and not median_only and lmax == ng:
            _block_clean(r, o, c0, cw, ni, ng, bufd, bufq, med, pdq, gain2d, rn2d, dark2d,
                         mrate2d, use_mrate, do_chg, weighted, want_ped, acc_mode, want_ints,
                         gt, coef, ped_tmp, acc_f, acc_i, nints_total, r_slope, r_vp, r_vr,
                         r_err, r_dq, i_slope, i_vp, i_vr, i_err, i_ped, i_dq, ws, clean)
        n = 0
        for c in range(cw):
            if not clean[c]:
                bcol[n] = c
                icol[n] = c0 + c
                n += 1
        _general_pixels(r, o, ni, ng, n, bcol, icol, bufd, bufq, qor, med, False, med, pdq,
                        gain2d, rn2d, dark2d, zf, mrate2d, flags, gt, ft, ogt, coef, lmax,
                        ped_tmp, acc_f, acc_i, nints_total, r_slope, r_vp, r_vr, r_err, r_dq,
                        mr_out, ci_dq, ci_sl, ci_vp, ci_vr, ci_err, ci_ped)
        if want_ints:
            _scatter_ints(o, ni, n, icol, want_ped, ci_dq, ci_sl, ci_vp, ci_vr, ci_err, ci_ped,
                          i_slope, i_vp, i_vr, i_err, i_ped, i_dq)


@njit(**_NB)
def _series_rows(row_a, row_b, shift, g0, ng, data, gdq, pdq, gain2d, rn2d, dark2d, zf, mrate2d,
                 flags, gt, ft, ogt, coef, lmax, net, ped_tmp, cb, acc_f, acc_i, nints_total,
                 r_slope, r_vp, r_vr, r_err, r_dq, i_slope, i_vp, i_vr, i_err, i_ped, i_dq,
                 mr_out):
    """As ``_ols_row`` for rows ``row_a:row_b``, integration-major (see ``_ols_series``).

    For ``ngroups`` 3 to 65 without ``median_rate`` (so not in acc_mode) or median_only:
    clean pixels column-vectorised, the others compacted for the general path. The
    buffers are allocated once (per thread): freed large buffers go back to the system
    and cost page faults when allocated again.
    """
    weighted, want_ped, want_ints = flags[5], flags[6], flags[9]
    ni, _ng, _ny, nx = data.shape
    nk = ni * ng
    qor = np.empty((ni, cb), np.uint8)
    anyq = np.empty(cb, np.uint8)
    iany = np.empty(ni, np.uint8)
    bq = np.empty(cb, np.uint8)
    clean = np.empty(cb, np.bool_)
    ws = np.empty((WS_ROWS, cb))
    dif = np.empty((ng - 1, cb))
    cnt = np.empty(cb, np.int64)
    icol = np.empty(cb, np.int64)
    bcol = np.arange(cb)
    # the general path's pixels, compacted: [:, j] for j < n, rows of an odd length (a
    # power-of-two stride would put a pixel's values in a few cache sets)
    mx = cb | 1
    f_bufd = np.empty(nk * mx, data.dtype)
    f_bufq = np.empty(nk * mx, np.uint8)
    f_medn = np.empty(ni * mx)
    f_sums = np.empty(ni * mx)
    f_qorn = np.empty(ni * mx, np.uint8)
    f_dq = np.empty(ni * mx, i_dq.dtype)
    f_sl = np.empty(ni * mx, i_slope.dtype)
    f_vp = np.empty(ni * mx, i_vp.dtype)
    f_vr = np.empty(ni * mx)  # read back: float64
    f_err = np.empty(ni * mx, i_err.dtype)
    f_ped = np.empty(ni * mx, i_ped.dtype)
    svp, svr, ssl = ws[WS_SIP], ws[WS_SVR], ws[WS_SSL]
    for r in range(row_a, row_b):
        o = r + shift
        for c0 in range(0, nx, cb):
            cw = min(cb, nx - c0)
            row_flags(gdq, r, c0, cw, g0, ng, qor, anyq, iany)
            n = 0
            for c in range(cw):
                col = c0 + c
                clean[c] = anyq[c] == 0 and gain2d[r, col] > 0.0 and \
                    (pdq[r, col] & _INVALID) == 0
                if not clean[c]:
                    icol[n] = col
                    n += 1
            m = n | 1
            bufd = f_bufd[:nk * m].reshape((nk, m))
            bufq = f_bufq[:nk * m].reshape((nk, m))
            medn = f_medn[:ni * m].reshape((ni, m))
            sums = f_sums[:ni * m].reshape((ni, m))
            qorn = f_qorn[:ni * m].reshape((ni, m))
            ci_dq = f_dq[:ni * m].reshape((ni, m))
            ci_sl = f_sl[:ni * m].reshape((ni, m))
            ci_vp = f_vp[:ni * m].reshape((ni, m))
            ci_vr = f_vr[:ni * m].reshape((ni, m))
            ci_err = f_err[:ni * m].reshape((ni, m))
            ci_ped = f_ped[:ni * m].reshape((ni, m))
            for i in range(ni):
                for j in range(n):
                    qorn[i, j] = qor[i, icol[j] - c0]
            series_pass(data, gdq, r, o, c0, cw, g0, ng, gt, net, coef, weighted, want_ints,
                        want_ped, ped_tmp, pdq, gain2d, rn2d, iany, icol, n, qorn, ws, dif, cnt,
                        bq, bufd, bufq, medn, sums, i_slope, i_vr, i_dq, i_ped)
            series_variances(r, o, c0, cw, ni, ng, gt, want_ints, dark2d, ws, i_vp, i_err)
            for c in range(cw):
                if clean[c]:
                    col = c0 + c
                    sl, vp, vr, err, dq = _rate_values(svp[c], svr[c], ssl[c], 0.0, 0, 0,
                                                       np.int64(pdq[r, col]), 0, nints_total)
                    r_slope[o, col] = sl
                    r_vp[o, col] = vp
                    r_vr[o, col] = vr
                    r_err[o, col] = err
                    r_dq[o, col] = dq
            _general_pixels(r, o, ni, ng, n, bcol, icol, bufd, bufq, qorn, medn, True, sums,
                            pdq, gain2d, rn2d, dark2d, zf, mrate2d, flags, gt, ft, ogt, coef,
                            lmax, ped_tmp, acc_f, acc_i, nints_total, r_slope, r_vp, r_vr, r_err,
                            r_dq, mr_out, ci_dq, ci_sl, ci_vp, ci_vr, ci_err, ci_ped)
            if want_ints:
                _scatter_ints(o, ni, n, icol, want_ped, ci_dq, ci_sl, ci_vp, ci_vr, ci_err,
                              ci_ped, i_slope, i_vp, i_vr, i_err, i_ped, i_dq)


@njit(parallel=True, **_NB)
def ols_kernel(data, gdq, pdq, gain2d, rn2d, dark2d, zf, mrate2d, flags, gt, ft, ogt, coef,
               lmax, net, ped_tmp, cb, acc_f, acc_i, nints_total, r_slope, r_vp, r_vr, r_err, r_dq,
               i_slope, i_vp, i_vr, i_err, i_ped, i_dq, mr_out, row0, row1, shift, g0, ng,
               nthreads):
    """Fit rows ``row0:row1`` (or only sum median rates), in parallel; see ``_ols_row``.

    Input row ``r`` is written to output row ``r + shift``; groups ``g0:g0 + ng`` are
    fitted. ``flags[10]`` selects ``_series_rows`` (``cb`` columns at a time) instead of
    the block path (blocks of ``cb`` columns), in ``nthreads`` tasks.
    """
    if flags[10]:  # one task (and one set of buffers) per thread, contiguous rows each
        nt = max(1, min(nthreads, row1 - row0))
        for t in prange(nt):
            _series_rows(row0 + (row1 - row0) * t // nt, row0 + (row1 - row0) * (t + 1) // nt,
                         shift, g0, ng, data, gdq, pdq, gain2d, rn2d, dark2d, zf, mrate2d, flags,
                         gt, ft, ogt, coef, lmax, net, ped_tmp, cb, acc_f, acc_i, nints_total,
                         r_slope, r_vp, r_vr, r_err, r_dq, i_slope, i_vp, i_vr, i_err, i_ped,
                         i_dq, mr_out)
        return
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
