"""rscd: flag the MIRI groups affected by the reset switch charge decay.

The RSCD reference's RSCD_GROUP_SKIP table gives, for the exposure's SUBARRAY and READPATT,
how many groups to flag DO_NOT_USE at the start of the first integration (``group_skip1``)
and of the later ones (``group_skip``). Groups are flagged only when at least three usable
groups remain; pixels that saturate early keep enough groups (and get FLUX_ESTIMATED).
SKIPPED for other instruments and when the table has no row for the exposure.
"""

from __future__ import annotations

import logging
from typing import Any

from webbcal.core import Refs, Step, register
from webbcal.core.params import NoParams
from webbcal.datamodels import RampModel, dqflags
from webbcal.kernels.rscd import flag_rscd_groups
from webbcal.steps._common import instrument_of, to_ramp_model

log = logging.getLogger(__name__)

__all__ = ["RscdStep", "rscd_skips"]


def rscd_skips(table: Any, subarray: str, readpatt: str) -> tuple[int, int] | None:
    """``(group_skip1, group_skip)`` for a SUBARRAY and READPATT (None: no row)."""
    def text(value: Any) -> str:
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        return str(value).strip().upper()

    for row in table:
        if text(row["subarray"]) == subarray and text(row["readpatt"]) == readpatt:
            return int(row["group_skip1"]), int(row["group_skip"])
    return None


@register
class RscdStep(Step):
    """MIRI: flag the first groups affected by the reset switch charge decay."""

    alias = "rscd"
    class_name = "RscdStep"
    description = "MIRI: flag the groups affected by the reset switch charge decay"
    Params = NoParams
    reftypes = ("rscd",)

    def skip_reason(self, model: Any, params: NoParams) -> str | None:
        """MIRI only."""
        if instrument_of(model) != "MIRI":
            return "the RSCD correction is only for MIRI"
        return None

    def process(self, model: Any, refs: Refs, params: NoParams) -> RampModel:
        """Flag the affected groups DO_NOT_USE (in place)."""
        ramp = to_ramp_model(model, self.name)
        subarray = str(ramp.meta.subarray.name or "FULL").strip().upper()
        readpatt = str(ramp.meta.exposure.readpatt or "").strip().upper()
        skips = rscd_skips(refs.rscd.rscd_group_skip_table, subarray, readpatt)
        if skips is None:
            skips = rscd_skips(refs.rscd.rscd_group_skip_table, "GENERIC", readpatt)
        if skips is None:
            log.warning("%s: the RSCD table has no row for %s %s; nothing flagged", self.name,
                        subarray, readpatt)  # fmt: skip
            return ramp
        exp = ramp.meta.exposure
        result = flag_rscd_groups(
            ramp.groupdq, ramp.pixeldq, skip_first=skips[0], skip_later=skips[1],
            integration_start=None if exp.integration_start is None
            else int(exp.integration_start),
            exposure_nints=None if exp.nints is None else int(exp.nints),
            do_not_use=dqflags.group["DO_NOT_USE"], saturated=dqflags.group["SATURATED"],
            flux_estimated=dqflags.pixel["FLUX_ESTIMATED"],
        )  # fmt: skip
        if result.applied:
            rscd = ramp.meta.rscd
            rscd.ngroups_skip_int1 = result.skip_first
            rscd.ngroups_skip_int2p = result.skip_later
            if result.n_lowered_first is not None:
                rscd.keep_groups_saturation_int1 = result.n_lowered_first
            if result.n_lowered_later is not None:
                rscd.keep_groups_saturation_int2p = result.n_lowered_later
        return ramp
