"""The ``webbcal`` command line: ``webbcal [-v|-q] [--log-file F] <command> ...``.

Commands come from the modules listed in :data:`COMMAND_MODULES`; each exposes
``register(subparsers) -> None``, which adds its sub-parser(s) and sets
``func=handler(args) -> int`` with ``set_defaults``. A command that parses its own
arguments (``run``, strun-style ``--name=value`` options) also sets ``raw_tokens=True``:
it then receives everything after its name in ``args.tokens``.

This is the only place logging is configured. Errors webbcal raises on purpose
(:class:`webbcal.errors.WebbcalError`) print one line, ``webbcal: error: <message>``, and
exit with 2 for usage and parameter errors, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from webbcal import __version__
from webbcal.core import progress
from webbcal.errors import ParameterError, WebbcalError

log = logging.getLogger(__name__)

__all__ = ["COMMAND_MODULES", "build_parser", "configure_logging", "main"]

#: Modules that add sub-commands, each with ``register(subparsers) -> None``.
COMMAND_MODULES: list[str] = [
    "webbcal.core.cli_run",
    "webbcal.core.cli_info",
    "webbcal.associations.cli",
    "webbcal.refs.cli",
    "webbcal.sim.cli",
    "webbcal.report.cli",
    "webbcal.demo.cli",
]

_HANDLER_TAG = "_webbcal_cli_handler"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="webbcal",
        description="JWST science calibration pipeline: run steps and pipelines, "
        "inspect products, build associations.",
    )
    parser.add_argument("--version", action="version", version=f"webbcal {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", help="log warnings and errors only; no progress"
    )
    parser.add_argument("--log-file", metavar="FILE", help="also write the full log to FILE")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    parser.set_defaults(_subparsers=subparsers)
    return parser


def _wants_tokens(parser: argparse.ArgumentParser, command: str) -> bool:
    """True when the sub-command ``command`` parses its own arguments (``raw_tokens``)."""
    sub = parser.get_default("_subparsers").choices.get(command)
    return bool(sub is not None and sub.get_default("raw_tokens"))


def configure_logging(verbose: bool = False, quiet: bool = False, log_file: str | None = None):
    """Send webbcal's log to stderr (INFO; DEBUG with -v; WARNING with -q) and a file."""
    logger = logging.getLogger("webbcal")
    for handler in list(logger.handlers):
        if getattr(handler, _HANDLER_TAG, False):
            logger.removeHandler(handler)
            handler.close()
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handlers: list[logging.Handler] = [console]
    if log_file:
        file_handler = logging.FileHandler(log_file)
        file_handler.setLevel(logging.DEBUG)
        file_handler.setFormatter(
            logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
        )
        handlers.append(file_handler)
    for handler in handlers:
        setattr(handler, _HANDLER_TAG, True)
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if (verbose or log_file) else level)
    logger.propagate = False


def _split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split argv after the command name: (global options + command, the rest)."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--log-file":
            i += 2
        elif token.startswith("-"):
            i += 1
        else:
            return argv[: i + 1], argv[i + 1 :]
    return argv, []


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    head, rest = _split_command(argv)
    if head and _wants_tokens(parser, head[-1]):
        args = parser.parse_args(head)
        args.tokens = rest
    else:
        args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        configure_logging(args.verbose, args.quiet, args.log_file)
    except OSError as exc:
        print(f"webbcal: error: cannot open log file: {exc}", file=sys.stderr)
        return 2
    if args.quiet:
        progress.set_enabled(False)
    try:
        return int(args.func(args) or 0)
    except ParameterError as exc:
        print(f"webbcal: error: {exc}", file=sys.stderr)
        return 2
    except WebbcalError as exc:
        print(f"webbcal: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of stdout went away (`webbcal run --list | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        print(f"webbcal: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("webbcal: interrupted", file=sys.stderr)
        return 130
    finally:
        if args.quiet:
            progress.set_enabled(None)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
