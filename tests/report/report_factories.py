"""A small synthetic run folder for report tests: products, simulator-style truth, a ledger."""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable, Table

from webbcal.datamodels import ImageModel, dqflags
from webbcal.parallel.ledger import SCHEMA, ledger_dir, record_path, write_json_atomic

SHAPE = (64, 80)
PHOTMJSR = 2.5
RA0, DEC0 = 53.16, -27.79
SCALE_DEG = 0.03 / 3600.0


def _truth(folder: Path, name: str, rng: np.random.Generator) -> np.ndarray:
    ideal = 5.0 + rng.gamma(2.0, 1.0, SHAPE)
    flat = rng.uniform(0.95, 1.05, SHAPE)
    sci = ideal * flat
    hdus = [fits.PrimaryHDU()]
    for ext, data in (("SCI", sci), ("IDEAL", ideal), ("FLAT", flat), ("DARK", 0 * sci)):
        hdus.append(fits.ImageHDU(data.astype(np.float32), name=ext))
    fits.HDUList(hdus).writeto(folder / f"{name}_truth_rate.fits")
    cr = Table({"x": [3, 4, 10], "y": [5, 5, 7], "dn": [100.0, 90.0, 50.0]})
    cr.write(folder / f"{name}_truth_cr.ecsv", format="ascii.ecsv")
    return sci


def _product(path: Path, data: np.ndarray, err: np.ndarray, dq: np.ndarray, **meta) -> Path:
    model = ImageModel(
        data=data.astype(np.float32), err=err.astype(np.float32), dq=dq.astype(np.uint32)
    )
    model.meta.exposure.type = "NRC_IMAGE"
    model.meta.instrument.name = "NIRCAM"
    model.meta.cal_step.jump = "COMPLETE"
    for key, value in meta.items():
        model.meta.set(key, value)
    return model.save(path)


def make_run(folder: Path, *, truth: bool = True, n_exposures: int = 2, seed: int = 3) -> Path:
    """Write rate/cal/crf products, an i2d + catalog, truth (optional) and ledger records."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for k in range(1, n_exposures + 1):
        name = f"jw01234001001_01101_{k:05d}_nrca1"
        sci = _truth(folder, name, rng) if truth else 5.0 + rng.gamma(2.0, 1.0, SHAPE)
        err = np.sqrt(sci / 10.0) + 0.1
        dq = np.zeros(SHAPE, np.uint32)
        dq[5, 3:5] = dqflags.JUMP_DET
        dq[0, 0] = dqflags.SATURATED | dqflags.DO_NOT_USE
        rate = sci + rng.normal(0.0, 1.0, SHAPE) * err
        _product(folder / f"{name}_rate.fits", rate, err, dq)
        flat = fits.getdata(folder / f"{name}_truth_rate.fits", "FLAT") if truth else 1.0
        _product(
            folder / f"{name}_cal.fits",
            rate / flat * PHOTMJSR,
            err / flat * PHOTMJSR,
            dq,
            **{"photometry.conversion_megajanskys": PHOTMJSR},
        )
        crf_dq = dq.copy()
        crf_dq[20:22, 30] |= dqflags.OUTLIER
        _product(folder / f"{name}_o001_crf.fits", rate, err, crf_dq)
    _mosaic_and_catalog(folder, rng, truth)
    _ledger(folder)
    return folder


def _mosaic_and_catalog(folder: Path, rng: np.random.Generator, truth: bool) -> None:
    product = "jw01234-o001_t001_nircam_clear-f200w"
    image = rng.normal(0.0, 0.01, SHAPE)
    n = 12
    x, y = rng.uniform(5, SHAPE[1] - 5, n), rng.uniform(5, SHAPE[0] - 5, n)
    for xi, yi in zip(x, y, strict=True):
        image[int(yi), int(xi)] += 1.0
    _product(folder / f"{product}_i2d.fits", image, 0.01 + 0 * image, 0 * image)
    ra = RA0 + (x - SHAPE[1] / 2) * SCALE_DEG / np.cos(np.radians(DEC0))
    dec = DEC0 + (y - SHAPE[0] / 2) * SCALE_DEG
    flux = rng.uniform(1.0, 50.0, n)  # uJy
    kind = np.where(np.arange(n) % 3 == 0, "galaxy", "star")
    err = 0.05 * np.sqrt(flux)
    measured = flux + rng.normal(0.0, 1.0, n) * err
    cat = QTable()
    cat["label"] = np.arange(1, n + 1)
    cat["xcentroid"] = x
    cat["ycentroid"] = y
    jitter = rng.normal(0.0, 10.0 / 3.6e6, (2, n))  # 10 mas
    cat["sky_centroid"] = SkyCoord(ra + jitter[0], dec + jitter[1], unit="deg")
    cat["aper_total_flux"] = measured * 1e-6 * u.Jy
    cat["aper_total_flux_err"] = err * 1e-6 * u.Jy
    cat["isophotal_flux"] = measured * 1e-6 * u.Jy
    cat["isophotal_flux_err"] = err * 1e-6 * u.Jy
    cat["is_extended"] = kind == "galaxy"
    cat.write(folder / f"{product}_cat.ecsv", format="ascii.ecsv")
    if truth:
        scene = Table(
            {
                "id": np.arange(n + 3),
                "ra": np.r_[ra, RA0 + 1.0, RA0 + 1.0, RA0 + 1.0],
                "dec": np.r_[dec, DEC0, DEC0, DEC0],
                "flux": np.r_[flux, 1.0, 1.0, 1.0],
                "type": np.r_[kind, ["star"] * 3],
            }
        )
        scene.write(folder / f"{product}_truth_scene.ecsv", format="ascii.ecsv")


def _ledger(folder: Path) -> None:
    for pipeline, steps in (
        ("calwebb_detector1", ("dq_init", "jump", "ramp_fit")),
        ("calwebb_image2", ("flat_field", "photom")),
    ):
        where = ledger_dir(folder, pipeline)
        for k in range(2):
            write_json_atomic(
                record_path(where, f"m{k}"),
                {
                    "schema": SCHEMA,
                    "pipeline": pipeline,
                    "key": f"m{k}",
                    "status": "complete",
                    "seconds": 2.0,
                    "peak_rss_mb": 500.0,
                    "outputs": [],
                    "steps": [
                        {
                            "name": s,
                            "status": "complete",
                            "seconds": 0.5 + i,
                            "peak_rss_mb": 300.0 + 10 * i,
                        }
                        for i, s in enumerate(steps)
                    ],
                },
            )
