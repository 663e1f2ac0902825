"""Superbias subtraction (the official ``superbias`` step).

The 2-D superbias is subtracted from every group of every integration; NaNs in the
superbias count as 0 (no correction). In the ZEROFRAME, values that are 0 (bad) stay 0.
(The step also ORs the reference DQ, e.g. UNRELIABLE_BIAS, into PIXELDQ.)
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError

__all__ = ["subtract_superbias"]


@njit(cache=True, parallel=True, nogil=True)
def _subtract(data, bias, keep_zero):
    nints, ngroups, ny, nx = data.shape
    for y in prange(ny):
        # NaN bias: no correction (subtracting 0 leaves every value as it is)
        brow = np.empty(nx, data.dtype)
        for x in range(nx):
            b = bias[y, x]
            brow[x] = 0.0 if b != b else b
        for i in range(nints):
            for g in range(ngroups):
                row = data[i, g, y]
                if keep_zero:
                    for x in range(nx):
                        v = row[x]
                        row[x] = v if v == 0.0 else v - brow[x]
                else:
                    for x in range(nx):
                        row[x] = row[x] - brow[x]


def subtract_superbias(
    data: np.ndarray,
    bias: np.ndarray,
    *,
    zeroframe: np.ndarray | None = None,
) -> None:
    """Subtract ``bias`` (DN) in place from ``data`` (and ``zeroframe``).

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Ramps, modified in place.
    bias : ndarray, (ny, nx)
        Superbias cut to the subarray; not modified.
    zeroframe : ndarray, (nints, ny, nx), optional
        Bias-subtracted in place; zeros (unusable values) are kept.
    """
    if data.ndim != 4:
        raise ParameterError(f"data must be 4-D, got shape {data.shape}")
    if bias.shape != data.shape[-2:]:
        raise ParameterError(
            f"superbias shape {bias.shape} does not match the data {data.shape[-2:]}"
        )
    b = np.asarray(bias, dtype=data.dtype)
    _subtract(data, b, False)
    if zeroframe is not None:
        _subtract(zeroframe[:, np.newaxis], np.asarray(bias, dtype=zeroframe.dtype), True)
