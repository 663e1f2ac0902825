"""NaN-ignoring median of a stack of images, pixel by pixel (outlier detection's median).

:func:`nanmedian_stack` is ``numpy.nanmedian(stack, axis=0)`` in float32 (mean of the two
middle values for an even count, NaN where every value is NaN), computed in parallel over
rows with a small insertion sort per pixel -- stacks are a few to a few tens of exposures.
Callers that keep the stack on disk pass it in row sections (:func:`median_of_sections`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit, prange

__all__ = ["median_of_sections", "nanmedian_stack"]


@njit(cache=True, parallel=True, nogil=True)
def _median_rows(stack, out):
    n, ny, nx = stack.shape
    for y in prange(ny):
        buf = np.empty(n, np.float32)
        for x in range(nx):
            m = 0
            for k in range(n):
                v = stack[k, y, x]
                if v == v:  # not NaN
                    j = m
                    while j > 0 and buf[j - 1] > v:
                        buf[j] = buf[j - 1]
                        j -= 1
                    buf[j] = v
                    m += 1
            if m == 0:
                out[y, x] = np.nan
            elif m % 2 == 1:
                out[y, x] = buf[m // 2]
            else:
                out[y, x] = np.float32(0.5) * (buf[m // 2 - 1] + buf[m // 2])


def nanmedian_stack(stack: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Median over axis 0 of ``stack`` ``(n, ny, nx)``, ignoring NaNs (float32)."""
    stack = np.asarray(stack, dtype=np.float32)
    if out is None:
        out = np.empty(stack.shape[1:], np.float32)
    _median_rows(stack, out)
    return out


def median_of_sections(
    read_rows: Callable[[int, int], np.ndarray], shape: tuple[int, int], rows: int
) -> np.ndarray:
    """The median image of a stack read ``rows`` rows at a time.

    ``read_rows(y0, y1)`` returns the ``(n, y1 - y0, nx)`` section of the stack.
    """
    ny, nx = shape
    out = np.empty((ny, nx), np.float32)
    step = max(1, int(rows))
    for y0 in range(0, ny, step):
        y1 = min(ny, y0 + step)
        nanmedian_stack(read_rows(y0, y1), out[y0:y1])
    return out
