"""``webbcal run``: run a step or pipeline on an input, with strun's syntax.

Usage::

    webbcal run <alias|class|parameter-file> <input> [--name=value ...]
                [--steps.<step>.<name>=value ...] [--config FILE]
                [--save-parameters FILE] [--output_dir DIR]
    webbcal run <alias> <asn.json> [--workers N | --scheduler tcp://HOST:PORT] [--resume]
    webbcal run --list
    webbcal run <alias> --help

Options are written ``--name=value`` or ``--name value``; dashes and underscores are the
same in names (``--output-dir`` = ``--output_dir``); a boolean written alone
(``--skip``) is true. The step is configured exactly as ``Step.call(input, **options)``
would be, with ``save_results`` on unless given.

With ``--workers N`` (a local Dask cluster of N processes; 1: one member after the other
in this process), ``--scheduler ADDR`` (a running Dask scheduler) or ``--resume`` (skip
members whose products are complete on disk), the members of an association run in
parallel through :func:`webbcal.parallel.run_association`: a failing member is reported
and the others complete; the exit status is 1 when any member failed.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webbcal.core import registry
from webbcal.core.config_files import read_config_tree
from webbcal.core.params import BARE_FLAG
from webbcal.core.step import iter_models
from webbcal.errors import ParameterError, StepError

log = logging.getLogger(__name__)

__all__ = ["RunArgs", "nest_options", "parse_run_tokens", "register"]

_CONFIG_SUFFIXES = (".asdf", ".yaml", ".yml")

USAGE = __doc__.split("::", 1)[1].replace("``", "")


def register(subparsers: Any) -> None:
    """Add ``run`` to the command line."""
    parser = subparsers.add_parser(
        "run",
        help="run a step or pipeline (strun syntax; `run --list` lists them)",
        description=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.set_defaults(func=run_command, raw_tokens=True)


@dataclass
class RunArgs:
    """``webbcal run`` arguments, parsed."""

    positionals: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    config: str | None = None
    save_parameters: str | None = None
    list: bool = False
    help: bool = False
    workers: int | None = None
    scheduler: str | None = None
    resume: bool = False

    @property
    def parallel(self) -> bool:
        """True when the run goes through :mod:`webbcal.parallel`."""
        return self.workers is not None or self.scheduler is not None or self.resume


def parse_run_tokens(tokens: list[str]) -> RunArgs:
    """Parse ``run``'s tokens: positionals, ``--name[=value]`` options, the run flags."""
    out = RunArgs()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token in ("-h", "--help"):
            out.help = True
        elif token == "--list":
            out.list = True
        elif token.startswith("--") and len(token) > 2:
            name, eq, value = token[2:].partition("=")
            name = name.replace("-", "_")
            if name == "resume":
                out.resume = _parse_bool(value) if eq else True
                continue
            if not eq:
                if i < len(tokens) and not tokens[i].startswith("--"):
                    value, i = tokens[i], i + 1
                else:
                    value = BARE_FLAG
            if name in ("config", "save_parameters"):
                if value is BARE_FLAG:
                    raise ParameterError(f"--{name} needs a file name")
                setattr(out, name, value)
            elif name in ("workers", "scheduler"):
                _set_parallel_option(out, name, value)
            else:
                out.options[name] = value
        elif token.startswith("-") and len(token) > 1:
            raise ParameterError(f"unknown option {token!r}; parameters are --name=value")
        else:
            out.positionals.append(token)
    return out


def _parse_bool(value: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ParameterError(f"--resume takes true or false, not {value!r}")


def _set_parallel_option(out: RunArgs, name: str, value: Any) -> None:
    if value is BARE_FLAG:
        raise ParameterError(f"--{name} needs a value")
    if name == "scheduler":
        out.scheduler = value
        return
    try:
        out.workers = int(value)
    except ValueError:
        raise ParameterError(f"--workers takes a number of processes, not {value!r}") from None
    if out.workers < 1:
        raise ParameterError("--workers must be at least 1")


def nest_options(options: dict[str, Any]) -> dict[str, Any]:
    """``{"steps.jump.x": v}`` -> ``{"steps": {"jump": {"x": v}}}`` (any depth)."""
    nested: dict[str, Any] = {}
    for key, value in options.items():
        parts = key.split(".")
        target = nested
        while len(parts) >= 3 and parts[0] == "steps":
            target = target.setdefault("steps", {}).setdefault(parts[1], {})
            parts = parts[2:]
        if len(parts) != 1 or not parts[0]:
            raise ParameterError(
                f"bad option --{key}; use --name=value or --steps.<step>.<name>=value"
            )
        target[parts[0]] = value
    return nested


def format_list() -> str:
    """The ``run --list`` text: every registered pipeline and step with its description."""
    classes = registry.list_registered()
    if not classes:
        return "No steps or pipelines are registered."
    width = max(len(c.alias) for c in classes)
    cwidth = max(len(c.class_name) for c in classes)
    lines = []
    for title, is_pipeline in (("Pipelines", True), ("Steps", False)):
        group = [c for c in classes if c.is_pipeline == is_pipeline]
        if group:
            lines.append(f"{title}:")
            lines.extend(
                f"  {c.alias:<{width}}  {c.class_name:<{cwidth}}  {c.description}".rstrip()
                for c in group
            )
    return "\n".join(lines)


def _target_class(target: str, config: str | None) -> tuple[type, str | None]:
    """The class to run and the config file, for a name or a parameter file."""
    if target.lower().endswith(_CONFIG_SUFFIXES) and Path(target).is_file():
        if config is not None:
            raise ParameterError("give either a parameter file as the target or --config")
        class_path = read_config_tree(target).get("class")
        if not class_path:
            raise ParameterError(f"parameter file {target} does not name a 'class'")
        return registry.get(str(class_path)), target
    return registry.get(target), config


def run_command(args: argparse.Namespace) -> int:
    """Handler of ``webbcal run``."""
    run = parse_run_tokens(args.tokens)
    if run.list:
        print(format_list())
        return 0
    if not run.positionals:
        if run.help:
            print(USAGE.strip("\n"))
            return 0
        raise ParameterError("run needs a step or pipeline and an input (`webbcal run --list`)")
    cls, config_file = _target_class(run.positionals[0], run.config)
    if run.help:
        print(cls.describe())
        return 0
    if len(run.positionals) < 2:
        raise ParameterError(f"run {run.positionals[0]}: missing the input file")
    if len(run.positionals) > 2:
        extra = " ".join(run.positionals[2:])
        raise ParameterError(f"run {run.positionals[0]}: unexpected arguments: {extra}")
    overrides = nest_options(run.options)
    overrides.setdefault("save_results", True)
    if run.parallel:
        return _run_parallel(cls, run, config_file, overrides)
    step = cls(config_file=config_file, **overrides)
    result = step.run(run.positionals[1])
    if run.save_parameters:
        step.save_parameters(run.save_parameters)
    for model in iter_models(result):
        close = getattr(model, "close", None)
        if close is not None:
            close()
    return 0


def _run_parallel(
    cls: type, run: RunArgs, config_file: str | None, overrides: dict[str, Any]
) -> int:
    """``--workers``/``--scheduler``/``--resume``: the association's members in parallel."""
    from webbcal.associations.asn import is_association_file
    from webbcal.parallel import run_association

    target = run.positionals[1]
    if not is_association_file(target):
        raise ParameterError(
            "--workers, --scheduler and --resume run the members of an association: "
            f"give an association file (.json), not {target}"
        )
    if run.save_parameters:
        raise ParameterError("--save-parameters is not available with --workers/--resume")
    summary = run_association(
        cls,
        target,
        workers=run.workers,
        scheduler=run.scheduler,
        resume=run.resume,
        config_file=config_file,
        **overrides,
    )
    for member in summary.failed:
        log.error("%s: %s", member.label, member.error)
    if summary.failed:
        raise StepError(
            f"{len(summary.failed)} of {len(summary.members)} member(s) failed "
            f"(the others completed; rerun with --resume to redo only those)",
            path=target,
        )
    return 0
