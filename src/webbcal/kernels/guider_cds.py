"""FGS guider count rates by correlated double sampling (the official ``guider_cds`` step).

Per integration (DN/s, with ``tgroup`` the group time):

* ACQ1, ACQ2, TRACK: ``(group 2 - group 1) / tgroup``;
* FINEGUIDE: ``(mean of the last 4 groups - mean of the first 4) / tgroup``;
* ID (FGS_ID-IMAGE / FGS_ID-STACK): one image, ``min(CDS of integration 1, CDS of
  integration 2) / tgroup``.

Variances are ``2 (readnoise / tgroup)**2`` and ``CDS / (gain tgroup)`` (negative values
set to 0; note that the official code divides the CDS difference, not the rate, by
``gain * tgroup``, which is reproduced), and ERR is the square root of their sum.
"""

from __future__ import annotations

import warnings

import numpy as np

from webbcal.errors import ParameterError

__all__ = ["guider_rates"]


def guider_rates(
    data: np.ndarray, exp_type: str, group_time: float, gain: np.ndarray, readnoise: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Count rates and errors of an FGS guider exposure.

    Parameters
    ----------
    data : ndarray, (nints, ngroups, ny, nx)
        Raw guider ramps (DN).
    exp_type : str
        EXP_TYPE (FGS_ACQ1, FGS_ACQ2, FGS_TRACK, FGS_FINEGUIDE, FGS_ID-IMAGE, FGS_ID-STACK).
    group_time : float
        TGROUP in seconds.
    gain, readnoise : ndarray, (ny, nx)
        Gain and read noise cut to the data.

    Returns
    -------
    rate, err : ndarray, float32
        (nints, ny, nx), or (1, ny, nx) for the ID modes.
    """
    if data.ndim != 4:
        raise ParameterError(f"guider data must be 4-D, got shape {data.shape}")
    if not group_time or group_time <= 0:
        raise ParameterError(f"group time must be > 0, got {group_time}")
    exp_type = str(exp_type).upper()
    nints, ngroups, ny, nx = data.shape
    gain = np.asarray(gain, dtype=np.float32)
    readnoise = np.asarray(readnoise, dtype=np.float32)
    if exp_type.startswith("FGS_ID"):
        if nints < 2 or ngroups < 2:
            raise ParameterError(
                f"FGS ID data need 2 integrations of at least 2 groups, got {data.shape}"
            )
        d0 = data[0, 1] - data[0, 0]
        d1 = data[1, 1] - data[1, 0]
        low = np.minimum(d1, d0)
        rate = np.zeros((1, ny, nx), np.float32)
        rate[0] = low / group_time
        var_rn = np.zeros((1, ny, nx), np.float32)
        var_rn[0] = 2 * (readnoise / group_time) ** 2
        var_pn = np.zeros((1, ny, nx), np.float32)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "divide by zero", RuntimeWarning)
            warnings.filterwarnings("ignore", "invalid value", RuntimeWarning)
            var_pn[0] = low / (gain * group_time)
    else:
        slope = np.zeros((nints, ny, nx), np.float32)
        var_rn = np.zeros((nints, ny, nx), np.float32)
        var_pn = np.zeros((nints, ny, nx), np.float32)
        fine = exp_type == "FGS_FINEGUIDE"
        for i in range(nints):
            sect = data[i]
            if fine:
                slope[i] = sect[-4:].mean(axis=0) - sect[:4].mean(axis=0)
            else:
                if ngroups < 2:
                    raise ParameterError(f"{exp_type} data need at least 2 groups")
                slope[i] = sect[1] - sect[0]
            var_rn[i] = 2 * (readnoise / group_time) ** 2
            var_pn[i] = slope[i] / (gain * group_time)
        rate = slope / group_time
    var_pn[var_pn < 0] = 0.0
    err = (var_rn + var_pn) ** 0.5
    return rate.astype(np.float32, copy=False), err.astype(np.float32, copy=False)
