"""Time calwebb_image2 end to end (rate file -> cal + i2d files), per step, with peak memory.

Case: a NIRCam NRCA1 FULL (2048 x 2048) F200W exposure, simulated with ``webbcal.sim`` and
reduced to ``_rate`` by ``calwebb_detector1`` once (kept in ``--workdir``). The timed
process (``NUMBA_NUM_THREADS`` = ``--threads``, default 2, pinned to as many CPUs when the
OS allows) first warms up on a SUB160 exposure of the same detector (numba caches, ASDF
extensions, reference files), then runs
``Image2Pipeline.call(rate, save_results=True, output_dir=...)`` and reports the wall time
of every step, the total (reading the rate, writing cal and i2d included), the CPU time
and the peak RSS of the process (``ru_maxrss``). ``--cold`` skips the warm-up.

Baseline (the official pipeline, same case): 7.4 s total, of which resample 5.3 s; 1.1 GB
peak. Targets: <= 1.5 s, <= 0.6 GB.

Usage::

    python benchmarks/image2.py [--workdir DIR] [--threads 2] [--repeat 1] [--cold]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

OFFICIAL = {"total_s": 7.4, "resample_s": 5.3, "peak_gb": 1.1}
TARGET = {"total_s": 1.5, "peak_gb": 0.6}
CASES = {
    "full": dict(subarray="FULL", ngroups=10),
    "tiny": dict(subarray="SUB160", ngroups=3),
}


def make_rate(case: str, workdir: Path) -> Path:
    """Simulate the case's exposure and run calwebb_detector1 once (cached)."""
    folder = workdir / case
    done = folder / "rate.json"
    if done.is_file():
        return Path(json.loads(done.read_text())["rate"])
    folder.mkdir(parents=True, exist_ok=True)
    from webbcal.pipelines.calwebb_detector1 import Detector1Pipeline
    from webbcal.sim import ExposureConfig, simulate_exposure

    truth = simulate_exposure(ExposureConfig(instrument="NIRCAM", detector="NRCA1",
                                             filter="F200W", pupil="CLEAR", readpatt="RAPID",
                                             output_dir=str(folder), **CASES[case]))  # fmt: skip
    Detector1Pipeline.call(str(truth.files["uncal"]), save_results=True, output_dir=str(folder))
    rate = folder / f"{truth.name}_rate.fits"
    done.write_text(json.dumps({"rate": str(rate)}))
    return rate


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0**2


def worker(workdir: Path, warm: bool) -> dict:
    """Run the pipeline on the full-frame rate; return the timings."""
    from webbcal.core.step import Step
    from webbcal.pipelines.calwebb_image2 import Image2Pipeline

    rate = make_rate("full", workdir)
    if warm:
        with tempfile.TemporaryDirectory() as tmp:
            Image2Pipeline.call(str(make_rate("tiny", workdir)), save_results=True,
                                output_dir=tmp)  # fmt: skip
    steps: list[tuple[str, float, float]] = []
    original = Step._execute

    def timed_execute(self, target, config):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return original(self, target, config)
        finally:
            if not self.is_pipeline:
                steps.append((self.name, time.perf_counter() - t0, time.process_time() - c0))

    Step._execute = timed_execute
    with tempfile.TemporaryDirectory() as out:
        cpu0, t0 = time.process_time(), time.perf_counter()
        Image2Pipeline.call(str(rate), save_results=True, output_dir=out)
        total = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        written = sorted(p.name for p in Path(out).iterdir())
    Step._execute = original
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {"total_s": total, "cpu_s": cpu, "peak_gb": peak_rss_gb(), "steps": steps,
            "outputs": written, "load": load}  # fmt: skip


def run_worker(workdir: Path, threads: int, mode: str) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--workdir", str(workdir), "--worker", mode,
           "--threads", str(threads)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"worker failed ({mode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(result: dict, threads: int) -> None:
    print(f"\n== calwebb_image2, NIRCam NRCA1 FULL F200W, {threads} threads "
          f"(load average {result['load']:.1f})")  # fmt: skip
    merged: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for name, seconds, cpu_s in result["steps"]:
        merged[name] = merged.get(name, 0.0) + seconds
        cpu[name] = cpu.get(name, 0.0) + cpu_s
    print(f"  {'step':<14s} {'wall':>10s} {'CPU':>10s}")
    for name, seconds in merged.items():
        print(f"  {name:<14s} {seconds * 1000:7.1f} ms {cpu[name] * 1000:7.1f} ms")
    other = result["total_s"] - sum(merged.values())
    other_cpu = result["cpu_s"] - sum(cpu.values())
    print(f"  {'(read/write)':<14s} {other * 1000:7.1f} ms {other_cpu * 1000:7.1f} ms")
    resample = merged.get("resample", float("nan"))
    print(f"  total {result['total_s']:.2f} s (target <= {TARGET['total_s']} s; official "
          f"{OFFICIAL['total_s']} s, x{OFFICIAL['total_s'] / result['total_s']:.1f}), "
          f"CPU {result['cpu_s']:.2f} s")  # fmt: skip
    print(f"  resample {resample:.2f} s (official {OFFICIAL['resample_s']} s, "
          f"x{OFFICIAL['resample_s'] / resample:.1f})")  # fmt: skip
    print(f"  peak RSS {result['peak_gb']:.2f} GB (target <= {TARGET['peak_gb']} GB, official "
          f"{OFFICIAL['peak_gb']} GB)")  # fmt: skip
    print(f"  outputs: {', '.join(result['outputs'])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "webbcal_bench_i2"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cold", action="store_true", help="no warm-up run before timing")
    ap.add_argument("--worker", choices=("prepare", "warm", "cold"))
    args = ap.parse_args()
    workdir = Path(args.workdir)
    if args.worker:
        if hasattr(os, "sched_setaffinity"):
            cpus = sorted(os.sched_getaffinity(0))[: args.threads]
            os.sched_setaffinity(0, cpus)
        print(json.dumps(worker(workdir, warm=args.worker == "warm")))
        return
    make_rate("full", workdir)
    make_rate("tiny", workdir)
    run_worker(workdir, args.threads, "prepare")
    for _ in range(args.repeat):
        report(run_worker(workdir, args.threads, "cold" if args.cold else "warm"), args.threads)


if __name__ == "__main__":
    main()
