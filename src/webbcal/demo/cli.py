"""``webbcal demo``: simulate, calibrate and report on an observation (see webbcal.demo)."""

from __future__ import annotations

import argparse
from typing import Any

from webbcal.errors import ParameterError

__all__ = ["demo_command", "register"]


def register(subparsers: Any) -> None:
    """Add ``demo`` to the command line."""
    p = subparsers.add_parser(
        "demo",
        help="simulate an observation and run Stage 1 -> 2 -> 3 on it, with a report",
        description="Simulate a dithered observation (default: NIRCam F200W NRCA1, four "
        "full-frame exposures of stars and galaxies with cosmic rays), run Stage 1, 2 and 3 "
        "in parallel through the association files it writes, and write the run report. "
        "Prints the time of each stage and a summary of catalog vs truth.",
    )
    p.add_argument(
        "--output-dir", default="demo_output", help="where to write (default demo_output)"
    )
    p.add_argument(
        "--instrument", default="NIRCAM", type=str.upper, help="NIRCAM (default), MIRI or NIRISS"
    )
    p.add_argument("--detector", help="detector (default per instrument, e.g. NRCA1)")
    p.add_argument("--filter", help="filter (default per instrument, e.g. F200W)")
    p.add_argument("--exposures", type=int, default=4, help="dithered exposures (default 4)")
    p.add_argument("--ngroups", type=int, help="groups per integration (default 10; 5 small)")
    p.add_argument("--subarray", help="subarray (default FULL; SUB320 with --small)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--workers", type=int, help="Dask worker processes (default: one per core)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler")
    p.add_argument("--small", action="store_true", help="a quick subarray version (tests)")
    p.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    p.set_defaults(func=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    """Handler of ``webbcal demo``; exit status 1 when a stage or member failed."""
    from webbcal.demo import DemoConfig, run_demo

    if args.exposures < 1:
        raise ParameterError("--exposures must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise ParameterError("--workers must be at least 1")
    config = DemoConfig(
        output_dir=args.output_dir,
        instrument=args.instrument,
        detector=args.detector,
        filter=args.filter,
        exposures=args.exposures,
        seed=args.seed,
        ngroups=args.ngroups,
        subarray=args.subarray,
        workers=args.workers,
        scheduler=args.scheduler,
        small=args.small,
        report=not args.no_report,
    )
    config.observation()  # a bad instrument or filter fails before anything runs
    result = run_demo(config)
    print(result.summary_text())
    return 0 if result.ok else 1
