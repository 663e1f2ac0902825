"""Ramp fitting: count rates and their variances from up-the-ramp groups.

``fit_ramps_ols`` is the official default algorithm (stcal ``OLS_C``): ordinary least
squares with Fixsen et al. (2000) optimal weighting on the jump-free, saturation-free
segments of every ramp, combined into per-integration ("rateints") and per-exposure
("rate") slopes. ``fit_ramps_likely`` (in :mod:`webbcal.kernels.ramp_fit_likely`) is the
Brandt (2024) likelihood algorithm.

Units: ``data`` in DN, ``readnoise`` the CDS read noise in DN, ``gain`` in e/DN; slopes
and errors come out in DN/s and variances in (DN/s)^2.

Memory: the 4-D inputs are only read (views and memory maps are fine, nothing 4-D is
copied); scratch is per thread and per row; outputs are O(nints * ny * nx). Pixels are
independent, so callers can fit row tiles (``data[:, :, r0:r1]``) and write into views of
full-size outputs (``out=``). Integrations can be fitted in chunks: sum
:func:`ols_median_rate_sum` over all chunks first, then call :func:`fit_ramps_ols` per
chunk with ``median_rate=`` and a shared :class:`OlsAccumulator`, and finish with
:meth:`OlsAccumulator.finalize`; this gives exactly the unchunked result.

Conventions (those of stcal/jwst): a pixel with no usable data in an integration gets a
NaN slope, zero variances and zero error, and DO_NOT_USE in that integration's DQ; the
exposure DQ has DO_NOT_USE only when every integration has it. SATURATED marks any
saturated group; JUMP_DET any jump. Bad gain (<= 0 or NaN) gives DO_NOT_USE|NO_GAIN_VALUE.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numba
import numpy as np

from webbcal.kernels import _ols_kernel as _kern
from webbcal.kernels import _ols_numba as _k

log = logging.getLogger(__name__)

__all__ = [
    "OlsAccumulator",
    "RampFitResult",
    "RateArrays",
    "fit_ramps_ols",
    "miri_group_range",
    "ols_median_rate_sum",
    "readnoise_electrons_per_group",
]

_TABLE_MAX_LENGTH = 128  # longer segments are fitted from sums instead of the table
_BLOCK_ELEMENTS = 16384  # per-thread block buffer (groups x columns): stays in L2
_SERIES_MIN_INTS = 4  # from this many integrations on, fit rows integration-major ...
_SERIES_COLUMNS = 512  # ... this many columns at a time (at most; and at most
_SERIES_BUFFER = 1 << 24  # this many groups x columns in a thread's general-path buffer)


@dataclass(frozen=True)
class RateArrays:
    """One rate product: 2-D (rate) or 3-D (rateints, one plane per integration).

    Attributes
    ----------
    data : ndarray of float32
        Slope, DN/s (the SCI extension). NaN where there is no usable data.
    dq : ndarray of uint32
        Pixel DQ flags.
    var_poisson, var_rnoise : ndarray of float32
        Variance of the slope from Poisson and read noise, (DN/s)^2.
    err : ndarray of float32
        Total uncertainty, DN/s.
    """

    data: np.ndarray
    dq: np.ndarray
    var_poisson: np.ndarray
    var_rnoise: np.ndarray
    err: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> RateArrays:
        """Uninitialised arrays of the product dtypes."""
        f = np.float32
        return cls(np.empty(shape, f), np.empty(shape, np.uint32), np.empty(shape, f),
                   np.empty(shape, f), np.empty(shape, f))


@dataclass(frozen=True)
class RampFitResult:
    """Output of a ramp fit.

    Attributes
    ----------
    rate : RateArrays or None
        Exposure-level products, shape (ny, nx); None while accumulating chunks.
    rateints : RateArrays or None
        Per-integration products, shape (nints, ny, nx); None when not requested.
    pedestal : ndarray of float32 or None
        Signal extrapolated to zero time, (nints, ny, nx), when requested (OLS only).
    chisq : ndarray of float32 or None
        Per-integration chi-squared of the likelihood fit (LIKELY only).
    algorithm : str
        ``"OLS_C"`` or ``"LIKELY"``.
    """

    rate: RateArrays | None
    rateints: RateArrays | None
    pedestal: np.ndarray | None = None
    chisq: np.ndarray | None = None
    algorithm: str = "OLS_C"


@dataclass
class OlsAccumulator:
    """Running exposure-level sums for fitting integrations in chunks (see module doc)."""

    sums: np.ndarray
    counts: np.ndarray
    nints: int = field(default=0)

    @classmethod
    def zeros(cls, shape: tuple[int, int]) -> OlsAccumulator:
        """Empty accumulator for images of ``shape`` (ny, nx)."""
        return cls(np.zeros((4, *shape)), np.zeros((4, *shape), np.int64), 0)

    def finalize(self, out: RateArrays | None = None) -> RateArrays:
        """Rate product of all integrations accumulated so far."""
        if self.nints == 0:
            raise ValueError("no integrations were accumulated")
        shape = self.sums.shape[1:]
        rate = RateArrays.empty(shape) if out is None else out
        _kern.finalize_kernel(self.sums, self.counts, self.nints, rate.data, rate.var_poisson,
                           rate.var_rnoise, rate.err, rate.dq)
        return rate


def readnoise_electrons_per_group(readnoise: np.ndarray, gain: np.ndarray,
                                  nframes: int) -> np.ndarray:
    """Per-group read noise in electrons from the CDS read noise in DN (stcal's scaling).

    ``rn * gain / sqrt(2 * nframes)``, evaluated in float64 and stored as float32 exactly
    as stcal's in-place update of its float32 array does.
    """
    rn = np.asarray(readnoise)
    g = np.asarray(gain)
    if rn.ndim == 2 and rn.shape == g.shape:  # one pass, no float64 temporaries
        out = np.empty(rn.shape, np.float32)
        _k.rn_electrons(_native(rn, "readnoise"), _native(g, "gain"),
                        float(np.sqrt(2.0 * nframes)), out)
        return out
    scale = np.asarray(g, np.float64) / np.sqrt(2.0 * nframes)
    return (np.asarray(rn, np.float64) * scale).astype(np.float32)


def miri_group_range(groupdq: np.ndarray) -> tuple[int, int] | None:
    """Groups stcal keeps for MIRI: drop leading/final groups that are DO_NOT_USE everywhere.

    Returns ``(first, stop)`` for slicing ``data[:, first:stop]`` (fit that view with
    ``clear_first_group_jump=first > 0``), or None when fewer than 2 groups remain (stcal
    then produces no output).
    """
    ngroups = groupdq.shape[1]
    first = 0
    while first < ngroups and np.all(groupdq[:, first] & _k.DO_NOT_USE):
        first += 1
    stop = ngroups
    if first < ngroups and ngroups - first > 1 and np.all(groupdq[:, -1] & _k.DO_NOT_USE):
        stop -= 1
    if stop - first < 2:
        return None
    return first, stop


def _native(a: np.ndarray, name: str) -> np.ndarray:
    if not a.dtype.isnative:
        log.debug("%s is not in native byte order; converting (copy)", name)
        return a.astype(a.dtype.newbyteorder("="))
    return a


def _check_inputs(data, groupdq, pixeldq, gain, readnoise):
    if data.ndim != 4:
        raise ValueError(f"data must be 4-D (nints, ngroups, ny, nx), got shape {data.shape}")
    if groupdq.shape != data.shape:
        raise ValueError(f"groupdq shape {groupdq.shape} differs from data {data.shape}")
    if groupdq.dtype != np.uint8:
        raise TypeError(f"groupdq must be uint8, got {groupdq.dtype}")
    if data.dtype.kind != "f":
        raise TypeError(f"data must be floating point, got {data.dtype}")
    img = data.shape[2:]
    for name, arr in (("pixeldq", pixeldq), ("gain", gain), ("readnoise", readnoise)):
        if arr.shape != img:
            raise ValueError(f"{name} shape {arr.shape} differs from the image shape {img}")


def _image(arr, shape, dtype, name):
    if arr is None:
        return np.zeros((1, 1), dtype)
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.shape != shape:
        raise ValueError(f"{name} shape {arr.shape} differs from the image shape {shape}")
    return arr


def _check_out(out: RampFitResult, nints: int, rows: int, nx: int, want_rate: bool,
               want_ints: bool) -> None:
    """Preallocated outputs must hold output rows ``0:rows`` of every product written."""
    parts = [(out.rate, 2)] if want_rate else []
    if want_ints:
        parts.append((out.rateints, 3))
    if out.pedestal is not None:
        parts.append((RateArrays(*(out.pedestal,) * 5), 3))
    for arrays, ndim in parts:
        if arrays is None:
            raise ValueError("out lacks a product that this fit writes")
        for a in (arrays.data, arrays.dq, arrays.var_poisson, arrays.var_rnoise, arrays.err):
            if a.ndim != ndim or a.shape[-1] != nx or a.shape[-2] < rows or \
                    (ndim == 3 and a.shape[0] != nints):
                raise ValueError(f"out array of shape {a.shape} cannot hold {rows} rows of "
                                 f"{nx} columns ({nints} integrations)")


def _block(nints: int, ngroups: int, nx: int) -> int:
    """Columns per block: a multiple of 8, not a power of two (avoids cache aliasing)."""
    cb = max(16, (_BLOCK_ELEMENTS // max(1, nints * ngroups)) // 8 * 8)
    if cb & (cb - 1) == 0:
        cb += 8
    return min(nx, cb)


def fit_ramps_ols(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    gain: np.ndarray,
    readnoise: np.ndarray,
    *,
    frame_time: float,
    group_time: float,
    nframes: int,
    groupgap: int = 0,
    dropframes1: int = 0,
    weighting: str = "optimal",
    zeroframe: np.ndarray | None = None,
    dark_current: np.ndarray | None = None,
    suppress_one_group: bool = True,
    chargeloss: bool = True,
    clear_first_group_jump: bool = False,
    median_rate: np.ndarray | None = None,
    accumulator: OlsAccumulator | None = None,
    save_pedestal: bool = False,
    rateints: bool = True,
    rows: tuple[int, int] | None = None,
    out_row: int = 0,
    groups: tuple[int, int] | None = None,
    out: RampFitResult | None = None,
) -> RampFitResult:
    """Fit ramps by optimally weighted ordinary least squares (stcal ``OLS_C``).

    Parameters
    ----------
    data : ndarray, (nints, ngroups, ny, nx), float32
        Ramps in DN after all detector corrections. Read only; views are fine.
    groupdq : ndarray of uint8, same shape
        Group DQ (DO_NOT_USE, SATURATED, JUMP_DET, PERSISTENCE, CHARGELOSS are used).
    pixeldq : ndarray, (ny, nx)
        Pixel DQ; copied into the output DQ. DO_NOT_USE here gives NaN slopes.
    gain : ndarray, (ny, nx)
        Gain, e/DN.
    readnoise : ndarray, (ny, nx)
        CDS read noise, DN (the READNOISE reference file).
    frame_time, group_time : float
        TFRAME and TGROUP, seconds.
    nframes, groupgap, dropframes1 : int
        NFRAMES, GROUPGAP, DRPFRMS1 (the last two only matter for the pedestal).
    weighting : {"optimal", "unweighted"}
        "optimal" is the official (and stcal's only) choice; "unweighted" fixes P = 0.
    zeroframe : ndarray, (nints, ny, nx), optional
        ZEROFRAME; used for integrations with no good group when ``suppress_one_group``
        is False (as stcal).
    dark_current : ndarray, (ny, nx), optional
        Average dark current, DN/s, added to the Poisson variance (default 0).
    suppress_one_group : bool
        Treat ramps with exactly one good group as having none (step default True);
        ignored when ngroups == 1.
    chargeloss : bool
        Recompute read-noise variances of ramps with CHARGELOSS groups as stcal does.
    clear_first_group_jump : bool
        Ignore JUMP_DET in the first group (stcal does this for MIRI after dropping
        leading DO_NOT_USE groups; see :func:`miri_group_range`).
    median_rate : ndarray, (ny, nx), float64, optional
        Exposure median rate (sum of :func:`ols_median_rate_sum` over all integrations
        divided by NINTS); required with ``accumulator``.
    accumulator : OlsAccumulator, optional
        Add this chunk of integrations to running exposure sums instead of producing
        the rate product (``result.rate`` is then None).
    save_pedestal : bool
        Also return the pedestal (fitopt PEDESTAL).
    rateints : bool
        Produce the per-integration products (False: ``result.rateints`` is None and no
        per-integration array is allocated or written; not with ``save_pedestal``).
    rows : (int, int), optional
        Fit only input rows ``rows[0]:rows[1]`` (default all).
    out_row : int
        Output row of the first fitted row: input row ``r`` goes to output row
        ``r - rows[0] + out_row``. With ``out``, fit a band with halo rows straight into
        its rows of full-frame arrays.
    groups : (int, int), optional
        Fit only groups ``groups[0]:groups[1]``, as if given ``data[:, g0:g1]`` (and the
        same of ``groupdq``) but faster than such a non-contiguous view.
    out : RampFitResult, optional
        Preallocated outputs to write into (e.g. full-frame arrays; their ``rateints``
        is ignored without ``rateints``).

    Returns
    -------
    RampFitResult
    """
    if weighting not in ("optimal", "unweighted"):
        raise ValueError(f"weighting must be 'optimal' or 'unweighted', not {weighting!r}")
    _check_inputs(data, groupdq, pixeldq, gain, readnoise)
    if nframes < 1 or group_time <= 0 or frame_time <= 0:
        raise ValueError("nframes, group_time and frame_time must be positive")
    if accumulator is not None and median_rate is None:
        raise ValueError("fitting integration chunks needs the exposure median_rate")
    data = _native(data, "data")
    nints, ngroups, ny, nx = data.shape
    g0, g1 = (0, ngroups) if groups is None else (int(groups[0]), int(groups[1]))
    if not 0 <= g0 < g1 <= ngroups:
        raise ValueError(f"groups {groups} are not within the {ngroups} groups of the data")
    ngroups = g1 - g0
    img = (ny, nx)
    sup1g = bool(suppress_one_group) and ngroups > 1

    gain32 = _image(_native(np.asarray(gain), "gain"), img, np.float32, "gain")
    rn_e = readnoise_electrons_per_group(readnoise, gain32, nframes)
    pdq = _image(pixeldq, img, np.uint32, "pixeldq")
    dark = _image(np.zeros(img, np.float32) if dark_current is None else dark_current, img,
                  np.float32, "dark_current")
    use_zf = zeroframe is not None and not sup1g
    zf = np.zeros((1, 1, 1), np.float32)
    if use_zf:
        zf = _native(np.asarray(zeroframe), "zeroframe")
        if zf.shape != (nints, ny, nx):
            raise ValueError(f"zeroframe shape {zf.shape} is not {(nints, ny, nx)}")
    use_mrate = median_rate is not None
    mrate = _image(median_rate, img, np.float64, "median_rate") if use_mrate else \
        np.zeros((1, 1))

    gt = float(np.float32(group_time))
    ft = float(np.float32(frame_time))
    ogt = (float(nframes) + 1.0) * ft / 2.0
    ped_tmp = ((nframes + 1) / 2.0 + dropframes1) / (nframes + groupgap)
    lmax = min(ngroups, _TABLE_MAX_LENGTH)
    coef = _k.slope_coefficients(lmax, weighting == "optimal")
    net = _k.median_network(ngroups - 1)

    r0, r1 = (0, ny) if rows is None else (int(rows[0]), int(rows[1]))
    if not 0 <= r0 <= r1 <= ny:
        raise ValueError(f"rows {rows} are not within the {ny} rows of the data")
    if save_pedestal and not rateints:
        raise ValueError("save_pedestal needs the per-integration products (rateints=True)")
    nrows = r1 - r0
    if out is not None:
        rate, ints, ped = out.rate, out.rateints if rateints else None, out.pedestal
        _check_out(out, nints, out_row + nrows, nx, accumulator is None, rateints)
    else:
        out_row = 0
        rate = None if accumulator is not None else RateArrays.empty((nrows, nx))
        ints = RateArrays.empty((nints, nrows, nx)) if rateints else None
        ped = np.empty((nints, nrows, nx), np.float32) if save_pedestal else None
    acc_mode = accumulator is not None
    if acc_mode:
        if accumulator.sums.shape[2] != nx or accumulator.sums.shape[1] < out_row + nrows:
            raise ValueError("accumulator image shape differs from the data")
        acc_f, acc_i = accumulator.sums, accumulator.counts
        r = RateArrays.empty((1, 1))
    else:
        acc_f, acc_i = np.zeros((4, 1, 1)), np.zeros((4, 1, 1), np.int64)
        r = rate
    i_arr = ints if ints is not None else RateArrays.empty((1, 1, 1))
    want_ped = ped is not None
    # integration-major for time series: their block path reads thousands of image planes
    # per block (the median rates come from the ramps themselves, not from median_rate)
    series = nints >= _SERIES_MIN_INTS and 3 <= ngroups <= 65 and not use_mrate
    flags = np.array([use_zf, use_mrate, sup1g, clear_first_group_jump, chargeloss,
                      weighting == "optimal", want_ped, acc_mode, False, ints is not None,
                      series], dtype=np.bool_)  # fmt: skip
    cb = min(nx, _SERIES_COLUMNS, max(16, _SERIES_BUFFER // (nints * ngroups))) if series \
        else _block(nints, ngroups, nx)
    _kern.ols_kernel(
        data, groupdq, pdq, gain32, rn_e, dark, zf, mrate, flags, gt, ft, ogt, coef, lmax, net,
        ped_tmp, cb, acc_f, acc_i, nints,
        r.data, r.var_poisson, r.var_rnoise, r.err, r.dq,
        i_arr.data, i_arr.var_poisson, i_arr.var_rnoise, i_arr.err,
        ped if want_ped else np.zeros((1, 1, 1), np.float32), i_arr.dq, np.zeros((1, 1)),
        r0, r1, out_row - r0, g0, ngroups, numba.get_num_threads(),
    )
    if acc_mode:
        accumulator.nints += nints
    return RampFitResult(rate=rate, rateints=ints, pedestal=ped, algorithm="OLS_C")


def ols_median_rate_sum(
    data: np.ndarray,
    groupdq: np.ndarray,
    *,
    frame_time: float,
    group_time: float,
    nframes: int,
    zeroframe: np.ndarray | None = None,
    suppress_one_group: bool = True,
    clear_first_group_jump: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Sum over these integrations of stcal's per-integration median rate (DN/s).

    The median rate (used for the Poisson variance) of an exposure is this sum over all
    integrations divided by NINTS. ``out`` (float64, (ny, nx)) is added to when given.
    """
    if data.ndim != 4 or groupdq.shape != data.shape or groupdq.dtype != np.uint8:
        raise ValueError("data and groupdq must be 4-D of equal shape, groupdq uint8")
    data = _native(data, "data")
    nints, ngroups, ny, nx = data.shape
    sup1g = bool(suppress_one_group) and ngroups > 1
    use_zf = zeroframe is not None and not sup1g
    zf = _native(np.asarray(zeroframe), "zeroframe") if use_zf else np.zeros((1, 1, 1),
                                                                            np.float32)
    if out is None:
        out = np.zeros((ny, nx))
    ft = float(np.float32(frame_time))
    flags = np.array([use_zf, False, sup1g, clear_first_group_jump, False, False, False, False,
                      True, False, False], dtype=np.bool_)
    one = np.zeros((1, 1), np.float32)
    f3 = np.zeros((1, 1, 1), np.float32)
    u3 = np.zeros((1, 1, 1), np.uint32)
    _kern.ols_kernel(
        data, groupdq, np.zeros((1, 1), np.uint32), one, one, one, zf, np.zeros((1, 1)), flags,
        float(np.float32(group_time)), ft, (float(nframes) + 1.0) * ft / 2.0,
        np.zeros((1, 1, 1)), 0, _k.median_network(ngroups - 1), 0.0,
        _block(nints, ngroups, nx), np.zeros((4, 1, 1)),
        np.zeros((4, 1, 1), np.int64), nints, one, one, one, one, np.zeros((1, 1), np.uint32),
        f3, f3, f3, f3, f3, u3, out, 0, ny, 0, 0, ngroups, numba.get_num_threads(),
    )
    return out
