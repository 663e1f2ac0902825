"""Group rescaling for on-board frame averaging (the official ``group_scale`` step).

Groups averaged on board are divided by FRMDIVSR, the power of two at or above NFRAMES;
when NFRAMES is not a power of two the values are low by NFRAMES / FRMDIVSR, so all
groups are multiplied by FRMDIVSR / NFRAMES (in the data's precision, as numpy does).
The step is skipped when the two keywords are equal.
"""

from __future__ import annotations

import numpy as np

from webbcal.errors import ParameterError

__all__ = ["group_scale_factor", "scale_groups"]


def group_scale_factor(nframes: int, frame_divisor: int) -> float:
    """FRMDIVSR / NFRAMES."""
    if nframes is None or frame_divisor is None or nframes <= 0:
        raise ParameterError(f"NFRAMES={nframes} and FRMDIVSR={frame_divisor} cannot scale")
    return float(frame_divisor) / nframes


def scale_groups(data: np.ndarray, nframes: int, frame_divisor: int) -> float:
    """Multiply ``data`` in place by FRMDIVSR / NFRAMES; returns the factor."""
    scale = group_scale_factor(nframes, frame_divisor)
    data *= data.dtype.type(scale)
    return scale
