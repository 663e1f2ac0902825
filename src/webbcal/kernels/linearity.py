"""Classic non-linearity correction (the official ``linearity`` step, stcal ``linearity``).

Every group not flagged SATURATED is replaced by ``sum_i c_i F**i`` (Horner's scheme, in
the data's precision) with the pixel's coefficients ``c``. Pixels flagged NO_LIN_CORR in
the reference DQ, with any NaN coefficient, or with a zero linear term get the identity
polynomial; the last two are flagged NO_LIN_CORR in PIXELDQ, and the reference DQ is
OR-ed into PIXELDQ. The ZEROFRAME is corrected too, keeping zeros (unusable values).

The read-level correction of stcal (inverse coefficients with a read pattern) is a
Roman feature that the JWST step does not use; it is not implemented.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError

__all__ = ["correct_linearity"]


@njit(cache=True, inline="always")
def _horner(crow, x, f):
    nc = crow.shape[0]
    r = crow[nc - 1, x] * f
    for j in range(nc - 2, 0, -1):
        r += crow[j, x]
        r *= f
    r += crow[0, x]
    return r


@njit(cache=True, nogil=True)
def _linearize_row(row, fl, crow, r, sat):
    """Horner's scheme along one row of one group, in place except in SATURATED groups.

    The usual coefficient counts are unrolled (one pass over the row, which vectorizes);
    others go a coefficient at a time. The operations, and so the values, are the same.
    The result is stored through a select: masked stores are slow on some CPUs.
    """
    nc, nx = crow.shape
    if nc == 4:
        c0, c1, c2, c3 = crow[0], crow[1], crow[2], crow[3]
        for x in range(nx):
            v = row[x]
            p = ((c3[x] * v + c2[x]) * v + c1[x]) * v + c0[x]
            row[x] = v if fl[x] & sat else p
    elif nc == 5:
        c0, c1, c2, c3, c4 = crow[0], crow[1], crow[2], crow[3], crow[4]
        for x in range(nx):
            v = row[x]
            p = (((c4[x] * v + c3[x]) * v + c2[x]) * v + c1[x]) * v + c0[x]
            row[x] = v if fl[x] & sat else p
    elif nc == 6:
        c0, c1, c2, c3, c4, c5 = crow[0], crow[1], crow[2], crow[3], crow[4], crow[5]
        for x in range(nx):
            v = row[x]
            p = ((((c5[x] * v + c4[x]) * v + c3[x]) * v + c2[x]) * v + c1[x]) * v + c0[x]
            row[x] = v if fl[x] & sat else p
    else:
        top = crow[nc - 1]
        for x in range(nx):
            r[x] = top[x] * row[x]
        for j in range(nc - 2, 0, -1):
            cj = crow[j]
            for x in range(nx):
                r[x] = (r[x] + cj[x]) * row[x]
        c0 = crow[0]
        for x in range(nx):
            v = row[x]
            row[x] = v if fl[x] & sat else r[x] + c0[x]


#: Rows whose coefficients are prepared at a time; the groups are then corrected plane by
#: plane over those rows (long reads, where a row at a time of every plane would jump
#: between thousands of planes in a time series).
_ROWS = 64


@njit(cache=True, parallel=True, nogil=True)
def _prepare_rows(y0, crow, pixeldq, c, lin_dq, has_dq, nlc, zero, one):
    """Coefficients of rows ``y0:y0 + len(crow)`` and their PIXELDQ.

    Unusable coefficients become the identity polynomial.
    """
    nc, _, nx = c.shape
    for k in prange(crow.shape[0]):
        y = y0 + k
        benign = np.empty(nx, np.bool_)
        bad = np.empty(nx, np.bool_)
        flags = np.empty(nx, pixeldq.dtype)
        for x in range(nx):
            ref = lin_dq[y, x] if has_dq else pixeldq.dtype.type(0)
            flags[x] = pixeldq[y, x] | ref
            benign[x] = has_dq and (ref & nlc) == nlc
            bad[x] = c[1, y, x] == 0
        for j in range(nc):
            cj = c[j, y]
            for x in range(nx):
                bad[x] |= cj[x] != cj[x]
        for x in range(nx):
            if bad[x] and not benign[x]:
                benign[x] = True
                flags[x] |= nlc
            pixeldq[y, x] = flags[x]
        for j in range(nc):
            cj = c[j, y]
            ident = one if j == 1 else zero
            for x in range(nx):
                crow[k, j, x] = ident if benign[x] else cj[x]


@njit(cache=True, parallel=True, nogil=True)
def _correct_rows(data, gdq, y0, crow, zf, has_zf, sat):
    """Rows ``y0:y0 + len(crow)`` of every plane (and of the ZEROFRAME), plane by plane."""
    nints, ngroups, _, nx = data.shape
    for p in prange(nints * ngroups):
        i, g = p // ngroups, p % ngroups
        r = np.empty(nx, data.dtype)
        for k in range(crow.shape[0]):
            _linearize_row(data[i, g, y0 + k], gdq[i, g, y0 + k], crow[k], r, sat)
    for i in prange(nints if has_zf else 0):
        for k in range(crow.shape[0]):
            for x in range(nx):
                f = zf[i, y0 + k, x]
                if f != 0.0:
                    zf[i, y0 + k, x] = _horner(crow[k], x, f)


def _apply(data, gdq, pixeldq, c, lin_dq, has_dq, zf, has_zf, sat, nlc, zero, one):
    ny, nx = data.shape[2:]
    crow = np.empty((min(_ROWS, ny), c.shape[0], nx), data.dtype)
    for y0 in range(0, ny, _ROWS):
        rows = crow[: min(_ROWS, ny - y0)]
        _prepare_rows(y0, rows, pixeldq, c, lin_dq, has_dq, nlc, zero, one)
        _correct_rows(data, gdq, y0, rows, zf, has_zf, sat)


def correct_linearity(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    coeffs: np.ndarray,
    lin_dq: np.ndarray | None = None,
    *,
    zeroframe: np.ndarray | None = None,
    saturated: int = 2,
    no_lin_corr: int = 1048576,
) -> None:
    """Linearize ``data`` (and ``zeroframe``) in place.

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Ramps in DN, corrected in place except in SATURATED groups.
    groupdq : ndarray, uint8, same shape
        Read only.
    pixeldq : ndarray, uint32, (ny, nx)
        Updated in place (reference DQ, NO_LIN_CORR).
    coeffs : ndarray, (ncoeffs, ny, nx)
        Polynomial coefficients, constant term first, cut to the subarray (not modified).
    lin_dq : ndarray, (ny, nx), optional
        Reference DQ: OR-ed into ``pixeldq``; NO_LIN_CORR there selects the identity.
    zeroframe : ndarray, (nints, ny, nx), optional
        Corrected in place; zeros stay zero.
    saturated, no_lin_corr : int
        DQ flag values.
    """
    if data.ndim != 4 or groupdq.shape != data.shape:
        raise ParameterError(
            f"data and groupdq must be 4-D of one shape, got {data.shape} and {groupdq.shape}"
        )
    if coeffs.shape[1:] != data.shape[2:]:
        raise ParameterError(
            f"coefficient shape {coeffs.shape} does not match the data {data.shape}"
        )
    if coeffs.ndim != 3 or coeffs.shape[0] < 2:
        raise ParameterError(
            f"linearity coefficients must be (ncoeffs >= 2, ny, nx), got {coeffs.shape}"
        )
    if zeroframe is not None and (zeroframe.shape != (data.shape[0], *data.shape[2:])
                                  or zeroframe.dtype != data.dtype):  # fmt: skip
        raise ParameterError(
            f"zeroframe {zeroframe.shape} {zeroframe.dtype} does not match the data "
            f"{data.shape} {data.dtype}"
        )
    c = np.asarray(coeffs, dtype=data.dtype)
    ref_dq = np.zeros((1, 1), np.uint32) if lin_dq is None else np.asarray(lin_dq)
    if lin_dq is not None and ref_dq.shape != pixeldq.shape:
        raise ParameterError(f"linearity DQ {ref_dq.shape} does not match {pixeldq.shape}")
    zf = np.zeros((1, 1, 1), data.dtype) if zeroframe is None else zeroframe
    _apply(data, groupdq, pixeldq, c, ref_dq.astype(pixeldq.dtype, copy=False),
           lin_dq is not None, zf, zeroframe is not None, np.uint8(saturated),
           pixeldq.dtype.type(no_lin_corr), data.dtype.type(0), data.dtype.type(1))  # fmt: skip
