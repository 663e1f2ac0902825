"""Large zeroed arrays in small pages, faulted in by all numba threads at once.

A whole-exposure ramp (hundreds of MB) is the largest fresh allocation of Stage 1. numpy
asks the kernel for 2 MB pages for such arrays; on a virtual machine whose host takes
back the guest's free memory, assembling those pages costs about 4 s per GB when the
memory is host-fresh (0.2 s when it was just freed), while 4 kB pages cost about 0.6 s
per GB either way. :func:`zeros_small_pages` maps the array in 4 kB pages and touches
every page from all threads, so the first real pass over it finds the memory resident.
The values are zeros, as ``np.zeros`` gives; only where the pages come from differs.
"""

from __future__ import annotations

import mmap

import numpy as np
from numba import njit, prange

__all__ = ["zeros_small_pages"]

#: Smaller arrays come from numpy as usual.
MIN_BYTES = 32 << 20
_CHUNK_PAGES = 256


@njit(cache=True, parallel=True, nogil=True)
def _touch(flat, page, chunk):
    """Write a zero into every ``page``-th byte (the kernel zeroes the rest)."""
    n = flat.size
    for c in prange((n + chunk - 1) // chunk):
        for k in range(c * chunk, min(n, (c + 1) * chunk), page):
            flat[k] = 0


def zeros_small_pages(shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """A C-contiguous zeroed array; at least :data:`MIN_BYTES`: 4 kB pages, all resident.

    Parameters
    ----------
    shape : tuple of int
        Array shape.
    dtype : numpy dtype
        Element type.

    Returns
    -------
    ndarray
        Writable; its memory is released when the array (and every view) is gone.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes < MIN_BYTES or not hasattr(mmap, "MAP_ANONYMOUS"):  # (Windows: numpy's)
        return np.zeros(shape, dtype)
    buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        buf.madvise(mmap.MADV_NOHUGEPAGE)
    raw = np.frombuffer(buf, np.uint8)
    _touch(raw, mmap.PAGESIZE, mmap.PAGESIZE * _CHUNK_PAGES)
    return raw.view(dtype).reshape(shape)
