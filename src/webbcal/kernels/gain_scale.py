"""Gain-setting rescaling of count rates (the official ``gain_scale`` step).

NIRSpec subarray data read with the non-standard gain are multiplied by the gain
reference's GAINFACT: SCI and ERR by the factor, VAR_POISSON and VAR_RNOISE by its square.
"""

from __future__ import annotations

import numpy as np

__all__ = ["scale_by_gain_factor"]


def scale_by_gain_factor(
    data: np.ndarray,
    err: np.ndarray | None,
    gain_factor: float,
    *,
    var_poisson: np.ndarray | None = None,
    var_rnoise: np.ndarray | None = None,
) -> None:
    """Rescale the arrays in place (each may be None or empty, then it is left alone)."""
    for arr, f in (
        (data, gain_factor),
        (err, gain_factor),
        (var_poisson, gain_factor**2),
        (var_rnoise, gain_factor**2),
    ):
        if arr is not None and np.size(arr) > 0:
            arr *= arr.dtype.type(f)
