"""Time calwebb_image3 end to end (association of 4 _cal files -> i2d, cat, segm, crf).

Case: four dithered (BOX, 3") full-frame NIRCam NRCA1 F200W exposures of a star-rich field
(150 stars/arcmin^2 plus the default galaxies) with 0.2" rms pointing errors, simulated with
``webbcal.sim`` and reduced with ``calwebb_detector1`` and ``calwebb_image2`` (resample
skipped) once, kept in ``--workdir`` with their level-3 association. The timed process
(``NUMBA_NUM_THREADS`` = ``--threads``, default 2, pinned to as many CPUs when the OS
allows) first warms up on a SUB320 set (numba caches, ASDF extensions, reference files),
then runs ``Image3Pipeline.call(asn, save_results=True, output_dir=...)`` and reports the
wall time of every step, the total (reading the cal files and writing every product
included), the CPU time and the peak RSS of the process (``ru_maxrss``). ``--cold`` skips
the warm-up; ``--on-disk`` runs the memory-bounded mode (``in_memory=False``).

Baseline (the official pipeline, same case): 57.8 s total -- tweakreg 12.2, skymatch 1.8,
outlier_detection 23.0, resample 17.8, source_catalog 2.6 -- and 1.6 GB peak.
Targets: <= 8 s, <= 0.8 GB.

Usage::

    python benchmarks/image3.py [--workdir DIR] [--threads 2] [--repeat 1] [--cold] [--on-disk]
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

OFFICIAL = {"total_s": 57.8, "peak_gb": 1.6, "tweakreg": 12.2, "skymatch": 1.8,
            "outlier_detection": 23.0, "resample": 17.8, "source_catalog": 2.6}  # fmt: skip
TARGET = {"total_s": 8.0, "peak_gb": 0.8}
CASES = {"full": dict(subarray="FULL", ngroups=6), "tiny": dict(subarray="SUB320", ngroups=3)}
STEPS = ("tweakreg", "skymatch", "outlier_detection", "resample", "source_catalog")


def make_inputs(case: str, workdir: Path) -> Path:
    """Simulate the case's dither and reduce it to _cal files once; returns the asn path."""
    folder = workdir / case
    done = folder / "inputs.json"
    if done.is_file():
        return Path(json.loads(done.read_text())["asn"])
    folder.mkdir(parents=True, exist_ok=True)
    from webbcal.pipelines.calwebb_detector1 import Detector1Pipeline
    from webbcal.pipelines.calwebb_image2 import Image2Pipeline
    from webbcal.sim import ExposureConfig, ObservationConfig, SceneConfig, simulate_observation

    exposure = ExposureConfig(instrument="NIRCAM", detector="NRCA1", filter="F200W",
                              pupil="CLEAR", readpatt="RAPID", output_dir=str(folder),
                              scene=SceneConfig(star_density=150.0), **CASES[case])  # fmt: skip
    obs = simulate_observation(ObservationConfig(exposure=exposure, exposures=4,
                                                 dither_pattern="BOX", dither_size=3.0,
                                                 pointing_error_sigma=0.2))  # fmt: skip
    for truth in obs.exposures:
        Detector1Pipeline.call(str(truth.files["uncal"]), save_results=True,
                               output_dir=str(folder))  # fmt: skip
        Image2Pipeline.call(str(folder / f"{truth.name}_rate.fits"), save_results=True,
                            output_dir=str(folder), steps={"resample": {"skip": True}})  # fmt: skip
    asn = obs.files["asn_image3"]
    done.write_text(json.dumps({"asn": str(asn)}))
    return asn


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0**2


def worker(workdir: Path, warm: bool, in_memory: bool) -> dict:
    """Run the pipeline on the full-frame association; return the timings."""
    from webbcal.core.step import Step
    from webbcal.pipelines.calwebb_image3 import Image3Pipeline

    asn = make_inputs("full", workdir)
    if warm:
        with tempfile.TemporaryDirectory() as tmp:
            Image3Pipeline.call(str(make_inputs("tiny", workdir)), save_results=True,
                                output_dir=tmp)  # fmt: skip
    steps: list[tuple[str, float]] = []
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
        result = Image3Pipeline.call(str(asn), save_results=True, output_dir=out,
                                     in_memory=in_memory)  # fmt: skip
        total = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        written = sorted(p.name for p in Path(out).iterdir())
    Step._execute = original
    fits = {}
    for m in result.crf or []:
        info = (m.meta.webbcal.to_dict() if m.meta.webbcal is not None else {}).get("tweakreg", {})
        rel = info.get("relative", {})
        fits[str(m.meta.filename)] = [rel.get("status"), rel.get("rms_mas"), rel.get("nmatches")]
    nsrc = len(result.catalog.table) if result.catalog is not None else 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {"total_s": total, "cpu_s": cpu, "peak_gb": peak_rss_gb(), "steps": steps,
            "outputs": written, "load": load, "fits": fits, "sources": nsrc,
            "shape": list(result.i2d.shape)}  # fmt: skip


def run_worker(workdir: Path, threads: int, mode: str, on_disk: bool = False) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--workdir", str(workdir), "--worker", mode,
           "--threads", str(threads)] + (["--on-disk"] if on_disk else [])  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"worker failed ({mode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(result: dict, threads: int, on_disk: bool) -> None:
    mode = "in_memory=False" if on_disk else "in_memory=True"
    print(f"\n== calwebb_image3, 4 x NIRCam NRCA1 FULL F200W, {mode}, {threads} threads "
          f"(load average {result['load']:.1f})")  # fmt: skip
    merged: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for name, seconds, cpu_s in result["steps"]:
        merged[name] = merged.get(name, 0.0) + seconds
        cpu[name] = cpu.get(name, 0.0) + cpu_s
    for name in STEPS:
        seconds = merged.get(name, float("nan"))
        print(f"  {name:<18s} {seconds:7.2f} s  CPU {cpu.get(name, float('nan')):6.2f} s  "
              f"(official {OFFICIAL[name]:5.1f} s, x{OFFICIAL[name] / seconds:.1f})")  # fmt: skip
    other = result["total_s"] - sum(merged.values())
    print(f"  {'(read/write)':<18s} {other:7.2f} s  CPU "
          f"{result['cpu_s'] - sum(cpu.values()):6.2f} s")  # fmt: skip
    print(f"  total {result['total_s']:.2f} s (target <= {TARGET['total_s']} s; official "
          f"{OFFICIAL['total_s']} s, x{OFFICIAL['total_s'] / result['total_s']:.1f}), "
          f"CPU {result['cpu_s']:.2f} s")  # fmt: skip
    print(f"  peak RSS {result['peak_gb']:.2f} GB (target <= {TARGET['peak_gb']} GB, official "
          f"{OFFICIAL['peak_gb']} GB)")  # fmt: skip
    print(f"  mosaic {result['shape'][1]} x {result['shape'][0]}, {result['sources']} sources")
    for name, (status, rms, n) in result["fits"].items():
        print(f"  tweakreg {name}: {status}, {n} matches, rms {rms:.2f} mas" if rms == rms
              else f"  tweakreg {name}: {status}")  # fmt: skip
    print(f"  outputs: {', '.join(result['outputs'])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "webbcal_bench_i3"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cold", action="store_true", help="no warm-up run before timing")
    ap.add_argument("--on-disk", action="store_true", help="run with in_memory=False")
    ap.add_argument("--worker", choices=("prepare", "warm", "cold"))
    args = ap.parse_args()
    workdir = Path(args.workdir)
    if args.worker:
        if hasattr(os, "sched_setaffinity"):
            cpus = sorted(os.sched_getaffinity(0))[: args.threads]
            os.sched_setaffinity(0, cpus)
        if args.worker == "prepare":
            make_inputs("full", workdir)
            make_inputs("tiny", workdir)
            print(json.dumps({}))
            return
        print(json.dumps(worker(workdir, args.worker == "warm", not args.on_disk)))
        return
    run_worker(workdir, args.threads, "prepare")
    mode = "cold" if args.cold else "warm"
    for _ in range(args.repeat):
        result = run_worker(workdir, args.threads, mode, args.on_disk)
        report(result, args.threads, args.on_disk)


if __name__ == "__main__":
    main()
