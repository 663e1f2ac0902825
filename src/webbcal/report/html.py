"""The self-contained HTML page of a run report: tables of numbers and embedded figures."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

from webbcal import __version__

__all__ = ["render"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px;
       color: #222; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.3em 0; }
.note { color: #666; font-size: 0.9em; } .bad { color: #b00; }
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:.4g}"
    if value is None:
        return "-"
    return html.escape(str(value))


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _image(path: Path | None, alt: str) -> str:
    if path is None:
        return ""
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'


def _pull_rows(pulls: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            stage,
            s.get("n"),
            s.get("mean"),
            s.get("std"),
            s.get("std_mad"),
            s.get("outlier_fraction"),
        ]
        for stage, s in pulls.items()
    ]


def _match_rows(products: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for product in products:
        m = product.get("match", {})
        rows.append(
            [
                product["product"],
                product.get("n_sources"),
                m.get("n_truth"),
                m.get("n_matched"),
                m.get("completeness"),
                m.get("completeness_bright"),
                m.get("flux_ratio_stars"),
                m.get("flux_ratio_galaxies"),
                m.get("astrometry_rms_mas"),
            ]
        )
    return rows


def render(data: dict[str, Any], figures: dict[str, Path | None], title: str) -> str:
    """The HTML page for the numbers ``data`` and the PNG ``figures`` (embedded)."""
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">webbcal {__version__} - output folder '
        f"{html.escape(str(data.get('output_dir')))}</p>",
    ]
    if not data.get("has_truth"):
        parts.append(
            '<p class="note">No simulator truth found: pulls and catalog-vs-truth '
            "comparisons are not shown.</p>"
        )
    if data.get("error"):
        parts.append(f'<p class="bad">Part of the analysis failed: {_fmt(data["error"])}</p>')
    runs = data.get("runs") or []
    if runs:
        parts.append("<h2>Runs</h2>")
        parts.append(
            _table(
                ["pipeline", "seconds", "workers", "complete", "resumed", "failed"],
                [
                    [
                        r.get("pipeline") or r.get("file"),
                        r.get("seconds"),
                        r.get("workers"),
                        r.get("complete"),
                        r.get("resumed"),
                        r.get("failed"),
                    ]
                    for r in runs
                ],
            )
        )
    parts.append("<h2>Images</h2>")
    parts.append(
        _image(figures.get("images"), "rate and calibrated images")
        or '<p class="note">No rate or calibrated image.</p>'
    )
    products = data.get("products") or []
    if figures.get("mosaic") is not None or products:
        parts.append("<h2>Mosaic and catalog</h2>")
        parts.append(_image(figures.get("mosaic"), "mosaic with sources"))
        if any("match" in p for p in products):
            parts.append(
                _table(
                    [
                        "product",
                        "sources",
                        "truth in field",
                        "matched",
                        "completeness",
                        "completeness (bright)",
                        "flux ratio stars",
                        "flux ratio galaxies",
                        "astrometry rms [mas]",
                    ],
                    _match_rows(products),
                )
            )
        parts.append(_image(figures.get("flux"), "catalog flux vs truth"))
        parts.append(_image(figures.get("astrometry"), "astrometric residuals"))
    pulls = data.get("pulls") or {}
    if pulls:
        parts.append("<h2>Error honesty: pulls (measured - truth) / ERR</h2>")
        parts.append(
            '<p class="note">Honest errors give a unit Gaussian: mean 0, std 1. '
            "Mean and std are taken within |pull| &le; 5. The simulated detector has 1/f "
            "noise that moves whole rows together; the reference pixels remove only part of "
            "it and ERR does not include it (as in the official pipeline), which widens the "
            "Stage 1 and 2 pulls. <code>stage1_rows_removed</code> subtracts each row's "
            "median residual first: it tests ERR for the per-pixel noise. Stage 3 pulls "
            "are the star fluxes of the catalog: their errors hold the pixel noise only, "
            "not the ~2% scatter of an undersampled PSF's aperture correction with the "
            "star's sub-pixel position, so bright stars (S/N &gt; 100) spread wider.</p>"
        )
        parts.append(
            _table(["stage", "n", "mean", "std", "std (MAD)", "fraction > 5"], _pull_rows(pulls))
        )
        parts.append(_image(figures.get("pulls"), "pull histograms"))
    exposures = data.get("exposures") or []
    if exposures:
        parts.append("<h2>Data quality</h2>")
        parts.append(
            _table(
                [
                    "exposure",
                    "jump",
                    "saturated",
                    "do_not_use",
                    "outlier (crf)",
                    "CR-hit pixels (truth)",
                ],
                [
                    [
                        e["exposure"],
                        e.get("rate_dq", {}).get("jump"),
                        e.get("rate_dq", {}).get("saturated"),
                        e.get("rate_dq", {}).get("do_not_use"),
                        e.get("crf_dq", {}).get("outlier"),
                        e.get("truth_cr_pixels"),
                    ]
                    for e in exposures
                ],
            )
        )
        parts.append(_image(figures.get("dq"), "DQ statistics"))
    timing = data.get("timing") or {}
    if timing:
        parts.append("<h2>Time and memory per step</h2>")
        parts.append(
            _table(
                ["pipeline", "members", "failed", "seconds (sum)", "peak RSS [MB]"],
                [
                    [p, t["members"], t["failed"], t["seconds"], t["peak_rss_mb"]]
                    for p, t in timing.items()
                ],
            )
        )
        parts.append(_image(figures.get("timing"), "per-step timing and memory"))
    body = "\n".join(p for p in parts if p)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
