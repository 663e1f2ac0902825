"""Inverse of the non-linearity: the raw signal whose linearity correction gives a target.

The linearity reference holds correction coefficients ``c_i`` (raw ``F`` -> linear
``L = sum_i c_i F**i``); the simulator needs ``F`` for a given ``L``, solved here by Newton
iterations to 1e-7 DN so that the linearity step inverts the simulation exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["invert_linearity", "lin_row"]


@njit(cache=True, nogil=True, error_model="numpy")
def _lin_solve(lcoef, y, x, target, fmax):
    """Raw F of pixel ``(y, x)`` with ``sum_i c[i] F**i == target`` (Newton; capped at ``fmax``)."""
    nc = lcoef.shape[0]
    f = target - lcoef[2, y, x] * target * target if nc > 2 else target
    if f > fmax:
        f = fmax
    for _ in range(30):
        p = float(lcoef[nc - 1, y, x])
        dp = 0.0
        for i in range(nc - 2, -1, -1):
            dp = dp * f + p
            p = p * f + lcoef[i, y, x]
        if dp <= 0.0:
            return fmax
        step = (p - target) / dp
        f -= step
        if f > fmax:
            return fmax
        if abs(step) < 1e-7:
            break
    return f


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def lin_row(lcoef, fmax, y, target, f, p, dp, bad):
    """Raw F of row ``y`` for the linear signals ``target`` (into ``f``), capped at ``fmax``.

    Two Newton steps run over the whole row at once (loops over ``x`` that vectorise);
    a pixel whose second step is not below 1e-7 DN, whose slope is not positive or whose
    iterate passes ``fmax`` is redone by :func:`_lin_solve`. ``p``, ``dp``, ``bad`` are
    row scratch buffers.
    """
    nc = lcoef.shape[0]
    nx = target.shape[0]
    if nc > 2:
        for x in range(nx):
            t = target[x]
            f[x] = min(t - lcoef[2, y, x] * t * t, fmax[x])
    else:
        for x in range(nx):
            f[x] = min(target[x], fmax[x])
    for it in range(2):
        for x in range(nx):
            p[x] = lcoef[nc - 1, y, x]
            dp[x] = 0.0
        for i in range(nc - 2, -1, -1):
            for x in range(nx):
                dp[x] = dp[x] * f[x] + p[x]
                p[x] = p[x] * f[x] + lcoef[i, y, x]
        for x in range(nx):
            step = (p[x] - target[x]) / dp[x]
            fx = f[x] - step
            fail = (dp[x] <= 0.0) | (fx > fmax[x])
            if it == 0:
                bad[x] = fail
            else:
                bad[x] = bad[x] | fail | ~(abs(step) < 1e-7)
            f[x] = fx
    for x in range(nx):
        if bad[x]:
            f[x] = _lin_solve(lcoef, y, x, target[x], fmax[x])


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _invert(linear, lcoef, fmax):
    ny, nx = linear.shape
    out = np.empty((ny, nx), dtype=np.float64)
    for y in prange(ny):
        p = np.empty(nx)
        dp = np.empty(nx)
        bad = np.empty(nx, dtype=np.bool_)
        lin_row(lcoef, fmax[y], y, linear[y], out[y], p, dp, bad)
    return out


def invert_linearity(linear: np.ndarray, lcoef: np.ndarray, fmax: np.ndarray) -> np.ndarray:
    """Raw (bias-subtracted) DN ``F`` with ``sum_i c_i F**i = linear`` for every pixel.

    ``lcoef`` is (ncoeffs, ny, nx) as in the LINEARITY reference; ``F`` is capped at ``fmax``.
    """
    return _invert(
        np.ascontiguousarray(linear, dtype=np.float64),
        np.ascontiguousarray(lcoef, dtype=np.float64),
        np.ascontiguousarray(fmax, dtype=np.float64),
    )
