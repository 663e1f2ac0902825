"""Inter-pixel capacitance correction (the official ``ipc`` step).

Each group is convolved with the IPC deconvolution kernel (odd size, normally 3x3):
``out[y, x] = sum_{j,i} K[j, i] * in[y + c_j - j, x + c_i - i]`` with ``c`` the kernel centre,
over the science pixels only (reference rows and columns, which are not light-sensitive,
are left unchanged and do not contribute; outside the science area counts as 0). The
kernel is either 2-D (the same everywhere) or 4-D ``(kny, knx, ny, nx)`` (one kernel per
output pixel). Terms are accumulated in the data's precision with the centre term last,
as the official code does. NIRSpec IRS2 data (interleaved reference pixels) are not
supported.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError

__all__ = ["correct_ipc", "reference_counts"]


def reference_counts(
    instrument: str, xstart: int, ystart: int, xsize: int, ysize: int
) -> tuple[int, int, int, int]:
    """(bottom, top, left, right) reference rows/columns inside a (sub)array window.

    ``xstart``/``ystart`` are 1-based (SUBSTRT1/2). MIRI has 4 reference columns on the
    left (1032-wide frame) and 4 on the right; near-IR detectors have 4 on every side of
    the 2048 x 2048 frame.
    """
    x0, y0 = xstart - 1, ystart - 1
    if instrument.upper() == "MIRI":
        return (0, 0, max(0, 4 - x0), max(0, x0 + xsize - 1028))
    return (max(0, 4 - y0), max(0, y0 + ysize - 2044), max(0, 4 - x0), max(0, x0 + xsize - 2044))


@njit(cache=True, parallel=True, nogil=True)
def _convolve(data, kernel, per_pixel, b0, t0, l0, r0):
    nints, ngroups, ny, nx = data.shape
    kh, kw = kernel.shape[0], kernel.shape[1]
    cy, cx = kh // 2, kw // 2
    sy0, sy1 = b0, ny - t0
    sx0, sx1 = l0, nx - r0
    sny = sy1 - sy0
    snx = sx1 - sx0
    for p in range(nints * ngroups):
        i = p // ngroups
        g = p - i * ngroups
        src = np.empty((sny, snx), data.dtype)
        for y in range(sny):
            for x in range(snx):
                src[y, x] = data[i, g, sy0 + y, sx0 + x]
        for y in prange(sny):
            for x in range(snx):
                acc = data.dtype.type(0)
                for j in range(kh):
                    for k in range(kw):
                        if j == cy and k == cx:
                            continue
                        yy = y + cy - j
                        xx = x + cx - k
                        if 0 <= yy < sny and 0 <= xx < snx:
                            kv = kernel[j, k, sy0 + y, sx0 + x] if per_pixel else kernel[j, k, 0, 0]
                            acc += kv * src[yy, xx]
                        else:
                            acc += data.dtype.type(0)
                kv = kernel[cy, cx, sy0 + y, sx0 + x] if per_pixel else kernel[cy, cx, 0, 0]
                acc += kv * src[y, x]
                data[i, g, sy0 + y, sx0 + x] = acc


def correct_ipc(
    data: np.ndarray, kernel: np.ndarray, *, borders: tuple[int, int, int, int] = (0, 0, 0, 0)
) -> None:
    """Apply the IPC deconvolution kernel to every group, in place.

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Ramps, modified in place.
    kernel : ndarray, (kny, knx) or (kny, knx, ny, nx)
        IPC deconvolution kernel; the 4-D form is cut to the data's window (same ny, nx).
    borders : (bottom, top, left, right)
        Reference rows/columns at each edge of ``data`` (see :func:`reference_counts`).
    """
    if data.ndim != 4:
        raise ParameterError(f"data must be 4-D, got shape {data.shape}")
    if kernel.ndim not in (2, 4) or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ParameterError(f"IPC kernel must be 2-D or 4-D with odd sizes, got {kernel.shape}")
    if kernel.ndim == 4 and kernel.shape[2:] != data.shape[2:]:
        raise ParameterError(f"4-D IPC kernel {kernel.shape} does not match the data {data.shape}")
    b, t, left, r = (int(v) for v in borders)
    if b + t >= data.shape[2] or left + r >= data.shape[3]:
        return
    k = np.asarray(kernel, dtype=data.dtype)
    per_pixel = k.ndim == 4
    if not per_pixel:
        k = k[:, :, np.newaxis, np.newaxis]
    _convolve(data, np.ascontiguousarray(k), per_pixel, b, t, left, r)
