"""Numba kernels for the SIAF 2-D polynomials: values, Jacobians and Newton inversion.

Coefficients are a ``(2, nterms)`` array (u and v polynomials) in the SIAF order
``k -> (i, j)``, term ``x**(i-j) * y**j`` for ``i = 0..degree``, ``j = 0..i``.
Inputs are flat float64 arrays; the kernels run in parallel over chunks of points.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_CHUNK = 4096


@njit(cache=True, nogil=True)
def _fill_powers(v, out):
    out[0] = 1.0
    for k in range(1, out.size):
        out[k] = out[k - 1] * v


@njit(cache=True, nogil=True)
def _point(coef, degree, xp, yp, jac):
    """Value (u, v) and, when ``jac``, (du/dx, du/dy, dv/dx, dv/dy) from filled powers."""
    u = v = dudx = dudy = dvdx = dvdy = 0.0
    t = 0
    for i in range(degree + 1):
        for j in range(i + 1):
            a = i - j
            term = xp[a] * yp[j]
            u += coef[0, t] * term
            v += coef[1, t] * term
            if jac:
                if a > 0:
                    dterm = a * xp[a - 1] * yp[j]
                    dudx += coef[0, t] * dterm
                    dvdx += coef[1, t] * dterm
                if j > 0:
                    dterm = j * xp[a] * yp[j - 1]
                    dudy += coef[0, t] * dterm
                    dvdy += coef[1, t] * dterm
            t += 1
    return u, v, dudx, dudy, dvdx, dvdy


@njit(cache=True, parallel=True, nogil=True)
def poly_eval(coef, degree, x, y, out, jac_out, jac):
    """Evaluate the pair at points ``(x[k], y[k])`` into ``out[:, k] = (u, v)``.

    When ``jac``, also ``jac_out[:, k] = (du/dx, du/dy, dv/dx, dv/dy)``.
    """
    n = x.size
    nchunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        xp = np.empty(degree + 1)
        yp = np.empty(degree + 1)
        for k in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            _fill_powers(x[k], xp)
            _fill_powers(y[k], yp)
            u, v, a, b, cc, d = _point(coef, degree, xp, yp, jac)
            out[0, k] = u
            out[1, k] = v
            if jac:
                jac_out[0, k] = a
                jac_out[1, k] = b
                jac_out[2, k] = cc
                jac_out[3, k] = d


@njit(cache=True, parallel=True, nogil=True)
def poly_invert(coef, degree, tu, tv, x, y, tol, max_iter):
    """Solve ``P(x, y) = (tu, tv)`` by Newton steps, in place from the start values x, y."""
    n = x.size
    nchunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        xp = np.empty(degree + 1)
        yp = np.empty(degree + 1)
        for k in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            xk = x[k]
            yk = y[k]
            for _ in range(max_iter):
                _fill_powers(xk, xp)
                _fill_powers(yk, yp)
                u, v, a, b, cc, d = _point(coef, degree, xp, yp, True)
                ru = tu[k] - u
                rv = tv[k] - v
                det = a * d - b * cc
                sx = (d * ru - b * rv) / det
                sy = (-cc * ru + a * rv) / det
                xk += sx
                yk += sy
                if not (abs(sx) > tol or abs(sy) > tol):  # converged, or NaN
                    break
            x[k] = xk
            y[k] = yk
