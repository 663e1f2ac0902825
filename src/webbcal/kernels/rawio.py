"""Conversion of raw big-endian 16-bit FITS samples to float32 in one pass.

Raw JWST ramps are stored as big-endian int16 with BZERO=32768 (unsigned counts). The
bytes are read as they are into a native ``uint16`` buffer; :func:`int16be_to_float32`
swaps the two bytes of each sample, reads the result as a signed 16-bit integer and adds
BZERO in float32 (what ``np.add(raw, np.float32(bzero), dtype=np.float32)`` gives).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from webbcal.errors import ParameterError

__all__ = ["int16be_to_float32"]


@njit(cache=True, nogil=True)
def _convert(raw, out, bzero):
    # branch-free so that it vectorizes; one thread is as fast as the memory allows
    eight = np.uint16(8)
    for k in range(raw.size):
        v = raw[k]
        out[k] = np.float32(np.int16((v >> eight) | (v << eight))) + bzero


def int16be_to_float32(raw: np.ndarray, out: np.ndarray, bzero: float) -> None:
    """Convert big-endian int16 samples held in a native uint16 buffer to float32.

    Parameters
    ----------
    raw : ndarray, uint16, C-contiguous
        The file's bytes, unconverted (each element is one byte-swapped sample).
    out : ndarray, float32, C-contiguous, same size
        Receives ``int16(swapped) + float32(bzero)``.
    bzero : float
        The FITS BZERO of the samples.
    """
    if raw.dtype != np.uint16 or out.dtype != np.float32 or raw.size != out.size:
        raise ParameterError(
            f"need uint16 and float32 arrays of one size, got {raw.dtype} {raw.size} and "
            f"{out.dtype} {out.size}"
        )
    if not (raw.flags.c_contiguous and out.flags.c_contiguous):
        raise ParameterError("raw and out must be C-contiguous")
    _convert(raw.reshape(-1), out.reshape(-1), np.float32(bzero))
