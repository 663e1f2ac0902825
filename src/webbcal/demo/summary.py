"""The one-screen terminal summary of ``webbcal demo``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webbcal.demo import DemoResult

__all__ = ["format_summary"]

_STAGES = (
    ("simulate", "simulate"),
    ("stage1", "Stage 1"),
    ("stage2", "Stage 2"),
    ("stage3", "Stage 3"),
    ("report", "report"),
)


def _num(value: Any, fmt: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, fmt)


def format_summary(result: DemoResult) -> str:
    """Stage times, members, sources, catalog vs truth and pull widths, as text."""
    cfg = result.config
    sim = cfg.observation()
    exp = sim.exposure
    lines = [
        f"webbcal demo: {exp.instrument} {exp.detector} {exp.filter} {exp.subarray}, "
        f"{sim.exposures} exposure(s), {exp.ngroups} groups, seed {cfg.seed}",
        f"output: {result.output_dir}",
        "",
        "time per stage:",
    ]
    stages = {s.pipeline: s for s in (result.observation.stages if result.observation else [])}
    aliases = [s.pipeline for s in stages.values()]
    for key, label in _STAGES:
        if key not in result.times:
            continue
        extra = ""
        index = {"stage1": 0, "stage2": 1, "stage3": 2}.get(key)
        if index is not None and index < len(aliases):
            s = stages[aliases[index]]
            extra = (
                f"  {s.pipeline}: {s.count('complete')} complete, "
                f"{s.count('resumed')} resumed, {s.count('failed')} failed"
            )
        lines.append(f"  {label:<9} {result.times[key]:7.1f} s{extra}")
    lines.append(f"  {'total':<9} {result.times.get('total', float('nan')):7.1f} s")
    if result.observation is not None:
        for why in result.observation.not_run:
            lines.append(f"  not run: {why}")
        for stage in result.observation.stages:
            for member in stage.failed:
                lines.append(f"  FAILED {stage.pipeline} {member.label}: {member.error}")
    n = result.numbers
    lines += ["", "catalog vs truth:"]
    lines.append(
        f"  sources detected {_num(n.get('n_sources'), 'd')}, truth in field "
        f"{_num(n.get('n_truth'), 'd')}, matched {_num(n.get('n_matched'), 'd')}"
    )
    lines.append(
        f"  completeness {_num(n.get('completeness'))} "
        f"(S/N > 10: {_num(n.get('completeness_bright'))} of {_num(n.get('n_bright'), 'd')}; "
        f"stars {_num(n.get('completeness_stars'))})"
    )
    lines.append(
        f"  flux ratio (median catalog / truth): stars {_num(n.get('flux_ratio_stars'))} "
        f"(aperture-corrected, {_num(n.get('n_matched_stars'), 'd')} stars), "
        f"galaxies {_num(n.get('flux_ratio_galaxies'))} (isophotal)"
    )
    lines.append(f"  astrometry rms {_num(n.get('astrometry_rms_mas'), '.1f')} mas")
    pulls = n.get("pulls") or {}
    if pulls:
        lines += [
            "",
            "pulls (measured - truth) / ERR, honest errors give std 1 (the 1/f noise left by",
            "the reference pixels is not in ERR; stage1_rows_removed takes it out):",
        ]
        for stage, s in pulls.items():
            lines.append(
                f"  {stage}: n {_num(s.get('n'), 'd')}, mean {_num(s.get('mean'), '+.3f')},"
                f" std {_num(s.get('std'))}"
            )
    if result.report is not None:
        lines += ["", f"report: {result.report.html}"]
    if result.summary_file is not None:
        lines.append(f"summary: {result.summary_file}")
    return "\n".join(lines)
