"""What a step records in the metadata of the models it produces.

* ``meta.cal_step.<cal_step>`` = ``"COMPLETE"`` or ``"SKIPPED"`` (official keys: dq_init,
  saturation, ramp_fit, flat_field ...);
* ``meta.ref_file.<reftype>.name`` = the reference file used (``"N/A"`` for an optional
  type that does not apply);
* ``meta.calibration_software_version`` = ``webbcal.__version__``;
* ``meta.webbcal.parameters`` = a mapping from step name to the parameters that step ran
  with (every parameter, common ones included, as plain data). The mapping accumulates
  across the steps of a pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import webbcal

__all__ = [
    "record_parameters",
    "record_ref_files",
    "record_software",
    "record_status",
    "recorded_parameters",
]

COMPLETE = "COMPLETE"
SKIPPED = "SKIPPED"


def record_status(model: Any, cal_step: str, status: str) -> None:
    """Set ``meta.cal_step.<cal_step>`` to COMPLETE or SKIPPED."""
    setattr(model.meta.cal_step, cal_step, status)


def record_ref_files(model: Any, names: Mapping[str, str]) -> None:
    """Set ``meta.ref_file.<reftype>.name`` for each reference file used."""
    for reftype, name in names.items():
        getattr(model.meta.ref_file, reftype).name = name


def record_software(model: Any) -> None:
    """Set the calibration software version."""
    model.meta.calibration_software_version = webbcal.__version__


def recorded_parameters(model: Any) -> dict[str, dict[str, Any]]:
    """The parameters recorded so far: step name -> parameter values."""
    return dict(_webbcal_section(model).get("parameters") or {})


def record_parameters(model: Any, step_name: str, values: Mapping[str, Any]) -> None:
    """Add ``step_name``'s parameters to ``meta.webbcal.parameters``."""
    section = _webbcal_section(model)
    parameters = dict(section.get("parameters") or {})
    parameters[step_name] = dict(values)
    section["parameters"] = parameters
    model.meta.webbcal = section


def _webbcal_section(model: Any) -> dict[str, Any]:
    """``meta.webbcal`` as a plain dict (it is not an official section, so it is set whole)."""
    node = model.meta.webbcal
    if node is None:
        return {}
    return dict(node.to_dict() if hasattr(node, "to_dict") else node)
