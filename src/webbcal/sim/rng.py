"""Counter-based random numbers for numba kernels: the same draws for any thread count.

``numba`` parallel loops share no random state that is reproducible across thread
schedules, so every kernel of the simulator derives an independent stream from
``(seed, key1, key2, key3)`` with SplitMix64 and draws from it sequentially. The
streams are keyed by what the loop runs over (row, frame, integration), so a result
never depends on how rows are spread over threads. The state is a plain uint64 that each
draw returns updated (``value, state = draw(state)``) so that it lives in a register.

Normal deviates come from a 256-layer ziggurat (Marsaglia & Tsang 2000): one 64-bit
draw and a comparison for ~99 % of them, no transcendental function. Poisson deviates
use inversion below a mean of 10 (:func:`poisson_inverse` and :func:`poisson_row` take
``exp(-mean)`` precomputed, so that a kernel drawing many times with the same mean
evaluates it once) and Hoermann's transformed rejection (PTRS) above. The ``*_row``
functions fill a whole image row at once: the sequential 64-bit draws first, then the
arithmetic in loops that vectorise, and the rare slow cases one by one.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["normal", "normal_row", "poisson", "poisson_inverse", "poisson_row", "stream", "uniform"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S8 = np.uint64(8)
_ONE = np.uint64(1)
_TWO = np.uint64(2)
_THREE = np.uint64(3)
_LAYER = np.uint64(0xFF)
_INV53 = 1.0 / 9007199254740992.0
_INV_K = np.array([0.0] + [1.0 / k for k in range(1, 8)])


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray]:
    """Layer edges ``x[0..256]`` and ``exp(-x**2/2)`` at them, for a 256-layer ziggurat.

    Every layer has the area ``v`` of the base layer (the rectangle ``r * f(r)`` plus
    the tail beyond ``r``); ``x[0] = v / f(r)`` is the base layer's pseudo-width,
    ``x[1] = r`` and ``x[256] = 0``.
    """
    r = 3.6541528853610088
    f_r = math.exp(-0.5 * r * r)
    tail = math.sqrt(math.pi / 2.0) * math.erfc(r / math.sqrt(2.0))
    v = r * f_r + tail
    x = np.empty(257)
    x[0], x[1] = v / f_r, r
    for i in range(1, 256):
        y = math.exp(-0.5 * x[i] * x[i]) + v / x[i]
        x[i + 1] = math.sqrt(-2.0 * math.log(y)) if y < 1.0 else 0.0
    x[256] = 0.0
    return x, np.exp(-0.5 * x * x)


_ZIG_X, _ZIG_F = _ziggurat_tables()
_ZIG_R = float(_ZIG_X[1])


@njit(cache=True, nogil=True, inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True)
def stream(seed, k1, k2, k3):
    """Initial uint64 state of the stream ``(seed, k1, k2, k3)``."""
    z = _mix(np.uint64(seed) + _GOLDEN)
    z = _mix(z ^ (np.uint64(k1) * _GOLDEN + _ONE))
    z = _mix(z ^ (np.uint64(k2) * _M1 + _TWO))
    return _mix(z ^ (np.uint64(k3) * _M2 + _THREE))


@njit(cache=True, nogil=True, inline="always")
def uniform(s):
    """Uniform double in (0, 1) (never 0 or 1) and the advanced state."""
    s = s + _GOLDEN
    return ((_mix(s) >> _S11) + 0.5) * _INV53, s


@njit(cache=True, nogil=True, inline="always")
def _layer_draw(s):
    """One ziggurat draw: layer, sign bit, ``x`` uniform in the layer, advanced state."""
    s = s + _GOLDEN
    b = _mix(s)
    i = np.int64(b & _LAYER)
    neg = (b >> _S8) & _ONE
    x = ((b >> _S11) * _INV53) * _ZIG_X[i]
    return i, neg, x, s


@njit(cache=True, nogil=True)
def _normal_slow(s, i, x, neg):
    """The ziggurat's rare cases: layer ``i``'s wedge (``x`` drawn in it) or the tail."""
    zx = _ZIG_X
    zf = _ZIG_F
    while True:
        if i == 0:
            # tail beyond r (Marsaglia 1964): exponential proposals
            while True:
                u1, s = uniform(s)
                u2, s = uniform(s)
                t = -math.log(u1) / _ZIG_R
                if -2.0 * math.log(u2) >= t * t:
                    x = _ZIG_R + t
                    return (-x if neg else x), s
        u, s = uniform(s)
        if zf[i + 1] + u * (zf[i] - zf[i + 1]) < math.exp(-0.5 * x * x):
            return (-x if neg else x), s
        i, neg, x, s = _layer_draw(s)
        if x < zx[i + 1]:
            return (-x if neg else x), s


@njit(cache=True, nogil=True, inline="always")
def normal(s):
    """Standard normal deviate (256-layer ziggurat) and the advanced state."""
    i, neg, x, s = _layer_draw(s)
    if x < _ZIG_X[i + 1]:
        return (-x if neg else x), s
    return _normal_slow(s, i, x, neg)


@njit(cache=True, nogil=True, inline="always")
def poisson_inverse(u, lam, p0):
    """The Poisson(``lam``) value at the cumulative probability ``u``; ``p0 = exp(-lam)``.

    The first six terms of the distribution are compared without branches (a loop exit
    that depends on the data costs more than the few extra multiplications).
    """
    p = p0
    cdf = p0
    k = 0.0
    for j in range(1, 7):
        k += 1.0 if u > cdf else 0.0
        p *= lam * _INV_K[j]
        cdf += p
    while u > cdf and k < 100.0:
        k += 1.0
        p *= lam / k
        cdf += p
    return k


@njit(cache=True, nogil=True, error_model="numpy")
def poisson_row(u, lam, p0, n):
    """``n[x] = poisson_inverse(u[x], lam[x], p0[x])`` over a row, for means below 10.

    Only the first six terms are summed, for every pixel and without branches (a loop
    that vectorises); returns False when some pixel needs more terms or has ``lam >= 10``:
    those get ``n[x] = -1``, for the caller to draw one by one.
    """
    done = True
    for x in range(u.shape[0]):
        lx = lam[x]
        ux = u[x]
        p = np.float64(p0[x])
        cdf = p
        k = 0.0
        for j in range(1, 7):
            k += 1.0 if ux > cdf else 0.0
            p *= lx * _INV_K[j]
            cdf += p
        more = (ux > cdf) | (lx >= 10.0)
        n[x] = -1.0 if more else k
        done &= ~more
    return done


@njit(cache=True, nogil=True)
def _ptrs(s, lam):
    """Poisson deviate with mean ``lam >= 10``: Hoermann (1993) transformed rejection."""
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u, s = uniform(s)
        u -= 0.5
        v, s = uniform(s)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k, s
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)) <= (
            -lam + k * loglam - math.lgamma(k + 1.0)
        ):
            return k, s


@njit(cache=True, nogil=True)
def poisson(s, lam):
    """Poisson deviate with mean ``lam`` (inversion below 10, PTRS above), and the state."""
    if lam <= 0.0:
        return 0.0, s
    if lam < 10.0:
        u, s = uniform(s)
        p0 = math.exp(-lam)
        return (0.0 if u <= p0 else poisson_inverse(u, lam, p0)), s
    return _ptrs(s, lam)


@njit(cache=True, nogil=True, error_model="numpy")
def normal_row(s, z, w):
    """Fill ``z`` with standard normal deviates from the stream ``s``; return the state.

    The 64-bit draws come first (one per value, sequential, into the uint64 scratch row
    ``w``), then the ziggurat's fast test runs over the row (a loop that vectorises); the
    ~1 % of values that fall in a wedge or the tail are finished one by one, in order,
    from the stream continued.
    """
    n = z.shape[0]
    for x in range(n):
        s = s + _GOLDEN
        w[x] = _mix(s)
    done = True
    for x in range(n):
        b = w[x]
        i = np.int64(b & _LAYER)
        v = np.float64(np.int64(b >> _S11)) * _INV53 * _ZIG_X[i]
        ok = v < _ZIG_X[i + 1]
        z[x] = (-v if (b >> _S8) & _ONE else v) if ok else np.nan
        done &= ok
    if not done:
        for x in range(n):
            if np.isnan(z[x]):
                b = w[x]
                i = np.int64(b & _LAYER)
                v = np.float64(np.int64(b >> _S11)) * _INV53 * _ZIG_X[i]
                z[x], s = _normal_slow(s, i, v, (b >> _S8) & _ONE)
    return s
