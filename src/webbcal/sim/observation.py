"""Simulate an observation: dithered (and tiled) exposures of one scene, with associations."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from astropy.time import Time, TimeDelta

from webbcal.associations import asn_from_list
from webbcal.instruments.detectors import get_detector
from webbcal.instruments.geometry import get_geometry
from webbcal.instruments.readout import timing
from webbcal.instruments.subarrays import get_subarray
from webbcal.refs.embedded.properties import band
from webbcal.sim.config import ExposureConfig, ObservationConfig
from webbcal.sim.exposure import ExposureTruth, simulate_exposure
from webbcal.sim.output import atomic_write
from webbcal.sim.pointing import dither_offsets, mosaic_offsets
from webbcal.sim.scene import Scene, generate_scene

log = logging.getLogger(__name__)

__all__ = [
    "ObservationPlan",
    "ObservationResult",
    "finish_observation",
    "plan_observation",
    "simulate_observation",
    "simulate_planned",
]

#: Seconds between the end of one exposure and the start of the next (slew/settle).
EXPOSURE_OVERHEAD_S = 60.0


@dataclass
class ObservationResult:
    """What :func:`simulate_observation` made.

    Attributes
    ----------
    config : ObservationConfig
    exposures : list of ExposureTruth
        One per exposure, in order (arrays released once written, unless
        ``config.keep_arrays``).
    scene : Scene
        The sky shared by all exposures.
    product_name : str
        Level-3 product name.
    files : dict
        Role -> path of the observation-level files (``asn_image2``/``asn_tso2``,
        ``asn_image3``/``asn_tso3``, ``truth_scene``, ``manifest``).

    """

    config: ObservationConfig
    exposures: list[ExposureTruth]
    scene: Scene
    product_name: str
    files: dict[str, Path] = field(default_factory=dict)


def _product_name(cfg: ObservationConfig) -> str:
    e = cfg.exposure
    if cfg.product_name:
        return cfg.product_name
    elems = sorted(
        v.lower() for v in (e.filter, e.pupil) if v and v.upper() not in ("N/A", "NONE", "")
    )
    optical = "-".join(elems) if elems else "clear"
    return f"jw{e.program:05d}-o{e.observation:03d}_t001_{e.instrument.lower()}_{optical}"


def _exposure_seed(seed: int, k: int) -> int:
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


@dataclass
class ObservationPlan:
    """The scene and the per-exposure configurations of an observation (before simulating).

    Each exposure is independent: :func:`simulate_planned` can run them in any order or in
    other processes (the demo spreads them over its Dask workers), and
    :func:`finish_observation` writes the associations once all are done.
    """

    config: ObservationConfig
    scene: Scene
    exposures: list[ExposureConfig]
    product_name: str


def plan_observation(config: ObservationConfig) -> ObservationPlan:
    """Draw the scene and make the configuration of every exposure (nothing is simulated).

    The scene is drawn once (from the template's seed) over the whole dithered/tiled field;
    exposure ``k`` gets its own seed for noise and cosmic rays, the next exposure number,
    its dither/mosaic offset, a pointing error drawn from ``pointing_error_sigma``, and a
    start time after the previous exposure.
    """
    tmpl = config.exposure
    inst = tmpl.instrument.upper()
    det = get_detector(inst, tmpl.detector)
    band(inst, tmpl.filter, tmpl.pupil)  # an unknown filter fails before any exposure
    sub = get_subarray(inst, tmpl.subarray, det.name)
    full = get_geometry(inst, det.name, sub)
    ny, nx = sub.shape
    fov = (nx * full.x_sci_scale, ny * full.y_sci_scale)
    step = config.mosaic_step or (0.9 * fov[0], 0.9 * fov[1])
    tiles = mosaic_offsets(config.mosaic[0], config.mosaic[1], step[0], step[1])
    dithers = dither_offsets(config.dither_pattern, config.exposures, config.dither_size)
    rng = np.random.default_rng([tmpl.seed, 0xB0])
    reach = max(math.hypot(tx + dx, ty + dy) for tx, ty in tiles for dx, dy in dithers)
    radius = reach + 0.5 * math.hypot(*fov) + 5.0
    scene = generate_scene(tmpl.scene, tmpl.ra, tmpl.dec, radius, tmpl.seed)

    tim = timing(inst, tmpl.readpatt, sub, tmpl.ngroups, tmpl.nints, detector=det.name)
    start = Time(tmpl.date_obs, format="isot", scale="utc")
    configs: list[ExposureConfig] = []
    for tx, ty in tiles:
        for d, (dx, dy) in enumerate(dithers):
            k = len(configs)
            err = (
                float(rng.normal(0.0, config.pointing_error_sigma)),
                float(rng.normal(0.0, config.pointing_error_sigma)),
                float(rng.normal(0.0, config.roll_error_sigma)),
            )
            t = start + TimeDelta(k * (tim.duration + EXPOSURE_OVERHEAD_S), format="sec")
            configs.append(
                replace(
                    tmpl,
                    offset=(tx + dx, ty + dy),
                    pointing_error=err,
                    exposure=k + 1,
                    seed=_exposure_seed(tmpl.seed, k),
                    dither_pattern=config.dither_pattern,
                    dither_position=d + 1,
                    dither_total=len(dithers),
                    date_obs=t.isot,
                )
            )
    return ObservationPlan(config, scene, configs, _product_name(config))


def simulate_planned(plan: ObservationPlan, k: int) -> ExposureTruth:
    """Simulate exposure ``k`` of a plan (arrays released once written unless kept)."""
    cfg = plan.exposures[k]
    log.info("simulating exposure %d/%d: %s", k + 1, len(plan.exposures), cfg.basename)
    truth = simulate_exposure(cfg, scene=plan.scene)
    if cfg.write and not plan.config.keep_arrays:
        truth.release_arrays()
    return truth


def finish_observation(plan: ObservationPlan, exposures: list[ExposureTruth]) -> ObservationResult:
    """Write the associations, the truth scene and the manifest of simulated exposures."""
    config = plan.config
    files: dict[str, Path] = {}
    if config.exposure.write:
        out = Path(config.exposure.output_dir)
        files = _write_observation(config, exposures, plan.scene, plan.product_name, out)
    return ObservationResult(config, exposures, plan.scene, plan.product_name, files)


def simulate_observation(config: ObservationConfig) -> ObservationResult:
    """Simulate every exposure of an observation and write the associations and a manifest.

    See :func:`plan_observation` for how the exposures differ.
    """
    plan = plan_observation(config)
    exposures = [simulate_planned(plan, k) for k in range(len(plan.exposures))]
    return finish_observation(plan, exposures)


def _write_observation(
    config: ObservationConfig,
    exposures: list[ExposureTruth],
    scene: Scene,
    product: str,
    out: Path,
) -> dict[str, Path]:
    tmpl = config.exposure
    tso = tmpl.tso.enabled
    s2, s3 = ("rateints", "calints") if tso else ("rate", "cal")
    t2, t3 = ("tso-image2", "tso3") if tso else ("image2", "image3")
    stem = f"jw{tmpl.program:05d}-o{tmpl.observation:03d}"
    common = {
        "program": f"{tmpl.program:05d}",
        "acid": f"o{tmpl.observation:03d}",
        "target": "t001",
        "asn_pool": f"{stem}_sim_pool",
    }
    names = [e.name for e in exposures]
    files: dict[str, Path] = {}
    asn2 = asn_from_list(
        [f"{n}_{s2}.fits" for n in names], rule="DMSLevel2bBase", asn_type=t2, **common
    )
    files[f"asn_{t2.replace('-', '_')}"] = asn2.write(out / f"{stem}_{t2}_asn.json")
    asn3 = asn_from_list(
        [f"{n}_{s3}.fits" for n in names],
        product_name=product,
        rule="DMS_Level3_Base",
        asn_type=t3,
        **common,
    )
    files[f"asn_{t3}"] = asn3.write(out / f"{stem}_{t3}_asn.json")

    wavelength = band(tmpl.instrument, tmpl.filter, tmpl.pupil).pivot
    table = scene.table.copy()
    table["flux"] = scene.flux_in(wavelength)
    table.meta.update(
        wavelength_um=wavelength,
        background_mjysr=scene.background_at(wavelength),
        flux_units="micro-Jy in the filter (flux_ref at 2 micron, F_nu ~ lambda**beta)",
    )
    files["truth_scene"] = atomic_write(
        out / f"{product}_truth_scene.ecsv",
        lambda p: table.write(p, format="ascii.ecsv", overwrite=True),
    )
    manifest = {
        "product_name": product,
        "instrument": tmpl.instrument.upper(),
        "detector": tmpl.detector.upper(),
        "filter": tmpl.filter,
        "pupil": tmpl.pupil,
        "tso": tso,
        "files": [],
    }
    for e in exposures:
        for role, path in e.files.items():
            manifest["files"].append({"path": path.name, "role": role, "exposure": e.name})
    for role, path in files.items():
        manifest["files"].append({"path": path.name, "role": role, "exposure": None})
    files["manifest"] = atomic_write(
        out / "manifest.json",
        lambda p: p.write_text(json.dumps(manifest, indent=2) + "\n"),
    )
    return files
