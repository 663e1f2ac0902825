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


#: Rows of the superbias cleaned at a time; the groups are then corrected plane by plane
#: over those rows (long reads: a row at a time of every plane would jump between the
#: thousands of planes of a time series).
_ROWS = 256


@njit(cache=True, parallel=True, nogil=True)
def _subtract_rows(data, y0, brow, keep_zero):
    nints, ngroups, _, nx = data.shape
    for p in prange(nints * ngroups):
        i, g = p // ngroups, p % ngroups
        for k in range(brow.shape[0]):
            row = data[i, g, y0 + k]
            b = brow[k]
            if keep_zero:
                for x in range(nx):
                    v = row[x]
                    row[x] = v if v == 0.0 else v - b[x]
            else:
                for x in range(nx):
                    row[x] = row[x] - b[x]


@njit(cache=True, nogil=True)
def _subtract(data, bias, keep_zero):
    ny, nx = data.shape[2:]
    brow = np.empty((min(_ROWS, ny), nx), data.dtype)
    for y0 in range(0, ny, _ROWS):
        rows = brow[: min(_ROWS, ny - y0)]
        # NaN bias: no correction (subtracting 0 leaves every value as it is)
        for k in range(rows.shape[0]):
            for x in range(nx):
                b = bias[y0 + k, x]
                rows[k, x] = 0.0 if b != b else b
        _subtract_rows(data, y0, rows, keep_zero)


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
