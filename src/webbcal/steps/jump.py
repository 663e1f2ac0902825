"""jump: flag cosmic-ray jumps in the ramps by the two-point difference method.

Wraps :func:`webbcal.kernels.jump.detect_jumps` (in place on GROUPDQ and PIXELDQ) with
the gain and read noise references cut to the subarray. Times given in seconds by the
official parameters (``after_jump_flag_time*``, ``snowball_time_masked_next_int``,
``time_masked_after_shower``) become whole groups (``int(time // TGROUP)``) and
``max_shower_amplitude`` (DN/s) becomes DN per group, as the official step does. The
step is SKIPPED for ramps of 2 groups or fewer. The primary cosmic-ray rate
(``meta.exposure.primary_cosmic_rays``, per 1000 s per pixel) and the extended-event rate
(``extended_emission_events``, per 1e6 s per pixel) are recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.core import Refs, Step, param, register
from webbcal.datamodels import RampModel, dqflags
from webbcal.kernels.jump import detect_jumps
from webbcal.steps._common import readout, ref_array, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["JumpParams", "JumpStep"]


@dataclass(frozen=True, kw_only=True)
class JumpParams:
    """Parameters of jump (the official names and defaults)."""

    rejection_threshold: float = param(4.0, "CR sigma threshold (>= 4 usable differences)")
    three_group_rejection_threshold: float = param(6.0, "CR sigma threshold for 3 groups")
    four_group_rejection_threshold: float = param(5.0, "CR sigma threshold for 4 groups")
    maximum_cores: str = param("1", "Accepted for compatibility; numba uses its own threads")
    flag_4_neighbors: bool = param(True, "Flag the 4 perpendicular neighbours of each CR")
    max_jump_to_flag_neighbors: float = param(1000.0, "Largest jump (sigma) flagging neighbours")
    min_jump_to_flag_neighbors: float = param(10.0, "Smallest jump (sigma) flagging neighbours")
    after_jump_flag_dn1: float = param(0.0, "1st after-jump flagging: jump threshold (DN)")
    after_jump_flag_time1: float = param(0.0, "1st after-jump flagging: time flagged (s)")
    after_jump_flag_dn2: float = param(0.0, "2nd after-jump flagging: jump threshold (DN)")
    after_jump_flag_time2: float = param(0.0, "2nd after-jump flagging: time flagged (s)")
    expand_large_events: bool = param(False, "Flag snowballs (near-IR large events)")
    min_sat_area: float = param(1.0, "Minimum saturated area of a snowball core (pixels)")
    min_jump_area: float = param(5.0, "Minimum jump area triggering large-event flagging")
    expand_factor: float = param(2.0, "Expansion factor of the enclosing circle/ellipse")
    use_ellipses: bool = param(False, "Deprecated (no effect)")
    sat_required_snowball: bool = param(True, "Require a saturated core for snowballs")
    min_sat_radius_extend: float = param(2.5, "Core radius above which the core is extended")
    sat_expand: int = param(2, "Pixels added to the radius of snowball cores")
    edge_size: int = param(25, "Edge zone where a saturated core is not required (pixels)")
    mask_snowball_core_next_int: bool = param(True, "Flag snowball cores in the next integration")
    snowball_time_masked_next_int: int = param(4000, "Time cores stay flagged next int (s)")
    find_showers: bool = param(False, "Flag MIRI cosmic-ray showers")
    max_shower_amplitude: float = param(4.0, "Maximum MIRI shower amplitude (DN/s)")
    extend_snr_threshold: float = param(1.2, "SNR threshold of extended shower emission")
    extend_min_area: int = param(90, "Minimum area of extended shower emission (pixels)")
    extend_inner_radius: float = param(1.0, "Inner radius of the shower ring kernel")
    extend_outer_radius: float = param(2.6, "Outer radius of the shower ring kernel")
    extend_ellipse_expand_ratio: float = param(1.1, "Expansion of the shower ellipse")
    time_masked_after_shower: float = param(15.0, "Time flagged after a shower (s)")
    min_diffs_single_pass: int = param(10, "Usable differences that skip iterative flagging")
    max_extended_radius: int = param(200, "Largest radius of a snowball or shower (pixels)")
    minimum_groups: int = param(3, "Fewest groups for jump detection")
    minimum_sigclip_groups: int = param(100, "Groups (or ints) switching to sigma clipping")
    only_use_ints: bool = param(True, "Sigma-clip each group across integrations only")


@register
class JumpStep(Step):
    """Flag cosmic-ray jumps by the two-point difference method."""

    alias = "jump"
    class_name = "JumpStep"
    description = "Detect and flag cosmic-ray jumps (two-point difference)"
    Params = JumpParams
    reftypes = ("gain", "readnoise")

    def skip_reason(self, model: Any, params: JumpParams) -> str | None:
        """SKIPPED for ramps of 2 groups or fewer."""
        shape = model.shape
        if shape is not None and len(shape) == 4 and shape[1] <= 2:
            return f"jump detection needs more than 2 groups (NGROUPS={shape[1]})"
        return None

    def process(self, model: Any, refs: Refs, params: JumpParams) -> RampModel:
        """Flag jumps in GROUPDQ (in place) and record the cosmic-ray rates."""
        ramp = to_ramp_model(model, self.name)
        gain_ref, rn_ref = refs.gain, refs.readnoise
        gain = ref_array(gain_ref, "data", ramp, what="GAIN")
        readnoise = ref_array(rn_ref, "data", ramp, what="READNOISE")
        timing = readout(ramp, self.name)
        gtime = timing.group_time
        log.info("%s: CR rejection threshold = %g sigma", self.name, params.rejection_threshold)
        result = detect_jumps(
            ramp.data, ramp.groupdq, ramp.pixeldq, gain, readnoise,
            nframes=timing.nframes,
            rejection_threshold=params.rejection_threshold,
            three_group_rejection_threshold=params.three_group_rejection_threshold,
            four_group_rejection_threshold=params.four_group_rejection_threshold,
            flag_4_neighbors=params.flag_4_neighbors,
            max_jump_to_flag_neighbors=params.max_jump_to_flag_neighbors,
            min_jump_to_flag_neighbors=params.min_jump_to_flag_neighbors,
            after_jump_flag_dn1=params.after_jump_flag_dn1,
            after_jump_flag_n1=int(params.after_jump_flag_time1 // gtime),
            after_jump_flag_dn2=params.after_jump_flag_dn2,
            after_jump_flag_n2=int(params.after_jump_flag_time2 // gtime),
            minimum_groups=params.minimum_groups,
            minimum_sigclip_groups=params.minimum_sigclip_groups,
            only_use_ints=params.only_use_ints,
            min_diffs_single_pass=params.min_diffs_single_pass,
            expand_large_events=params.expand_large_events,
            min_sat_area=params.min_sat_area,
            min_jump_area=params.min_jump_area,
            expand_factor=params.expand_factor,
            use_ellipses=params.use_ellipses,
            sat_required_snowball=params.sat_required_snowball,
            min_sat_radius_extend=params.min_sat_radius_extend,
            sat_expand=params.sat_expand,
            edge_size=params.edge_size,
            mask_snowball_core_next_int=params.mask_snowball_core_next_int,
            snowball_groups_masked_next_int=int(params.snowball_time_masked_next_int // gtime),
            find_showers=params.find_showers,
            extend_snr_threshold=params.extend_snr_threshold,
            extend_min_area=params.extend_min_area,
            extend_inner_radius=params.extend_inner_radius,
            extend_outer_radius=params.extend_outer_radius,
            extend_ellipse_expand_ratio=params.extend_ellipse_expand_ratio,
            groups_masked_after_shower=int(params.time_masked_after_shower // gtime),
            max_shower_amplitude=params.max_shower_amplitude * gtime,
            max_extended_radius=params.max_extended_radius,
            **_flag_values(),
        )  # fmt: skip
        _record_rates(ramp, result.n_primary_crs, result.n_extended_events, gtime)
        log.info("%s: %d primary jumps, %d extended events", self.name,
                 max(result.n_primary_crs, 0), result.n_extended_events)  # fmt: skip
        return ramp


def _flag_values() -> dict[str, int]:
    p = dqflags.pixel
    return {
        "do_not_use": p["DO_NOT_USE"],
        "saturated": p["SATURATED"],
        "jump_det": p["JUMP_DET"],
        "no_gain_value": p["NO_GAIN_VALUE"],
        "reference_pixel": p["REFERENCE_PIXEL"],
    }


def _record_rates(ramp: RampModel, n_crs: int, n_events: int, group_time: float) -> None:
    """Primary CRs per 1000 s per pixel and extended events per 1e6 s per pixel."""
    nints, ngroups, ny, nx = ramp.data.shape
    dnu = np.uint8(dqflags.group["DO_NOT_USE"])
    all_dnu = 0
    for i in range(nints):
        for g in range(ngroups):
            plane = ramp.groupdq[i, g]
            if plane[0, 0] & dnu and np.bitwise_and.reduce(plane, axis=None) & dnu:
                all_dnu += 1
    groups = nints * ngroups - all_dnu - nints
    if groups < 1 or n_crs < 0:
        return
    exposure_pixel_time = group_time * groups * ny * nx
    ramp.meta.exposure.primary_cosmic_rays = 1000.0 * n_crs / exposure_pixel_time
    ramp.meta.exposure.extended_emission_events = 1e6 * n_events / exposure_pixel_time
