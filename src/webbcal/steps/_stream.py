"""Bounded-memory processing of long exposures: integration chunks and row bands.

A long time series does not fit in memory as one float32 ramp (200 integrations of 10
groups of 256x256 pixels are 0.5 GB, plus GROUPDQ and the products). calwebb_detector1
then works in two passes (see :mod:`webbcal.pipelines.calwebb_detector1`):

1. integration chunks (:func:`chunk_model`, read straight from the uncal file) go through
   the steps before ``jump``, which treat integrations independently; each corrected chunk
   is appended to a :class:`Spill` (two flat files on disk, written and read back with
   plain I/O, not memory maps, so that they do not count in the process's memory);
2. row bands of *all* integrations (:meth:`Spill.read_band`, :func:`band_model`) go
   through ``jump`` and ``ramp_fit``, which treat pixels independently (jump's neighbour
   flags need one halo row on each side of a band).

The models made here carry the exposure's metadata with SUBSTRT2/SUBSIZE2 (band) or
NINTS (chunk) adjusted, so that the steps cut their references correctly. The chunks
and then the bands (``read_band(buffers=...)``) reuse one set of buffers
(:class:`ChunkBuffers`, sized for the larger of the two): on virtual machines the first
touch of fresh memory costs about as much as the work.
"""

from __future__ import annotations

import copy
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from webbcal.atomic import write_view
from webbcal.datamodels import RampModel
from webbcal.steps._common import copy_meta, read_integrations

log = logging.getLogger(__name__)

__all__ = ["ChunkBuffers", "Spill", "band_model", "chunk_model", "row_bands"]


def chunk_model(
    raw: Any, first: int, stop: int, buffers: ChunkBuffers | None = None
) -> RampModel:
    """A RampModel of integrations ``first:stop`` of a raw exposure (float32).

    With ``buffers`` the SCI values and a zeroed GROUPDQ are put in them (views) instead
    of new arrays: the previous chunk's arrays must no longer be needed.
    """
    out = RampModel()
    copy_meta(raw, out)
    if buffers is None:
        out.data = read_integrations(raw, first, stop)
    else:
        shape = (stop - first, *raw.shape[1:])
        out.data = read_integrations(raw, first, stop, buffers.view("data", shape),
                                     buffers.raw)  # fmt: skip
        groupdq = buffers.view("groupdq", shape)
        groupdq.fill(0)
        out.groupdq = groupdq
    for name in ("zeroframe", "refout"):
        if name in type(raw).declared() and raw.has(name):
            setattr(out, name, np.asarray(getattr(raw, name)[first:stop], np.float32))
    if raw.has("int_times"):
        out.int_times = raw.int_times
    if raw.has("group"):
        out.group = raw.group
    if "pixeldq" in type(raw).declared() and raw.has("pixeldq"):
        out.pixeldq = np.array(raw.pixeldq)
    return out


class ChunkBuffers:
    """Flat float32 SCI, uint8 GROUPDQ and uint16 raw-sample buffers reused by chunks.

    Parameters
    ----------
    size : int
        Samples of the largest chunk (integrations x groups x rows x columns).

    """

    def __init__(self, size: int) -> None:
        self.data = np.empty(size, np.float32)
        self.groupdq = np.empty(size, np.uint8)
        self.raw = np.empty(min(size, 8 << 20), np.uint16)

    def view(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A C-contiguous ``shape`` view of the start of buffer ``name``."""
        return getattr(self, name)[: int(np.prod(shape))].reshape(shape)


def band_model(
    meta_source: Any,
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    y0: int,
    extras: dict[str, np.ndarray] | None = None,
) -> RampModel:
    """A RampModel of rows ``y0:y0 + data.shape[2]`` of an exposure (SUBSTRT2 adjusted)."""
    out = RampModel(data=data, groupdq=groupdq, pixeldq=pixeldq)
    out.meta.update(copy.deepcopy(meta_source.meta.to_dict()))
    sub = out.meta.subarray
    ny = data.shape[2]
    sub.ystart = int(meta_source.meta.subarray.ystart or 1) + y0
    sub.ysize = ny
    for name, array in (extras or {}).items():
        setattr(out, name, array)
    return out


def row_bands(ny: int, band: int) -> list[tuple[int, int]]:
    """``(y0, y1)`` bands of at most ``band`` rows covering ``range(ny)``."""
    band = max(1, int(band))
    return [(y0, min(ny, y0 + band)) for y0 in range(0, ny, band)]


class Spill:
    """A 4-D float32 ramp and its uint8 GROUPDQ kept in files, written by integrations.

    Parameters
    ----------
    shape : tuple of int
        ``(nints, ngroups, ny, nx)``.
    directory : str or Path, optional
        Where the files go (default: the system temporary directory).

    """

    def __init__(self, shape: tuple[int, int, int, int], directory: str | Path | None = None):
        self.shape = tuple(int(n) for n in shape)
        self._dir = tempfile.TemporaryDirectory(prefix="webbcal-spill-", dir=directory)
        folder = Path(self._dir.name)
        self.data_path = folder / "sci.f4"
        self.gdq_path = folder / "gdq.u1"
        for path, itemsize in ((self.data_path, 4), (self.gdq_path, 1)):
            with path.open("wb") as f:
                f.truncate(int(np.prod(self.shape)) * itemsize)
        self.written = 0

    def write(self, first: int, data: np.ndarray, groupdq: np.ndarray) -> None:
        """Store integrations ``first:first + len(data)``."""
        per_int = int(np.prod(self.shape[1:]))
        for path, array, itemsize in ((self.data_path, data, 4), (self.gdq_path, groupdq, 1)):
            with path.open("r+b") as f:
                f.seek(first * per_int * itemsize)
                write_view(f, np.ascontiguousarray(array).data)
        self.written += len(data)

    def read_band(
        self, y0: int, y1: int, buffers: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``y0:y1`` of every integration and group: (data, GROUPDQ) copies.

        Read with plain I/O: a memory map would bring neighbouring rows of every plane
        into the process's memory. ``buffers`` (flat float32 and uint8 arrays at least as
        large as the band) are filled instead of new arrays: reusing them for every band
        spares the page faults of fresh memory.
        """
        nints, ngroups, ny, nx = self.shape
        shape = (nints, ngroups, y1 - y0, nx)
        size = int(np.prod(shape))
        out = []
        for k, (path, dtype) in enumerate(
            ((self.data_path, np.float32), (self.gdq_path, np.uint8))
        ):
            if buffers is None:
                band = np.empty(shape, dtype)
            else:
                band = buffers[k][:size].reshape(shape)
            itemsize = band.itemsize
            plane = ny * nx * itemsize
            with path.open("rb", buffering=0) as f:
                for i in range(nints):
                    for g in range(ngroups):
                        f.seek((i * ngroups + g) * plane + y0 * nx * itemsize)
                        f.readinto(memoryview(band[i, g]).cast("B"))
            out.append(band)
        return out[0], out[1]

    def close(self) -> None:
        """Remove the files."""
        self._dir.cleanup()
