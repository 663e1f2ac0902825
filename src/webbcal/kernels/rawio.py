"""Conversion of raw big-endian 16-bit FITS samples to float32 in one pass.

Raw JWST ramps are stored as big-endian int16 with BZERO=32768 (unsigned counts). The
file's bytes are read as a native ``uint16`` array where they lie (a memory map);
:func:`int16be_rows_to_float32` swaps the two bytes of each sample of a band of rows of
many planes, reads the result as a signed 16-bit integer and adds BZERO in float32 (what
``np.add(raw, np.float32(bzero), dtype=np.float32)`` gives), in parallel over the planes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError

__all__ = ["int16be_rows_to_float32"]


@njit(cache=True, parallel=True, nogil=True)
def _convert_rows(raw, plane, nx, row0, out, bzero):
    eight = np.uint16(8)
    nplanes, rows = out.shape[0], out.shape[1]
    for p in prange(nplanes):
        for r in range(rows):
            start = p * plane + (row0 + r) * nx
            dst = out[p, r]
            for x in range(nx):
                v = raw[start + x]
                dst[x] = np.float32(np.int16((v >> eight) | (v << eight))) + bzero


def int16be_rows_to_float32(
    raw: np.ndarray, plane: int, row0: int, out: np.ndarray, bzero: float
) -> None:
    """Convert rows ``row0 ...`` of consecutive planes of big-endian int16 samples to float32.

    Parameters
    ----------
    raw : ndarray, uint16, 1-D
        The file's bytes from the start of the first plane (each element one byte-swapped
        sample); it may end after the last plane's last row that is read. May be
        read-only (a memory map).
    plane : int
        Samples per plane (rows x columns).
    row0 : int
        First row read in every plane.
    out : ndarray, float32, (nplanes, rows, columns), C-contiguous
        Receives ``int16(swapped) + float32(bzero)`` of rows ``row0 ... row0 + rows - 1``.
    bzero : float
        The FITS BZERO of the samples.
    """
    nplanes, rows, nx = out.shape
    if raw.dtype != np.uint16 or raw.ndim != 1 or out.dtype != np.float32:
        raise ParameterError(f"need 1-D uint16 and float32 arrays, got {raw.dtype} {out.dtype}")
    if nplanes and raw.size < (nplanes - 1) * plane + (row0 + rows) * nx:
        raise ParameterError(f"{raw.size} samples do not hold {nplanes} planes of {plane}")
    if not out.flags.c_contiguous:
        raise ParameterError("out must be C-contiguous")
    _convert_rows(raw, plane, nx, row0, out, np.float32(bzero))

