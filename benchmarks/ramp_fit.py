"""Time the OLS ramp-fitting kernel against stcal's OLS_C on the same arrays.

Cases: a NIRCam full frame (2048 x 2048, 10 groups, 1 integration) and a MIRI frame
(1024 x 1032, 50 groups, 2 integrations), with ~1% of pixels hit by a jump and ~1%
saturating. Each case runs in its own process (so peak RSS is per case): webbcal is
warmed up first (numba compile or cache load, timed separately), then timed; stcal's
``ramp_fit_data`` (OLS_C, single process as jwst's default ``maximum_cores='1'``) is
timed on the same arrays when stcal is installed. Prints time, throughput in
pixel-groups per second, peak RSS and the ratio; the target is >= 20x stcal with 2 cores.

Usage::

    python benchmarks/ramp_fit.py [--cases nircam,miri] [--threads 2] [--no-stcal]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CASES = {
    "nircam": {"shape": (1, 10, 2048, 2048), "frame_time": 10.737, "nframes": 1},
    "miri": {"shape": (2, 50, 1024, 1032), "frame_time": 2.775, "nframes": 1},
}


def make_ramps(shape, frame_time, seed=1):
    import numpy as np

    nints, ngroups, ny, nx = shape
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0, 50, (ny, nx)).astype(np.float32)
    data = np.empty(shape, np.float32)
    gdq = np.zeros(shape, np.uint8)
    for i in range(nints):
        for g in range(ngroups):
            data[i, g] = rate * (frame_time * (g + 1)) + rng.standard_normal(
                (ny, nx), np.float32) * 10
        jump = rng.random((ny, nx)) < 0.01
        gdq[i, ngroups // 2][jump] = 4
        sat = rng.random((ny, nx)) < 0.01
        gdq[i, -2:][:, sat] = 2
    pdq = np.zeros((ny, nx), np.uint32)
    gain = np.full((ny, nx), 2.0, np.float32)
    rn = np.full((ny, nx), 10.0, np.float32)
    return data, gdq, pdq, gain, rn


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(case: str, which: str, threads: int) -> dict:
    """Run one implementation on one case in this process; return timings."""
    import numpy as np

    spec = CASES[case]
    data, gdq, pdq, gain, rn = make_ramps(spec["shape"], spec["frame_time"])
    ft = spec["frame_time"]
    kw = {"frame_time": ft, "group_time": ft, "nframes": spec["nframes"]}
    base_rss = peak_rss_mb()
    out: dict = {"case": case, "which": which, "input_mb": (data.nbytes + gdq.nbytes) / 2**20}
    if which == "webbcal":
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        from webbcal.kernels.ramp_fit import fit_ramps_ols

        t0 = time.perf_counter()
        fit_ramps_ols(np.ascontiguousarray(data[:, :, :8]), np.ascontiguousarray(gdq[:, :, :8]),
                      pdq[:8], gain[:8], rn[:8], **kw)
        out["warmup_s"] = time.perf_counter() - t0
        times, cpus = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            c0 = time.process_time()
            res = fit_ramps_ols(data, gdq, pdq, gain, rn, **kw)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            del res
        out["seconds"] = min(times)
        out["cpu_seconds"] = min(cpus)
        out["threads"] = numba.get_num_threads()
    else:
        from stcal.ramp_fitting.ramp_fit import ramp_fit_data
        from stcal.ramp_fitting.ramp_fit_class import RampData

        flags = {"DO_NOT_USE": 1, "SATURATED": 2, "JUMP_DET": 4, "PERSISTENCE": 32,
                 "NO_GAIN_VALUE": 524288, "UNRELIABLE_SLOPE": 16777216, "CHARGELOSS": 128}
        rd = RampData()
        rd.set_arrays(data, gdq, pdq, np.zeros(pdq.shape, np.float32))
        rd.set_meta("NIRCAM", ft, ft, 0, spec["nframes"], 0)
        rd.algorithm = "OLS_C"
        rd.set_dqflags(flags)
        rd.start_row, rd.num_rows = 0, pdq.shape[0]
        rd.suppress_one_group_ramps = True
        t0 = time.perf_counter()
        c0 = time.process_time()
        ramp_fit_data(rd, False, rn.copy(), gain.copy(), "OLS_C", "optimal", "1")
        out["seconds"] = time.perf_counter() - t0
        out["cpu_seconds"] = time.process_time() - c0
    out["peak_rss_mb"] = peak_rss_mb()
    out["rss_over_inputs_mb"] = peak_rss_mb() - base_rss
    return out


def run(case: str, which: str, threads: int) -> dict | None:
    env = dict(os.environ)
    env.setdefault("NUMBA_NUM_THREADS", str(threads))
    cmd = [sys.executable, __file__, "--worker", case, which, "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="nircam,miri")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-stcal", action="store_true")
    ap.add_argument("--worker", nargs=2, metavar=("CASE", "WHICH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.threads)))
        return 0
    try:
        import stcal  # noqa: F401

        have_stcal = not args.no_stcal
    except ImportError:
        have_stcal = False
    print(f"ramp_fit benchmark (OLS), {args.threads} threads, {os.cpu_count()} CPUs visible")
    for case in args.cases.split(","):
        nints, ngroups, ny, nx = CASES[case]["shape"]
        pg = nints * ngroups * ny * nx
        ours = run(case, "webbcal", args.threads)
        if ours is None:
            print(f"{case}: webbcal run failed")
            continue
        print(f"{case} {nints}x{ngroups}x{ny}x{nx} ({ours['input_mb']:.0f} MB of ramps):")
        print(f"  webbcal fit_ramps_ols: {ours['seconds']:.3f} s, throughput "
              f"{pg / ours['seconds'] / 1e9:.2f} Gpixel-groups/s, peak RSS "
              f"{ours['peak_rss_mb']:.0f} MB ({ours['rss_over_inputs_mb']:.0f} MB beyond the "
              f"inputs), numba warm-up/compile {ours['warmup_s']:.1f} s")
        print(f"  webbcal CPU time {ours['cpu_seconds']:.3f} s (all threads); load average "
              f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
        if have_stcal:
            theirs = run(case, "stcal", 1)
            if theirs is not None:
                ratio = theirs["seconds"] / ours["seconds"]
                cpu_ratio = theirs["cpu_seconds"] / ours["cpu_seconds"]
                print(f"  stcal OLS_C: {theirs['seconds']:.3f} s, peak RSS "
                      f"{theirs['peak_rss_mb']:.0f} MB; ratio {ratio:.1f}x "
                      f"(target >= 20x on 2 cores)")
                print(f"  CPU time: webbcal {ours['cpu_seconds']:.3f} s (all threads), stcal "
                      f"{theirs['cpu_seconds']:.3f} s, ratio {cpu_ratio:.1f}x; load average "
                      f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
