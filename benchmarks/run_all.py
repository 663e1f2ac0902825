"""Run every benchmark script in benchmarks/ and write benchmarks/results.md (``make bench``).

Each script (detector1, ramp_fit, jump, simulate, refs_build, image2, image3, demo: those
that exist; any other ``benchmarks/*.py`` after them) runs in its own process with a
time limit and prints its own figures, including its ratios against the official
pipeline's numbers or stcal where it has them. This script collects the output, keeps the
lines with totals, targets and ratios as a summary, and writes ``results.md`` with the
machine (cores, memory, CPU model) and the versions of Python, numpy, numba, webbcal and
stcal. A benchmark that is missing, fails or runs out of time is reported as such; the
others still run.

Usage::

    python benchmarks/run_all.py [--only detector1,jump] [--timeout 1800] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ORDER = ("detector1", "ramp_fit", "jump", "simulate", "refs_build", "image2", "image3", "demo")
KEY_LINE = re.compile(r"ratio|official|stcal|target|total|peak|throughput|speed", re.IGNORECASE)
MAX_KEY_LINES = 12


@dataclass
class Outcome:
    name: str
    status: str  # "ok", "failed (exit N)", "timed out", "missing"
    seconds: float = 0.0
    output: str = ""

    def key_lines(self) -> list[str]:
        lines = [ln.strip() for ln in self.output.splitlines() if KEY_LINE.search(ln)]
        return lines[:MAX_KEY_LINES]


def benchmark_names(only: list[str] | None) -> list[str]:
    present = sorted(p.stem for p in HERE.glob("*.py") if p.stem != "run_all")
    names = [n for n in ORDER if n in present] + [n for n in present if n not in ORDER]
    if only:
        return only
    missing = [n for n in ORDER if n not in present]
    return names + missing


def run_one(name: str, timeout: float) -> Outcome:
    script = HERE / f"{name}.py"
    if not script.is_file():
        return Outcome(name, "missing")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
    }
    print(f"== {name} ...", flush=True)
    t0 = time.perf_counter()
    # a session of its own: on time-out the whole group (workers, sub-processes) is killed
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, _ = proc.communicate()
        print(f"   timed out after {timeout:.0f} s", flush=True)
        return Outcome(name, f"timed out after {timeout:.0f} s", time.perf_counter() - t0, stdout)
    seconds = time.perf_counter() - t0
    output = stdout + (f"\n[stderr]\n{stderr[-4000:]}" if proc.returncode else "")
    status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
    print(f"   {status} in {seconds:.1f} s", flush=True)
    return Outcome(name, status, seconds, output)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    try:
        import psutil

        memory = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        memory = "unknown"
    try:
        cores = str(len(os.sched_getaffinity(0)))
    except AttributeError:
        cores = str(os.cpu_count())
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": cores,
        "memory": memory,
        "cpu": _cpu_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
        **{pkg: _version(pkg) for pkg in ("numpy", "numba", "webbcal", "stcal", "dask")},
    }


def write_results(path: Path, info: dict[str, str], outcomes: list[Outcome]) -> None:
    lines = ["# webbcal benchmarks", "", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += [
        "",
        "## Summary",
        "",
        "| benchmark | status | wall [s] | key figures |",
        "| --- | --- | ---: | --- |",
    ]
    for o in outcomes:
        keys = "<br>".join(k.replace("|", "/") for k in o.key_lines()) or "-"
        wall = f"{o.seconds:.1f}" if o.seconds else "-"
        lines.append(f"| {o.name} | {o.status} | {wall} | {keys} |")
    for o in outcomes:
        lines += ["", f"## {o.name}", "", f"status: {o.status}"]
        if o.output.strip():
            lines += ["", "```", o.output.rstrip(), "```"]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated benchmark names")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per benchmark")
    ap.add_argument("--output", default=str(HERE / "results.md"))
    args = ap.parse_args()
    names = benchmark_names(args.only.split(",") if args.only else None)
    outcomes = [run_one(name, args.timeout) for name in names]
    path = Path(args.output)
    write_results(path, machine(), outcomes)
    print(f"\nwrote {path}")
    for o in outcomes:
        print(f"  {o.name:<12s} {o.status}")
    return 0 if any(o.status == "ok" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
