"""MIRI first-frame flagging (the official ``firstframe`` step).

With more than 3 groups, DO_NOT_USE is added to the first group of every integration;
with ``bright_use_group1``, pixels already SATURATED in the third group keep their first
group (so a slope can still be measured from groups 1-2).
"""

from __future__ import annotations

import numpy as np

from webbcal.errors import ParameterError

__all__ = ["flag_first_group"]


def flag_first_group(
    groupdq: np.ndarray, *, bright_use_group1: bool = False, do_not_use: int = 1, saturated: int = 2
) -> bool:
    """Flag the first group DO_NOT_USE in place; False (nothing done) for <= 3 groups.

    Parameters
    ----------
    groupdq : ndarray, uint8, (nints, ngroups, ny, nx)
        Group DQ, updated in place.
    bright_use_group1 : bool
        Keep the first group of pixels whose third group is SATURATED.
    do_not_use, saturated : int
        DQ flag values.
    """
    if groupdq.ndim != 4:
        raise ParameterError(f"groupdq must be 4-D, got shape {groupdq.shape}")
    if groupdq.shape[1] <= 3:
        return False
    dnu = groupdq.dtype.type(do_not_use)
    if bright_use_group1:
        keep = (groupdq[:, 2] & groupdq.dtype.type(saturated)) > 0
        groupdq[:, 0][~keep] |= dnu
    else:
        groupdq[:, 0] |= dnu
    return True
