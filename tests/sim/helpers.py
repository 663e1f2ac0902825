"""Helpers of the simulator tests: effect presets, linearised ramps, clean-pixel masks."""

from __future__ import annotations

import numpy as np

from webbcal.refs.embedded.properties import detector_properties
from webbcal.sim import DetectorEffects

#: No random noise, no offsets, float64 output: the exact signal chain.
QUIET = DetectorEffects(
    poisson=False, read_noise=False, amp_offsets=False, one_over_f=False, quantize=False
)
#: Shot and read noise only (no amplifier offsets or 1/f drifts): the statistics tests.
WHITE = DetectorEffects(amp_offsets=False, one_over_f=False)


def linearize(truth) -> np.ndarray:
    """Bias-subtracted, linearity-corrected ramps (float64) of an ExposureTruth."""
    cfg = truth.config
    props = detector_properties(cfg.instrument, cfg.detector)
    x0, y0 = truth.keywords["SUBSTRT1"] - 1, truth.keywords["SUBSTRT2"] - 1
    ny, nx = truth.data.shape[-2:]
    sl = (slice(y0, y0 + ny), slice(x0, x0 + nx))
    f = truth.data.astype(np.float64) - props.superbias[sl]
    c = props.linearity[:, sl[0], sl[1]].astype(np.float64)
    return sum(c[i] * f**i for i in range(c.shape[0]))


def good_interior(truth) -> np.ndarray:
    """Light-sensitive pixels whose 3x3 neighbourhood has no DQ flag (bool (ny, nx))."""
    cfg = truth.config
    props = detector_properties(cfg.instrument, cfg.detector)
    x0, y0 = truth.keywords["SUBSTRT1"] - 1, truth.keywords["SUBSTRT2"] - 1
    ny, nx = truth.data.shape[-2:]
    bad = props.dq[y0 : y0 + ny, x0 : x0 + nx] != 0
    grown = bad.copy()
    grown[1:] |= bad[:-1]
    grown[:-1] |= bad[1:]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    grown[0, :] = grown[-1, :] = grown[:, 0] = grown[:, -1] = True
    return ~grown
