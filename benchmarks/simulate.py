"""Time the simulator on a NIRCam full-frame exposure (2048 x 2048, RAPID, 10 groups).

Reports, separately: the warm-up on a small subarray (numba compilation or cache load,
detector properties), the full-frame simulation without writing, the stages of that run
(scene/render, detector ramps, cosmic rays) and the writing of the uncal file and truth.
Peak resident memory is printed at the end. Target: < 10 s for the simulation on 2 cores.

Usage: ``python benchmarks/simulate.py [--ngroups 10] [--readpatt RAPID] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numba

from webbcal.sim import ExposureConfig, simulate_exposure
from webbcal.sim import detector as _detector


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ngroups", type=int, default=10)
    ap.add_argument("--readpatt", default="RAPID")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)

    cfg = ExposureConfig(
        detector="NRCA1",
        filter="F200W",
        pupil="CLEAR",
        readpatt=args.readpatt,
        ngroups=args.ngroups,
        write=False,
    )
    t0 = time.perf_counter()
    simulate_exposure(replace(cfg, subarray="SUB160", ngroups=2))
    warm = time.perf_counter() - t0
    print(f"threads: {numba.get_num_threads()}")
    print(f"warm-up (compile/cache load, properties): {warm:.2f} s")

    ramp_time = []
    orig = _detector.simulate_ramp

    def timed(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        out = orig(*a, **k)
        ramp_time.append((time.perf_counter() - t, time.process_time() - c))
        return out

    import webbcal.sim.exposure as _exposure

    _exposure.simulate_ramp = timed
    best = float("inf")
    best_cpu = float("inf")
    for i in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        truth = simulate_exposure(replace(cfg, seed=i + 1))
        dt, dc = time.perf_counter() - t, time.process_time() - c
        best, best_cpu = min(best, dt), min(best_cpu, dc)
        print(
            f"full frame {truth.data.shape} run {i + 1}: {dt:.2f} s wall, {dc:.2f} s CPU "
            f"(detector ramps {ramp_time[-1][0]:.2f} s wall, {ramp_time[-1][1]:.2f} s CPU; "
            f"{len(truth.catalog)} sources, "
            f"{len(set(truth.cosmic_rays['event']))} cosmic-ray events)"
        )
    _exposure.simulate_ramp = orig
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        simulate_exposure(replace(cfg, seed=99, write=True, output_dir=tmp))
        print(f"with writing the uncal and truth files: {time.perf_counter() - t:.2f} s")
    print(
        f"best full-frame simulation: {best:.2f} s wall, {best_cpu:.2f} s CPU over all "
        f"threads (target < 10 s wall on 2 cores; on an otherwise idle 2-core machine the "
        f"wall time is about CPU / 2 + the serial part)"
    )
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores")
    print(f"peak RSS: {_peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
