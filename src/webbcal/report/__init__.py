"""Run reports: an HTML page, its PNG figures and the numbers behind them.

::

    from webbcal.report import build_report

    report = build_report("demo_output")      # -> demo_output/report.html, report.json,
    report.html, report.json, report.figures  #    report_figures/*.png

or ``webbcal report <output-dir> [--truth-dir DIR]``. The page shows the rate and
calibrated images, the mosaic with the detected sources, the catalog against the truth
(completeness, flux ratio, astrometric residuals), the pull histograms of every stage
(``(measured - truth) / ERR`` with the unit Gaussian and the fitted mean/std: the check
that the errors are honest), DQ statistics (jumps, saturation, outliers against the
simulated cosmic rays) and the per-step time and memory of the run ledger. Without
simulator truth (real data) it shows what needs none. The figures are embedded in the
page (base64), so ``report.html`` is self-contained; they are also written beside it.

Speed: each product is read once (only the planes needed); the level-3 products and the
exposures are analysed on two threads (NumPy work) while the calling thread draws every
figure as soon as its numbers are there, once each, cropped on its pixels. A caller that
knows a report will follow can run :func:`webbcal.report.figures.warm_up` in a background
thread beforehand (matplotlib import and fonts, most of a second).
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from webbcal.parallel.ledger import write_json_atomic
from webbcal.report import figures as figs
from webbcal.report.analyze import AnalysisRun
from webbcal.report.collect import discover
from webbcal.report.html import render

log = logging.getLogger(__name__)

__all__ = ["Report", "build_report"]

FIGURE_DIR = "report_figures"
#: The figures, in the order of the page.
FIGURES = ("images", "mosaic", "flux", "astrometry", "pulls", "dq", "timing")
#: Threads that analyse the products and exposures while the calling one draws figures.
ANALYSIS_THREADS = 2


@dataclass
class Report:
    """The files of a report and its numbers."""

    html: Path
    json: Path
    figures: dict[str, Path] = field(default_factory=dict)
    data: dict = field(default_factory=dict)


def build_report(
    output_dir: str | os.PathLike,
    *,
    truth_dirs: list[str | os.PathLike] | None = None,
    title: str | None = None,
) -> Report:
    """Write ``report.html``, ``report.json`` and ``report_figures/`` in ``output_dir``.

    Parameters
    ----------
    output_dir : path
        The folder a run wrote its products (and ledger) to.
    truth_dirs : list of path, optional
        Other folders with simulator truth (default: only ``output_dir``).
    title : str, optional
        Page title (default: ``webbcal run report: <folder name>``).

    """
    out = Path(output_dir)
    files = discover(out, truth_dirs)
    folder = out / FIGURE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path | None] = {}
    with ThreadPoolExecutor(ANALYSIS_THREADS, thread_name_prefix="webbcal-report") as pool:
        # this thread draws each figure as soon as its numbers are there
        run = AnalysisRun(files, pool)
        made["timing"] = figs.fig_timing(run.timing, folder / "timing.png")
        partial = run.products()
        products = partial.data.get("products") or []
        match = next((p["match"] for p in products if "match" in p), {})
        if partial.mosaic is not None and partial.mosaic_image is not None:
            made["mosaic"] = figs.fig_mosaic(
                partial.mosaic.name,
                partial.mosaic_image,
                partial.catalog,
                folder / "mosaic.png",
                block=partial.mosaic_block,
            )
        made["flux"] = figs.fig_flux(match, folder / "flux.png")
        made["astrometry"] = figs.fig_astrometry(match, folder / "astrometry.png")
        analysis = run.finish()
    data = analysis.data
    made["images"] = figs.fig_images(analysis.images, folder / "images.png")
    made["pulls"] = figs.fig_pulls(analysis.pulls, data.get("pulls", {}), folder / "pulls.png")
    made["dq"] = figs.fig_dq(data.get("exposures") or [], folder / "dq.png")
    made = {k: made.get(k) for k in FIGURES}
    figures = {k: v for k, v in made.items() if v is not None}
    data["figures"] = {k: str(v.relative_to(out)) for k, v in figures.items()}
    page = render(data, made, title or f"webbcal run report: {out.resolve().name}")
    html_path = out / "report.html"
    tmp = html_path.with_name(".report.html.tmp")
    tmp.write_text(page)
    os.replace(tmp, html_path)
    json_path = write_json_atomic(out / "report.json", _jsonable(data))
    log.info("report: %s (%d figures)", html_path, len(figures))
    return Report(html_path, json_path, figures, data)


def _jsonable(data: dict) -> dict:
    """``data`` without the per-source pairs (kept out of report.json for size)."""
    text = json.dumps(data, default=str)
    clean = json.loads(text)
    for product in clean.get("products", []):
        product.get("match", {}).pop("pairs", None)
    return clean
