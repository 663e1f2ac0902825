"""MIRI reset-anomaly subtraction (the official ``reset`` step).

The RESET reference holds a correction per integration and group. Science integration
``i`` (counted in the whole exposure, ``integration_start - 1 + i`` for a segment) uses
reference integration ``i``, or the last one beyond the reference's integrations; only the
first ``min(ngroups, reference ngroups)`` groups are corrected. NaNs count as 0.
(The step also ORs the reference DQ into PIXELDQ.)
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError

__all__ = ["subtract_reset"]


@njit(cache=True, parallel=True, nogil=True)
def _subtract(data, reset, imap, ngr):
    nints = data.shape[0]
    ny, nx = data.shape[2], data.shape[3]
    for y in prange(ny):
        for i in range(nints):
            r = imap[i]
            for g in range(ngr):
                for x in range(nx):
                    v = reset[r, g, y, x]
                    if v == v:
                        data[i, g, y, x] = data[i, g, y, x] - v


def subtract_reset(
    data: np.ndarray, reset: np.ndarray, *, integration_start: int | None = None
) -> None:
    """Subtract the reset correction in place.

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Ramps, modified in place.
    reset : ndarray, (nref_ints, nref_groups, ny, nx) or (nref_groups, ny, nx)
        RESET reference data cut to the subarray (not modified).
    integration_start : int, optional
        1-based number of the first integration in ``data`` (segmented exposures).
    """
    if data.ndim != 4:
        raise ParameterError(f"data must be 4-D, got shape {data.shape}")
    ref = reset if reset.ndim == 4 else reset[np.newaxis]
    if ref.ndim != 4 or ref.shape[-2:] != data.shape[-2:]:
        raise ParameterError(f"reset shape {reset.shape} does not match the data {data.shape}")
    istart = 0 if integration_start is None else int(integration_start) - 1
    nref = ref.shape[0]
    imap = np.array([min(istart + i, nref - 1) for i in range(data.shape[0])], np.int64)
    ngr = min(data.shape[1], ref.shape[1])
    _subtract(data, np.asarray(ref, dtype=data.dtype), imap, ngr)
