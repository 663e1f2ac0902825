"""Jump (cosmic-ray) detection by the two-point difference method.

This is the algorithm of the official ``jump`` step (stcal ``jump/twopoint_difference.py``
and ``jump/jump.py``), reorganised so that each pixel is handled once, in registers,
by a numba kernel parallel over detector rows:

1. Data and read noise are converted to electrons with the per-pixel gain; groups
   flagged DO_NOT_USE or SATURATED are excluded. First differences are taken per
   integration.
2. The differences of a pixel from *all* integrations are pooled:

   * fewer than ``min_diffs_single_pass`` usable differences per integration (the
     common case): iterative rejection. The median of the absolute differences
     (largest one excluded when >= 4 are usable) gives the Poisson noise; with the
     read-noise term, ``sigma = sqrt(|median| + rn**2 / nframes)``. The largest
     ``| |d| - median | / sigma`` is flagged while it exceeds the threshold for the
     number of usable differences (``rejection_threshold`` for >= 4,
     ``four_group_rejection_threshold`` for 3, ``three_group_rejection_threshold``
     for 2), then the statistics are recomputed without it;
   * at least ``min_diffs_single_pass``: one pass against the plain median;
   * at least ``minimum_sigclip_groups`` integrations (or groups, if not
     ``only_use_ints``): astropy-style sigma clipping across integrations.

   Most pixels have no jump: for the first two methods a side-by-side screen proves
   this from each pixel's extremes and two counts, without selecting its median
   (:mod:`webbcal.kernels._jump_screen`), and only the others are handled one by one.

3. The 4-connected neighbours of jumps between ``min_jump_to_flag_neighbors`` and
   ``max_jump_to_flag_neighbors`` sigma are flagged; groups after large jumps are
   flagged (``after_jump_flag_*``); JUMP_DET is removed where DO_NOT_USE or SATURATED
   is already set; snowballs / showers are flagged on request
   (:mod:`webbcal.kernels.jump_events`).

The arithmetic (float32 electrons, float64 statistics, the float32 rounding of the
iterative residuals) follows stcal so that the same groups are flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from webbcal.errors import ParameterError
from webbcal.kernels._jump_numba import (
    ITERATIVE,
    SIGMA_CLIP,
    SINGLE_PASS,
    _after_jump,
    _clear_redundant,
    _collect_triggers,
    _flag_bad_gain,
    _flag_neighbours,
    _planes_all,
    _post_count,
    _primary,
    _reset_full_planes,
)

__all__ = ["JumpResult", "detect_jumps"]


@dataclass(frozen=True)
class JumpResult:
    """Counts reported by :func:`detect_jumps`.

    Attributes
    ----------
    n_primary_crs : int
        Group-pixels carrying JUMP_DET right after the primary detection (before
        neighbour and after-jump flagging), as stcal counts them; -99 when detection
        was skipped for too few usable groups.
    n_extended_events : int
        Snowballs (or, when ``find_showers``, showers) found.
    skipped : bool
        True when the exposure had too few usable groups for any method.
    """

    n_primary_crs: int
    n_extended_events: int
    skipped: bool = False


# ----------------------------------------------------------------------------------------
# public entry point


def detect_jumps(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    gain: np.ndarray,
    readnoise: np.ndarray,
    *,
    nframes: int = 1,
    rejection_threshold: float = 4.0,
    three_group_rejection_threshold: float = 6.0,
    four_group_rejection_threshold: float = 5.0,
    flag_4_neighbors: bool = True,
    max_jump_to_flag_neighbors: float = 1000.0,
    min_jump_to_flag_neighbors: float = 10.0,
    after_jump_flag_dn1: float = 0.0,
    after_jump_flag_n1: int = 0,
    after_jump_flag_dn2: float = 0.0,
    after_jump_flag_n2: int = 0,
    minimum_groups: int = 3,
    minimum_sigclip_groups: int = 100,
    only_use_ints: bool = True,
    min_diffs_single_pass: int = 10,
    expand_large_events: bool = False,
    min_sat_area: float = 1.0,
    min_jump_area: float = 5.0,
    expand_factor: float = 2.0,
    use_ellipses: bool = False,
    sat_required_snowball: bool = True,
    min_sat_radius_extend: float = 2.5,
    sat_expand: int = 2,
    edge_size: int = 25,
    mask_snowball_core_next_int: bool = True,
    snowball_groups_masked_next_int: int = 25,
    find_showers: bool = False,
    extend_snr_threshold: float = 1.2,
    extend_min_area: int = 90,
    extend_inner_radius: float = 1.0,
    extend_outer_radius: float = 2.6,
    extend_ellipse_expand_ratio: float = 1.1,
    groups_masked_after_shower: int = 5,
    max_shower_amplitude: float = 6.0,
    max_extended_radius: int = 200,
    do_not_use: int = 1,
    saturated: int = 2,
    jump_det: int = 4,
    no_gain_value: int = 524288,
    reference_pixel: int = 2147483648,
) -> JumpResult:
    """Flag cosmic-ray jumps in ``groupdq`` (in place) by the two-point difference method.

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Ramps in DN; not modified.
    groupdq : ndarray, uint8, same shape
        Group DQ, updated in place with ``jump_det`` (and cleaned of JUMP_DET where
        DO_NOT_USE or SATURATED is set, as the official step does).
    pixeldq : ndarray, uint32, (ny, nx)
        Pixel DQ; ``no_gain_value | do_not_use`` is added where the gain is <= 0 or NaN.
    gain, readnoise : ndarray, (ny, nx)
        Gain (e-/DN) and CDS read noise (DN), already cut to the data's subarray.
    nframes : int
        Frames averaged per group (the read noise of a difference is
        ``readnoise**2 / nframes``).
    rejection_threshold, three_group_rejection_threshold, four_group_rejection_threshold
        Sigma thresholds for >= 4, 2 and 3 usable differences (the official names
        count groups: 3 groups = 2 differences).
    flag_4_neighbors, max_jump_to_flag_neighbors, min_jump_to_flag_neighbors
        Neighbour flagging of jumps strictly between the two sigma limits.
    after_jump_flag_dn1, after_jump_flag_n1, after_jump_flag_dn2, after_jump_flag_n2
        Jumps of at least ``dn`` DN (converted with the median gain) also flag the
        following ``n`` groups (the step converts its ``after_jump_flag_time*`` to
        groups with ``int(time // group_time)``).
    minimum_groups, minimum_sigclip_groups, only_use_ints, min_diffs_single_pass
        Method selection, as the official step.
    expand_large_events : bool
        Flag snowballs (:func:`webbcal.kernels.jump_events.flag_snowballs`).
    min_sat_area, min_jump_area : float
        Minimum saturated-core and jump areas (pixels) of a snowball.
    expand_factor : float
        Enlargement of the snowball ellipse.
    use_ellipses : bool
        Deprecated upstream, with no effect there either; accepted and ignored.
    sat_required_snowball : bool
        Require a newly saturated core inside the jump region.
    min_sat_radius_extend : float
        Minimum core axis for the core to be enlarged and flagged SATURATED.
    sat_expand : int
        Pixels added to the core radius (the step value; doubled internally).
    edge_size : int
        Distance to the detector edge within which no core is required.
    mask_snowball_core_next_int : bool
        Flag cores as jumps in the first groups of the next integration.
    snowball_groups_masked_next_int : int
        Those groups: ``int(snowball_time_masked_next_int // group_time)``.
    find_showers : bool
        Flag MIRI showers (:func:`webbcal.kernels.jump_events.flag_showers`).
    extend_snr_threshold, extend_min_area, extend_inner_radius, extend_outer_radius
        Shower detection: smoothed SNR threshold, minimum area, ring-kernel radii.
    extend_ellipse_expand_ratio : float
        Enlargement of the shower ellipse.
    groups_masked_after_shower : int
        ``int(time_masked_after_shower // group_time)``.
    max_shower_amplitude : float
        Largest change of the mean difference a shower flag may cause (the step's DN/s
        times the group time).
    max_extended_radius : int
        Largest radius of an enlarged snowball or shower (the step value; doubled).
    do_not_use, saturated, jump_det, no_gain_value, reference_pixel : int
        DQ flag values (official defaults).

    Returns
    -------
    JumpResult
        Number of primary jumps and of extended events.
    """
    if data.ndim != 4 or groupdq.shape != data.shape:
        raise ParameterError(
            f"data and groupdq must be 4-D of one shape, got {data.shape} and {groupdq.shape}"
        )
    if groupdq.dtype != np.uint8:
        raise ParameterError(f"groupdq must be uint8, got {groupdq.dtype}")
    nints, ngroups, ny, nx = data.shape
    if gain.shape != (ny, nx) or readnoise.shape != (ny, nx) or pixeldq.shape != (ny, nx):
        raise ParameterError(
            f"gain, readnoise and pixeldq must have the shape of one group {(ny, nx)}"
        )
    if ngroups < 2:
        raise ParameterError("jump detection needs at least 2 groups")
    if nframes < 1:
        raise ParameterError(f"nframes must be >= 1, got {nframes}")
    dnu, sat, jump = int(do_not_use), int(saturated), int(jump_det)
    data32 = np.ascontiguousarray(data, dtype=np.float32)
    gain32 = np.ascontiguousarray(gain, dtype=np.float32)
    rn32 = np.ascontiguousarray(readnoise, dtype=np.float32)

    _flag_bad_gain(gain32, pixeldq, pixeldq.dtype.type(int(no_gain_value) | dnu))

    # Method selection (stcal groups_all_set_dnu / check_group_counts).
    all_dnu = _planes_all(groupdq, np.uint8(dnu))
    per_int = all_dnu.sum(axis=1)
    total_groups = nints * ngroups - int(per_int.sum())
    min_usable_groups = ngroups - int(per_int.max())
    min_usable_diffs = min_usable_groups - 1
    total_sigclip = nints if only_use_ints else total_groups
    sigclip_fails = total_sigclip < minimum_sigclip_groups
    if min_usable_groups < minimum_groups and sigclip_fails:
        n_primary = -99
        skipped = True
        _clear_redundant(groupdq, np.uint8(dnu), np.uint8(sat), np.uint8(jump))
    else:
        skipped = False
        use_sigclip = (nints if only_use_ints else total_groups) >= minimum_sigclip_groups
        if use_sigclip:
            mode = SIGMA_CLIP
        elif min_usable_diffs >= min_diffs_single_pass:
            mode = SINGLE_PASS
        else:
            mode = ITERATIVE
        n_primary = _two_point(
            data32,
            groupdq,
            gain32,
            rn32,
            float(nframes),
            mode,
            rejection_threshold,
            four_group_rejection_threshold,
            three_group_rejection_threshold,
            only_use_ints,
            flag_4_neighbors,
            min_jump_to_flag_neighbors,
            max_jump_to_flag_neighbors,
            after_jump_flag_dn1,
            after_jump_flag_n1,
            after_jump_flag_dn2,
            after_jump_flag_n2,
            dnu,
            sat,
            jump,
        )

    n_events = 0
    if expand_large_events:
        from webbcal.kernels.jump_events import flag_snowballs

        n_events = flag_snowballs(
            groupdq,
            min_sat_area=min_sat_area,
            min_jump_area=min_jump_area,
            expand_factor=expand_factor,
            sat_required_snowball=sat_required_snowball,
            min_sat_radius_extend=min_sat_radius_extend,
            sat_expand=2 * sat_expand,
            edge_size=edge_size,
            max_extended_width=2 * max_extended_radius,
            mask_persist_next_int=mask_snowball_core_next_int,
            persist_groups_flagged=snowball_groups_masked_next_int,
            saturated=sat,
            jump_det=jump,
        )
    if find_showers:
        from webbcal.kernels.jump_events import flag_showers

        n_events = flag_showers(
            data32,
            groupdq,
            pixeldq,
            gain32,
            rn32,
            nframes=nframes,
            nan_flagged=not skipped,
            extend_snr_threshold=extend_snr_threshold,
            extend_min_area=extend_min_area,
            extend_inner_radius=extend_inner_radius,
            extend_outer_radius=extend_outer_radius,
            extend_ellipse_expand_ratio=extend_ellipse_expand_ratio,
            groups_masked_after_shower=groups_masked_after_shower,
            max_shower_amplitude=max_shower_amplitude,
            max_extended_width=2 * max_extended_radius,
            minimum_sigclip_groups=minimum_sigclip_groups,
            do_not_use=dnu,
            saturated=sat,
            jump_det=jump,
            reference_pixel=reference_pixel,
        )
    return JumpResult(int(n_primary), int(n_events), skipped)


def _two_point(
    data,
    gdq,
    gain,
    rn,
    rnd,
    mode,
    thr4,
    thr3,
    thr2,
    only_use_ints,
    do_nbr,
    min_nb,
    max_nb,
    dn1,
    n1,
    dn2,
    n2,
    dnu,
    sat,
    jump,
):
    ny, nx = data.shape[2], data.shape[3]
    has_jump = np.zeros((ny, nx), np.uint8)
    has_trig = np.zeros((ny, nx), np.uint8)
    row_crs = np.zeros(ny, np.int64)
    row_trig = np.zeros(ny, np.int64)
    u8 = np.uint8
    # sigma clipping: which planes keep a pixel with neither JUMP nor DO_NOT_USE
    track = mode == SIGMA_CLIP
    nplanes = data.shape[0] * data.shape[1]
    free = np.zeros((ny, nplanes) if track else (1, 1), np.uint8)
    # sigma clipping across integrations (by column blocks) also keeps the median of each
    # pixel with neighbour triggers, so that listing the triggers does not select it again
    by_block = track and bool(only_use_ints)
    trig_med = np.empty((ny, nx) if by_block else (1, 1))
    _primary(
        data,
        gdq,
        gain,
        rn,
        rnd,
        mode,
        float(thr4),
        float(thr3),
        float(thr2),
        5,
        bool(only_use_ints),
        bool(do_nbr),
        float(min_nb),
        float(max_nb),
        u8(dnu),
        u8(sat),
        u8(jump),
        has_jump,
        has_trig,
        row_crs,
        row_trig,
        track,
        free,
        trig_med,
        numba.get_num_threads(),
    )
    n_reset = 0
    if track:
        full = free.max(axis=0) == 0
        if full.any():
            # rare: stcal clears the JUMP-only pixels of planes that have no pixel free
            # of JUMP and DO_NOT_USE; the counts and triggers are then made again
            n_reset = _reset_full_planes(gdq, full, u8(jump))
            if n_reset:
                has_jump[:] = 0
                has_trig[:] = 0
                recount = np.zeros(ny, np.int64)
                _post_count(
                    data,
                    gdq,
                    gain,
                    rn,
                    rnd,
                    bool(do_nbr),
                    float(min_nb),
                    float(max_nb),
                    u8(dnu),
                    u8(sat),
                    u8(jump),
                    has_jump,
                    has_trig,
                    recount,
                    row_trig,
                )
    n_primary = int(row_crs.sum()) - n_reset
    if do_nbr and row_trig.sum() > 0:
        offsets = np.zeros(ny + 1, np.int64)
        np.cumsum(row_trig, out=offsets[1:])
        n = int(offsets[-1])
        out = [np.empty(n, np.int64) for _ in range(4)]
        _collect_triggers(
            data,
            gdq,
            gain,
            rn,
            rnd,
            float(min_nb),
            float(max_nb),
            u8(dnu),
            u8(sat),
            u8(jump),
            has_trig,
            trig_med,
            by_block and n_reset == 0,
            offsets,
            *out,
        )
        _flag_neighbours(gdq, *out, u8(dnu | sat), u8(jump), has_jump)
    if n1 > 0 or n2 > 0:
        med_gain = np.float32(np.nanmedian(gain))
        e1 = float(np.float32(dn1) * med_gain)
        e2 = float(np.float32(dn2) * med_gain)
        _after_jump(data, gdq, gain, e1, int(n1), e2, int(n2), u8(dnu), u8(sat), u8(jump), has_jump)
    return n_primary
