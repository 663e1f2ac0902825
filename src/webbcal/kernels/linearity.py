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

__all__ = ["correct_linearity", "prepare_coefficients"]


def prepare_coefficients(
    coeffs: np.ndarray,
    lin_dq: np.ndarray | None,
    pixeldq: np.ndarray,
    *,
    no_lin_corr: int = 1048576,
) -> np.ndarray:
    """Return a copy of ``coeffs`` made benign where the correction is unusable.

    ``pixeldq`` is updated in place: OR-ed with ``lin_dq``, plus ``no_lin_corr`` for
    pixels with a NaN coefficient or a zero linear term.
    """
    if coeffs.ndim != 3 or coeffs.shape[0] < 2:
        raise ParameterError(
            f"linearity coefficients must be (ncoeffs >= 2, ny, nx), got {coeffs.shape}"
        )
    c = np.array(coeffs, copy=True)
    benign = np.zeros(c.shape[0], dtype=c.dtype)
    benign[1] = 1
    lin_dq = np.zeros(c.shape[1:], np.uint32) if lin_dq is None else np.asarray(lin_dq)
    np.bitwise_or(pixeldq, lin_dq.astype(pixeldq.dtype), out=pixeldq)
    flagged = (lin_dq & no_lin_corr) == no_lin_corr
    c[:, flagged] = benign[:, None]
    nan_pix = np.isnan(c).any(axis=0)
    c[:, nan_pix] = benign[:, None]
    pixeldq[nan_pix] |= pixeldq.dtype.type(no_lin_corr)
    zero_pix = c[1] == 0
    c[:, zero_pix] = benign[:, None]
    pixeldq[zero_pix] |= pixeldq.dtype.type(no_lin_corr)
    return c


@njit(cache=True, parallel=True, nogil=True)
def _apply(data, gdq, c, sat):
    nints, ngroups, ny, nx = data.shape
    nc = c.shape[0]
    for y in prange(ny):
        for i in range(nints):
            for g in range(ngroups):
                for x in range(nx):
                    if gdq[i, g, y, x] & sat:
                        continue
                    f = data[i, g, y, x]
                    r = c[nc - 1, y, x] * f
                    for j in range(nc - 2, 0, -1):
                        r += c[j, y, x]
                        r *= f
                    r += c[0, y, x]
                    data[i, g, y, x] = r


@njit(cache=True, parallel=True, nogil=True)
def _apply_zero(zf, c):
    nints, ny, nx = zf.shape
    nc = c.shape[0]
    for y in prange(ny):
        for i in range(nints):
            for x in range(nx):
                f = zf[i, y, x]
                if f == 0.0:
                    continue
                r = c[nc - 1, y, x] * f
                for j in range(nc - 2, 0, -1):
                    r += c[j, y, x]
                    r *= f
                r += c[0, y, x]
                zf[i, y, x] = r


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
    c = prepare_coefficients(coeffs, lin_dq, pixeldq, no_lin_corr=no_lin_corr)
    c = np.ascontiguousarray(c, dtype=data.dtype)
    _apply(data, groupdq, c, np.uint8(saturated))
    if zeroframe is not None:
        _apply_zero(zeroframe, np.ascontiguousarray(c, dtype=zeroframe.dtype))
