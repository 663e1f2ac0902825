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
    "IMAGE_INCHES",
    "MOSAIC_INCHES",
    "fig_astrometry",
    "fig_dq",
    "fig_flux",
    "fig_images",
    "fig_mosaic",
    "fig_pulls",
    "fig_timing",
    "thumbnail",
    "warm_up",
]

#: Resolution of the figures [dots per inch].
DPI = 90
#: zlib level of the PNGs (1: fast; the noisy images compress little better at 6).
PNG_COMPRESSION = 1
#: Title position in axes units: fixed, so that matplotlib does not measure the tick labels
#: to place it (no figure has tick labels above its axes).
TITLE_Y = 1.0
#: Size of a panel of :func:`fig_images` and of :func:`fig_mosaic` [inches].
IMAGE_INCHES = 5.0
MOSAIC_INCHES = 7.5
#: White border kept around what a figure draws [pixels] (as ``pad_inches=0.1``).
PAD = 9


def warm_up() -> None:
    """Import matplotlib and load its fonts (most of a second).

    Call it in a background thread long before a report is made (the demo can while it
    simulates), so that the report does not wait for them.
    """
    fig = _figure(1.0, 1.0)
    ax = fig.subplots()
    ax.set_xscale("log")
    ax.set_title("warm-up", fontsize=9)
    fig.canvas.draw()


def _figure(width: float, height: float) -> Any:
    """A figure of ``width`` x ``height`` inches on an Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> Path:
    """Draw ``fig`` once and write it as a PNG cropped to what was drawn (plus PAD).

    The crop is done on the pixels, which costs far less than ``bbox_inches="tight"``
    (a second layout pass over every text). When something touches the canvas edge (it
    may be cut off), the figure is saved with ``bbox_inches="tight"`` instead.
    """
    from PIL import Image

    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    ink = (rgb != 255).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    ny, nx = ink.shape
    if rows.size == 0 or rows[0] == 0 or cols[0] == 0 or rows[-1] == ny - 1 or cols[-1] == nx - 1:
        log.debug("report: %s drawn up to the edge, saved with a tight bounding box", path.name)
        fig.savefig(
            path, dpi=DPI, bbox_inches="tight", pil_kwargs={"compress_level": PNG_COMPRESSION}
        )
        return path
    y0, y1 = max(rows[0] - PAD, 0), min(rows[-1] + PAD + 1, ny)
    x0, x1 = max(cols[0] - PAD, 0), min(cols[-1] + PAD + 1, nx)
    Image.fromarray(np.ascontiguousarray(rgb[y0:y1, x0:x1])).save(
        path, format="PNG", compress_level=PNG_COMPRESSION
    )
    return path


def thumbnail(image: np.ndarray, inches: float) -> tuple[np.ndarray, int]:
    """``image`` block-averaged to about the pixels ``inches`` take at DPI, and the block.

    What :func:`fig_images` (``IMAGE_INCHES``) and :func:`fig_mosaic` (``MOSAIC_INCHES``)
    show; worth making where the image is read (it is a pass over every pixel).
    """
    return _shrink(np.asarray(image), int(inches * DPI))


def _shrink(image: np.ndarray, max_pixels: int) -> tuple[np.ndarray, int]:
    """Block-average ``image`` (NaN-aware) so that its largest side is at most ``max_pixels``.

    Returns the shrunk image and the block size. Blocks without a finite pixel are NaN.
    """
    factor = max(1, math.ceil(max(image.shape) / max_pixels))
    if factor == 1:
        return np.asarray(image, dtype=np.float64), 1
    ny, nx = (s // factor * factor for s in image.shape)
    part = image[:ny, :nx]
    finite = np.isfinite(part)
    filled = np.where(finite, part, np.float32(0)).astype(np.float32, copy=False)

    def blocks(a: np.ndarray, dtype: Any) -> np.ndarray:
        # along rows first (contiguous), then the rows of a block: fast reductions
        rows = a.reshape(ny, nx // factor, factor).sum(axis=2, dtype=dtype)
        return rows.reshape(ny // factor, factor, nx // factor).sum(axis=1, dtype=dtype)

    total, count = blocks(filled, np.float32), blocks(finite, np.int32)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count, factor


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


def _show(ax: Any, image: np.ndarray, title: str, inches: float) -> int:
    """Show ``image`` block-averaged to about the pixels of ``inches`` at DPI.

    Returns the block size (1 when ``image`` is already a :func:`thumbnail`).
    """
    small, factor = thumbnail(image, inches)
    view, vmin, vmax = _stretch(small)
    ax.imshow(view, origin="lower", cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=9, y=TITLE_Y)
    ax.set_xticks([])
    ax.set_yticks([])
    return factor


def fig_images(images: dict[str, tuple[str, np.ndarray]], out: Path) -> Path | None:
    """The first exposure's rate and calibrated images, side by side.

    ``images`` maps ``rate``/``cal`` to the panel title and the science array (or its
    :func:`thumbnail` for IMAGE_INCHES).
    """
    kinds = [k for k in ("rate", "cal") if k in images]
    if not kinds:
        return None
    fig = _figure(5.2 * len(kinds), 5.0)
    axes = fig.subplots(1, len(kinds), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        title, data = images[kind]
        _show(ax, data, title, IMAGE_INCHES)
    return _save(fig, out)


def fig_mosaic(
    name: str, image: np.ndarray, catalog: Any, out: Path, *, block: int = 1
) -> Path | None:
    """The mosaic ``image`` (file ``name``) with the detected sources circled.

    Red: extended, cyan: point-like. ``image`` may be a :func:`thumbnail` (for
    MOSAIC_INCHES) made with blocks of ``block`` pixels.
    """
    fig = _figure(MOSAIC_INCHES, MOSAIC_INCHES)
    ax = fig.subplots()
    found = "no catalog" if catalog is None else f"{len(catalog)} sources"
    factor = block * _show(ax, image, f"{name}: {found}", MOSAIC_INCHES)
    if catalog is not None and len(catalog) and "xcentroid" in catalog.colnames:
        # block k covers pixels k*f .. k*f+f-1: its centre is at (k + 0.5) f - 0.5
        x = (np.asarray(catalog["xcentroid"], float) + 0.5) / factor - 0.5
        y = (np.asarray(catalog["ycentroid"], float) + 0.5) / factor - 0.5
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
    truth = np.asarray(pairs["truth_flux"], float)
    measured = np.asarray(pairs["measured_flux"], float)
    star = np.asarray(pairs["star"], bool)
    fig = _figure(6.5, 7.0)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
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
    from matplotlib.ticker import LogLocator

    for axis in (ax1.xaxis, ax1.yaxis):  # minor ticks at 2 and 5 only: each tick is costly
        axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
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
        y=TITLE_Y,
    )
    ax1.legend(fontsize=8)
    return _save(fig, out)


def fig_astrometry(match: dict[str, Any], out: Path) -> Path | None:
    """Position residuals (catalog - truth) of the matched sources [mas]."""
    pairs = match.get("pairs")
    if not pairs or not pairs["dra_mas"]:
        return None
    dra, ddec = np.asarray(pairs["dra_mas"]), np.asarray(pairs["ddec_mas"])
    star = np.asarray(pairs["star"], bool)
    fig = _figure(5.5, 5.5)
    ax = fig.subplots()
    ax.plot(dra[~star], ddec[~star], ".", color="tab:orange", ms=4, label="galaxies")
    ax.plot(dra[star], ddec[star], ".", color="tab:blue", ms=4, label="stars")
    rms = match.get("astrometry_rms_mas", float("nan"))
    if np.isfinite(rms):
        from matplotlib.patches import Circle

        ax.add_patch(Circle((0, 0), rms, fill=False, ls="--", color="k"))
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("delta RA cos(Dec) [mas]")
    ax.set_ylabel("delta Dec [mas]")
    ax.set_title(f"astrometric residuals: rms {rms:.1f} mas (stars)", fontsize=9, y=TITLE_Y)
    ax.legend(fontsize=8)
    return _save(fig, out)


def fig_pulls(pulls: dict[str, np.ndarray], summaries: dict[str, Any], out: Path) -> Path | None:
    """Histogram of the pulls of each stage with the unit Gaussian and the fitted one."""
    stages = [s for s in ("stage1", "stage2", "stage3") if s in pulls and pulls[s].size]
    if not stages:
        return None
    titles = {"stage1": "Stage 1: rate", "stage2": "Stage 2: cal", "stage3": "Stage 3: star fluxes"}
    fig = _figure(4.6 * len(stages), 3.8)
    fig.subplots_adjust(bottom=0.18, top=0.9)
    axes = fig.subplots(1, len(stages), squeeze=False)
    grid = np.linspace(-6, 6, 400)
    unit = np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi)
    for ax, stage in zip(axes[0], stages, strict=True):
        values = pulls[stage]
        summary = summaries.get(stage, {})
        bins = 80 if values.size > 2000 else 30
        counts, edges = np.histogram(np.clip(values, -6, 6), bins=bins, range=(-6, 6))
        density = counts / (max(values.size, 1) * (edges[1] - edges[0]))
        ax.stairs(density, edges, fill=True, color="0.7", label=f"n = {values.size}")
        ax.plot(grid, unit, "k-", lw=1.2, label="unit Gaussian")
        mean, std = summary.get("mean", float("nan")), summary.get("std", float("nan"))
        if np.isfinite(mean) and np.isfinite(std) and std > 0:
            fit = np.exp(-0.5 * ((grid - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
            ax.plot(grid, fit, "r--", lw=1.2, label=f"fit: mean {mean:+.2f}, std {std:.2f}")
        ax.set_title(titles[stage], fontsize=9, y=TITLE_Y)
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
    fig = _figure(max(6.0, 1.3 * len(rows) + 3), 3.8)
    fig.subplots_adjust(bottom=0.25, top=0.9)
    ax = fig.subplots()
    x = np.arange(len(rows))
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, [r["exposure"][-16:] for r in rows], rotation=20, fontsize=7)
    ax.set_ylabel("pixels")
    ax.set_title("data quality flags per exposure", fontsize=9, y=TITLE_Y)
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
    labels, seconds, memory = zip(*rows, strict=True)
    height = max(3.0, 0.22 * len(rows) + 1.0)
    fig = _figure(11, height)
    label_inches = max(len(s) for s in labels) * 7 * 0.62 / 72  # 7-point tick labels
    fig.subplots_adjust(left=(label_inches + 0.3) / 11, bottom=0.8 / height, top=1 - 0.6 / height)
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(rows))
    ax1.barh(y, seconds, color="tab:blue")
    ax1.set_yticks(y, labels, fontsize=7)
    ax1.invert_yaxis()
    ax1.set_xlabel("wall time, summed over members [s]")
    ax2.barh(y, memory, color="tab:green")
    ax2.set_xlabel("peak resident memory of the process [MB]")
    fig.suptitle("per-step time and memory (from the run ledger)", fontsize=9)
    return _save(fig, out)
