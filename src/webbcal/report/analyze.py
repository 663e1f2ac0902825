"""Compute a report's numbers from the files of a run (:func:`analyze`).

Per exposure: DQ counts of the rate (jumps, saturation) and of the ``_crf`` (outliers), the
number of pixels the simulator hit with cosmic rays, and the pulls

* Stage 1: ``(rate - truth_rate.SCI) / ERR`` (the truth rate is what Stage 1 estimates);
* Stage 2: ``(cal - truth_rate.SCI / FLAT * PHOTMJSR) / ERR`` in MJy/sr;
* Stage 1 with each row's median residual subtracted (``stage1_rows_removed``): the 1/f
  noise that the reference pixels leave is common to a row and not in ERR (as in the
  official pipeline), so it widens the plain pulls; without it they test the per-pixel ERR;

per level-3 product: the catalog matched to the truth scene inside the mosaic (Stage 3
pulls are the catalog flux pulls of stars), and per pipeline the step timing of the
ledger. Without truth only the truth-free numbers are made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from webbcal.errors import WebbcalError
from webbcal.report import stats
from webbcal.report.collect import RunFiles

log = logging.getLogger(__name__)

__all__ = ["ROW_DETRENDED", "Analysis", "analyze"]

#: Key of the Stage-1 pulls with each row's median residual (1/f noise) subtracted.
ROW_DETRENDED = "stage1_rows_removed"


@dataclass
class Analysis:
    """The numbers (``data``, saved as report.json) and arrays the figures need."""

    data: dict[str, Any] = field(default_factory=dict)
    pulls: dict[str, np.ndarray] = field(default_factory=dict)
    images: dict[str, Path] = field(default_factory=dict)
    mosaic: Path | None = None
    catalog: Any = None


def _open(path: Path) -> Any:
    from webbcal import datamodels

    return datamodels.open(path)


def _truth_arrays(path: Path) -> dict[str, np.ndarray]:
    from astropy.io import fits

    with fits.open(path) as hdus:
        return {
            h.name: np.asarray(h.data, dtype=np.float64) for h in hdus[1:] if h.data is not None
        }


def _cr_pixels(path: Path) -> int:
    from astropy.table import Table

    table = Table.read(path, format="ascii.ecsv")
    if len(table) == 0:
        return 0
    return len({(int(x), int(y)) for x, y in zip(table["x"], table["y"], strict=True)})


def _exposure_numbers(files: RunFiles, result: Analysis) -> list[dict[str, Any]]:
    rows = []
    pulls: dict[str, list[np.ndarray]] = {"stage1": [], "stage2": [], ROW_DETRENDED: []}
    for exposure in sorted(files.exposures.values(), key=lambda e: e.name):
        row: dict[str, Any] = {"exposure": exposure.name}
        truth_path = exposure.get("truth_rate")
        truth = _truth_arrays(truth_path) if truth_path is not None else None
        for kind, stage in (("rate", "stage1"), ("cal", "stage2")):
            path = exposure.get(kind)
            if path is None:
                continue
            result.images.setdefault(kind, path)
            with _open(path) as model:
                if model.shape is None or len(model.shape) != 2:
                    continue
                dq = np.asarray(model.dq)
                row[f"{kind}_dq"] = stats.dq_counts(dq)
                if truth is None or "SCI" not in truth:
                    continue
                expected = truth["SCI"]
                if kind == "cal":
                    photmjsr = model.meta.photometry.conversion_megajanskys
                    if not photmjsr or "FLAT" not in truth:
                        continue
                    with np.errstate(divide="ignore", invalid="ignore"):
                        expected = truth["SCI"] / truth["FLAT"] * float(photmjsr)
                if expected.shape != model.shape:
                    continue
                p = stats.image_pulls(model.data, model.err, expected, dq)
                pulls[stage].append(p)
                row[f"{stage}_pull"] = stats.pull_summary(p)
                if stage == "stage1":
                    pulls[ROW_DETRENDED].append(
                        stats.row_detrended_pulls(model.data, model.err, expected, dq)
                    )
        crf = exposure.get("crf")
        if crf is not None:
            with _open(crf) as model:
                row["crf_dq"] = stats.dq_counts(np.asarray(model.dq))
        if exposure.get("truth_cr") is not None:
            row["truth_cr_pixels"] = _cr_pixels(exposure.get("truth_cr"))
        if len(row) > 1:
            rows.append(row)
    for stage, parts in pulls.items():
        if parts:
            result.pulls[stage] = np.concatenate(parts)
    return rows


def _footprint(model: Any) -> Any:
    """``(ra, dec) -> inside`` for a mosaic: a finite pixel with weight, else None."""
    wcs = model.meta.wcs
    if wcs is None:
        return None
    weight = np.asarray(model.wht) if model.has("wht") else np.isfinite(model.data)
    ny, nx = weight.shape

    def inside(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        x, y = wcs.world_to_pixel_values(ra, dec)
        xi, yi = np.round(np.asarray(x)), np.round(np.asarray(y))
        ok = np.isfinite(xi) & np.isfinite(yi) & (xi >= 0) & (yi >= 0) & (xi < nx) & (yi < ny)
        out = np.zeros(ok.shape, bool)
        out[ok] = weight[yi[ok].astype(int), xi[ok].astype(int)] > 0
        return out

    return inside


def _product_numbers(files: RunFiles, result: Analysis) -> list[dict[str, Any]]:
    from astropy.table import Table

    exposure_names = set(files.exposures)
    level3 = [m for m in files.mosaics if m.name[: -len("_i2d.fits")] not in exposure_names]
    rows = []
    for mosaic in level3 or files.mosaics[:1]:
        cat_path, _ = files.product_files(mosaic)
        row: dict[str, Any] = {"product": mosaic.name[: -len("_i2d.fits")]}
        result.mosaic = result.mosaic or mosaic
        catalog = Table.read(cat_path, format="ascii.ecsv") if cat_path is not None else None
        if catalog is not None:
            row["n_sources"] = len(catalog)
            if result.catalog is None:
                result.catalog = catalog
        scene_path = files.truth_scene_for(mosaic)
        if catalog is not None and scene_path is not None:
            scene = Table.read(scene_path, format="ascii.ecsv")
            with _open(mosaic) as model:
                footprint = _footprint(model)
                area = model.meta.photometry.pixelarea_arcsecsq
                match = stats.catalog_match(
                    catalog,
                    scene,
                    footprint=footprint,
                    pixel_scale_arcsec=float(area) ** 0.5 if area else None,
                )
            row["match"] = match
            pairs = match.get("pairs", {})
            if pairs and mosaic == result.mosaic:
                p = (np.asarray(pairs["measured_flux"]) - np.asarray(pairs["truth_flux"])) / (
                    np.asarray(pairs["flux_err"])
                )
                star = np.asarray(pairs["star"], bool)
                result.pulls["stage3"] = p[star & np.isfinite(p)]
        rows.append(row)
    return rows


def analyze(files: RunFiles) -> Analysis:
    """The report numbers of a run; missing pieces (no truth, no stage 3) are left out."""
    result = Analysis()
    data: dict[str, Any] = {
        "output_dir": str(files.output_dir),
        "has_truth": files.has_truth,
    }
    try:
        data["exposures"] = _exposure_numbers(files, result)
        data["products"] = _product_numbers(files, result)
    except (WebbcalError, OSError, ValueError, KeyError) as exc:
        log.error("report: cannot analyse %s: %s", files.output_dir, exc)
        data["error"] = str(exc)
    data["pulls"] = {stage: stats.pull_summary(p) for stage, p in result.pulls.items()}
    data["timing"] = stats.step_timing(files.records)
    data["runs"] = [
        {
            k: r.get(k)
            for k in ("file", "pipeline", "seconds", "workers", "complete", "resumed", "failed")
        }
        for r in files.runs
        if r.get("pipeline")
    ]
    totals: dict[str, int] = {}
    for row in data.get("exposures", []):
        for key in ("rate_dq", "crf_dq"):
            for flag, count in (row.get(key) or {}).items():
                if flag != "pixels":
                    totals[f"{key[:-3]}_{flag}"] = totals.get(f"{key[:-3]}_{flag}", 0) + count
        totals["truth_cr_pixels"] = totals.get("truth_cr_pixels", 0) + row.get("truth_cr_pixels", 0)
    data["dq_totals"] = totals
    result.data = data
    return result
