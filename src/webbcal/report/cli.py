"""``webbcal report <output-dir>``: write the run report of a folder of products."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from webbcal.errors import InputError

__all__ = ["register", "report_command"]


def register(subparsers: Any) -> None:
    """Add ``report`` to the command line."""
    parser = subparsers.add_parser(
        "report",
        help="write report.html / report.json for a folder of products",
        description="Write report.html (self-contained), report.json and report_figures/ "
        "in OUTPUT_DIR: images, mosaic and catalog, catalog vs truth, pull histograms, DQ "
        "statistics, per-step time and memory. Simulator truth is used when present.",
    )
    parser.add_argument("output_dir", help="folder with the products of a run")
    parser.add_argument(
        "--truth-dir", action="append", default=[], help="another folder with simulator truth"
    )
    parser.add_argument("--title", help="page title")
    parser.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    """Handler of ``webbcal report``."""
    from webbcal.report import build_report

    out = Path(args.output_dir)
    if not out.is_dir():
        raise InputError("not a folder", path=out)
    report = build_report(out, truth_dirs=args.truth_dir, title=args.title)
    print(f"wrote {report.html} and {report.json.name} ({len(report.figures)} figures)")
    return 0
