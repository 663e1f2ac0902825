"""Dark current subtraction (the official ``dark_current`` step, stcal ``dark_sub``).

The dark reference holds one frame per "group" (``dark_nframes`` frames per group,
normally 1, and ``dark_groupgap`` skipped frames). When the science readout differs,
science group ``g`` is compared with the mean of dark frames
``g * (nframes + groupgap) ... + nframes - 1`` (frame-averaged dark). NaNs in the
dark count as 0. A dark too short for the science ramp is extrapolated linearly from
its last two groups. MIRI darks are 4-D (one ramp per integration): science
integration ``i`` uses dark integration ``i`` while it exists (and the data start at the
first integration of the exposure), otherwise the last one. The dark DQ is OR-ed into
PIXELDQ (for 4-D darks, the first-group DQ of every dark integration).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError

__all__ = [
    "DarkResult",
    "FrameReader",
    "average_dark_frames",
    "extrapolate_dark",
    "subtract_dark",
    "subtract_dark_frames",
]

#: ``(lead, start, stop, reuse) -> float32 (stop - start, ny, nx)``: frames of a dark
#: (``lead`` is ``(dark integration,)`` for a 4-D dark, ``()`` for a 3-D one). With ``reuse``
#: true the caller is done with the frames of its previous ``reuse`` call: the reader may
#: return them in the same memory (no fresh pages for every block).
FrameReader = Callable[[tuple[int, ...], int, int, bool], np.ndarray]


@dataclass
class DarkResult:
    """What :func:`subtract_dark` did.

    Attributes
    ----------
    applied : bool
        False when the dark could not be used (its NFRAMES or GROUPGAP exceed the
        science exposure's); the data are then untouched, as the official step skips.
    dark : ndarray or None
        The dark actually subtracted (frame-averaged when the readouts differ), for
        ``dark_output``; None when not applied.
    """

    applied: bool
    dark: np.ndarray | None


@njit(cache=True, parallel=True, nogil=True)
def _mean_frames(src, dst, ngroups, nframes, groupgap, fnframes):
    # src (nframes_total, ny, nx) with NaN already meaning 0; sequential float32 sums
    ny, nx = src.shape[1], src.shape[2]
    for y in prange(ny):
        for g in range(ngroups):
            start = g * (nframes + groupgap)
            for x in range(nx):
                acc = src[start, y, x]
                for f in range(start + 1, start + nframes):
                    acc += src[f, y, x]
                dst[g, y, x] = acc / fnframes


def average_dark_frames(dark: np.ndarray, ngroups: int, nframes: int, groupgap: int) -> np.ndarray:
    """Average dark frames into the science group structure.

    Parameters
    ----------
    dark : ndarray, (nframes_total, ny, nx) or (nints, nframes_total, ny, nx)
        Per-frame dark (NaN already replaced by 0).
    ngroups, nframes, groupgap : int
        Science readout.

    Returns
    -------
    ndarray
        (ngroups, ny, nx) or (nints, ngroups, ny, nx): group ``g`` is the mean of frames
        ``g * (nframes + groupgap)`` to ``g * (nframes + groupgap) + nframes - 1``.
    """
    need = (ngroups - 1) * (nframes + groupgap) + nframes
    if dark.shape[-3] < need:
        raise ParameterError(f"the dark has {dark.shape[-3]} frames, {need} are needed")
    if dark.ndim == 3:
        out = np.empty((ngroups, *dark.shape[1:]), dtype=dark.dtype)
        if nframes == 1:
            out[:] = dark[0 : need : groupgap + 1][:ngroups]
        else:
            _mean_frames(dark, out, ngroups, nframes, groupgap, dark.dtype.type(nframes))
        return out
    out = np.empty((dark.shape[0], ngroups, *dark.shape[2:]), dtype=dark.dtype)
    for i in range(dark.shape[0]):
        out[i] = average_dark_frames(dark[i], ngroups, nframes, groupgap)
    return out


def extrapolate_dark(dark: np.ndarray, ngroups: int) -> np.ndarray:
    """Append ``ngroups`` groups continuing the slope of the last two (float64, as stcal)."""

    def one(arr):
        rate = arr[-1] - arr[-2]
        steps = np.arange(1, ngroups + 1).reshape(-1, 1, 1)
        return np.concatenate((arr, steps * rate + arr[-1]))

    if dark.ndim == 4:
        return np.stack([one(d) for d in dark])
    return one(dark)


@njit(cache=True, parallel=True, nogil=True)
def _subtract(data, dark, imap):
    nints, ngroups, ny, nx = data.shape
    for y in prange(ny):
        for i in range(nints):
            di = imap[i]
            for g in range(ngroups):
                for x in range(nx):
                    data[i, g, y, x] = data[i, g, y, x] - dark[di, g, y, x]


def subtract_dark(
    data: np.ndarray,
    pixeldq: np.ndarray,
    dark: np.ndarray,
    dark_dq: np.ndarray,
    *,
    nframes: int,
    groupgap: int,
    dark_nframes: int = 1,
    dark_groupgap: int = 0,
    integration_start: int | None = None,
) -> DarkResult:
    """Subtract the dark in place, frame-averaging it when the readouts differ.

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Ramps, modified in place.
    pixeldq : ndarray, uint32, (ny, nx)
        OR-ed in place with the dark DQ.
    dark : ndarray, (ndark_groups, ny, nx) or (ndark_ints, ndark_groups, ny, nx)
        Dark reference cut to the subarray (not modified).
    dark_dq : ndarray
        (ny, nx) DQ, or for 4-D darks (ndark_ints, ndark_groups or 1, ny, nx).
    nframes, groupgap : int
        Science NFRAMES and GROUPGAP.
    dark_nframes, dark_groupgap : int
        The dark's NFRAMES and GROUPGAP.
    integration_start : int, optional
        1-based first integration of the data (segmented exposures); MIRI 4-D darks
        are matched by integration only when this is 1 (or None).

    Returns
    -------
    DarkResult
    """
    if data.ndim != 4:
        raise ParameterError(f"data must be 4-D, got shape {data.shape}")
    nints, ngroups = data.shape[:2]
    if dark.shape[-2:] != data.shape[-2:] or dark.ndim not in (3, 4):
        raise ParameterError(f"dark shape {dark.shape} does not match the data {data.shape}")
    drk_ngroups = dark.shape[-3]
    sci_total = ngroups * nframes + (ngroups - 1) * groupgap
    drk_total = drk_ngroups * dark_nframes + (drk_ngroups - 1) * dark_groupgap
    work = dark
    if sci_total > drk_total:
        extra = int(
            np.ceil((sci_total - drk_total + dark_groupgap) / (dark_nframes + dark_groupgap))
        )
        work = extrapolate_dark(work, extra)
    if dark_nframes > nframes or dark_groupgap > groupgap:
        return DarkResult(False, None)
    if np.isnan(work).any():
        work = np.where(np.isnan(work), work.dtype.type(0), work)
    if nframes != dark_nframes or groupgap != dark_groupgap:
        work = average_dark_frames(work, ngroups, nframes, groupgap)

    darkdq, imap = _dq_and_map(dark.shape, dark_dq, nints, integration_start)
    dark4 = work if dark.ndim == 4 else work[np.newaxis]
    np.bitwise_or(pixeldq, darkdq.astype(pixeldq.dtype), out=pixeldq)
    if dark4.shape[1] < ngroups:
        raise ParameterError(f"the dark has {dark4.shape[1]} groups, the data {ngroups}")
    if dark4.dtype == data.dtype:
        _subtract(data, dark4, imap)
    else:  # extrapolated darks are float64: subtract in float64, as numpy would
        for i in range(nints):
            data[i] = data[i] - dark4[imap[i], :ngroups]
    return DarkResult(True, work)


def _dq_and_map(
    dark_shape: tuple[int, ...], dark_dq: np.ndarray, nints: int, integration_start: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """The 2-D dark DQ to OR into PIXELDQ, and the dark integration of each science one."""
    ddq = np.asarray(dark_dq)
    if len(dark_shape) == 3:
        return ddq, np.zeros(nints, np.int64)
    darkdq = ddq[0, 0].copy() if ddq.ndim == 4 else ddq.copy()
    if ddq.ndim == 4:
        for k in range(1, ddq.shape[0]):
            darkdq |= ddq[k, 0]
    ndark = dark_shape[0]
    start1 = integration_start is None or integration_start == 1
    imap = np.array([i if (i < ndark and start1) else ndark - 1 for i in range(nints)], np.int64)
    return darkdq, imap


@njit(cache=True, inline="always")
def _frame64(real, base, ndark, last, prev, f, y, x):
    # dark frame f: read (real holds frames base...), or extrapolated past the last one;
    # float64, NaN -> 0
    if f < ndark:
        v = np.float64(real[f - base, y, x])
    else:
        rate = last[y, x] - prev[y, x]  # float32, as numpy computes it
        v = np.float64(f - (ndark - 1)) * np.float64(rate) + np.float64(last[y, x])
    return 0.0 if v != v else v


@njit(cache=True, parallel=True, nogil=True)
def _average_rows(real, base, ndark, last, prev, stride, count, divide, use64, g0, y0, out32,
                  out64):  # fmt: skip
    # rows y0... of the dark of groups g0...: group g averages dark frames g * stride ...
    # g * stride + count - 1 (float64 when use64, else float32), NaN as 0
    ng, rows, nx = out64.shape if use64 else out32.shape
    d32 = np.float32(count)
    d64 = np.float64(count)
    zero = np.float32(0.0)
    for k in prange(ng * rows):
        g, r = g0 + k // rows, k % rows
        y = y0 + r
        first = g * stride
        if use64:
            row64 = out64[k // rows, r]
            for x in range(nx):
                a64 = _frame64(real, base, ndark, last, prev, first, y, x)
                for f in range(first + 1, first + count):
                    a64 += _frame64(real, base, ndark, last, prev, f, y, x)
                row64[x] = a64 / d64 if divide else a64
        else:
            row = out32[k // rows, r]
            for x in range(nx):
                a32 = real[first - base, y, x]
                if a32 != a32:
                    a32 = zero
                for f in range(first + 1 - base, first + count - base):
                    v = real[f, y, x]
                    a32 += zero if v != v else v
                row[x] = a32 / d32 if divide else a32


@njit(cache=True, parallel=True, nogil=True)
def _subtract_rows(data, ints, g0, y0, dark32, dark64, use64):
    # data[i, g0 + g, y0 + r] -= dark[g, r] for the integrations ints, row after row of
    # each plane (the planes of a band of a time series are far apart)
    ng, rows, nx = dark64.shape if use64 else dark32.shape
    per_int = ng * rows
    for p in prange(ints.shape[0] * per_int):
        i = ints[p // per_int]
        g, r = (p % per_int) // rows, p % rows
        row = data[i, g0 + g, y0 + r]
        if use64:
            d64 = dark64[g, r]
            for x in range(nx):
                row[x] = np.float32(np.float64(row[x]) - d64[x])
        else:
            d32 = dark32[g, r]
            for x in range(nx):
                row[x] = row[x] - d32[x]


#: Bytes of averaged dark rows prepared at a time (then subtracted from every plane).
_ROW_BYTES = 4 << 20


def _subtract_groups(data, ints, g0, g1, real, base, ndark, last, prev, stride, count, divide,
                     use64):  # fmt: skip
    """Subtract the dark of science groups ``g0 ... g1 - 1`` from integrations ``ints``.

    A block of rows of the averaged dark is prepared, then subtracted plane by plane.
    """
    ny, nx = data.shape[2], data.shape[3]
    rows = max(1, min(ny, _ROW_BYTES // (8 * (g1 - g0) * nx)))
    dtype = np.float64 if use64 else np.float32
    block = np.empty((g1 - g0) * rows * nx, dtype)
    unused = np.empty((1, 1, 1), np.float32 if use64 else np.float64)
    for y0 in range(0, ny, rows):
        part = block[: (g1 - g0) * min(rows, ny - y0) * nx].reshape(g1 - g0, -1, nx)
        dark32, dark64 = (unused, part) if use64 else (part, unused)
        _average_rows(real, base, ndark, last, prev, stride, count, divide, use64, g0, y0,
                      dark32, dark64)  # fmt: skip
        _subtract_rows(data, ints, g0, y0, dark32, dark64, use64)


#: Bytes of dark frames read for one kernel call.
_BLOCK_BYTES = 32 << 20


def subtract_dark_frames(
    data: np.ndarray,
    pixeldq: np.ndarray,
    read_frames: FrameReader,
    dark_shape: tuple[int, ...],
    dark_dq: np.ndarray,
    *,
    nframes: int,
    groupgap: int,
    dark_nframes: int = 1,
    dark_groupgap: int = 0,
    integration_start: int | None = None,
) -> bool:
    """:func:`subtract_dark` reading the dark frames group by group (same results).

    No frame-averaged, extrapolated or float64 copy of the dark is made: for each science
    group the dark frames it needs are read with ``read_frames`` (a view of an array in
    memory, or planes read from the file) and averaged, extrapolated from the dark's last
    two frames where the dark is too short, and subtracted in one pass.

    Parameters
    ----------
    data, pixeldq
        As for :func:`subtract_dark`.
    read_frames : FrameReader
        Reads float32 frames of the dark, cut to the data's window.
    dark_shape : tuple of int
        Shape of the dark, ``(ndark_groups, ny, nx)`` or ``(ndark_ints, ndark_groups, ny,
        nx)``, cut to the window.
    dark_dq, nframes, groupgap, dark_nframes, dark_groupgap, integration_start
        As for :func:`subtract_dark`.

    Returns
    -------
    bool
        False when the dark was not applied (its NFRAMES or GROUPGAP exceed the data's).
    """
    if data.ndim != 4 or data.dtype != np.float32:
        raise ParameterError(f"data must be 4-D float32, got {data.dtype} {data.shape}")
    nints, ngroups = data.shape[:2]
    if tuple(dark_shape[-2:]) != data.shape[-2:] or len(dark_shape) not in (3, 4):
        raise ParameterError(f"dark shape {dark_shape} does not match the data {data.shape}")
    if dark_nframes > nframes or dark_groupgap > groupgap:
        return False
    ndark = dark_shape[-3]
    sci_total = ngroups * nframes + (ngroups - 1) * groupgap
    drk_total = ndark * dark_nframes + (ndark - 1) * dark_groupgap
    extra = 0
    if sci_total > drk_total:
        extra = int(
            np.ceil((sci_total - drk_total + dark_groupgap) / (dark_nframes + dark_groupgap))
        )
    average = nframes != dark_nframes or groupgap != dark_groupgap
    if average:
        need = (ngroups - 1) * (nframes + groupgap) + nframes
        if ndark + extra < need:
            raise ParameterError(f"the dark has {ndark + extra} frames, {need} are needed")
    darkdq, imap = _dq_and_map(tuple(dark_shape), dark_dq, nints, integration_start)
    np.bitwise_or(pixeldq, darkdq.astype(pixeldq.dtype), out=pixeldq)
    if not average and ndark + extra < ngroups:
        raise ParameterError(f"the dark has {ndark + extra} groups, the data {ngroups}")
    count = nframes if average else 1
    stride = nframes + groupgap if average else 1
    per_block = max(1, _BLOCK_BYTES // (4 * stride * data.shape[2] * data.shape[3]))
    for di in np.unique(imap):
        lead = (int(di),) if len(dark_shape) == 4 else ()
        ints = np.flatnonzero(imap == di).astype(np.int64)
        if extra:
            prev, last = _float32(read_frames(lead, ndark - 2, ndark, False))
        else:
            prev = last = np.zeros((1, 1), np.float32)
        for g0 in range(0, ngroups, per_block):
            g1 = min(ngroups, g0 + per_block)
            base = g0 * stride
            stop = min((g1 - 1) * stride + count, ndark)
            real = _float32(read_frames(lead, base, stop, True) if base < stop else
                            np.zeros((0, *data.shape[2:]), np.float32))  # fmt: skip
            _subtract_groups(data, ints, g0, g1, real, base, ndark, last, prev, stride, count,
                             average and nframes > 1, extra > 0)  # fmt: skip
    return True


def _float32(frames: np.ndarray) -> np.ndarray:
    if frames.dtype != np.float32:
        raise ParameterError(f"dark frames must be float32, got {frames.dtype}")
    return frames
