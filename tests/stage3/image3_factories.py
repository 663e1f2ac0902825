"""Stage 3 test inputs: dithered ``_cal``-like exposures with known truth.

Each exposure is simulated with ``webbcal.sim`` (one shared scene, a BOX dither, an
explicit pointing error per exposure, no cosmic rays in the ramps). Its calibrated image is
made directly from the truth: ``(IDEAL + noise) * PHOTMJSR`` [MJy/sr] -- a perfectly flat
fielded, IPC-free count rate -- with Gaussian noise whose variance is exactly the
VAR_POISSON + VAR_RNOISE written beside it, the detector's DQ, the simulated header keywords
and the gwcs of ``assign_wcs`` (built from the *commanded* pointing, so the pointing errors
are what tweakreg must find). Options add sky offsets and planted cosmic rays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from astropy.table import Table

from webbcal.datamodels import ImageModel, dqflags
from webbcal.datamodels.keywords import KEYWORDS
from webbcal.refs.embedded.properties import band, detector_properties
from webbcal.sim import ExposureConfig, SceneConfig, simulate_exposure
from webbcal.sim.cosmic_rays import CosmicRayConfig
from webbcal.sim.pointing import dither_offsets
from webbcal.sim.scene import generate_scene
from webbcal.steps.assign_wcs import AssignWcsStep

#: Stars only, dense enough for alignment on small subarrays.
STARS = SceneConfig(star_density=2500.0, star_flux_range=(3.0, 300.0), galaxy_density=0.0,
                    star_slope=0.7)  # fmt: skip

#: Default pointing errors (dv2, dv3 [arcsec], droll [deg]) of a 4-point dither.
ERRORS = ((0.05, -0.12, 0.0), (-0.31, 0.22, 0.002), (0.42, 0.18, -0.001), (-0.08, -0.47, 0.0))


@dataclass
class Dither:
    """A simulated dither: cal models, their truth and the scene."""

    models: list
    truths: list
    scene_table: Table
    wavelength: float
    cosmic_rays: list = field(default_factory=list)  # per exposure: (y, x) int arrays


def _paths() -> dict[str, str]:
    out: dict[str, str] = {}
    for k in KEYWORDS:
        if k.path.startswith(("guidestar.", "ref_file.")) or k.hdu not in ("PRIMARY", "SCI"):
            continue
        out.setdefault(k.keyword, k.path)
    return out


def cal_model(truth, *, seed: int = 0, sky_offset: float = 0.0) -> ImageModel:
    """An honest ``_cal``-like ImageModel [MJy/sr] of one simulated exposure (with WCS)."""
    kw = truth.keywords
    props = detector_properties(kw["INSTRUME"], kw["DETECTOR"])
    x0, y0 = int(kw.get("SUBSTRT1", 1)) - 1, int(kw.get("SUBSTRT2", 1)) - 1
    ny, nx = truth.ideal_rate.shape
    sl = (slice(y0, y0 + ny), slice(x0, x0 + nx))
    gain = props.gain[sl].astype(np.float64)
    ngroups, tgroup = int(kw["NGROUPS"]), float(kw["TGROUP"])
    texp = max(float(kw["EFFEXPTM"]), tgroup)
    rn_read = props.readnoise[sl].astype(np.float64) / math.sqrt(2.0)
    var_r = 12.0 * rn_read**2 / ((ngroups**3 - ngroups) * tgroup**2)
    rate = truth.ideal_rate.astype(np.float64)
    var_p = np.clip(rate, 0.0, None) / (gain * texp)
    dq = props.dq[sl].astype(np.uint32)
    bad = (dq & dqflags.DO_NOT_USE) != 0
    rng = np.random.default_rng(seed)
    conv = float(truth.photmjsr)
    sci = (rate + rng.standard_normal((ny, nx)) * np.sqrt(var_p + var_r)) * conv + sky_offset
    sci = np.where(bad, 0.0, sci)
    var_p = np.where(bad, 0.0, var_p) * conv**2
    var_r = np.where(bad, 0.0, var_r) * conv**2
    model = ImageModel(
        data=sci.astype(np.float32),
        dq=dq,
        var_poisson=var_p.astype(np.float32),
        var_rnoise=var_r.astype(np.float32),
        var_flat=np.zeros((ny, nx), np.float32),
        err=np.sqrt(var_p + var_r).astype(np.float32),
    )
    paths = _paths()
    for key, value in kw.items():
        if key in paths:
            model.meta.set(paths[key], value.item() if isinstance(value, np.generic) else value)
    model.meta.filename = f"{truth.name}_cal.fits"
    model = AssignWcsStep.call(model)
    model.meta.bunit_data = "MJy/sr"
    model.meta.bunit_err = "MJy/sr"
    model.meta.photometry.conversion_megajanskys = conv
    model.meta.photometry.pixelarea_steradians = float(truth.pixar_sr)
    model.meta.photometry.pixelarea_arcsecsq = float(truth.pixar_sr) * (180 / math.pi * 3600) ** 2
    for step in ("flat_field", "photom"):
        setattr(model.meta.cal_step, step, "COMPLETE")
    return model


def plant_cosmic_rays(model: ImageModel, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Add ``count`` cosmic-ray hits (1-3 pixels, 30-300 sigma) on good pixels; their pixels."""
    rng = np.random.default_rng(seed)
    ny, nx = model.shape
    good = (model.dq & dqflags.DO_NOT_USE) == 0
    ys, xs = [], []
    data, err = model.data, model.err
    while len(ys) < count:
        y, x = int(rng.integers(5, ny - 5)), int(rng.integers(5, nx - 5))
        size = int(rng.integers(1, 4))
        pix = [(y, x), (y, x + 1), (y + 1, x)][:size]
        if not all(good[p] for p in pix):
            continue
        for p in pix:
            data[p] += float(rng.uniform(30.0, 300.0)) * err[p]
            ys.append(p[0])
            xs.append(p[1])
    return np.array(ys), np.array(xs)


def simulate_dither(
    *,
    subarray: str = "SUB320",
    detector: str = "NRCA1",
    filter: str = "F200W",
    errors=ERRORS,
    dither: float = 2.0,
    scene: SceneConfig = STARS,
    sky_offsets=None,
    cosmic_rays: int = 0,
    ngroups: int = 8,
    seed: int = 7,
) -> Dither:
    """Simulate ``len(errors)`` dithered exposures and make their cal models."""
    n = len(errors)
    tmpl = ExposureConfig(instrument="NIRCAM", detector=detector, subarray=subarray,
                          filter=filter, pupil="CLEAR", readpatt="RAPID", ngroups=ngroups,
                          scene=scene, seed=seed, write=False,
                          cosmic_rays=CosmicRayConfig(enabled=False))  # fmt: skip
    offsets = dither_offsets("BOX", n, dither)
    the_scene = generate_scene(scene, tmpl.ra, tmpl.dec, 60.0, seed)
    truths, models, crs = [], [], []
    for k, (offset, err) in enumerate(zip(offsets, errors)):
        cfg = replace(tmpl, offset=offset, pointing_error=tuple(err), exposure=k + 1,
                      seed=seed * 100 + k, dither_pattern="BOX", dither_position=k + 1,
                      dither_total=n)  # fmt: skip
        truth = simulate_exposure(cfg, scene=the_scene)
        sky = 0.0 if sky_offsets is None else float(sky_offsets[k])
        model = cal_model(truth, seed=seed * 100 + k, sky_offset=sky)
        if cosmic_rays:
            crs.append(plant_cosmic_rays(model, cosmic_rays, seed * 100 + k))
        truths.append(truth)
        models.append(model)
    wavelength = band("NIRCAM", filter, "CLEAR").pivot
    table = the_scene.table.copy()
    table["flux"] = the_scene.flux_in(wavelength)
    return Dither(models, truths, table, wavelength, crs)
