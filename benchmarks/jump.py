"""Time the jump kernel on a NIRCam full frame and compare with stcal.

The exposure is 1 integration x 10 groups x 2048 x 2048 (float32, DN after superbias),
with a log-normal scene, Poisson noise, 10 DN CDS read noise, gain 2 e-/DN and a few
thousand cosmic rays. The kernel is timed after a warm-up call on a small array (its
numba compilation or cache load is reported separately); stcal's
``detect_jumps_data`` (the official step's default, ``maximum_cores='1'``) runs on
identical copies when stcal is installed, and the flags are compared.

Usage: ``python benchmarks/jump.py [--ngroups 10] [--size 2048] [--ncr 3000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import contextlib

from webbcal.kernels.jump import detect_jumps


def make_exposure(nints, ngroups, size, ncr, seed=1):
    rng = np.random.default_rng(seed)
    gain, rn_cds = 2.0, 10.0
    rate = rng.lognormal(mean=np.log(20.0), sigma=1.0, size=(size, size))  # e-/group
    e = np.empty((nints, ngroups, size, size), np.float32)
    for i in range(nints):
        acc = np.zeros((size, size), np.float64)
        for g in range(ngroups):
            acc += rng.poisson(rate)
            e[i, g] = acc / gain
    e += rng.normal(0.0, rn_cds / np.sqrt(2.0), e.shape).astype(np.float32)
    ii = rng.integers(0, nints, ncr)
    gg = rng.integers(1, ngroups, ncr)
    yy = rng.integers(0, size, ncr)
    xx = rng.integers(0, size, ncr)
    amp = rng.uniform(30.0, 3000.0, ncr).astype(np.float32)
    for i, g, y, x, a in zip(ii, gg, yy, xx, amp):
        e[i, g:, y, x] += a
    gdq = np.zeros(e.shape, np.uint8)
    pdq = np.zeros((size, size), np.uint32)
    gain2d = np.full((size, size), gain, np.float32)
    rn2d = np.full((size, size), rn_cds, np.float32)
    return e, gdq, pdq, gain2d, rn2d


def peak_rss_mb():
    """Peak resident set size (VmHWM) in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux); no-op elsewhere."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def run_stcal(data, gdq, pdq, gain, rn):
    from stcal.jump.jump import detect_jumps_data
    from stcal.jump.jump_class import JumpData

    flags = {
        "GOOD": 0,
        "DO_NOT_USE": 1,
        "SATURATED": 2,
        "JUMP_DET": 4,
        "NO_GAIN_VALUE": 524288,
        "REFERENCE_PIXEL": 2147483648,
    }
    jd = JumpData(gain2d=gain, rnoise2d=rn, dqflags=flags)
    jd.init_arrays_from_arrays(data, gdq, pdq)
    jd.nframes = 1
    jd.dt_group = np.ones(1)
    jd.n_reads_groupdiff = np.ones(1) * 2
    jd.max_cores = "1"
    t0 = time.perf_counter()
    out = detect_jumps_data(jd)
    return out[0], time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ngroups", type=int, default=10)
    ap.add_argument("--nints", type=int, default=1)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--ncr", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-stcal", action="store_true")
    args = ap.parse_args()

    import numba

    print(
        f"jump benchmark: {args.nints} x {args.ngroups} x {args.size} x {args.size}, "
        f"{args.ncr} CRs, numba threads {numba.get_num_threads()}"
    )
    t0 = time.perf_counter()
    small = make_exposure(1, 4, 16, 2)
    detect_jumps(*small)
    print(f"  compile / cache load (first call): {time.perf_counter() - t0:.2f} s")

    data, gdq0, pdq0, gain, rn = make_exposure(args.nints, args.ngroups, args.size, args.ncr)
    times, cpus = [], []
    rss_before = peak_rss_mb()
    for _ in range(args.repeat):
        gdq = gdq0.copy()
        pdq = pdq0.copy()
        reset_peak_rss()
        rss_before = peak_rss_mb()
        t0 = time.perf_counter()
        c0 = time.process_time()
        res = detect_jumps(data, gdq, pdq, gain, rn)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    rss_kernel = peak_rss_mb() - rss_before
    best = min(times)
    npix_groups = data.size
    print(
        f"  webbcal detect_jumps: best {best:.3f} s of {args.repeat} "
        f"({', '.join(f'{t:.3f}' for t in times)}), "
        f"{npix_groups / best / 1e6:.1f} Mpixel-groups/s, "
        f"{data.nbytes / best / 1e9:.2f} GB/s of ramp"
    )
    print(
        f"  CPU time (all threads) best {min(cpus):.3f} s; load average "
        f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    print(f"  primary jumps {res.n_primary_crs}, flagged group-pixels {(gdq & 4 > 0).sum()}")
    print(
        f"  peak RSS {peak_rss_mb():.0f} MB; the kernel's own peak above its inputs "
        f"{rss_kernel:.0f} MB (data {data.nbytes / 2**20:.0f} MB, groupdq "
        f"{gdq.nbytes / 2**20:.0f} MB)"
    )

    if args.no_stcal:
        return
    try:
        import stcal  # noqa: F401
    except ImportError:
        print("  stcal not installed: no ratio")
        return
    reset_peak_rss()
    rss_before = peak_rss_mb()
    c0 = time.process_time()
    sg, ts = run_stcal(data.copy(), gdq0.copy(), pdq0.copy(), gain, rn)
    cs = time.process_time() - c0
    same = sg == gdq
    print(
        f"  stcal detect_jumps_data: {ts:.3f} s wall, {cs:.3f} s CPU  ->  speed-up "
        f"x{ts / best:.1f} wall, x{cs / min(cpus):.1f} CPU; stcal peak above inputs "
        f"{peak_rss_mb() - rss_before:.0f} MB"
    )
    print(
        f"  flags identical on {same.all(axis=(0, 1)).mean() * 100:.4f} % of pixels, "
        f"{same.mean() * 100:.5f} % of group-pixels"
    )


if __name__ == "__main__":
    main()
