"""Reading windows of a raw 16-bit ramp straight from its FITS file, as float32.

A raw exposure's SCI array (big-endian int16, BZERO = 32768) is read without ever
holding a uint16 copy of it: :func:`read_window` and :func:`read_windows` convert the
rows and columns asked for to float32 where they lie in a memory map of the file, a few
planes or one integration at a time, so that the file's pages never pile up in the
process, and only the memory lines of the window are read. The work is shared by numba's
threads (``numba.get_num_threads()``):

* a band of whole rows (or the whole array): numba converts the planes of each map in
  parallel (:func:`webbcal.kernels.rawio.int16be_rows_to_float32`);
* narrow column windows touch every page of the file: whole planes are read a few at a
  time (one long read costs less than mapping the pages), each thread its own.
"""

from __future__ import annotations

import logging
import mmap
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numba
import numpy as np

from webbcal.datamodels.fits_io import image_layout, read_exactly
from webbcal.datamodels.fits_parse import scan_hdus
from webbcal.kernels.pagemem import zeros_small_pages
from webbcal.kernels.rawio import int16be_rows_to_float32

log = logging.getLogger(__name__)

__all__ = ["read_window", "read_windows"]

#: Bytes of the file mapped at a time (bands of rows).
_MAP_BYTES = 32 << 20
#: Bytes of whole planes read at a time (narrow column windows).
_READ_BYTES = 4 << 20


def read_window(
    model: Any,
    rows: tuple[int, int] | None = None,
    cols: tuple[int, int] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """float32 copy of rows ``rows`` and columns ``cols`` of every group of a 4-D SCI array.

    Read plane by plane from the FITS file when the model has not loaded its SCI array
    (16-bit raw files), so that only the window is ever in memory. ``out`` (float32,
    ``(nints, ngroups, rows, cols)``, C-contiguous) receives the values instead of a new
    array: reusing it for every band of an exposure spares the page faults of fresh
    memory.
    """
    ny, nx = model.shape[-2:]
    rows = rows if rows is not None else (0, ny)
    cols = cols if cols is not None else (0, nx)
    return read_windows(model, rows, [cols], None if out is None else [out])[0]


def read_windows(
    model: Any,
    rows: tuple[int, int],
    cols: list[tuple[int, int]],
    outs: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """:func:`read_window` of several column ranges of the same rows, reading them once."""
    y0, y1 = rows
    loaded = getattr(model, "_arrays", {})
    path = model.path
    if "data" not in loaded and path is not None and Path(path).suffix.lower() == ".fits":
        streamed = _stream_fits_sci(Path(path), model.shape, rows, cols, outs)
        if streamed is not None:
            return streamed
    result = []
    for k, (x0, x1) in enumerate(cols):
        window = model.data[..., y0:y1, x0:x1]
        if outs is None:
            result.append(np.array(window, dtype=np.float32))
        else:
            outs[k][...] = window
            result.append(outs[k])
    return result


def _stream_fits_sci(
    path: Path,
    shape: tuple[int, ...] | None,
    rows: tuple[int, int],
    cols: list[tuple[int, int]],
    outs: list[np.ndarray] | None = None,
) -> list[np.ndarray] | None:
    """Read windows of a 16-bit FITS SCI extension into float32 (None: cannot)."""
    if shape is None or len(shape) != 4:
        return None
    sci = next((span for span in scan_hdus(path)[1:]
                if str(span.values.get("EXTNAME", "")).strip().upper() == "SCI"), None)  # fmt: skip
    layout = None if sci is None or sci.values.get("ZIMAGE") is True else image_layout(sci)
    if (layout is None or layout.stored != np.dtype(">i2") or layout.bscale != 1
            or layout.shape != tuple(shape)):  # fmt: skip
        return None
    offset, bzero = layout.offset, float(layout.bzero)
    nints, ngroups, _, nx = shape
    y0, y1 = rows
    if outs is None:
        outs = [zeros_small_pages((nints, ngroups, y1 - y0, x1 - x0), np.float32)
                for x0, x1 in cols]  # fmt: skip
    if cols == [(0, nx)]:
        _read_bands(path, offset, shape, rows, outs[0], bzero)
    else:
        _read_columns(path, offset, shape, rows, cols, outs, bzero)
    log.debug("read %s SCI rows %d-%d (%d windows) as float32", path.name, y0, y1 - 1,
              len(cols))  # fmt: skip
    return outs


def _in_threads(work: Callable[[int], None], count: int) -> None:
    """``work(0) ... work(count - 1)`` in as many threads (errors re-raised here)."""
    if count == 1:
        work(0)
        return
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="read") as pool:
        for done in [pool.submit(work, k) for k in range(count)]:
            done.result()


def _read_bands(
    path: Path,
    offset: int,
    shape: tuple[int, ...],
    rows: tuple[int, int],
    out: np.ndarray,
    bzero: float,
) -> None:
    """Rows ``rows`` of every plane, converted where they lie in a memory map of the file.

    The file is mapped a few planes at a time (at most :data:`_MAP_BYTES`, so that its
    pages never add much to the process's resident memory) and numba's threads convert
    the planes of each map.
    """
    nints, ngroups, ny, nx = shape
    plane = ny * nx
    nplanes = nints * ngroups
    per_map = max(1, min(nplanes, _MAP_BYTES // (2 * plane)))
    flat = out.reshape(nplanes, rows[1] - rows[0], nx)
    with path.open("rb") as f:
        for q in range(0, nplanes, per_map):
            k = min(per_map, nplanes - q)
            start = offset + 2 * q * plane
            size = 2 * ((k - 1) * plane + rows[1] * nx)
            aligned = start - start % mmap.ALLOCATIONGRANULARITY
            with mmap.mmap(f.fileno(), size + start - aligned, access=mmap.ACCESS_READ,
                           offset=aligned) as mapped:  # fmt: skip
                raw = np.frombuffer(mapped, np.uint16, size // 2, start - aligned)
                int16be_rows_to_float32(raw, plane, rows[0], flat[q : q + k], bzero)
                del raw


def _read_columns(
    path: Path,
    offset: int,
    shape: tuple[int, ...],
    rows: tuple[int, int],
    cols: list[tuple[int, int]],
    outs: list[np.ndarray],
    bzero: float,
) -> None:
    """Narrow column windows: whole planes read a few at a time, the windows cut from them.

    Narrow windows touch every page of the planes: one long read of several planes costs
    less than mapping them page by page. The threads take every ``threads``-th read.
    """
    nints, ngroups, ny, nx = shape
    plane = ny * nx
    nplanes = nints * ngroups
    per_read = max(1, min(nplanes, _READ_BYTES // (2 * plane)))
    threads = max(1, min(numba.get_num_threads(), -(-nplanes // per_read)))
    zero = np.float32(bzero)
    flats = [out.reshape(nplanes, rows[1] - rows[0], out.shape[-1]) for out in outs]

    def read(t: int) -> None:
        buffer = np.empty((per_read, ny, nx), ">i2")
        with path.open("rb", buffering=0) as f:
            for q in range(t * per_read, nplanes, threads * per_read):
                k = min(per_read, nplanes - q)
                f.seek(offset + 2 * q * plane)
                read_exactly(f, buffer[:k].reshape(-1), path)
                for flat, (x0, x1) in zip(flats, cols, strict=True):
                    np.add(buffer[:k, rows[0] : rows[1], x0:x1], zero, out=flat[q : q + k],
                           dtype=np.float32)  # fmt: skip

    _in_threads(read, threads)
