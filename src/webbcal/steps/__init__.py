"""Calibration steps, one module per step named by its alias.

``MODULES`` lists the step modules of this package that the registry
(:mod:`webbcal.core.registry`) imports to find registered steps; only working steps are
listed. Helpers shared by several steps live in ``_common``.
"""

from __future__ import annotations

#: Modules of this package that define registered steps, imported by the registry.
MODULES: tuple[str, ...] = (
    "group_scale",
    "dq_init",
    "saturation",
    "ipc",
    "superbias",
    "refpix",
    "linearity",
    "persistence",
    "dark_current",
    "firstframe",
    "lastframe",
    "reset",
    "rscd",
    "jump",
    "ramp_fit",
    "gain_scale",
    "guider_cds",
    "flat_field",
    "background",
    "assign_wcs",
    "photom",
    "resample",
    "tweakreg",
    "skymatch",
    "outlier_detection",
    "source_catalog",
    "wfs_combine",
)
