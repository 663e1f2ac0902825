"""The figures of a run report (matplotlib, Agg backend), each written as a PNG.

Each ``fig_*`` function takes the numbers of :mod:`webbcal.report.analyze` and writes one
PNG, returning its path (None when there is nothing to show).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

__all__ = [
    "fig_astrometry",
    "fig_dq",
    "fig_flux",
    "fig_images",
    "fig_mosaic",
    "fig_pulls",
    "fig_timing",
]

#: Largest side of an image as plotted (bigger images are block-averaged).
MAX_PIXELS = 800
DPI = 90


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def _shrink(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Block-average ``image`` so that its largest side is at most MAX_PIXELS."""
    factor = max(1, math.ceil(max(image.shape) / MAX_PIXELS))
    if factor == 1:
        return image, 1
    ny, nx = (s // factor * factor for s in image.shape)
    blocks = image[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)
    with np.errstate(invalid="ignore"):
        return np.nanmean(blocks, axis=(1, 3)), factor


def _stretch(image: np.ndarray) -> tuple[np.ndarray, float, float]:
    """An asinh view of ``image``: linear within a few noise sigmas, compressed above.

    The noise is the MAD of the finite pixels around their median; the view runs from
    2 sigma below the median to the 99.9th percentile (at least 20 sigma above).
    """
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return np.zeros_like(image), 0.0, 1.0
    median = float(np.median(finite))
    sigma = float(1.4826 * np.median(np.abs(finite - median))) or float(finite.std()) or 1.0
    lo = median - 2.0 * sigma
    hi = max(float(np.percentile(finite, 99.9)), median + 20.0 * sigma)
    view = np.arcsinh((np.clip(np.nan_to_num(image, nan=lo), lo, hi) - lo) / (3.0 * sigma))
    return view, 0.0, float(np.arcsinh((hi - lo) / (3.0 * sigma)))


def _show(ax: Any, image: np.ndarray, title: str) -> int:
    small, factor = _shrink(np.asarray(image, dtype=np.float64))
    view, vmin, vmax = _stretch(small)
    ax.imshow(view, origin="lower", cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return factor


def fig_images(images: dict[str, Path], out: Path) -> Path | None:
    """The first exposure's rate and calibrated images, side by side."""
    from webbcal import datamodels

    kinds = [k for k in ("rate", "cal") if k in images]
    if not kinds:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 5.0), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        with datamodels.open(images[kind]) as model:
            data = np.asarray(model.data, dtype=np.float64)
            unit = model.meta.bunit_data or ("DN/s" if kind == "rate" else "MJy/sr")
        _show(ax, data, f"{images[kind].name}\n[{unit}]")
    return _save(fig, out)


def fig_mosaic(mosaic: Path, catalog: Any, out: Path) -> Path | None:
    """The mosaic with the detected sources circled (red: extended, cyan: point-like)."""
    from webbcal import datamodels

    plt = _pyplot()
    with datamodels.open(mosaic) as model:
        data = np.asarray(model.data, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    found = "no catalog" if catalog is None else f"{len(catalog)} sources"
    factor = _show(ax, data, f"{mosaic.name}: {found}")
    if catalog is not None and len(catalog) and "xcentroid" in catalog.colnames:
        x = np.asarray(catalog["xcentroid"], float) / factor
        y = np.asarray(catalog["ycentroid"], float) / factor
        extended = (
            np.asarray(catalog["is_extended"], bool)
            if "is_extended" in catalog.colnames
            else np.zeros(x.size, bool)
        )
        for sel, color, label in ((~extended, "cyan", "point-like"), (extended, "red", "extended")):
            if sel.any():
                ax.scatter(
                    x[sel],
                    y[sel],
                    s=60,
                    facecolors="none",
                    edgecolors=color,
                    linewidths=0.8,
                    label=label,
                )
        ax.legend(loc="upper right", fontsize=8)
    return _save(fig, out)


def fig_flux(match: dict[str, Any], out: Path) -> Path | None:
    """Catalog flux against the true flux, and their ratio."""
    pairs = match.get("pairs")
    if not pairs or not pairs["truth_flux"]:
        return None
    plt = _pyplot()
    truth = np.asarray(pairs["truth_flux"], float)
    measured = np.asarray(pairs["measured_flux"], float)
    star = np.asarray(pairs["star"], bool)
    fig, (ax1, ax2) = plt.subplots(
        2, 1, figsize=(6.5, 7.0), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    for sel, color, label in (
        (star, "tab:blue", "stars (aper_total_flux)"),
        (~star, "tab:orange", "galaxies (isophotal_flux)"),
    ):
        good = sel & np.isfinite(measured) & (measured > 0) & (truth > 0)
        if good.any():
            ax1.loglog(truth[good], measured[good], ".", color=color, ms=4, label=label)
            ax2.semilogx(truth[good], measured[good] / truth[good], ".", color=color, ms=4)
    span = truth[truth > 0]
    if span.size:
        line = [span.min(), span.max()]
        ax1.plot(line, line, "k-", lw=0.8)
    ax2.axhline(1.0, color="k", lw=0.8)
    ax2.set_ylim(0.5, 1.5)
    ax1.set_ylabel("measured flux [uJy]")
    ax2.set_ylabel("measured / true")
    ax2.set_xlabel("true flux [uJy]")
    ratio = match.get("flux_ratio_stars", float("nan"))
    ax1.set_title(
        f"catalog vs truth: {match.get('n_matched', 0)} matched, "
        f"completeness {match.get('completeness', float('nan')):.2f}, "
        f"median star ratio {ratio:.3f}",
        fontsize=9,
    )
    ax1.legend(fontsize=8)
    return _save(fig, out)


def fig_astrometry(match: dict[str, Any], out: Path) -> Path | None:
    """Position residuals (catalog - truth) of the matched sources [mas]."""
    pairs = match.get("pairs")
    if not pairs or not pairs["dra_mas"]:
        return None
    plt = _pyplot()
    dra, ddec = np.asarray(pairs["dra_mas"]), np.asarray(pairs["ddec_mas"])
    star = np.asarray(pairs["star"], bool)
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.plot(dra[~star], ddec[~star], ".", color="tab:orange", ms=4, label="galaxies")
    ax.plot(dra[star], ddec[star], ".", color="tab:blue", ms=4, label="stars")
    rms = match.get("astrometry_rms_mas", float("nan"))
    if np.isfinite(rms):
        ax.add_patch(_pyplot().Circle((0, 0), rms, fill=False, ls="--", color="k"))
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("delta RA cos(Dec) [mas]")
    ax.set_ylabel("delta Dec [mas]")
    ax.set_title(f"astrometric residuals: rms {rms:.1f} mas (stars)", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, out)


def fig_pulls(pulls: dict[str, np.ndarray], summaries: dict[str, Any], out: Path) -> Path | None:
    """Histogram of the pulls of each stage with the unit Gaussian and the fitted one."""
    stages = [s for s in ("stage1", "stage2", "stage3") if s in pulls and pulls[s].size]
    if not stages:
        return None
    titles = {"stage1": "Stage 1: rate", "stage2": "Stage 2: cal", "stage3": "Stage 3: star fluxes"}
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(stages), figsize=(4.6 * len(stages), 3.8), squeeze=False)
    grid = np.linspace(-6, 6, 400)
    unit = np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi)
    for ax, stage in zip(axes[0], stages, strict=True):
        values = pulls[stage]
        summary = summaries.get(stage, {})
        bins = 80 if values.size > 2000 else 30
        ax.hist(
            np.clip(values, -6, 6),
            bins=bins,
            range=(-6, 6),
            density=True,
            color="0.7",
            label=f"n = {values.size}",
        )
        ax.plot(grid, unit, "k-", lw=1.2, label="unit Gaussian")
        mean, std = summary.get("mean", float("nan")), summary.get("std", float("nan"))
        if np.isfinite(mean) and np.isfinite(std) and std > 0:
            fit = np.exp(-0.5 * ((grid - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
            ax.plot(grid, fit, "r--", lw=1.2, label=f"fit: mean {mean:+.2f}, std {std:.2f}")
        ax.set_title(titles[stage], fontsize=9)
        ax.set_xlabel("(measured - truth) / ERR")
        ax.legend(fontsize=7, loc="upper left")
    return _save(fig, out)


def fig_dq(rows: list[dict[str, Any]], out: Path) -> Path | None:
    """Per exposure: pixels flagged as jumps, saturated, outliers; pixels hit by cosmic rays."""
    series = {
        "jump (rate)": [r.get("rate_dq", {}).get("jump", 0) for r in rows],
        "saturated (rate)": [r.get("rate_dq", {}).get("saturated", 0) for r in rows],
        "outlier (crf)": [r.get("crf_dq", {}).get("outlier", 0) for r in rows],
        "CR-hit pixels (truth)": [r.get("truth_cr_pixels", 0) for r in rows],
    }
    series = {k: v for k, v in series.items() if any(v)}
    if not rows or not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(rows) + 3), 3.8))
    x = np.arange(len(rows))
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, [r["exposure"][-16:] for r in rows], rotation=20, fontsize=7)
    ax.set_ylabel("pixels")
    ax.set_title("data quality flags per exposure", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, out)


def fig_timing(timing: dict[str, Any], out: Path) -> Path | None:
    """Per pipeline and step: summed wall time over members, and peak memory."""
    rows = [
        (f"{pipe}: {name}", s["seconds"], s["peak_rss_mb"])
        for pipe, entry in timing.items()
        for name, s in entry["steps"].items()
    ]
    if not rows:
        return None
    plt = _pyplot()
    labels, seconds, memory = zip(*rows, strict=True)
    height = max(3.0, 0.22 * len(rows) + 1.0)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, height), sharey=True)
    y = np.arange(len(rows))
    ax1.barh(y, seconds, color="tab:blue")
    ax1.set_yticks(y, labels, fontsize=7)
    ax1.invert_yaxis()
    ax1.set_xlabel("wall time, summed over members [s]")
    ax2.barh(y, memory, color="tab:green")
    ax2.set_xlabel("peak resident memory of the process [MB]")
    fig.suptitle("per-step time and memory (from the run ledger)", fontsize=9)
    return _save(fig, out)
