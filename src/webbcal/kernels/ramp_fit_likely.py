"""Likelihood ramp fitting ("LIKELY", Brandt 2024, PASP 136, 045004 and 045005).

Each integration's resultant differences are fitted with their full covariance matrix
(read noise and photon noise of the actual read pattern, so uneven MULTIACCUM tables
and multi-frame groups are handled exactly), after an optional likelihood-based jump
search that drops one difference, or two adjacent ones, while that improves chi-squared
by more than a threshold. This follows stcal's ``likely_fit`` (the jwst ``LIKELY``
algorithm) pixel by pixel; see :func:`fit_ramps_likely` for the conventions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from webbcal.kernels import _likely_numba as _k
from webbcal.kernels.ramp_fit import RampFitResult, RateArrays, _check_inputs, _native

__all__ = ["LIKELY_MIN_NGROUPS", "fit_ramps_likely", "likely_covariance", "read_times"]

#: The algorithm needs at least this many groups (jwst falls back to OLS_C below it).
LIKELY_MIN_NGROUPS = 4


def read_times(ngroups: int, *, frame_time: float, nframes: int, groupgap: int
               ) -> list[np.ndarray]:
    """Times of the frames averaged into each group for a regular readout pattern."""
    frames = np.arange(1, nframes + 1)
    return [(frames + k * (nframes + groupgap)) * frame_time for k in range(ngroups)]


def likely_covariance(readtimes: Sequence[Sequence[float]]) -> np.ndarray:
    """Per-difference covariance constants of a read pattern (paper I eqs. 4, 11, 28-29).

    Returns rows (see ``_likely_numba.CV_*``): read-noise and photon-noise parts of the
    diagonal and off-diagonal of the difference covariance, the one- and two-omission
    admissibility masks of the jump search, and the resultant spacings.
    """
    mean_t, tau, nreads = [], [], []
    for times in readtimes:
        t = np.atleast_1d(np.asarray(times, np.float64))
        n = len(t)
        mean_t.append(t.mean())
        k = np.arange(1, n + 1)
        tau.append(np.sum((2 * n + 1 - 2 * k) * t) / n**2)
        nreads.append(n)
    mean_t, tau, nr = np.array(mean_t), np.array(tau), np.array(nreads, np.float64)
    dt = mean_t[1:] - mean_t[:-1]
    nd = len(dt)
    cv = np.zeros((7, nd))
    cv[_k.CV_ARN] = (1 / nr[:-1] + 1 / nr[1:]) / dt**2
    cv[_k.CV_BRN, : nd - 1] = -1 / (nr[1:-1] * dt[1:] * dt[:-1])
    cv[_k.CV_APH] = (tau[:-1] + tau[1:] - 2 * mean_t[:-1]) / dt**2
    cv[_k.CV_BPH, : nd - 1] = (mean_t[1:-1] - tau[1:-1]) / (dt[1:] * dt[:-1])
    ok1 = nr[1:] * nr[:-1] >= 1
    ok1[0] = ok1[-1] = True
    cv[_k.CV_OK1] = ok1
    cv[_k.CV_OK2, : nd - 1] = nr[1:-1] > 1
    cv[_k.CV_DT] = dt
    return cv


def _thresholds(rejection_threshold: float | None) -> tuple[float, float]:
    if rejection_threshold is None:
        return 20.25, 23.8
    one = rejection_threshold**2
    pval = math.erfc(rejection_threshold / math.sqrt(2.0))
    two = -2.0 * math.log(pval) if pval > 0 else math.inf  # chi2(2 dof).isf(pval)
    if math.isinf(two):
        two = one + 10
    return one, two


def fit_ramps_likely(
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
    read_pattern: Sequence[Sequence[float]] | None = None,
    zeroframe: np.ndarray | None = None,
    dark_current: np.ndarray | None = None,
    detect_jumps: bool = True,
    rejection_threshold: float | None = None,
) -> RampFitResult:
    """Fit ramps with the likelihood algorithm (stcal/jwst ``LIKELY``).

    Parameters
    ----------
    data, groupdq, pixeldq, gain, readnoise
        As :func:`webbcal.kernels.ramp_fit.fit_ramps_ols` (readnoise is the CDS noise in
        DN; the per-read noise used is readnoise / sqrt(2)). ngroups must be >= 4.
    frame_time, group_time, nframes, groupgap
        Readout timing; ``group_time`` is accepted for symmetry (the read times define
        the fit).
    read_pattern : list of lists of float, optional
        Times of the reads averaged into each resultant (uneven MULTIACCUM tables); by
        default a regular pattern from ``nframes``, ``groupgap`` and ``frame_time``.
    zeroframe : ndarray, (nints, ny, nx), optional
        Used as an extra first resultant when the first group has >= 2 reads.
    dark_current : ndarray, (ny, nx), optional
        Average dark current (DN/s), added to the rate that sets the photon noise.
    detect_jumps : bool
        Run the likelihood jump search (stcal always does); newly found jumps set
        JUMP_DET in the rateints/rate DQ (the input ``groupdq`` is not modified).
    rejection_threshold : float, optional
        Jump threshold in sigma; default thresholds are chi2 20.25 (one difference) and
        23.8 (two), as stcal.

    Returns
    -------
    RampFitResult
        ``algorithm="LIKELY"``, with per-integration ``chisq``. A difference touching any
        flagged group is not used; pixels with none get NaN slope and variances. ERR is
        the fit uncertainty per integration; the rate combines integrations by
        iteratively reweighted means (stcal), ERR = sqrt(VAR_POISSON + VAR_RNOISE).
    """
    _check_inputs(data, groupdq, pixeldq, gain, readnoise)
    data = _native(data, "data")
    nints, ngroups, ny, nx = data.shape
    if ngroups < LIKELY_MIN_NGROUPS:
        raise ValueError(f"LIKELY needs >= {LIKELY_MIN_NGROUPS} groups, got {ngroups}")
    img = (ny, nx)
    rt = [np.atleast_1d(np.asarray(t, np.float64)) for t in (
        read_pattern if read_pattern is not None else
        read_times(ngroups, frame_time=frame_time, nframes=nframes, groupgap=groupgap))]
    if len(rt) != ngroups:
        raise ValueError(f"read_pattern has {len(rt)} resultants, data has {ngroups}")
    use_zf = zeroframe is not None and len(rt[0]) >= 2
    zf = np.zeros((1, 1, 1), data.dtype)
    if use_zf:
        zf = _native(np.asarray(zeroframe), "zeroframe")
        if zf.shape != (nints, ny, nx):
            raise ValueError(f"zeroframe shape {zf.shape} is not {(nints, ny, nx)}")
        rt = [rt[0][:1], rt[0][1:], *rt[1:]]
    cv = likely_covariance(rt)
    nd = cv.shape[1]
    th1, th2 = _thresholds(rejection_threshold)
    gain32 = np.ascontiguousarray(gain, np.float32)
    rn = np.asarray(readnoise, np.float64) / np.sqrt(2.0)
    dark = (np.zeros(img, np.float32) if dark_current is None
            else np.ascontiguousarray(dark_current, np.float32))
    pdq = np.ascontiguousarray(pixeldq, np.uint32)
    ints = RateArrays.empty((nints, ny, nx))
    chisq = np.empty((nints, ny, nx), np.float32)
    _k.likely_kernel(data, groupdq, pdq, gain32, rn, dark, zf, use_zf, nframes, cv, nd,
                     bool(detect_jumps), th1, th2, ints.data, ints.var_poisson,
                     ints.var_rnoise, ints.err, chisq, ints.dq)
    return RampFitResult(rate=_combine_integrations(ints), rateints=ints,
                         chisq=chisq, algorithm="LIKELY")


def _combine_integrations(ints: RateArrays) -> RateArrays:
    """Exposure rate from per-integration fits (stcal ``compute_image_info``)."""
    if ints.data.shape[0] == 1:
        return RateArrays(ints.data[0], ints.dq[0], ints.var_poisson[0], ints.var_rnoise[0],
                          ints.err[0])
    dnu = np.uint32(1)
    dq = np.bitwise_or.reduce(ints.dq, axis=0) & ~dnu
    dq[np.all(ints.dq & dnu, axis=0)] |= dnu
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        slope = np.nanmedian(ints.data, axis=0)
        for _ in range(2):  # reweight with the Poisson variance scaled to the mean rate
            scale = slope[np.newaxis] / ints.data
            scale[~np.isfinite(scale) | (scale < 0)] = 0
            var_p = ints.var_poisson * scale
            weight = 1 / (var_p + ints.var_rnoise)
            weight /= np.nansum(weight, axis=0)[np.newaxis]
            terms = ints.data * weight
            slope = np.nansum(terms, axis=0)
            slope[np.all(np.isnan(terms), axis=0)] = np.nan
        out = []
        for v in (var_p, ints.var_rnoise):
            terms = v * weight**2
            tot = np.nansum(terms, axis=0)
            tot[np.all(np.isnan(terms), axis=0)] = np.nan
            out.append(tot)
        err = np.sqrt(out[0] + out[1])
    f = np.float32
    return RateArrays(slope.astype(f), dq.astype(np.uint32), out[0].astype(f),
                      out[1].astype(f), err.astype(f))
