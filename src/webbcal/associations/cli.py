"""``webbcal asn``: make and check association files.

::

    webbcal asn from-list -o OUT.json [-r DMSLevel2bBase | --product-name NAME] [-i ID] FILES...
    webbcal asn check ASN.json
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from webbcal.associations.asn import load_asn
from webbcal.associations.from_list import asn_from_list

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``asn`` and its sub-commands to the command line."""
    parser = subparsers.add_parser("asn", help="make or check association files")
    sub = parser.add_subparsers(dest="asn_command", metavar="<asn-command>", required=True)

    make = sub.add_parser(
        "from-list",
        help="create an association from a list of files (as asn_from_list)",
        description="Level 3 (default): one product named --product-name with every file "
        "as a science member. Level 2 (-r DMSLevel2bBase): one product per file.",
    )
    make.add_argument("-o", "--output-file", required=True, help="association file to write")
    make.add_argument(
        "-r",
        "--rule",
        default="DMS_Level3_Base",
        help="DMS_Level3_Base (default) or DMSLevel2bBase",
    )
    make.add_argument("--product-name", help="name of the level-3 product")
    make.add_argument("-i", "--id", dest="acid", default="o999", help="association candidate id")
    make.add_argument("files", nargs="+", help="member files")
    make.set_defaults(func=from_list_command)

    check = sub.add_parser("check", help="validate an association and find its members")
    check.add_argument("file")
    check.set_defaults(func=check_command)


def from_list_command(args: argparse.Namespace) -> int:
    """Handler of ``webbcal asn from-list``: member names are made relative to OUT's folder."""
    out = Path(args.output_file)
    base = out.parent.resolve()
    names = [os.path.relpath(Path(f).resolve(), base) for f in args.files]
    asn = asn_from_list(names, product_name=args.product_name, rule=args.rule, acid=args.acid)
    asn.write(out)
    print(f"wrote {out} ({len(asn.products)} product(s), {len(asn.members())} member(s))")
    return 0


def check_command(args: argparse.Namespace) -> int:
    """Handler of ``webbcal asn check``."""
    asn = load_asn(args.file)
    print(f"{args.file}: valid, {len(asn.products)} product(s), {len(asn.members())} member(s)")
    return 0
