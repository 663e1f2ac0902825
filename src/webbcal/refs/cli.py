"""``webbcal refs build|best|list|add``: the local reference-file store from the shell."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from webbcal.errors import ParameterError, ReferenceFileError, WebbcalError

log = logging.getLogger(__name__)

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``refs`` command and its sub-commands."""
    refs = subparsers.add_parser(
        "refs",
        help="reference files: build the embedded set, select, list, add",
        description="The local reference-file store ($WEBBCAL_REFS, default "
        "~/.cache/webbcal/refs): the embedded set webbcal builds, and files added to it.",
    )
    sub = refs.add_subparsers(dest="refs_command", metavar="<refs command>", required=True)

    build = sub.add_parser("build", help="build the embedded reference files ahead of use")
    build.add_argument("--instrument", nargs="+", metavar="NAME",
                       help="instruments (default: all)")  # fmt: skip
    build.add_argument("--detector", nargs="+", metavar="NAME",
                       help="detectors (default: all of each instrument)")  # fmt: skip
    build.add_argument("--reftype", nargs="+", metavar="TYPE",
                       help="reference types (default: all the builder makes)")  # fmt: skip
    build.add_argument("--filter", nargs="+", metavar="NAME",
                       help="filters to build flats for (default: all)")  # fmt: skip
    build.set_defaults(func=_build)

    best = sub.add_parser("best", help="print the reference file of each type for an exposure")
    best.add_argument("exposure", type=Path, help="exposure file (FITS or ASDF)")
    best.add_argument("--reftype", nargs="+", metavar="TYPE",
                      help="reference types (default: all the rules know)")  # fmt: skip
    best.add_argument("--source", choices=("embedded", "crds"),
                      help="embedded rules or a local CRDS cache (default: automatic)")  # fmt: skip
    best.add_argument("--no-build", action="store_true",
                      help="do not build missing embedded files")  # fmt: skip
    best.set_defaults(func=_best)

    listing = sub.add_parser("list", help="list the files of the store")
    listing.add_argument("--instrument", metavar="NAME")
    listing.add_argument("--reftype", metavar="TYPE")
    listing.set_defaults(func=_list)

    add = sub.add_parser("add", help="add existing reference files (e.g. from CRDS) to the store")
    add.add_argument("files", nargs="+", type=Path)
    add.add_argument("--move", action="store_true", help="move the files instead of copying")
    add.set_defaults(func=_add)


def _build(args: argparse.Namespace) -> int:
    from webbcal.refs import build_references
    from webbcal.refs.rules import rules

    instruments = args.instrument or list(rules().instruments)
    if args.detector and len(instruments) != 1:
        raise ParameterError("--detector needs exactly one --instrument")
    for inst in instruments:
        start = time.perf_counter()
        paths = build_references(inst, args.detector, args.reftype, args.filter)
        log.info("%s: %d reference files ready (%.1f s)", inst.upper(), len(paths),
                 time.perf_counter() - start)  # fmt: skip
        for path in paths:
            print(path)
    return 0


def _best(args: argparse.Namespace) -> int:
    from webbcal.refs import best_reference, reftypes_for
    from webbcal.refs.keys import exposure_keys

    keys = exposure_keys(args.exposure)
    types = [t.lower() for t in args.reftype] if args.reftype else list(reftypes_for(keys))
    if not types:
        raise ReferenceFileError(
            f"no selection rules for instrument {keys.get('INSTRUME')!r}", path=args.exposure
        )
    failures = 0
    for reftype in types:
        try:
            path = best_reference(reftype, keys, source=args.source, build=not args.no_build)
        except WebbcalError as exc:
            failures += 1
            print(f"{reftype} -> ERROR: {exc}")
            continue
        print(f"{reftype} -> {'N/A' if path is None else path}")
    return 1 if failures else 0


def _list(args: argparse.Namespace) -> int:
    from webbcal.refs import Store

    store = Store()
    entries = store.entries(args.instrument.upper() if args.instrument else None, args.reftype)
    if not entries:
        print(f"no reference files in {store.root}", file=sys.stderr)
        return 0
    for e in entries:
        selectors = " ".join(f"{k}={v}" for k, v in e.selectors.items() if v != "N/A")
        print(f"{e.instrument:8s} {e.reftype:13s} {e.useafter} {e.source:8s} {e.name}  {selectors}")
    return 0


def _add(args: argparse.Namespace) -> int:
    from webbcal.refs.external import add_reference

    for path in args.files:
        print(add_reference(path, copy=not args.move))
    return 0
