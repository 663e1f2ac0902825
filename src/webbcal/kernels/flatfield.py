"""Flat-fielding in one numba pass over SCI, DQ and the error arrays.

:func:`flat_field_planes` does, per pixel and for every plane of a ``(n, ny, nx)`` stack,
what the ``flat_field`` step documents: unusable flat values (NaN, <= 0 or flagged
NO_FLAT_FIELD) become 1 with NO_FLAT_FIELD, the flat DQ is OR-ed in, SCI is divided by the
flat, VAR_POISSON and VAR_RNOISE by its square, ``VAR_FLAT = SCI**2 (ERR_flat / flat)**2``
and ``ERR = sqrt(VAR_POISSON + VAR_RNOISE + VAR_FLAT)``; or, for products without variance
arrays, ``ERR = sqrt(ERR**2 / flat**2 + SCI**2 (ERR_flat / flat)**2)``. Arithmetic in
float32, in place; one read and one write of each array instead of a numpy pass per
operation.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["flat_field_planes"]

_EMPTY3 = np.zeros((0, 0, 0), dtype=np.float32)


@njit(cache=True, parallel=True, nogil=True)
def _flat_kernel(sci, dq, var_p, var_r, err, var_f, flat, fdq, ferr, no_flat, variances):
    n, ny, nx = sci.shape
    per_plane_dq = dq.shape[0] == n  # else one DQ plane for all (the guider products)
    have_fdq = fdq.size > 0
    have_ferr = ferr.size > 0
    bad_rows = np.zeros(ny, dtype=np.int64)
    one = np.float32(1.0)
    for y in prange(ny):
        nbad = 0
        for x in range(nx):
            f = flat[y, x]
            fd = fdq[y, x] if have_fdq else np.uint32(0)
            if not np.isfinite(f) or f <= 0.0 or (fd & no_flat) != 0:
                f = one
                fd |= no_flat
                fe = np.float32(0.0)
                nbad += 1
            else:
                fe = ferr[y, x] if have_ferr else np.float32(0.0)
                if not np.isfinite(fe):
                    fe = np.float32(0.0)
            inv2 = one / (f * f)
            rel = fe / f
            rel2 = rel * rel
            if not per_plane_dq:
                dq[0, y, x] |= fd
            for k in range(n):
                if per_plane_dq:
                    dq[k, y, x] |= fd
                s = sci[k, y, x] / f
                sci[k, y, x] = s
                vf = s * s * rel2
                if variances:
                    vp = var_p[k, y, x] * inv2
                    vr = var_r[k, y, x] * inv2
                    var_p[k, y, x] = vp
                    var_r[k, y, x] = vr
                    var_f[k, y, x] = vf
                    err[k, y, x] = np.sqrt(vp + vr + vf)
                else:
                    e = err[k, y, x]
                    err[k, y, x] = np.sqrt(e * e * inv2 + vf)
        bad_rows[y] = nbad
    return bad_rows.sum()


def flat_field_planes(
    sci: np.ndarray,
    dq: np.ndarray,
    err: np.ndarray,
    flat: np.ndarray,
    flat_dq: np.ndarray | None,
    flat_err: np.ndarray | None,
    no_flat: int,
    *,
    var_poisson: np.ndarray | None = None,
    var_rnoise: np.ndarray | None = None,
    var_flat: np.ndarray | None = None,
) -> int:
    """Flat-field ``(n, ny, nx)`` float32 stacks in place (see the module docstring).

    Parameters
    ----------
    sci, dq, err : ndarray
        SCI (float32), DQ (uint32) and ERR (float32) planes; ERR is overwritten. DQ may
        have a single plane, shared by all (the guider products).
    flat, flat_dq, flat_err : ndarray
        ``(ny, nx)`` flat, its DQ and its error (None: absent).
    no_flat : int
        The NO_FLAT_FIELD DQ bit.
    var_poisson, var_rnoise, var_flat : ndarray, optional
        Variance planes: given, VAR_POISSON and VAR_RNOISE are scaled, VAR_FLAT (an output,
        allocated by the caller) is filled and ERR is their root sum; absent, ERR is
        propagated from itself.

    Returns
    -------
    int
        Number of pixels without a usable flat value.
    """
    variances = var_poisson is not None
    flat32 = np.ascontiguousarray(flat, dtype=np.float32)
    fdq = np.zeros((0, 0), np.uint32) if flat_dq is None else np.asarray(flat_dq, np.uint32)
    ferr = np.zeros((0, 0), np.float32) if flat_err is None else np.asarray(flat_err, np.float32)
    vp = var_poisson if variances else _EMPTY3
    vr = var_rnoise if variances else _EMPTY3
    vf = var_flat if variances else _EMPTY3
    return int(_flat_kernel(sci, dq, vp, vr, err, vf, flat32, fdq, ferr, np.uint32(no_flat),
                            variances))  # fmt: skip
