"""Counter-based random numbers for numba kernels: the same draws for any thread count.

``numba`` parallel loops share no random state that is reproducible across thread
schedules, so every kernel of the simulator derives an independent stream from
``(seed, key1, key2, key3)`` with SplitMix64 and draws from it sequentially. The
streams are keyed by what the loop runs over (row, frame, integration), so a result
never depends on how rows are spread over threads. The state is a plain uint64 that each
draw returns updated (``value, state = draw(state)``) so that it lives in a register.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["normal", "normal_pair", "poisson", "stream", "uniform"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_TWO = np.uint64(2)
_THREE = np.uint64(3)
_INV53 = 1.0 / 9007199254740992.0
_TWO_PI = 2.0 * math.pi


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
def normal(s):
    """Standard normal deviate (Box-Muller, one of the pair) and the advanced state."""
    u1, s = uniform(s)
    u2, s = uniform(s)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2), s


@njit(cache=True, nogil=True, inline="always")
def normal_pair(s):
    """Two independent standard normal deviates (Box-Muller) and the advanced state."""
    u1, s = uniform(s)
    u2, s = uniform(s)
    r = math.sqrt(-2.0 * math.log(u1))
    a = _TWO_PI * u2
    return r * math.cos(a), r * math.sin(a), s


@njit(cache=True, nogil=True)
def poisson(s, lam):
    """Poisson deviate with mean ``lam`` (inversion below 10, PTRS above), and the state."""
    if lam <= 0.0:
        return 0.0, s
    if lam < 10.0:
        u, s = uniform(s)
        p = math.exp(-lam)
        cdf = p
        k = 0.0
        while u > cdf and k < 100.0:
            k += 1.0
            p *= lam / k
            cdf += p
        return k, s
    # Hoermann (1993) transformed rejection with squeeze, as numpy's PTRS.
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
