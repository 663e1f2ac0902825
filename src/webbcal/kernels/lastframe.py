"""MIRI last-frame flagging (the official ``lastframe`` step).

With more than 2 groups, DO_NOT_USE is added to the last group of every integration.
"""

from __future__ import annotations

import numpy as np

from webbcal.errors import ParameterError

__all__ = ["flag_last_group"]


def flag_last_group(groupdq: np.ndarray, *, do_not_use: int = 1) -> bool:
    """Flag the last group DO_NOT_USE in place; False (nothing done) for <= 2 groups."""
    if groupdq.ndim != 4:
        raise ParameterError(f"groupdq must be 4-D, got shape {groupdq.shape}")
    if groupdq.shape[1] <= 2:
        return False
    groupdq[:, -1] |= groupdq.dtype.type(do_not_use)
    return True
