"""Simulated exposures with truth for the Stage 1 pipeline tests (made once per process).

``simulated(root, name, **config)`` runs :func:`webbcal.sim.simulate_exposure` into
``root/name`` the first time a name is asked for and returns the same
:class:`~webbcal.sim.ExposureTruth` afterwards. ``pulls(...)`` computes the statistics of
``(rate - truth) / ERR`` over usable pixels, per signal bin.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from webbcal.datamodels import dqflags
from webbcal.sim import CosmicRayConfig, ExposureConfig, ExposureTruth, simulate_exposure

_CACHE: dict[str, ExposureTruth] = {}


def simulated(root: Path, name: str, **config: Any) -> ExposureTruth:
    """The simulated exposure ``name`` (simulated into ``root/name`` on first use)."""
    if name not in _CACHE:
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        _CACHE[name] = simulate_exposure(ExposureConfig(output_dir=str(folder), **config))
    return _CACHE[name]


def no_cosmic_rays() -> CosmicRayConfig:
    """A cosmic-ray configuration with no hits."""
    return CosmicRayConfig(enabled=False)


@dataclass(frozen=True)
class PullStats:
    """Mean, standard deviation and count of the pulls in one signal bin."""

    label: str
    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        return f"{self.label}: mean {self.mean:+.3f} std {self.std:.3f} (n={self.n})"


#: DQ flags that exclude a pixel from the pull statistics.
EXCLUDE = (dqflags.DO_NOT_USE | dqflags.SATURATED | dqflags.JUMP_DET | dqflags.REFERENCE_PIXEL
           | dqflags.HOT | dqflags.WARM | dqflags.DEAD | dqflags.LOW_QE | dqflags.NO_GAIN_VALUE)


def pulls(rate: np.ndarray, err: np.ndarray, dq: np.ndarray, truth: np.ndarray,
          edges: tuple[float, ...]) -> list[PullStats]:  # fmt: skip
    """Pull statistics of ``(rate - truth) / err`` in bins of the truth rate (DN/s)."""
    good = ((dq & EXCLUDE) == 0) & np.isfinite(rate) & (err > 0) & (truth > 0)
    pull = (rate - truth) / np.where(err > 0, err, 1.0)
    out = []
    for lo, hi in itertools.pairwise(edges):
        sel = good & (truth >= lo) & (truth < hi)
        values = pull[sel]
        if values.size:
            out.append(PullStats(f"{lo:g}-{hi:g} DN/s", float(values.mean()),
                                 float(values.std()), int(values.size)))  # fmt: skip
    return out


def mask_with_usable_reference_pixels(uncal: Path, out: Path) -> Path:
    """The embedded MASK for ``uncal`` with DO_NOT_USE cleared on plain reference pixels.

    The embedded MASK flags the reference pixels REFERENCE_PIXEL | DO_NOT_USE, so the
    refpix step (which, like the official one, only uses reference pixels *without*
    DO_NOT_USE) finds none; official MASK files flag them REFERENCE_PIXEL only. Tests pass
    this file as ``override_mask`` until the embedded MASK is fixed.
    """
    from webbcal import datamodels as dm
    from webbcal.refs import best_reference

    with dm.open(uncal) as model:
        path = best_reference("mask", model)
    with dm.open(path) as mask:
        dq = np.array(mask.dq)
        plain = dq == (dqflags.REFERENCE_PIXEL | dqflags.DO_NOT_USE)
        dq[plain] = dqflags.REFERENCE_PIXEL
        fixed = dm.MaskModel(dq=dq)
        fixed.meta.update(mask.meta.to_dict())
        fixed.save(out)
    return out
