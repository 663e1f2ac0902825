"""Integration-major OLS fit of a row of a time series (many integrations).

The block path of :mod:`webbcal.kernels._ols_kernel` copies all groups of all
integrations of a few columns into a buffer: with hundreds of integrations that reads
thousands of image planes per block, and the copy itself dominates. Here a row is
fitted integration by integration straight from the ramps, each group row contiguous:
for every integration the median first difference, the optimally weighted sum and the
slope of *every* column are computed column-vectorised, with the arithmetic of
``_ols_numba._block_medians`` and ``_ols_numba._block_clean`` (so the values are the
same). The median rate of a pixel is known only after its last integration; of a clean
pixel (no group flag in any integration, gain > 0, no DO_NOT_USE/SATURATED pixel flag)
it enters only the variances, which are the same for all its integrations, so they are
written afterwards. The other pixels are left to the general per-pixel path
(``_ols_general``): what it reads of them is copied, compacted, into its buffers, with
their per-integration medians and optimally weighted sums.

These functions call no jitted function of another module (numba caches a module's
functions by that module's text only); the constants come from ``_ols_numba``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from webbcal.kernels._ols_numba import _INVALID, _NB, JUMP_DET, LARGE_VARIANCE_THRESHOLD

#: Rows of the per-column scratch ``ws`` of :func:`series_pass` and :func:`series_variances`;
#: ``ws[WS_SSL]``, ``ws[WS_SVR]``, ``ws[WS_SIP]`` end as a column's sums over integrations of
#: slope numerators, inverse read-noise and inverse Poisson variances.
WS_ROWS = 19
_GN, _RN, _VR, _IR, _VRI, WS_SSL, WS_SVR, _MRV, _SNR, _ACC, _MED, _VPI, _ERR, _IP, WS_SIP, \
    _GNN, _RNN, _SNRN, _ACCN = range(WS_ROWS)


@njit(**_NB)
def row_flags(gdq, r, c0, cw, g0, ng, qor, anyq, iany):
    """Group flags of columns ``c0:c0 + cw`` of row ``r``, OR-ed.

    ``qor[i, c]``: those of integration i, column c0 + c; ``anyq[c]``: of all
    integrations; ``iany[i]``: of all columns of integration i.
    """
    for c in range(cw):
        anyq[c] = 0
    for i in range(gdq.shape[0]):
        qi = qor[i]
        for c in range(cw):
            qi[c] = 0
        for g in range(ng):
            src = gdq[i, g0 + g, r, c0:c0 + cw]  # sliced: indices from 0 vectorise
            for c in range(cw):
                qi[c] = qi[c] | src[c]
        s = 0
        for c in range(cw):
            anyq[c] = anyq[c] | qi[c]
            s |= qi[c]
        iany[i] = s


@njit(**_NB)
def series_pass(data, gdq, r, o, c0, cw, g0, ng, gt, net, coef, weighted, want_ints, want_ped,
                ped_tmp, pdq, gain2d, rn2d, iany, icol, n, qorn, ws, dif, cnt, bq, bufd, bufq,
                medn, sums, i_slope, i_vr, i_dq, i_ped):
    """Fit every integration of columns ``c0:c0 + cw`` of row ``r`` column-vectorised.

    Writes the slope, read-noise variance, DQ (and pedestal) of every integration into
    output row ``o`` (if ``want_ints``), and leaves in ``ws`` the per-column sum
    ``WS_SSL``, the sum of median rates and the read-noise variances for
    :func:`series_variances`. For the general path, of the ``n`` columns ``icol`` (image
    columns): the medians go to ``medn[i, j]``, the optimally weighted sums (as its
    ``_weighted_sum``) to ``sums[i, j]``, the first group to ``bufd[i * ng, j]``, and all
    groups of the integrations with group flags (``qorn[i, j]``) to
    ``bufd``/``bufq[i * ng + g, j]``. ``iany[i]``: whether integration i has any group
    flag in these columns (see :func:`row_flags`).

    (The inner loops touch few arrays each, or LLVM does not vectorise them.)
    """
    ni = data.shape[0]
    nd = ng - 1
    inf = np.inf
    lo = nd // 2 - 1
    hi = nd // 2
    odd = (nd - 1) // 2
    length = ng
    nfac = length * length * length - length
    gn, rnv, vr, inv_r, vri = ws[_GN], ws[_RN], ws[_VR], ws[_IR], ws[_VRI]
    ssl, mrv, tmp, acc, medc = ws[WS_SSL], ws[_MRV], ws[_SNR], ws[_ACC], ws[_MED]
    dlo, dhi, dodd = dif[lo], dif[hi], dif[odd]
    pdr = pdq[r, c0:c0 + cw]
    for c in range(cw):
        gn[c] = gain2d[r, c0 + c]
        rnv[c] = rn2d[r, c0 + c]
    gnn, rnn, tn, accn = ws[_GNN], ws[_RNN], ws[_SNRN], ws[_ACCN]
    for j in range(n):
        gnn[j] = gain2d[r, icol[j]]
        rnn[j] = rn2d[r, icol[j]]
    for c in range(cw):
        g = gn[c]
        rnum = rnv[c] / gt
        rnum = 12.0 * rnum * rnum
        v_r = rnum / (nfac * g * g)
        ir = 1.0 / v_r
        a = 1.0 / ir
        vri[c] = 0.0 if a >= LARGE_VARIANCE_THRESHOLD else a
        vr[c] = v_r
        inv_r[c] = ir
        ssl[c] = 0.0
        mrv[c] = 0.0
    for i in range(ni):
        # --- median first difference (as _block_medians)
        first = data[i, g0, r, c0:c0 + cw]
        nbad = 0
        for kk in range(nd):
            d0 = data[i, g0 + kk, r, c0:c0 + cw]
            d1 = data[i, g0 + kk + 1, r, c0:c0 + cw]
            dk = dif[kk]
            for c in range(cw):
                d = np.float64(d1[c]) - np.float64(d0[c])  # exact
                dk[c] = d
                nbad += d != d
        flagged = iany[i] != 0 or nbad > 0
        if flagged:  # leave out flagged and NaN differences, padded +-inf alternately
            for c in range(cw):
                cnt[c] = 0
            for kk in range(nd):
                q0 = gdq[i, g0 + kk, r, c0:c0 + cw]
                q1 = gdq[i, g0 + kk + 1, r, c0:c0 + cw]
                for c in range(cw):
                    bq[c] = ((q0[c] | q1[c]) & _INVALID) | (q1[c] & JUMP_DET)
                dk = dif[kk]
                for c in range(cw):
                    d = dk[c]
                    bad = (bq[c] != 0) | (d != d)
                    k = cnt[c]
                    pad = -inf if (kk - k) & 1 else inf
                    dk[c] = pad if bad else d
                    cnt[c] = k + (0 if bad else 1)
        for p in range(net.shape[0]):
            ra = dif[net[p, 0]]
            rb = dif[net[p, 1]]
            for c in range(cw):
                x = ra[c]
                z = rb[c]
                ra[c] = min(x, z) + 0.0  # (see _block_medians)
                rb[c] = max(x, z)
        if flagged:
            for c in range(cw):
                medc[c] = (dodd[c] if cnt[c] & 1 else (dhi[c] + dlo[c]) / 2.0) / gt
            q0 = gdq[i, g0, r, c0:c0 + cw]
            for c in range(cw):
                m0 = np.nan if (q0[c] & _INVALID) else first[c] / gt
                medc[c] = m0 if cnt[c] == 0 else medc[c]
        elif nd & 1:
            for c in range(cw):
                medc[c] = dodd[c] / gt
        else:
            for c in range(cw):
                medc[c] = (dhi[c] + dlo[c]) / 2.0 / gt
        for c in range(cw):
            m = medc[c]
            mrv[c] += 0.0 if m != m else m
        # --- optimally weighted sum (as _block_clean)
        last = data[i, g0 + ng - 1, r, c0:c0 + cw]
        for c in range(cw):
            dat = np.float64(last[c]) - np.float64(first[c])
            g = gn[c]
            den = rnv[c] * rnv[c] + dat * g
            snr = dat * g / math.sqrt(den)
            snr = 0.0 if (den <= 0.0) | (snr < 0.0) else snr
            t = ((1.0 if snr >= 5.0 else 0.0) + (1.0 if snr >= 10.0 else 0.0)
                 + (1.0 if snr >= 20.0 else 0.0) + (1.0 if snr >= 50.0 else 0.0)
                 + (1.0 if snr >= 100.0 else 0.0))
            t = 5.0 if snr != snr else t
            tmp[c] = t if weighted else 0.0
        t0 = tmp[0]
        nmix = 0
        for c in range(cw):
            nmix += tmp[c] != t0
        for k in range(ng // 2 if nmix == 0 else 0):  # one power for all: no selects
            w = coef[int(t0), length, k]
            ya = data[i, g0 + k, r, c0:c0 + cw]
            yb = data[i, g0 + ng - 1 - k, r, c0:c0 + cw]
            for c in range(cw):
                va = np.float64(ya[c])
                vb = np.float64(yb[c])
                va = va if va == va else 0.0
                vb = vb if vb == vb else 0.0
                acc[c] = (0.0 if k == 0 else acc[c]) + w * (va - vb)
        for k in range(ng // 2 if nmix > 0 else 0):
            k0 = coef[0, length, k]
            k1 = coef[1, length, k]
            k2 = coef[2, length, k]
            k3 = coef[3, length, k]
            k4 = coef[4, length, k]
            k5 = coef[5, length, k]
            ya = data[i, g0 + k, r, c0:c0 + cw]
            yb = data[i, g0 + ng - 1 - k, r, c0:c0 + cw]
            for c in range(cw):
                t = tmp[c]
                w = k0
                w = k1 if t == 1.0 else w
                w = k2 if t == 2.0 else w
                w = k3 if t == 3.0 else w
                w = k4 if t == 4.0 else w
                w = k5 if t == 5.0 else w
                va = np.float64(ya[c])
                vb = np.float64(yb[c])
                va = va if va == va else 0.0
                vb = vb if vb == vb else 0.0
                acc[c] = (0.0 if k == 0 else acc[c]) + w * (va - vb)
        for c in range(cw):
            acc[c] = acc[c] / gt / vr[c]
        for c in range(cw):
            ssl[c] += acc[c]
        for c in range(cw):
            acc[c] = acc[c] * vri[c]  # the slope
        if want_ints:
            so = i_slope[i, o, c0:c0 + cw]
            for c in range(cw):
                so[c] = acc[c]
            vo = i_vr[i, o, c0:c0 + cw]
            for c in range(cw):
                vo[c] = vri[c]
            qo = i_dq[i, o, c0:c0 + cw]
            for c in range(cw):
                qo[c] = pdr[c]
            if want_ped:
                po = i_ped[i, o, c0:c0 + cw]
                for c in range(cw):
                    ped = first[c] - acc[c] * ped_tmp
                    po[c] = 0.0 if ped != ped else ped
        # --- the other pixels, for the general path: the ramps of their integrations with
        # group flags; of the others it reads only the first group and the weighted sum
        for j in range(n):
            medn[i, j] = medc[icol[j] - c0]
        for j in range(n):
            bufd[i * ng, j] = first[icol[j] - c0]
        for j in range(n):
            if qorn[i, j] != 0:
                for g in range(ng):
                    bufd[i * ng + g, j] = data[i, g0 + g, r, icol[j]]
                    bufq[i * ng + g, j] = gdq[i, g0 + g, r, icol[j]]
        if n > 0:
            _full_sums(data, i, g0, r, ng, icol, n, coef, weighted, gnn, rnn, tn, accn)
            for j in range(n):
                sums[i, j] = accn[j]


@njit(**_NB)
def _full_sums(data, i, g0, r, ng, icol, n, coef, weighted, gnn, rnn, tn, accn):
    """``accn[j]``: ``_ols_general._weighted_sum`` of integration i, column ``icol[j]``.

    The same arithmetic, vectorised over the columns: the S/N of the ramp picks the
    power, and all groups are summed in order (NaN as 0: adding the +-0 product leaves
    the sum, never -0, unchanged).
    """
    length = ng
    y0 = data[i, g0, r]
    y1 = data[i, g0 + ng - 1, r]
    for j in range(n):
        dat = np.float64(y1[icol[j]]) - np.float64(y0[icol[j]])
        g = gnn[j]
        rn = rnn[j]
        den = rn * rn + dat * g
        s = dat * g / math.sqrt(den)
        s = 0.0 if s < 0.0 else s
        snr = 0.0 if (den <= 0.0) | (g == 0.0) else s
        t = ((1.0 if snr >= 5.0 else 0.0) + (1.0 if snr >= 10.0 else 0.0)
             + (1.0 if snr >= 20.0 else 0.0) + (1.0 if snr >= 50.0 else 0.0)
             + (1.0 if snr >= 100.0 else 0.0))
        t = 5.0 if snr != snr else t
        tn[j] = t if weighted else 0.0
    t0 = tn[0]
    nmix = 0
    for j in range(n):
        nmix += tn[j] != t0
    for g in range(ng):
        yg = data[i, g0 + g, r]
        if nmix == 0:  # one power for all
            w = coef[int(t0), length, g]
            for j in range(n):
                v = np.float64(yg[icol[j]])
                accn[j] = (0.0 if g == 0 else accn[j]) + w * (v if v == v else 0.0)
            continue
        k0 = coef[0, length, g]
        k1 = coef[1, length, g]
        k2 = coef[2, length, g]
        k3 = coef[3, length, g]
        k4 = coef[4, length, g]
        k5 = coef[5, length, g]
        for j in range(n):
            t = tn[j]
            w = k0
            w = k1 if t == 1.0 else w
            w = k2 if t == 2.0 else w
            w = k3 if t == 3.0 else w
            w = k4 if t == 4.0 else w
            w = k5 if t == 5.0 else w
            v = np.float64(yg[icol[j]])
            accn[j] = (0.0 if g == 0 else accn[j]) + w * (v if v == v else 0.0)


@njit(**_NB)
def series_variances(r, o, c0, cw, ni, ng, gt, want_ints, dark2d, ws, i_vp, i_err):
    """Poisson variances and errors of the columns fitted by :func:`series_pass`.

    The same for every integration of a column (as ``_block_clean``); writes them to
    output row ``o`` of every integration (if ``want_ints``) and leaves in ``ws[WS_SIP]``
    and ``ws[WS_SVR]`` the sums over integrations of the inverse Poisson and read-noise
    variances.
    """
    length = ng
    gn, vr, mrv, vpi, erri = ws[_GN], ws[_VR], ws[_MRV], ws[_VPI], ws[_ERR]
    inv_p, inv_r, sip, svr = ws[_IP], ws[_IR], ws[WS_SIP], ws[WS_SVR]
    dkr = dark2d[r, c0:c0 + cw]
    for c in range(cw):
        mrv[c] /= ni
        g = gn[c]
        dc = np.float64(dkr[c])
        pden = gt * g * (length - 1.0)
        v_p = ((mrv[c] + dc) if mrv[c] > 0.0 else dc) / pden
        ip_ = 1.0 / v_p if v_p > 0.0 else 0.0
        a = 1.0 / ip_ if ip_ > 0.0 else 0.0
        vpi[c] = 0.0 if a >= LARGE_VARIANCE_THRESHOLD else a
        ve = 1.0 / (1.0 / (v_p + vr[c]))
        erri[c] = 0.0 if ve > LARGE_VARIANCE_THRESHOLD else math.sqrt(ve)
        inv_p[c] = ip_
        sip[c] = 0.0
        svr[c] = 0.0
    for _ in range(ni):  # summed as the block path does
        for c in range(cw):
            sip[c] += inv_p[c]
        for c in range(cw):
            svr[c] += inv_r[c]
    for i in range(ni if want_ints else 0):
        po = i_vp[i, o, c0:c0 + cw]
        for c in range(cw):
            po[c] = vpi[c]
        eo = i_err[i, o, c0:c0 + cw]
        for c in range(cw):
            eo[c] = erri[c]
