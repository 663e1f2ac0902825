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
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from webbcal.errors import WebbcalError
from webbcal.report import figures as figs
from webbcal.report import stats
from webbcal.report.collect import Exposure, RunFiles

log = logging.getLogger(__name__)

__all__ = ["ROW_DETRENDED", "Analysis", "AnalysisRun", "analyze"]

_ERRORS = (WebbcalError, OSError, ValueError, KeyError)

#: Key of the Stage-1 pulls with each row's median residual (1/f noise) subtracted.
ROW_DETRENDED = "stage1_rows_removed"


@dataclass
class Analysis:
    """The numbers (``data``, saved as report.json) and arrays the figures need.

    ``images`` holds, per kind (``rate``, ``cal``), the title and the science array of the
    first exposure as a figure thumbnail; ``mosaic_image`` the thumbnail of ``mosaic``,
    made of blocks of ``mosaic_block`` pixels (:func:`webbcal.report.figures.thumbnail`).
    """

    data: dict[str, Any] = field(default_factory=dict)
    pulls: dict[str, np.ndarray] = field(default_factory=dict)
    images: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    mosaic: Path | None = None
    mosaic_image: np.ndarray | None = None
    mosaic_block: int = 1
    catalog: Any = None


_DEFAULT_UNITS = {"rate": "DN/s", "cal": "MJy/sr"}


def _open(path: Path) -> Any:
    from webbcal import datamodels

    return datamodels.open(path)


def _native(data: np.ndarray) -> np.ndarray:
    """An in-memory copy of a FITS array in native byte order (fast to compute on)."""
    return np.array(data, dtype=data.dtype.newbyteorder("="))


@dataclass
class _Image:
    """The SCI header and the planes of a 2-D product that were asked for."""

    path: Path
    header: Any
    arrays: dict[str, np.ndarray]

    def keyword(self, keyword: str, meta_path: str) -> Any:
        """A keyword of the SCI header, else the metadata entry (a slower ASDF read)."""
        from astropy.io import fits

        value = self.header.get(keyword)
        if value is not None and not isinstance(value, fits.card.Undefined):
            return value
        with _open(self.path) as model:
            node = model.meta
            for part in meta_path.split("."):
                node = getattr(node, part, None)
        return node


def _read_image(path: Path, extnames: tuple[str, ...]) -> _Image | None:
    """Planes ``extnames`` of a 2-D product (None: its SCI is not 2-D).

    Only the headers up to the last plane asked for are parsed; DQ and ERR, when the file
    lacks them, are zeros (as the data models' defaults).
    """
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdus:  # scaled DQ planes cannot be mapped
        sci = hdus["SCI"]
        if sci.header.get("NAXIS") != 2:
            return None
        shape = (int(sci.header["NAXIS2"]), int(sci.header["NAXIS1"]))
        arrays = {}
        for name in extnames:
            try:
                arrays[name] = _native(hdus[name].data)
            except KeyError:
                dtype = np.uint32 if name == "DQ" else np.float32
                arrays[name] = np.zeros(shape, dtype)
        return _Image(path, sci.header, arrays)


def _truth_arrays(path: Path) -> dict[str, np.ndarray]:
    """The SCI and FLAT planes of a ``_truth_rate.fits`` (those present)."""
    from astropy.io import fits

    with fits.open(path, memmap=True) as hdus:
        return {
            h.name: _native(h.data)
            for h in hdus[1:]
            if h.name in ("SCI", "FLAT") and h.data is not None
        }


def _ecsv_columns(path: Path, names: tuple[str, ...]) -> np.ndarray | None:
    """Columns ``names`` of a plain space-separated ECSV as int64, else None (not plain)."""
    with path.open(encoding="utf-8") as fh:
        skip = 0
        for line in fh:
            skip += 1
            if line.startswith("# delimiter"):
                return None
            if not line.startswith("#"):
                header = line.split()
                break
        else:
            return None
        if not all(n in header for n in names):
            return None
        if not fh.readline().strip():  # no rows
            return np.empty((0, len(names)), np.int64)
    try:
        return np.loadtxt(
            path,
            dtype=np.int64,
            skiprows=skip,
            usecols=[header.index(n) for n in names],
            quotechar='"',
            ndmin=2,
        )
    except ValueError:
        return None


def _cr_pixels(path: Path) -> int:
    """Distinct pixels hit by the simulated cosmic rays of a ``_truth_cr.ecsv``."""
    xy = _ecsv_columns(path, ("x", "y"))
    if xy is None:
        from astropy.table import Table

        table = Table.read(path, format="ascii.ecsv")
        if len(table) == 0:
            return 0
        xy = np.column_stack([np.asarray(table["x"], np.int64), np.asarray(table["y"], np.int64)])
    return int(np.unique(xy, axis=0).shape[0]) if xy.size else 0


def _expected(image: _Image, kind: str, truth: dict[str, np.ndarray]) -> np.ndarray | None:
    """What the product ``image`` of ``kind`` estimates (the truth in its units), or None."""
    if "SCI" not in truth:
        return None
    expected = truth["SCI"]
    if kind == "cal":
        photmjsr = image.keyword("PHOTMJSR", "photometry.conversion_megajanskys")
        if not photmjsr or "FLAT" not in truth:
            return None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            expected = (
                np.asarray(truth["SCI"], np.float64)
                / np.asarray(truth["FLAT"], np.float64)
                * float(photmjsr)
            )
    if expected.shape != image.arrays["SCI"].shape:
        return None
    return expected


@dataclass
class _ExposureNumbers:
    """What one exposure gives: its table row, pulls per stage and science images."""

    row: dict[str, Any]
    pulls: dict[str, np.ndarray] = field(default_factory=dict)
    images: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)


def _exposure_numbers(exposure: Exposure) -> _ExposureNumbers:
    """DQ counts, pulls and images of one exposure (reads each array once)."""
    out = _ExposureNumbers({"exposure": exposure.name})
    row = out.row
    truth_path = exposure.get("truth_rate")
    truth = _truth_arrays(truth_path) if truth_path is not None else None
    for kind, stage in (("rate", "stage1"), ("cal", "stage2")):
        path = exposure.get(kind)
        image = _read_image(path, ("SCI", "DQ", "ERR")) if path is not None else None
        if image is None:
            continue
        data, dq, err = (image.arrays[k] for k in ("SCI", "DQ", "ERR"))
        unit = image.keyword("BUNIT", "bunit_data") or _DEFAULT_UNITS[kind]
        out.images[kind] = (f"{path.name}\n[{unit}]", figs.thumbnail(data, figs.IMAGE_INCHES)[0])
        row[f"{kind}_dq"] = stats.dq_counts(dq)
        expected = _expected(image, kind, truth) if truth is not None else None
        if expected is None:
            continue
        good = stats.good_pixels(data, err, expected, dq)
        out.pulls[stage] = stats.image_pulls(data, err, expected, good=good)
        row[f"{stage}_pull"] = stats.pull_summary(out.pulls[stage])
        if stage == "stage1":
            out.pulls[ROW_DETRENDED] = stats.row_detrended_pulls(data, err, expected, good=good)
    crf = exposure.get("crf")
    image = _read_image(crf, ("DQ",)) if crf is not None else None
    if image is not None:
        row["crf_dq"] = stats.dq_counts(image.arrays["DQ"])
    if exposure.get("truth_cr") is not None:
        row["truth_cr_pixels"] = _cr_pixels(exposure.get("truth_cr"))
    return out


def _gather_exposures(parts: list[_ExposureNumbers], result: Analysis) -> list[dict[str, Any]]:
    """The rows of the exposures (in order); their pulls and first images into ``result``."""
    for stage in ("stage1", "stage2", ROW_DETRENDED):
        arrays = [p.pulls[stage] for p in parts if stage in p.pulls]
        if arrays:
            result.pulls[stage] = np.concatenate(arrays)
    for part in parts:
        for kind, image in part.images.items():
            result.images.setdefault(kind, image)
    return [p.row for p in parts if len(p.row) > 1]


def _footprint(model: Any, image: np.ndarray) -> Any:
    """``(ra, dec) -> inside`` for a mosaic: a finite pixel with weight, else None."""
    wcs = model.meta.wcs
    if wcs is None:
        return None
    weight = np.asarray(model.wht) if model.has("wht") else np.isfinite(image)
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
        first = result.mosaic is None
        catalog = Table.read(cat_path, format="ascii.ecsv") if cat_path is not None else None
        if catalog is not None:
            row["n_sources"] = len(catalog)
            if result.catalog is None:
                result.catalog = catalog
        scene_path = files.truth_scene_for(mosaic)
        scene = None
        if catalog is not None and scene_path is not None:
            scene = Table.read(scene_path, format="ascii.ecsv")
        if first or scene is not None:
            with _open(mosaic) as model:
                image = np.asarray(model.data)
                if first:
                    result.mosaic = mosaic
                    result.mosaic_image, result.mosaic_block = figs.thumbnail(
                        image, figs.MOSAIC_INCHES
                    )
                if scene is not None:
                    area = model.meta.photometry.pixelarea_arcsecsq
                    row["match"] = stats.catalog_match(
                        catalog,
                        scene,
                        footprint=_footprint(model, image),
                        pixel_scale_arcsec=float(area) ** 0.5 if area else None,
                    )
        pairs = row.get("match", {}).get("pairs", {})
        if pairs and first:
            p = (np.asarray(pairs["measured_flux"]) - np.asarray(pairs["truth_flux"])) / (
                np.asarray(pairs["flux_err"])
            )
            star = np.asarray(pairs["star"], bool)
            result.pulls["stage3"] = p[star & np.isfinite(p)]
        rows.append(row)
    return rows


def _now(fn: Callable[..., Any], *args: Any) -> Future:
    """``fn(*args)`` run here, as a finished future (its exception kept in it)."""
    future: Future = Future()
    try:
        future.set_result(fn(*args))
    except Exception as exc:  # kept in the future: future.result() raises it
        future.set_exception(exc)
    return future


class AnalysisRun:
    """An analysis started on an executor, waited for part by part.

    The level-3 products and every exposure are analysed as separate tasks (threads suit
    them: the work is in NumPy and file reads, which release the GIL), so that the caller
    can draw the figures of one part while the others are computed.

    Parameters
    ----------
    files : RunFiles
        What :func:`~webbcal.report.collect.discover` found.
    executor : concurrent.futures.Executor, optional
        Where the tasks run (default: here, at once).

    """

    def __init__(self, files: RunFiles, executor: Executor | None = None) -> None:
        submit = self._submit = executor.submit if executor is not None else _now
        self.files = files
        self.result = Analysis()
        self.result.data.update(output_dir=str(files.output_dir), has_truth=files.has_truth)
        self.timing = stats.step_timing(files.records)
        self._errors: list[Exception] = []
        self._products_read = False
        self._products = submit(_product_numbers, files, self.result)
        exposures = sorted(files.exposures.values(), key=lambda e: e.name)
        self._exposures = [submit(_exposure_numbers, e) for e in exposures]

    def products(self) -> Analysis:
        """The analysis with the level-3 products in (waits for them).

        That is ``data["products"]``, ``mosaic``, ``mosaic_image``, ``catalog`` and the
        Stage 3 pulls.
        """
        if not self._products_read:
            self._products_read = True
            try:
                self.result.data["products"] = self._products.result()
            except _ERRORS as exc:
                self._errors.append(exc)
        return self.result

    def finish(self) -> Analysis:
        """The whole analysis (waits for every part)."""
        result = self.products()
        data = result.data
        try:
            data["exposures"] = _gather_exposures([f.result() for f in self._exposures], result)
        except _ERRORS as exc:
            self._errors.insert(0, exc)
        if self._errors:
            log.error("report: cannot analyse %s: %s", self.files.output_dir, self._errors[0])
            data["error"] = str(self._errors[0])
        stages = ("stage1", "stage2", ROW_DETRENDED, "stage3")
        result.pulls = {stage: result.pulls[stage] for stage in stages if stage in result.pulls}
        summaries = {s: self._submit(stats.pull_summary, p) for s, p in result.pulls.items()}
        data["pulls"] = {stage: future.result() for stage, future in summaries.items()}
        data["timing"] = self.timing
        data["runs"] = [
            {
                k: r.get(k)
                for k in ("file", "pipeline", "seconds", "workers", "complete", "resumed", "failed")
            }
            for r in self.files.runs
            if r.get("pipeline")
        ]
        totals: dict[str, int] = {}
        for row in data.get("exposures", []):
            for key in ("rate_dq", "crf_dq"):
                for flag, count in (row.get(key) or {}).items():
                    if flag != "pixels":
                        totals[f"{key[:-3]}_{flag}"] = totals.get(f"{key[:-3]}_{flag}", 0) + count
            totals["truth_cr_pixels"] = totals.get("truth_cr_pixels", 0) + row.get(
                "truth_cr_pixels", 0
            )
        data["dq_totals"] = totals
        order = ("output_dir", "has_truth", "exposures", "products", "error", "pulls", "timing")
        result.data = {k: data[k] for k in order if k in data} | data
        return result


def analyze(files: RunFiles, *, executor: Executor | None = None) -> Analysis:
    """The report numbers of a run; missing pieces (no truth, no stage 3) are left out.

    ``executor``: where to analyse the products and exposures (see :class:`AnalysisRun`).
    """
    return AnalysisRun(files, executor).finish()
