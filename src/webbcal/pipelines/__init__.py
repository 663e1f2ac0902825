"""The calwebb_* pipelines and the EXP_TYPE routing table.

``MODULES`` lists the pipeline modules of this package (``calwebb_detector1`` ...) that
the registry (:mod:`webbcal.core.registry`) imports to find registered pipelines. Append a
module here once its pipeline works end to end; only working pipelines are registered.

Pipeline classes are reachable as attributes of this package by class name
(``webbcal.pipelines.Detector1Pipeline``), looked up in the registry on first use.
"""

from __future__ import annotations

from typing import Any

#: Modules of this package that define registered pipelines, imported by the registry.
MODULES: tuple[str, ...] = (
    "calwebb_detector1",
    "calwebb_dark",
    "calwebb_guider",
    "calwebb_image2",
    "calwebb_image3",
)


def __getattr__(name: str) -> Any:
    if name[:1].isupper():
        from webbcal.core import registry

        cls = registry.find(name)
        if cls is not None:
            return cls
    raise AttributeError(f"module 'webbcal.pipelines' has no attribute {name!r}")
