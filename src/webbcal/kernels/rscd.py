"""MIRI reset switch charge decay flagging (the official ``rscd`` step, "baseline").

The RSCD reference gives, per READPATT and SUBARRAY, how many initial groups to flag
DO_NOT_USE in the first integration (``group_skip1``) and in later ones (``group_skip``).
With fewer than 3 groups nothing is done; the counts are lowered so that at least 3
groups remain (the last one is dropped by ``lastframe``). With ``bright_use_2groups``,
pixels that saturate early keep enough groups for a slope: the count is lowered by one
for every group, from ``skip + 2`` (1-based) backwards, in which the pixel is already
SATURATED (as long as any pixel is), and such pixels get FLUX_ESTIMATED in PIXELDQ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.errors import ParameterError

__all__ = ["RscdResult", "flag_rscd_groups"]


@dataclass(frozen=True)
class RscdResult:
    """What :func:`flag_rscd_groups` did (the values the step records in ``meta.rscd``).

    ``applied`` is False for fewer than 3 groups. ``skip_first`` / ``skip_later`` are the
    counts used after lowering; ``n_lowered_first`` / ``n_lowered_later`` count the
    pixel-integrations whose count was lowered for saturation (None when not computed).
    """

    applied: bool
    skip_first: int
    skip_later: int
    n_lowered_first: int | None = None
    n_lowered_later: int | None = None


def _skip_array(gdq, skip, bright, sat, pixeldq, flux_estimated):
    """Per (integration, pixel) skip counts, lowered for saturating pixels."""
    n_ints, _, ny, nx = gdq.shape
    skip_array = np.full((n_ints, ny, nx), skip, dtype=np.int64)
    if not bright:
        return skip_array, 0
    min_group = skip + 2
    is_sat = (gdq[:, min_group - 1] & sat) > 0
    n_lowered = int(is_sat.sum())
    num = n_lowered
    while num > 0 and min_group > 0:
        skip_array[is_sat] = np.maximum(skip_array[is_sat] - 1, 0)
        pixeldq[np.any(is_sat, axis=0)] |= pixeldq.dtype.type(flux_estimated)
        min_group -= 1
        is_sat = (gdq[:, min_group - 1] & sat) > 0
        num = int(is_sat.sum())
    return skip_array, n_lowered


def _apply(gdq, skip_array, dnu):
    """DO_NOT_USE in groups ``g < skip_array`` (a group at a time: no 4-D mask)."""
    for g in range(min(int(skip_array.max(initial=0)), gdq.shape[1])):
        plane = gdq[:, g]
        np.bitwise_or(plane, dnu, out=plane, where=skip_array > g)


def flag_rscd_groups(
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    *,
    skip_first: int,
    skip_later: int,
    integration_start: int | None = None,
    exposure_nints: int | None = None,
    bright_use_2groups: bool = True,
    do_not_use: int = 1,
    saturated: int = 2,
    flux_estimated: int = 268435456,
) -> RscdResult:
    """Flag the RSCD-affected initial groups DO_NOT_USE in place.

    Parameters
    ----------
    groupdq : ndarray, uint8, (nints, ngroups, ny, nx)
        Updated in place.
    pixeldq : ndarray, uint32, (ny, nx)
        FLUX_ESTIMATED is added where the count was lowered for saturation.
    skip_first, skip_later : int
        ``group_skip1`` and ``group_skip`` from the RSCD reference table.
    integration_start : int, optional
        1-based first integration of ``groupdq`` (segmented exposures): the first-
        integration count is used only when the data start at integration 1.
    exposure_nints : int, optional
        NINTS of the whole exposure (the official step tests it, not the segment's
        length, to decide whether later integrations exist); default ``groupdq``'s.
    bright_use_2groups : bool
        Lower the counts for saturating pixels (the official default).
    do_not_use, saturated, flux_estimated : int
        DQ flag values.
    """
    if groupdq.ndim != 4:
        raise ParameterError(f"groupdq must be 4-D, got shape {groupdq.shape}")
    nints, ngroups = groupdq.shape[:2]
    nints_exp = nints if exposure_nints is None else int(exposure_nints)
    if skip_first < 0 or skip_later < 0:
        raise ParameterError("RSCD group skips must be >= 0")
    if ngroups < 3:
        return RscdResult(False, skip_first, skip_later)
    if ngroups < skip_first + 3:
        skip_first = max(0, ngroups - 3)
    if nints_exp > 1 and ngroups < skip_later + 3:
        skip_later = max(0, ngroups - 3)
    sat = groupdq.dtype.type(saturated)
    dnu = groupdq.dtype.type(do_not_use)
    start = 1 if integration_start is None else int(integration_start)
    n_first = n_later = None
    if start == 1:
        view = groupdq[0:1]
        arr, n_first = _skip_array(
            view, skip_first, bright_use_2groups, sat, pixeldq, flux_estimated
        )
        _apply(view, arr, dnu)
    first_later = 1 if start == 1 else 0
    if nints_exp > 1 and first_later < nints:
        view = groupdq[first_later:nints]
        arr, n_later = _skip_array(
            view, skip_later, bright_use_2groups, sat, pixeldq, flux_estimated
        )
        _apply(view, arr, dnu)
    return RscdResult(True, skip_first, skip_later, n_first, n_later)
