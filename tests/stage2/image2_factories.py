"""Stage 2 test inputs: simulated exposures turned into honest rate products.

The simulator's truth rate (``IPC(flat * IDEAL)`` [DN/s]) plus Gaussian noise whose
variance is exactly the VAR_POISSON + VAR_RNOISE written beside it, so pulls against the
truth have unit scatter by construction; header keywords are the simulated exposure's.
Exposures are simulated in memory (``write=False``) with 2 groups to stay fast.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from webbcal.datamodels import CubeModel, ImageModel, dqflags
from webbcal.datamodels.keywords import KEYWORDS
from webbcal.refs.embedded.properties import detector_properties
from webbcal.sim import ExposureConfig, SceneConfig, simulate_exposure
from webbcal.sim.cosmic_rays import CosmicRayConfig

_READPATT = {"MIRI": "FASTR1", "NIRISS": "NISRAPID", "FGS": "FGSRAPID"}

#: Dense stars, no galaxies: every small subarray holds a few sources.
STARS = SceneConfig(star_density=4000.0, star_flux_range=(50.0, 500.0), galaxy_density=0.0)


def _paths() -> dict[str, str]:
    out: dict[str, str] = {}
    for k in KEYWORDS:
        if k.path.startswith(("guidestar.", "ref_file.")) or k.hdu not in ("PRIMARY", "SCI"):
            continue
        out.setdefault(k.keyword, k.path)
    return out


def simulate(
    instrument: str = "NIRCAM",
    detector: str = "NRCA1",
    subarray: str = "FULL",
    *,
    filter: str | None = None,
    pupil: str | None = None,
    scene: SceneConfig = STARS,
    seed: int = 1,
    **kwargs: Any,
):
    """Simulate an exposure in memory (2 groups, no cosmic rays)."""
    defaults = {"NIRCAM": ("F200W", "CLEAR"), "NIRISS": ("CLEAR", "F150W"),
                "MIRI": ("F770W", None), "FGS": (None, None)}[instrument]  # fmt: skip
    cfg = ExposureConfig(
        instrument=instrument,
        detector=detector,
        subarray=subarray,
        filter=filter if filter is not None else defaults[0],
        pupil=pupil if pupil is not None else defaults[1],
        ngroups=kwargs.pop("ngroups", 2),
        readpatt=kwargs.pop("readpatt", _READPATT.get(instrument, "RAPID")),
        scene=scene,
        seed=seed,
        cosmic_rays=CosmicRayConfig(enabled=False),
        write=False,
        **kwargs,
    )
    return simulate_exposure(cfg)


def rate_model(truth: Any, *, seed: int = 0, noise: bool = True, nints: int = 1):
    """An honest rate (ImageModel) or rateints (CubeModel, ``nints`` planes) product."""
    kw = truth.keywords
    paths = _paths()
    props = detector_properties(kw["INSTRUME"], kw["DETECTOR"])
    x0, y0 = int(kw.get("SUBSTRT1", 1)) - 1, int(kw.get("SUBSTRT2", 1)) - 1
    ny, nx = truth.truth_rate.shape
    sl = (slice(y0, y0 + ny), slice(x0, x0 + nx))
    gain = props.gain[sl].astype(np.float64)
    ngroups = int(kw["NGROUPS"])
    tgroup = float(kw["TGROUP"])
    texp = max(float(kw["EFFEXPTM"]), tgroup)
    rn_read = props.readnoise[sl].astype(np.float64) / math.sqrt(2.0)
    var_r = 12.0 * rn_read**2 / ((ngroups**3 - ngroups) * tgroup**2)
    rate = truth.truth_rate.astype(np.float64)
    var_p = np.clip(rate, 0.0, None) / (gain * texp)
    dq = props.dq[sl].astype(np.uint32)
    bad = (dq & dqflags.DO_NOT_USE) != 0
    rng = np.random.default_rng(seed)
    shape = (nints, ny, nx) if nints > 1 else (ny, nx)
    sci = rate + (rng.standard_normal(shape) * np.sqrt(var_p + var_r) if noise else 0.0)
    sci = np.where(bad, 0.0, sci)
    cls = CubeModel if nints > 1 else ImageModel
    vp = np.broadcast_to(np.where(bad, 0.0, var_p), shape)
    vr = np.broadcast_to(np.where(bad, 0.0, var_r), shape)
    model = cls(
        data=sci.astype(np.float32),
        dq=np.broadcast_to(dq, shape).copy(),
        var_poisson=vp.astype(np.float32),
        var_rnoise=vr.astype(np.float32),
        err=np.sqrt(vp + vr).astype(np.float32),
    )
    for key, value in kw.items():
        if key in paths:
            model.meta.set(paths[key], value.item() if isinstance(value, np.generic) else value)
    model.meta.bunit_data = "DN/s"
    model.meta.bunit_err = "DN/s"
    model.meta.exposure.nints = nints
    model.meta.filename = f"{truth.name}_{'rateints' if nints > 1 else 'rate'}.fits"
    return model
