"""Numba internals of the likelihood ramp fit (API: :mod:`webbcal.kernels.ramp_fit_likely`).

One pixel at a time, the resultant differences ``d`` are fitted with their full
tridiagonal covariance (Brandt 2024, PASP 136, 045004, "paper I"), using the O(n)
recursions of that paper (eqs. 38-48, 61-63, 71, 75) exactly as stcal's ``likely_fit``
evaluates them for rows of pixels; jumps are found by the iterative one/two-difference
omission test of "paper II" (Brandt 2024, PASP 136, 045005). Array rows of the per-pixel
workspace ``w`` are named below.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_NB = {"cache": True, "nogil": True, "error_model": "numpy"}

DO_NOT_USE = 1
SATURATED = 2
JUMP_DET = 4

# covariance rows (cv): per-difference constants of the read pattern
CV_ARN, CV_BRN, CV_APH, CV_BPH, CV_OK1, CV_OK2, CV_DT = range(7)
# workspace rows (w)
(W_D, W_USE, W_APH, W_ARN, W_BPH, W_BRN, W_A, W_B, W_TH, W_PH, W_PHI, W_PHID, W_THE,
 W_THED, W_DC, W_DB, W_DM, W_SGN, W_CR1, W_CHI1, W_CR2, W_CHI2, W_CID, W_CIO) = range(24)
N_WORK = 24


@njit(**_NB)
def _fit(w, cv, nd, crg, gain, rn, jumps, res):
    """Fit one ramp's differences w[W_D, :nd] with mask w[W_USE]; results in res.

    res = (countrate, chisq, uncert, var_poisson, var_rnoise, scale, A, B, C). With
    ``jumps`` the one- and two-omission fits are left in w[W_CR1/W_CHI1/W_CR2/W_CHI2].
    """
    d = w[W_D]
    use = w[W_USE]
    aph = w[W_APH]
    arn = w[W_ARN]
    bph = w[W_BPH]
    brn = w[W_BRN]
    al = w[W_A]
    be = w[W_B]
    th = w[W_TH]
    ph = w[W_PH]
    rn2 = rn * rn
    cg = crg / gain
    for i in range(nd):
        aph[i] = cg * cv[CV_APH, i]
        arn[i] = rn2 * cv[CV_ARN, i]
        al[i] = aph[i] + arn[i]
    for i in range(nd - 1):
        bph[i] = cg * cv[CV_BPH, i]
        brn[i] = rn2 * cv[CV_BRN, i]
        be[i] = bph[i] + brn[i]
    # rescale the covariance to unit determinant (overflow guard), as stcal
    scale = 1.0
    th[0] = 1.0
    th[1] = al[0]
    for i in range(2, nd + 1):
        th[i] = al[i - 1] / scale * th[i - 1] - be[i - 2] ** 2 / scale**2 * th[i - 2]
        if i % 10 == 0 or i == nd:
            f = th[i] ** (1.0 / i)
            scale *= f
            tmp = th[i] / f
            th[i - 1] /= tmp
            th[i - 2] /= tmp / f
            th[i] = 1.0
    for i in range(nd):
        al[i] /= scale
    for i in range(nd - 1):
        be[i] = be[i] / scale * use[i + 1] * use[i]
    dm = w[W_DM]
    sgn = w[W_SGN]
    for i in range(nd):
        dm[i] = d[i] * use[i]
        sgn[i] = -1.0 if i % 2 == 0 else 1.0
    # eqs. 38-43
    th[0] = 1.0
    th[1] = al[0]
    for i in range(2, nd + 1):
        th[i] = al[i - 1] * th[i - 1] - be[i - 2] ** 2 * th[i - 2]
    ph[nd] = 1.0
    ph[nd - 1] = al[nd - 1]
    for i in range(nd - 2, -1, -1):
        ph[i] = al[i] * ph[i + 1] - be[i] ** 2 * ph[i + 2]
    # eqs. 46-48 and paper II eq. 4
    phi_ = w[W_PHI]
    phid = w[W_PHID]
    the = w[W_THE]
    thed = w[W_THED]
    phi_[nd - 1] = 0.0
    phid[nd - 1] = 0.0
    for i in range(nd - 2, -1, -1):
        phi_[i] = phi_[i + 1] * be[i] + sgn[i + 1] * be[i] * ph[i + 2]
        phid[i] = (phid[i + 1] + sgn[i + 1] * dm[i + 1] * ph[i + 2]) * be[i]
    the[0] = -th[0]
    for i in range(1, nd):
        the[i] = the[i - 1] * be[i - 1] + sgn[i] * th[i]
    thed[0] = 0.0
    thed[1] = -dm[0] * th[0]
    for i in range(1, nd):
        thed[i + 1] = be[i - 1] * thed[i] + sgn[i] * dm[i] * th[i]
    # eqs. 61-63, 71, 75
    dc = w[W_DC]
    db = w[W_DB]
    tn = th[nd]
    a_sum = 0.0
    a2 = 0.0
    b_sum = 0.0
    c_sum = 0.0
    for i in range(nd):
        dc[i] = sgn[i] / tn * (ph[i + 1] * the[i] + th[i] * phi_[i]) * use[i]
        db[i] = sgn[i] / tn * (ph[i + 1] * thed[i + 1] + th[i] * phid[i])
        bext = 1.0 if i == 0 else be[i - 1]
        a_sum += dm[i] * sgn[i] / th[nd] * bext * ph[i + 1] * thed[i]
        a2 += dm[i] ** 2 * th[i] * ph[i + 1] / tn
        b_sum += dm[i] * dc[i]
        c_sum += dc[i]
    big_a = 2.0 * a_sum + a2
    cr = b_sum * (1.0 / c_sum)
    chisq = (big_a - b_sum**2 / c_sum) / scale
    uncert = math.sqrt(scale / c_sum)
    vp = 0.0
    vr = 0.0
    for i in range(nd):
        wi = dc[i] / c_sum
        vp += wi * wi * aph[i]
        vr += wi * wi * arn[i]
    for i in range(nd - 1):
        ww = (dc[i + 1] / c_sum) * (dc[i] / c_sum)
        vp += 2.0 * ww * bph[i]
        vr += 2.0 * ww * brn[i]
    res[0] = cr
    res[1] = chisq
    res[2] = uncert
    res[3] = vp
    res[4] = vr
    res[5] = scale
    res[6] = big_a
    res[7] = b_sum
    res[8] = c_sum
    if jumps:
        _omit_fits(w, nd, scale, big_a, b_sum, c_sum, cr, chisq)


@njit(**_NB)
def _omit_fits(w, nd, scale, big_a, b_sum, c_sum, cr, chisq):
    """Best fits leaving out one difference, or two adjacent ones (paper II, 3.1-3.2)."""
    use = w[W_USE]
    th = w[W_TH]
    ph = w[W_PH]
    be = w[W_B]
    dc = w[W_DC]
    db = w[W_DB]
    cid = w[W_CID]
    cio = w[W_CIO]
    cr1 = w[W_CR1]
    chi1 = w[W_CHI1]
    cr2 = w[W_CR2]
    chi2 = w[W_CHI2]
    tn = th[nd]
    for i in range(nd):
        cid[i] = th[i] * ph[i + 1] / tn * use[i]
    for i in range(nd - 1):
        cio[i] = -be[i] * th[i] * ph[i + 2] / tn
    for i in range(nd):
        a = (cid[i] * b_sum - db[i] * dc[i]) / (c_sum * cid[i] - dc[i] ** 2)
        b = (db[i] - a * dc[i]) / cid[i]
        cr1[i] = a
        chi1[i] = (big_a + a**2 * c_sum - 2 * a * b_sum + b**2 * cid[i] - 2 * b * db[i]
                   + 2 * a * b * dc[i]) / scale
    for i in range(nd - 1):
        cpj = dc[i] ** 2 - c_sum * cid[i]
        cjck = dc[i] * dc[i + 1] - c_sum * cio[i]
        bcpj = b_sum * dc[i] - db[i] * c_sum
        c = bcpj / cpj - (b_sum * dc[i + 1] - db[i + 1] * c_sum) / cjck
        c /= cjck / cpj - (dc[i + 1] ** 2 - c_sum * cid[i + 1]) / cjck
        b = (bcpj - c * cjck) / cpj
        a = (b_sum - b * dc[i] - c * dc[i + 1]) / c_sum
        cr2[i] = a
        x = big_a + a**2 * c_sum + b**2 * cid[i] + c**2 * cid[i + 1]
        x -= 2 * a * b_sum + 2 * b * db[i] + 2 * c * db[i + 1]
        x += 2 * a * b * dc[i] + 2 * a * c * dc[i + 1] + 2 * b * c * cio[i]
        chi2[i] = x / scale
    # omissions of already-masked differences fall back to the fits with fewer omitted
    for i in range(nd):
        if use[i] == 0.0:
            cr1[i] = cr
            chi1[i] = chisq
    for i in range(nd - 1):
        if use[i + 1] == 0.0:
            cr2[i] = cr1[i]
            chi2[i] = chi1[i]
    for i in range(nd - 1):
        if use[i] == 0.0:
            cr2[i] = cr1[i + 1]
            chi2[i] = chi1[i + 1]


@njit(**_NB)
def _nan_max(a, n):
    """np.amax semantics: NaN if any NaN."""
    m = -np.inf
    for i in range(n):
        if a[i] != a[i]:
            return np.nan
        if a[i] > m:
            m = a[i]
    return m


@njit(**_NB)
def _mask_jumps(w, cv, nd, gain, rn, th1, th2, detect, sc, res, dch1, dch2):
    """Stcal's ``mask_jumps`` for one pixel: updates w[W_USE]; returns the count rate."""
    d = w[W_D]
    use = w[W_USE]
    for i in range(nd):
        sc[i] = d[i]
    # median of all differences (masked ones too), NaN if any is NaN, clipped at 0
    crg = np.nan
    anynan = False
    for i in range(nd):
        if sc[i] != sc[i]:
            anynan = True
    if not anynan:
        sc[:nd].sort()
        h = nd >> 1
        crg = sc[h] if nd & 1 else (sc[h - 1] + sc[h]) / 2.0
    crg = crg * (1.0 if crg > 0 else 0.0)
    _fit(w, cv, nd, crg, gain, rn, detect, res)
    countrate = res[0]
    if not detect:
        return countrate
    for _it in range(nd):
        if _it > 0:
            _fit(w, cv, nd, crg, gain, rn, True, res)
        chisq = res[1]
        for i in range(nd):
            dch1[i] = (chisq - w[W_CHI1, i]) * cv[CV_OK1, i]
        for i in range(nd - 1):
            dch2[i] = (chisq - w[W_CHI2, i]) * cv[CV_OK2, i]
        best1 = _nan_max(dch1, nd)
        best2 = _nan_max(dch2, nd - 1)
        onebetter = best1 - th1 > best2 - th2
        # arithmetic as numpy evaluates it for a row (NaN in either term -> no drop)
        f1 = 1.0 if (best1 > th1 and onebetter) else 0.0
        f2 = 1.0 if (best2 > th2 and not onebetter) else 0.0
        best = best1 * f1 + best2 * f2
        if best == 0.0:
            best = np.nan
        new_ct = 0.0
        drop = False
        if onebetter:
            for i in range(nd):
                hit = chisq - w[W_CHI1, i] == best
                drop = drop or hit
                new_ct += w[W_CR1, i] * (1.0 if hit else 0.0)
        else:
            for i in range(nd - 1):
                hit = chisq - w[W_CHI2, i] == best
                drop = drop or hit
                new_ct += w[W_CR2, i] * (1.0 if hit else 0.0)
        if not drop:
            break
        countrate = countrate * 0.0 + new_ct
        if onebetter:
            for i in range(nd):
                if chisq - w[W_CHI1, i] == best:
                    use[i] = 0.0
        else:
            for i in range(nd - 2, -1, -1):
                if chisq - w[W_CHI2, i] == best:
                    use[i] = 0.0
                    use[i + 1] = 0.0
        nuse = 0.0
        for i in range(nd):
            nuse += use[i]
        if nuse <= 3:
            break
    return countrate


@njit(**_NB)
def _likely_row(r, data, gdq, pdq, gain2d, rn2d, dark2d, zf, use_zf, nframes, cv, nd,
                detect, th1, th2, i_slope, i_vp, i_vr, i_err, i_chi, i_dq):
    ni, ng, _ny, nx = data.shape
    w = np.zeros((N_WORK, nd + 1))
    res = np.empty(9)
    sc = np.empty(nd)
    dch1 = np.empty(nd)
    dch2 = np.empty(max(nd - 1, 1))
    use0 = np.empty(nd)
    ys = np.empty(nd + 1, data.dtype)
    qs = np.empty(nd + 1, np.int64)
    off = 1 if use_zf else 0
    dt = cv[CV_DT]
    for col in range(nx):
        gain = np.float64(gain2d[r, col])
        rn = np.float64(rn2d[r, col])
        dc = np.float64(dark2d[r, col])
        pix = np.int64(pdq[r, col])
        for i in range(ni):
            # resultants (with the ZEROFRAME as an extra first one) and their flags
            for g in range(ng):
                ys[g + off] = data[i, g, r, col]
                qs[g + off] = gdq[i, g, r, col]
            if use_zf:
                z = zf[i, r, col]
                ys[0] = z
                qs[0] = qs[1]
                ys[1] = (ys[1] * nframes - z) / (nframes - 1)
            anyflag = 0
            allbad = True
            for g in range(nd + 1):
                anyflag |= qs[g]
                if (qs[g] & (DO_NOT_USE | SATURATED)) == 0:
                    allbad = False
            for j in range(nd):
                w[W_D, j] = np.float64(ys[j + 1] - ys[j]) / dt[j]
                w[W_USE, j] = 1.0 if (qs[j] == 0 and qs[j + 1] == 0) else 0.0
            for j in range(nd):
                use0[j] = w[W_USE, j]  # keep the mask to find new jumps
            crate = _mask_jumps(w, cv, nd, gain, rn, th1, th2, detect, sc, res, dch1, dch2)
            newjump = False
            for j in range(nd):
                if w[W_USE, j] != use0[j]:
                    newjump = True
            guess = crate * (1.0 if crate > 0 else 0.0) + dc
            _fit(w, cv, nd, guess, gain, rn, False, res)
            dq = pix
            if allbad:
                dq |= DO_NOT_USE
            if anyflag & SATURATED:
                dq |= SATURATED
            if (anyflag & JUMP_DET) or newjump:
                dq |= JUMP_DET
            i_slope[i, r, col] = res[0]
            i_chi[i, r, col] = res[1]
            i_err[i, r, col] = res[2]
            i_vp[i, r, col] = res[3]
            i_vr[i, r, col] = res[4]
            i_dq[i, r, col] = dq


@njit(parallel=True, **_NB)
def likely_kernel(data, gdq, pdq, gain2d, rn2d, dark2d, zf, use_zf, nframes, cv, nd, detect,
                  th1, th2, i_slope, i_vp, i_vr, i_err, i_chi, i_dq):
    """Per-integration likelihood fits of all pixels, rows in parallel."""
    for r in prange(data.shape[2]):
        _likely_row(r, data, gdq, pdq, gain2d, rn2d, dark2d, zf, use_zf, nframes, cv, nd,
                    detect, th1, th2, i_slope, i_vp, i_vr, i_err, i_chi, i_dq)
