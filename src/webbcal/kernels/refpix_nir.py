"""Near-IR reference-pixel correction, measured once and applied to any rows.

The correction of every (integration, group) plane depends only on the plane's
reference pixels: the top/bottom reference rows and the left/right reference columns
(4 outputs), or all usable reference pixels (1 output). It is therefore split in three:

1. :func:`reference_positions`: the window pixels the measurement reads (DMS frame);
2. :func:`measure` turns their values (``(nints, ngroups, npos)``, however obtained:
   gathered from the whole ramp, or from strips of the exposure calibrated on their own)
   into a :class:`NirPlan`: per plane the amplifier offsets and the side-signal drift of
   every detector row (4 outputs), or one mean per column parity (1 output);
3. :func:`apply` subtracts a plan from the whole window or from any band of its rows.

:func:`webbcal.kernels.refpix.correct_refpix_nir` is the three in a row; a streamed time
series (:mod:`webbcal.pipelines.calwebb_detector1`) measures once from its reference
strips and applies the plan band by band, with the same values bit for bit. The
arithmetic is described in :mod:`webbcal.kernels.refpix`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit, prange

from webbcal.errors import ParameterError
from webbcal.kernels._nbstats import network_sort
from webbcal.kernels._refpix_common import (
    DMS_TO_DETECTOR,
    FULL,
    average,
    clipped_mean,
    reflect,
    to_detector_frame,
)

__all__ = [
    "NirPlan",
    "apply",
    "detector_window",
    "effective_dq",
    "gather",
    "is_four_output",
    "measure",
    "place",
    "reference_positions",
    "strip_positions",
]

#: NIRSpec subarrays without reference pixels: their outer 4 columns are used instead.
NRS_EDGELESS_SUBARRAYS = ("SUB512", "SUB512S", "SUB32")


@dataclass(frozen=True)
class NirPlan:
    """The measured correction of every plane of one window.

    Attributes
    ----------
    detector : str
        DETECTOR (DMS -> detector orientation).
    window : (int, int, int, int)
        ``(y0, x0, ny, nx)``: 0-based DMS origin and size of the window.
    four : bool
        Four-output method (amplifier offsets and side drifts); else one mean per parity.
    corr : ndarray
        ``(nplanes, 4, 2)`` offsets per amplifier and column parity (4 outputs) or
        ``(nplanes, 2)`` means per column parity (1 output), float64.
    found : ndarray of bool
        ``(nplanes, 4)`` amplifier offsets found (4 outputs) or ``(nplanes,)`` plane
        corrected (1 output).
    side : ndarray
        ``(nplanes, rows)`` side drift of each detector row of the window (4 outputs).
    use_side, side_gain, start_wide, keep_zeros
        The side correction, its gain, float64 arithmetic from the first plane on
        (ZEROFRAME), zeros left as they are (ZEROFRAME).
    bad : bool
        Some amplifier or plane had no usable reference pixels.
    """

    detector: str
    window: tuple[int, int, int, int]
    four: bool
    corr: np.ndarray
    found: np.ndarray
    side: np.ndarray
    use_side: bool
    side_gain: float
    start_wide: bool
    keep_zeros: bool
    bad: bool


@lru_cache(maxsize=64)
def detector_window(detector: str, y0: int, x0: int, ny: int, nx: int) -> tuple[int, int]:
    """First detector-frame row and column of a DMS window."""
    inside = np.zeros((FULL, FULL), np.bool_)
    inside[y0 : y0 + ny, x0 : x0 + nx] = True
    det = to_detector_frame(inside, detector)
    return int(np.argmax(det.any(axis=1))), int(np.argmax(det.any(axis=0)))


def _window(detector: str, xstart: int, ystart: int, shape: tuple[int, ...]) -> tuple:
    ny, nx = shape
    y0, x0 = int(ystart) - 1, int(xstart) - 1
    if y0 < 0 or x0 < 0 or y0 + ny > FULL or x0 + nx > FULL:
        raise ParameterError(f"window {(ystart, xstart, ny, nx)} does not fit the detector")
    to_detector_frame(np.zeros((1, 1)), detector)  # refuses unknown detectors
    return y0, x0, ny, nx


def is_four_output(shape: tuple[int, int], noutputs: int) -> bool:
    """Whether a window is corrected by the 4-output method (full frame or 4 outputs)."""
    return tuple(shape) == (FULL, FULL) or int(noutputs) == 4


def effective_dq(pixeldq: np.ndarray, subarray: str | None, reference_pixel: int) -> np.ndarray:
    """PIXELDQ with the outer columns of edgeless NIRSpec subarrays as reference pixels."""
    if str(subarray or "").upper() in NRS_EDGELESS_SUBARRAYS and pixeldq.shape != (FULL, FULL):
        dq = np.array(pixeldq, copy=True)
        dq[:, :4] |= dq.dtype.type(reference_pixel)
        dq[:, -4:] |= dq.dtype.type(reference_pixel)
        return dq
    return pixeldq


def reference_positions(
    pixeldq: np.ndarray,
    *,
    detector: str,
    xstart: int = 1,
    ystart: int = 1,
    noutputs: int = 4,
    reference_pixel: int = 2147483648,
    do_not_use: int = 1,
) -> np.ndarray:
    """The window pixels (bool, DMS frame) whose values :func:`measure` reads.

    4 outputs: :func:`strip_positions`. 1 output: the usable reference pixels of
    ``pixeldq`` (REFERENCE_PIXEL set, DO_NOT_USE not). ``pixeldq`` as from
    :func:`effective_dq`.
    """
    if not is_four_output(pixeldq.shape, noutputs):
        return ((pixeldq & reference_pixel) == reference_pixel) & ((pixeldq & do_not_use) == 0)
    return strip_positions(pixeldq.shape, detector=detector, xstart=xstart, ystart=ystart)


def strip_positions(
    shape: tuple[int, int], *, detector: str, xstart: int = 1, ystart: int = 1
) -> np.ndarray:
    """The window pixels (bool, DMS frame) on the detector's reference rows and columns.

    Rows 0-3 and 2044-2047 and columns 0-3 and 2044-2047 of the detector frame.
    """
    y0, x0, ny, nx = _window(detector, xstart, ystart, shape)
    r0, c0 = detector_window(str(detector).upper(), y0, x0, ny, nx)
    out = np.zeros((ny, nx), np.bool_)
    det = to_detector_frame(out, detector)
    h, w = det.shape
    rows = np.arange(r0, r0 + h)
    cols = np.arange(c0, c0 + w)
    det[(rows < 4) | (rows >= FULL - 4), :] = True
    det[:, (cols < 4) | (cols >= FULL - 4)] = True
    return out


def gather(data: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Values ``(nints, ngroups, npos)`` of ``data`` at ``positions`` (DMS row-major order)."""
    ys, xs = np.nonzero(positions)
    return np.ascontiguousarray(data[:, :, ys, xs], dtype=np.float32)


def place(src: np.ndarray, take: np.ndarray, out: np.ndarray, put: np.ndarray) -> None:
    """``out[:, put] = src[:, take]`` (2-D arrays, one row per plane), in parallel."""
    _place(src, np.ascontiguousarray(take, np.int64), out, np.ascontiguousarray(put, np.int64))


@njit(cache=True, parallel=True, nogil=True)
def _place(src, take, out, put):
    for i in prange(src.shape[0]):
        s = src[i]
        o = out[i]
        for j in range(take.shape[0]):
            o[put[j]] = s[take[j]]


def _index_map(positions: np.ndarray, detector: str) -> np.ndarray:
    """Detector-frame map (a view) of the window: index of each position in the values.

    -1 elsewhere.
    """
    idx = np.full(positions.shape, -1, np.int32)
    idx[positions] = np.arange(int(positions.sum()), dtype=np.int32)
    return to_detector_frame(idx, detector)


def measure(
    values: np.ndarray,
    positions: np.ndarray,
    pixeldq: np.ndarray,
    *,
    detector: str,
    xstart: int = 1,
    ystart: int = 1,
    noutputs: int = 4,
    odd_even_columns: bool = True,
    use_side_ref_pixels: bool = True,
    side_smoothing_length: int = 11,
    side_gain: float = 1.0,
    start_wide: bool = False,
    keep_zeros: bool = False,
    do_not_use: int = 1,
    reference_pixel: int = 2147483648,
) -> NirPlan | None:
    """The correction of every plane from its reference-pixel values.

    Returns None when no reference pixel of a 1-output window is usable.
    ``values``: ``(nints, ngroups, npos)`` float32 at ``positions`` (as from
    :func:`reference_positions`, DMS row-major order); ``pixeldq``: the window's PIXELDQ
    (only read at ``positions``) as from :func:`effective_dq`. The other arguments are
    those of :func:`webbcal.kernels.refpix.correct_refpix_nir`; ``start_wide`` and
    ``keep_zeros`` are set for the ZEROFRAME.
    """
    if side_smoothing_length < 1:
        raise ParameterError("side_smoothing_length must be >= 1")
    detector = str(detector).upper()
    y0, x0, ny, nx = _window(detector, xstart, ystart, pixeldq.shape)
    r0, c0 = detector_window(detector, y0, x0, ny, nx)
    nplanes = values.shape[0] * values.shape[1]
    vals = np.ascontiguousarray(values, dtype=np.float32).reshape(nplanes, -1)
    idx = _index_map(positions, detector)
    det_dq = to_detector_frame(pixeldq, detector)
    window = (y0, x0, ny, nx)
    if not is_four_output((ny, nx), noutputs):
        usable = ((det_dq & reference_pixel) == reference_pixel) & ((det_dq & do_not_use) == 0)
        rows, cols = np.nonzero(usable)
        if rows.size == 0:
            return None
        sel = idx[rows, cols]
        if (sel < 0).any():
            raise ParameterError("a usable reference pixel has no measured value")
        corr = np.zeros((nplanes, 2))
        found = np.zeros(nplanes, np.bool_)
        _one_measure(vals, sel, (cols + c0) % 2, bool(odd_even_columns), corr, found)
        return NirPlan(detector, window, False, corr, found, np.zeros((nplanes, 0)), False,
                       0.0, start_wide, keep_zeros, bool((~found).any()))  # fmt: skip
    length = int(side_smoothing_length)
    # the official reflection uses the next odd length, its window the given one
    half = (length + 1) // 2 if length % 2 == 0 else length // 2
    use_side = bool(use_side_ref_pixels)
    corr = np.zeros((nplanes, 4, 2))
    found = np.zeros((nplanes, 4), np.bool_)
    side = np.zeros((nplanes, idx.shape[0]))
    bad = np.zeros(nplanes, np.bool_)
    _four_measure(vals, idx, det_dq, r0, c0, bool(odd_even_columns), use_side, length, half,
                  start_wide, np.uint32(do_not_use), corr, found, side, bad)  # fmt: skip
    return NirPlan(detector, window, True, corr, found, side, use_side, float(side_gain),
                   start_wide, keep_zeros, bool(bad.any()))  # fmt: skip


def apply(plan: NirPlan, data: np.ndarray, row0: int = 0) -> None:
    """Subtract ``plan`` in place from ``data``: window rows ``row0:row0 + data.shape[2]``.

    ``data``: ``(nints, ngroups, rows, nx)`` float32 (DMS frame), all the planes the
    plan was measured on. The per-plane corrections are laid out along the DMS axes
    first, so that the pass over the data runs along its rows.
    """
    y0, x0, ny, nx = plan.window
    nplanes = data.shape[0] * data.shape[1]
    rows = data.shape[2]
    if data.shape[3] != nx or not 0 <= row0 <= ny - rows or nplanes != plan.corr.shape[0]:
        raise ParameterError(f"data {data.shape} (from row {row0}) is not a band of the "
                             f"measured window {plan.window}")  # fmt: skip
    r0, _ = detector_window(plan.detector, y0, x0, ny, nx)
    b0, bc0 = detector_window(plan.detector, y0 + row0, x0, rows, nx)
    # what one DMS row and one DMS column of the band are in the detector frame: detector
    # columns and window rows, or (transposed frames, ``on_rows``) the other way round
    along_row = np.empty((1, nx), np.int64)
    along_col = np.empty((rows, 1), np.int64)
    on_rows = DMS_TO_DETECTOR[plan.detector] in ("t", "t180", "180t")
    for vector, is_cols in ((along_row, not on_rows), (along_col, on_rows)):
        view = to_detector_frame(vector, plan.detector)
        if is_cols:
            view[...] = bc0 + np.arange(view.shape[1])
        else:
            view[...] = b0 - r0 + np.arange(view.shape[0])[:, None]
    cols = along_col[:, 0] if on_rows else along_row[0]
    if plan.four:
        amp, corr, found = cols // 512, plan.corr, plan.found
    else:  # one "amplifier"
        amp, corr, found = np.zeros_like(cols), plan.corr[:, None], plan.found[:, None]
    side_rows = along_row[0] if on_rows else along_col[:, 0]
    wide = np.ones(nplanes, np.bool_)
    if plan.four:
        wide[:] = plan.use_side
        wide[0] = plan.use_side and plan.start_wide
    _apply(data, corr, found, amp, cols % 2, on_rows, plan.side, side_rows, plan.side_gain,
           plan.four and plan.use_side, wide, plan.keep_zeros)  # fmt: skip


@njit(cache=True, parallel=True, nogil=True)
def _apply(cube, corr, found, amp, par, on_rows, side, side_rows, gain, use_drift, wide,
           keep_zeros):  # fmt: skip
    """``x - offset`` (rounded to float32 unless ``wide``) ``- drift`` for every plane.

    The offset of a plane is ``corr[p, amp, par]`` (0 where not ``found``) of the
    detector column's amplifier and parity, the drift ``gain * side[p, row]`` of its
    detector row; ``amp``/``par`` run along the columns of the DMS plane and
    ``side_rows`` along its rows, or the other way round (``on_rows``: a transposed
    detector frame). Zeros stay zero with ``keep_zeros``.
    """
    nints, ng, h, w = cube.shape
    for p in prange(nints * ng):
        plane = cube[p // ng, p % ng]
        wd = wide[p]
        first = np.empty(amp.size)
        for j in range(amp.size):
            first[j] = corr[p, amp[j], par[j]] if found[p, amp[j]] else 0.0
        drift = np.zeros(side_rows.size)
        if use_drift:
            for j in range(side_rows.size):
                drift[j] = gain * side[p, side_rows[j]]
        for y in range(h):
            row = plane[y]
            a_y = first[y] if on_rows else 0.0
            d_y = drift[y] if use_drift and not on_rows else 0.0
            for x in range(w):
                v = row[x]
                t = np.float64(v) - (a_y if on_rows else first[x])
                t = t if wd else np.float64(np.float32(t))
                if use_drift:
                    t = t - (drift[x] if on_rows else d_y)
                row[x] = 0.0 if keep_zeros and v == 0 else t


# ---------------------------------------------------------------------------- 4 outputs


@njit(cache=True, nogil=True)
def _amp_offsets(vals, idx, dq, r0, c0, odd_even, wide, dnu, corr, apply, buf, work):
    """Per amplifier and column parity the offsets to subtract (``apply``: found); bad."""
    h, w = idx.shape
    bad = False
    step = 2 if odd_even else 1
    for amp in range(4):
        apply[amp] = True
        for par in range(step):
            top, top32, top_ok = 0.0, False, False
            for side in range(2):  # top rows, then bottom rows
                rlo = FULL - 4 if side == 0 else 0
                m = 0
                first = amp * 512 + par
                if first < c0:  # the window's first column of this parity
                    first += (c0 - first + step - 1) // step * step
                for rl in range(max(0, rlo - r0), min(h, rlo + 4 - r0)):
                    for c in range(first, min(amp * 512 + 512, c0 + w), step):
                        if dq[rl, c - c0] & dnu == 0:
                            buf[m] = vals[idx[rl, c - c0]]
                            m += 1
                value, is32, ok = clipped_mean(buf, m, not wide, work)
                bad |= not ok
                if side == 0:
                    top, top32, top_ok = value, is32, ok
                else:
                    corr[amp, par], found = average(top, top32, top_ok, value, is32, ok)
                    apply[amp] &= found
        if not odd_even:
            corr[amp, 1] = corr[amp, 0]
    return bad


@njit(cache=True, nogil=True, inline="always")
def _amp_corrected(x, c, corr, apply, wide):
    """A pixel of detector column ``c`` after the amplifier offset, in the group's dtype."""
    amp = c // 512
    if not apply[amp]:
        return np.float64(x)
    t = np.float64(x) - corr[amp, c % 2]
    if wide:
        return t
    return np.float64(np.float32(t))


@njit(cache=True, nogil=True)
def _side_signal(vals, idx, dq, r0, c0, corr, apply, wide, length, half, dnu, side):
    """Running-median side signal (averaged left/right, NaN-aware) for the window rows."""
    h, w = idx.shape
    # amplifier-corrected side reference columns of the window rows, NaN: not usable
    cols = np.full((h, 8), np.nan)
    use = np.zeros((h, 8), np.bool_)
    for rl in range(h):
        for k in range(8):
            c = k if k < 4 else FULL - 8 + k
            cl = c - c0
            if 0 <= cl < w and dq[rl, cl] & dnu == 0:
                use[rl, k] = True
                cols[rl, k] = _amp_corrected(vals[idx[rl, cl]], c, corr, apply, wide)
    buf = np.empty(4 * length)
    med = np.empty(2)
    for rl in range(h):
        r = rl + r0
        for s in range(2):
            m = 0
            nan = False
            for kk in range(r - half, r - half + length):
                rr = reflect(kk, FULL) - r0
                if rr < 0 or rr >= h:
                    continue
                for k in range(4 * s, 4 * s + 4):
                    if use[rr, k]:
                        v = cols[rr, k]
                        if v != v:
                            nan = True
                        buf[m] = v
                        m += 1
            if m == 0 or nan:
                med[s] = np.nan
                continue
            network_sort(buf, m)
            hm = m // 2
            if m % 2 == 1:
                med[s] = buf[hm]
            elif wide:
                med[s] = (buf[hm - 1] + buf[hm]) / 2.0
            else:
                med[s] = np.float64(np.float32(buf[hm - 1] + buf[hm]) / np.float32(2.0))
        left, right = med[0], med[1]
        if left != left and right != right:
            side[rl] = 0.0
        elif left != left:
            side[rl] = right
        elif right != right:
            side[rl] = left
        else:
            side[rl] = 0.5 * (left + right)


@njit(cache=True, parallel=True, nogil=True)
def _four_measure(vals, idx, dq, r0, c0, odd_even, use_side, length, half, start_wide, dnu,
                  corr, found, side, bad):  # fmt: skip
    for p in prange(vals.shape[0]):
        wide = use_side and (p > 0 or start_wide)
        buf = np.empty(4 * 512)
        work = np.empty(4 * 512)
        bad[p] = _amp_offsets(vals[p], idx, dq, r0, c0, odd_even, wide, dnu, corr[p],
                              found[p], buf, work)  # fmt: skip
        if use_side:
            _side_signal(vals[p], idx, dq, r0, c0, corr[p], found[p], wide, length, half,
                         dnu, side[p])  # fmt: skip


# ----------------------------------------------------------------------------- 1 output


@njit(cache=True, parallel=True, nogil=True)
def _one_measure(vals, sel, parity, odd_even, corr, found):
    """One clipped mean (per column parity) of the selected values of every plane."""
    n = sel.size
    for p in prange(vals.shape[0]):
        buf = np.empty(max(n, 1))
        work = np.empty(max(n, 1))
        ok = True
        for par in range(2 if odd_even else 1):
            m = 0
            for j in range(n):
                if not odd_even or parity[j] == par:
                    buf[m] = vals[p, sel[j]]
                    m += 1
            value, _, got = clipped_mean(buf, m, True, work)
            corr[p, par] = value
            ok &= got
        if not odd_even:
            corr[p, 1] = corr[p, 0]
        found[p] = ok
