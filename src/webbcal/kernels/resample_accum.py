"""Accumulating drizzled inputs on one output grid: data, weights, context, variances.

:class:`Drizzler` is the array-level engine shared by the Stage 2 and Stage 3 ``resample``:
``add`` one input after the other (its data, weights, variances and coarse pixel map, a
:class:`NodeMap`), then ``finalize`` to get the output arrays:

* SCI: ``sum(dow * d) / sum(dow)`` (``fillval`` where nothing landed), WHT: ``sum(dow)``;
* CON: ``(nplanes, ny, nx)`` int32 bit planes, bit ``k % 32`` of plane ``k // 32`` for input k;
* VAR_RNOISE, VAR_POISSON, VAR_FLAT: per input, the square roots are drizzled with the
  data's weights, squared and multiplied by ``iscale**2`` (``v_i``; the data are multiplied
  by ``iscale``); inputs are combined as ``sum(v_i W_i**2) / (sum W_i)**2`` with
  ``W_i = 1 / v_i(rnoise)`` (``weight_type="ivm"``) or the exposure time (``"exptime"``),
  as the official step. The output variance is that of one output pixel's value; it is
  not rescaled by the pixel scale ratio (neighbouring output pixels are correlated, see
  the resample step's documentation);
* ERR: ``sqrt`` of the sum of the variances (NaN where all are NaN).

Memory: the output arrays are allocated once; only the variances that are given are
drizzled, each input's variance sums live only on the output window its footprint covers,
and with a single input (Stage 2) they become the output variances in place, with no
combination arrays at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from webbcal.kernels.pixmap import NodeMap
from webbcal.kernels.resample import band_limits, drizzle_square, row_extents, x_stage

log = logging.getLogger(__name__)

__all__ = ["KERNELS", "DrizzleResult", "Drizzler", "drizzle_weight"]

#: Kernels accepted; "square" runs in numba, the others through the ``drizzle`` package.
KERNELS = ("square", "point", "turbo", "gaussian", "lanczos2", "lanczos3")

_EMPTY = np.zeros((0, 0), dtype=np.float32)
_NO_CTX = np.zeros((0, 0), dtype=np.int32)


@dataclass
class DrizzleResult:
    """Output arrays of :meth:`Drizzler.finalize` (float32 unless noted).

    A variance is None when no input gave it; ERR is None when no variance was drizzled.
    """

    data: np.ndarray
    wht: np.ndarray
    con: np.ndarray  # int32 (nplanes, ny, nx)
    var_rnoise: np.ndarray | None
    var_poisson: np.ndarray | None
    var_flat: np.ndarray | None
    err: np.ndarray | None
    n_inputs: int


@dataclass(frozen=True)
class _Input:
    """One drizzled input's variance sums, waiting to be combined."""

    window: tuple[int, int, int, int]
    iwht: np.ndarray  # this input's sum(dow) on the window
    sig: np.ndarray  # (len(kinds), h, w): sum(dow * sqrt(var))
    kinds: tuple[int, ...]  # variance kinds (0 rnoise, 1 poisson, 2 flat) of sig's planes
    exptime: float
    scale2: float  # iscale**2
    buffers: tuple[np.ndarray, ...]  # flat buffers behind iwht / sig, reusable once folded


@njit(cache=True, parallel=True, nogil=True)
def _weight(var_rnoise, dq, bad_bits, ivm, constant, use_dq, out):
    ny, nx = out.shape
    for y in prange(ny):
        for x in range(nx):
            good = not use_dq or (dq[y, x] & bad_bits) == 0
            if not good:
                out[y, x] = 0.0
            elif ivm:
                v = var_rnoise[y, x]
                out[y, x] = 1.0 / v if (v > 0.0 and np.isfinite(v)) else 0.0
            else:
                out[y, x] = constant


def drizzle_weight(
    dq: np.ndarray,
    bad_bits: int | None,
    *,
    var_rnoise: np.ndarray | None = None,
    exptime: float = 1.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Per-pixel drizzle weights of an input (float32), as the official ``build_driz_weight``.

    ``1 / VAR_RNOISE`` (0 where it is not positive and finite) when ``var_rnoise`` is
    given (``weight_type="ivm"``), else ``exptime``; 0 where ``dq & bad_bits`` (no DQ test
    when ``bad_bits`` is None). Written into ``out`` (float32, the shape of ``dq``) when
    given, e.g. a buffer reused from input to input.
    """
    if out is None or out.shape != dq.shape or out.dtype != np.float32:
        out = np.empty(dq.shape, dtype=np.float32)
    ivm = var_rnoise is not None
    rn = np.asarray(var_rnoise, dtype=np.float32) if ivm else _EMPTY
    mask = np.uint32(0 if bad_bits is None else bad_bits & 0xFFFFFFFF)
    _weight(rn, np.asarray(dq, dtype=np.uint32), mask, ivm, float(exptime), bad_bits is not None,
            out)  # fmt: skip
    return out


@njit(cache=True, nogil=True, inline="always")
def _fold_one(sig, slot, y, x, wt, weight, scale2, vsum, vwt, oy, ox):
    s = sig[slot, y, x] / wt
    v = s * s * scale2
    if np.isfinite(v):
        vsum[oy, ox] += v * weight * weight
        vwt[oy, ox] += weight


@njit(cache=True, parallel=True, nogil=True)
def _fold(
    iwht: np.ndarray,
    sig: np.ndarray,
    slots: np.ndarray,
    ivm: bool,
    exptime: float,
    scale2: float,
    oy0: int,
    ox0: int,
    vsum0: np.ndarray,
    vwt0: np.ndarray,
    vsum1: np.ndarray,
    vwt1: np.ndarray,
    vsum2: np.ndarray,
    vwt2: np.ndarray,
) -> None:
    """Add one input's drizzled variances ``(sig / iwht)**2 * scale2`` to the weighted sums.

    ``slots[k]``: the plane of ``sig`` of variance kind k (rnoise, poisson, flat; -1:
    absent), added to ``vsum{k}``/``vwt{k}``. The input's weight is ``exptime`` or, with
    ``ivm``, the inverse of its drizzled read-noise variance (1 without one); it is
    computed once per pixel for all the kinds.
    """
    h, w = iwht.shape
    k0, k1, k2 = slots[0], slots[1], slots[2]
    for y in prange(h):
        for x in range(w):
            wt = iwht[y, x]
            if not (wt > 0.0):
                continue
            weight = exptime
            if ivm:
                weight = 1.0
                if k0 >= 0:
                    r = sig[k0, y, x] / wt
                    v = r * r * scale2
                    weight = 1.0 / v if (v > 0.0 and np.isfinite(v)) else 0.0
            if not (weight > 0.0):
                continue
            oy, ox = oy0 + y, ox0 + x
            if k0 >= 0:
                _fold_one(sig, k0, y, x, wt, weight, scale2, vsum0, vwt0, oy, ox)
            if k1 >= 0:
                _fold_one(sig, k1, y, x, wt, weight, scale2, vsum1, vwt1, oy, ox)
            if k2 >= 0:
                _fold_one(sig, k2, y, x, wt, weight, scale2, vsum2, vwt2, oy, ox)


@njit(cache=True, parallel=True, nogil=True)
def _finish_data(total: np.ndarray, wht: np.ndarray, fillval: float) -> None:
    """``total / wht`` in place, ``fillval`` where nothing landed."""
    h, w = total.shape
    for y in prange(h):
        for x in range(w):
            wt = wht[y, x]
            total[y, x] = total[y, x] / wt if wt > 0.0 else fillval


@njit(cache=True, parallel=True, nogil=True)
def _finish_single(sig: np.ndarray, wht: np.ndarray, scale2: float) -> None:
    """One input: ``(sig / wht)**2 * scale2`` in place, every plane (NaN where no weight)."""
    n, h, w = sig.shape
    for y in prange(h):
        for x in range(w):
            wt = wht[y, x]
            for k in range(n):
                if wt > 0.0:
                    s = sig[k, y, x] / wt
                    sig[k, y, x] = s * s * scale2
                else:
                    sig[k, y, x] = np.nan


@njit(cache=True, parallel=True, nogil=True)
def _finish_combined(vsum: np.ndarray, vwt: np.ndarray) -> None:
    """``vsum / vwt**2`` in place into ``vsum`` (NaN where no weight)."""
    h, w = vsum.shape
    for y in prange(h):
        for x in range(w):
            wt = vwt[y, x]
            vsum[y, x] = vsum[y, x] / (wt * wt) if wt > 0.0 else np.nan


@njit(cache=True, parallel=True, nogil=True)
def _error(v0: np.ndarray, v1: np.ndarray, v2: np.ndarray, err: np.ndarray) -> None:
    """``sqrt`` of the NaN-ignoring sum of the variances (0-size: absent; NaN if all NaN)."""
    h, w = err.shape
    use0, use1, use2 = v0.size > 0, v1.size > 0, v2.size > 0
    for y in prange(h):
        for x in range(w):
            total = 0.0
            good = False
            if use0 and np.isfinite(v0[y, x]):
                total += v0[y, x]
                good = True
            if use1 and np.isfinite(v1[y, x]):
                total += v1[y, x]
                good = True
            if use2 and np.isfinite(v2[y, x]):
                total += v2[y, x]
                good = True
            err[y, x] = np.sqrt(total) if good else np.nan


class Drizzler:
    """Drizzle inputs one by one onto an output grid of ``shape`` (see the module doc).

    Parameters
    ----------
    shape : tuple of int
        Output ``(ny, nx)``.
    kernel : str
        One of :data:`KERNELS`.
    pixfrac : float
        Pixel shrink factor (0, 1].
    fillval : float
        Output value where no input landed.
    weight_type : {"ivm", "exptime"}
        How the inputs' variances are combined (the data weights are given per pixel).
    pixel_scale_ratio : float
        Output / input pixel scale: the kernel size of the non-square kernels.
    context : bool
        Keep the context (CON) bit planes (False: ``finalize`` gives a 0-plane CON).
    out : tuple of ndarray, optional
        float32 ``shape`` arrays to hold the data sums and the weights (zeroed here; they
        become the result's SCI and WHT), e.g. buffers reused from one drizzle to the next.

    Each input's weight and variance sums (needed until the next input is added) live in
    buffers kept from one input to the next: fresh memory is touched once, not per input.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        kernel: str = "square",
        pixfrac: float = 1.0,
        fillval: float = np.nan,
        weight_type: str = "ivm",
        pixel_scale_ratio: float = 1.0,
        context: bool = True,
        out: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        if kernel not in KERNELS:
            raise ValueError(f"unknown drizzle kernel {kernel!r}; use one of {', '.join(KERNELS)}")
        if weight_type not in ("ivm", "exptime"):
            raise ValueError(f"unknown weight_type {weight_type!r}; use 'ivm' or 'exptime'")
        if not 0.0 < pixfrac <= 1.0:
            raise ValueError(f"pixfrac must be in (0, 1], got {pixfrac}")
        self.shape = (int(shape[0]), int(shape[1]))
        self.kernel = kernel
        self.pixfrac = float(pixfrac)
        self.fillval = float(fillval)
        self.weight_type = weight_type
        self.pixel_scale_ratio = float(pixel_scale_ratio)
        if out is None:
            self.total = np.zeros(self.shape, dtype=np.float32)
            self.wht = np.zeros(self.shape, dtype=np.float32)
        else:
            self.total, self.wht = out
            for a in out:
                if a.shape != self.shape or a.dtype != np.float32:
                    raise ValueError(f"drizzle: out arrays must be float32 {self.shape}")
                a.fill(0.0)
        self.context = bool(context)
        self._con: list[np.ndarray] = []
        self._spare: list[np.ndarray] = []  # flat float32 buffers of folded inputs
        self.n_inputs = 0
        self._pending: _Input | None = None
        # per variance kind (rnoise, poisson, flat): running sums, allocated on first use
        self._vsum: list[np.ndarray | None] = [None, None, None]
        self._vwt: list[np.ndarray | None] = [None, None, None]

    # ---------------------------------------------------------------- adding
    def _window(self, nodemap: NodeMap) -> tuple[int, int, int, int] | None:
        ny, nx = self.shape
        nodes = nodemap.nodes
        margin = 3.0  # pixel corners (0.5) and interpolation overshoot between nodes
        xlo = int(np.floor(np.nanmin(nodes[..., 0]) - margin))
        xhi = int(np.ceil(np.nanmax(nodes[..., 0]) + margin))
        ylo = int(np.floor(np.nanmin(nodes[..., 1]) - margin))
        yhi = int(np.ceil(np.nanmax(nodes[..., 1]) + margin))
        x0, x1 = max(0, xlo), min(nx, xhi + 1)
        y0, y1 = max(0, ylo), min(ny, yhi + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        return y0, x0, y1 - y0, x1 - x0

    def _ctx_plane(self, index: int) -> tuple[np.ndarray, np.int32]:
        if not self.context:
            return _NO_CTX, np.int32(0)
        plane, bit = divmod(index, 32)
        while len(self._con) <= plane:
            self._con.append(np.zeros(self.shape, dtype=np.int32))
        return self._con[plane], np.uint32(1 << bit).view(np.int32)

    def add(
        self,
        nodemap: NodeMap,
        data: np.ndarray,
        weight: np.ndarray,
        variances: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None],
        *,
        exptime: float = 1.0,
        iscale: float = 1.0,
        sky: float = 0.0,
        bbox: tuple[int, int, int, int] | None = None,
    ) -> bool:
        """Drizzle one input.

        Parameters
        ----------
        nodemap : NodeMap
            Input pixel -> output pixel map.
        data, weight : ndarray
            ``(ny, nx)`` data and per-pixel weights (0: not used).
        variances : tuple
            ``(var_rnoise, var_poisson, var_flat)``; None for an array that is absent or
            not wanted (only the given ones are drizzled and get buffers).
        exptime : float
            The input's weight in the variance combination for ``weight_type="exptime"``.
        iscale : float
            Intensity scale: the data are multiplied by ``iscale``, the variances by
            ``iscale**2``.
        sky : float
            Subtracted from the data first (as ``data - np.float32(sky)``).
        bbox : tuple of int, optional
            Input pixel range ``(xmin, xmax, ymin, ymax)``, inclusive (default: all).

        Returns
        -------
        bool
            False when the input does not overlap the output grid.
        """
        window = self._window(nodemap)
        if window is None:
            log.warning("drizzle: input %d does not overlap the output grid", self.n_inputs)
            return False
        ny, nx = data.shape
        xmin, xmax, ymin, ymax = bbox if bbox is not None else (0, nx - 1, 0, ny - 1)
        data = np.asarray(data, dtype=np.float32)
        weight = np.asarray(weight, dtype=np.float32)
        var = tuple(
            _EMPTY if v is None else np.ascontiguousarray(v, dtype=np.float32) for v in variances
        )
        kinds = tuple(k for k, v in enumerate(var) if v.size > 0)
        slots = np.full(3, -1, dtype=np.int64)
        slots[list(kinds)] = np.arange(len(kinds))
        if self._pending is not None:
            self._fold(self._pending)
            self._pending = None
        oy0, ox0, h, w = window
        first = self.n_inputs == 0
        sig, sig_buf = self._zeros((len(kinds), h, w))  # the larger first: best fits
        if first:
            iwht, iwht_buf = self.wht[oy0 : oy0 + h, ox0 : ox0 + w], None
        else:
            iwht, iwht_buf = self._zeros((h, w))
        plane, bit = self._ctx_plane(self.n_inputs)
        views = (
            self.total[oy0 : oy0 + h, ox0 : ox0 + w],
            self.wht[oy0 : oy0 + h, ox0 : ox0 + w],
            plane if plane.size == 0 else plane[oy0 : oy0 + h, ox0 : ox0 + w],
        )
        box = (xmin, xmax, ymin, ymax)
        if self.kernel == "square":
            self._square(nodemap, data, weight, var, box, iscale, sky, window, views, iwht,
                         not first, sig, slots, bit)  # fmt: skip
        else:
            from webbcal.kernels.resample_cdriz import drizzle_with_package

            if sky:
                data = data - np.float32(sky)
            drizzle_with_package(
                self.kernel, nodemap.pixmap(), data, weight, var, box, self.pixfrac, iscale,
                self.pixel_scale_ratio, window, views, iwht, not first, sig, slots, bit,
            )  # fmt: skip
        self.n_inputs += 1
        buffers = tuple(b for b in (iwht_buf, sig_buf) if b is not None)
        pending = _Input(window, iwht, sig, kinds, float(exptime), float(iscale) ** 2, buffers)
        if first:
            self._pending = pending  # kept apart: a single input needs no combination
        else:
            self._fold(pending)
        return True

    def _zeros(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """A zeroed float32 array of ``shape`` (``(..., h, w)``) and the flat buffer it is in.

        The buffer is the smallest kept one (of a folded input) that is large enough; a new
        one can hold the planes on the whole output grid (only the part used is ever
        touched, so only that takes memory), so that it fits any later window.
        """
        size = int(np.prod(shape))
        fits = [k for k, buf in enumerate(self._spare) if buf.size >= size]
        if fits:
            buf = self._spare.pop(min(fits, key=lambda k: self._spare[k].size))
            view = buf[:size]
            view.fill(0.0)
            return view.reshape(shape), buf
        planes = int(np.prod(shape[:-2]))
        buf = np.zeros(max(size, planes * self.shape[0] * self.shape[1]), dtype=np.float32)
        return buf[:size].reshape(shape), buf

    def _square(self, nodemap, data, weight, var, box, iscale, sky, window, views, iwht,
                separate, sig, slots, bit) -> None:  # fmt: skip
        xmin, xmax, ymin, ymax = box
        oy0, ox0, h, _ = window
        dh = 0.5 * self.pixfrac
        cols = np.arange(xmin, xmax + 1, dtype=np.float64)
        if dh == 0.5:  # neighbouring pixels share their corners: one column of each
            xs_left = x_stage(nodemap.nodes, nodemap.hx, np.append(cols - dh, xmax + dh))
            xs_right = np.empty((xs_left.shape[0], 0, 2), dtype=np.float64)
        else:
            xs_left = x_stage(nodemap.nodes, nodemap.hx, cols - dh)
            xs_right = x_stage(nodemap.nodes, nodemap.hx, cols + dh)
        extents = row_extents(xs_left, xs_right, nodemap.hy, ymin, ymax, dh)
        bands = band_limits(extents, oy0, h, max(1, numba.get_num_threads()))
        out_sum, out_wht, ctx = views
        drizzle_square(
            xs_left, xs_right, nodemap.hy, data, weight, *var, xmin, ymin, ymax,
            self.pixfrac, float(iscale), float(sky), ox0, oy0, out_sum, out_wht, iwht, separate,
            sig,
            slots, ctx, bit, extents, bands,
        )  # fmt: skip

    def _fold(self, item: _Input) -> None:
        """Add an input's variances to the squared-weight sums (allocated on first use)."""
        oy0, ox0, _, _ = item.window
        slots = np.full(3, -1, dtype=np.int64)
        for slot, k in enumerate(item.kinds):
            slots[k] = slot
            if self._vsum[k] is None:
                self._vsum[k] = np.zeros(self.shape, dtype=np.float32)
                self._vwt[k] = np.zeros(self.shape, dtype=np.float32)
        if item.kinds:
            sums = [(_EMPTY, _EMPTY) if v is None else (v, self._vwt[k])
                    for k, v in enumerate(self._vsum)]  # fmt: skip
            _fold(item.iwht, item.sig, slots, self.weight_type == "ivm", item.exptime,
                  item.scale2, oy0, ox0, *sums[0], *sums[1], *sums[2])  # fmt: skip
        self._spare.extend(item.buffers)  # free to hold the next input's sums

    # ---------------------------------------------------------------- finishing
    def finalize(self) -> DrizzleResult:
        """Turn the sums into the output arrays (the Drizzler cannot be used after)."""
        if self.n_inputs == 0:
            raise ValueError("drizzle: no input was added")
        self._spare.clear()
        var: list[np.ndarray | None] = [None, None, None]
        if self._pending is not None:
            item, self._pending = self._pending, None
            oy0, ox0, h, w = item.window
            _finish_single(item.sig, self.wht[oy0 : oy0 + h, ox0 : ox0 + w], item.scale2)
            for slot, k in enumerate(item.kinds):
                if (h, w) == self.shape:
                    var[k] = item.sig[slot]
                else:
                    var[k] = np.full(self.shape, np.nan, dtype=np.float32)
                    var[k][oy0 : oy0 + h, ox0 : ox0 + w] = item.sig[slot]
        else:
            for k in range(3):
                if self._vsum[k] is not None:
                    _finish_combined(self._vsum[k], self._vwt[k])
                    var[k], self._vsum[k], self._vwt[k] = self._vsum[k], None, None
        _finish_data(self.total, self.wht, self.fillval)
        err = None
        if any(v is not None for v in var):
            err = np.empty(self.shape, dtype=np.float32)
            _error(*(_EMPTY if v is None else v for v in var), err)
        if not self._con:
            con = np.zeros((0, *self.shape), dtype=np.int32)
        else:
            con = np.stack(self._con) if len(self._con) > 1 else self._con[0][None]
        return DrizzleResult(
            data=self.total,
            wht=self.wht,
            con=con,
            var_rnoise=var[0],
            var_poisson=var[1],
            var_flat=var[2],
            err=err,
            n_inputs=self.n_inputs,
        )
