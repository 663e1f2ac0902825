"""Time calwebb_detector1 end to end (uncal file -> rate file), per step, with peak memory.

Cases (the targets of the Stage 1 issue, on 2 cores)::

    nircam_full   NIRCam NRCA1 FULL 2048x2048, RAPID, 10 groups, 1 integration
    miri_full     MIRI MIRIMAGE FULL 1032x1024, FASTR1, 50 groups, 2 integrations
    nircam_tso    NIRCam NRCA1 TSO, 256x256 window, RAPID, 10 groups, 200 integrations
    subgrism64    NIRCam NRCA1 SUBGRISM64 (2048x64, 4 outputs), RAPID, 10 groups, 200 ints
    grism256      NIRCam NRCA1 SUBGRISM256 (2048x256, 4 outputs), RAPID, 10 groups, 200 ints
                  (4.2 GB as a float32 ramp: the bounded-memory case, target <= 4 GB peak)

Inputs are made once with ``webbcal.sim`` and kept in ``--workdir``; the long time series
simulate ``sim_nints`` integrations and repeat them to NINTS (the timing does not depend on
the values). Each case then runs
in fresh processes: a *prepare* run builds the embedded reference files and loads the
numba caches, and the *timed* process warms up on three tiny exposures (1- and 4-output
NIRCam, MIRI) so that every numba path is loaded, then runs
``Detector1Pipeline.call(uncal, save_results=True, output_dir=...)`` once and reports the
wall time of every step (its ``Step._execute``), the total, the process CPU time and the
peak RSS (``VmHWM``, the whole process). With stcal installed, ``--stcal`` also times
stcal's saturation, linearity, jump and ramp-fit functions and webbcal's kernels on the
same ramp after dq_init (in another process; the webbcal kernels warm) and prints the
ratio stcal / webbcal.

Usage::

    python benchmarks/detector1.py [--cases nircam_full,miri_full] [--workdir DIR] [--stcal]
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

CASES = {
    "nircam_full": dict(instrument="NIRCAM", detector="NRCA1", subarray="FULL",
                        readpatt="RAPID", ngroups=10, nints=1),
    "miri_full": dict(instrument="MIRI", detector="MIRIMAGE", subarray="FULL", filter="F770W",
                      pupil=None, readpatt="FASTR1", ngroups=50, nints=2),
    "nircam_tso": dict(instrument="NIRCAM", detector="NRCA1", subarray="SUB160",
                       readpatt="RAPID", ngroups=10, nints=200, tso=True, window=256),
    "subgrism64": dict(instrument="NIRCAM", detector="NRCA1", subarray="SUBGRISM64",
                       readpatt="RAPID", ngroups=10, nints=200, sim_nints=20, tso=True),
    "grism256": dict(instrument="NIRCAM", detector="NRCA1", subarray="SUBGRISM256",
                     readpatt="RAPID", ngroups=10, nints=200, sim_nints=10, tso=True),
}  # fmt: skip
#: (seconds, GB) targets of the Stage 1 issue; None where it sets none.
TARGETS = {"nircam_full": (1.5, 1.0), "miri_full": (3.0, 1.5), "nircam_tso": (2.0, 1.0),
           "subgrism64": (4.0, 1.5), "grism256": (None, 4.0)}  # fmt: skip


def peak_rss_gb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss survives exec on Linux)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0**2


# --------------------------------------------------------------------------- inputs


def make_input(case: str, workdir: Path) -> Path:
    """Simulate the case's exposure once (cached); returns the uncal path."""
    spec = dict(CASES[case])
    folder = workdir / case
    done = folder / "input.json"
    if done.is_file():
        return Path(json.loads(done.read_text())["uncal"])
    folder.mkdir(parents=True, exist_ok=True)
    from webbcal.sim import ExposureConfig, TSOConfig, simulate_exposure

    window = spec.pop("window", None)
    tso = spec.pop("tso", False)
    nints = spec["nints"]
    spec["nints"] = spec.pop("sim_nints", nints)
    config = ExposureConfig(output_dir=str(folder), tso=TSOConfig(enabled=tso), **spec)
    truth = simulate_exposure(config)
    uncal = truth.files["uncal"]
    if window is not None:
        uncal = _widen(uncal, window, folder)
    if spec["nints"] != nints:
        uncal = _repeat(uncal, nints)
    done.write_text(json.dumps({"uncal": str(uncal)}))
    return Path(uncal)


def _widen(uncal: Path, size: int, folder: Path) -> Path:
    """A ``size`` x ``size`` window of NRCA1 (tiled from the simulated SUB160 ramps)."""
    import numpy as np

    from webbcal import datamodels as dm

    with dm.open(uncal) as model:
        data = np.asarray(model.data)
        nints, ngroups, ny, nx = data.shape
        big = np.empty((nints, ngroups, size, size), np.uint16)
        for y0 in range(0, size, ny):
            for x0 in range(0, size, nx):
                h, w = min(ny, size - y0), min(nx, size - x0)
                big[:, :, y0 : y0 + h, x0 : x0 + w] = data[:, :, :h, :w]
        out = dm.Level1bModel(data=big)
        out.meta.update(model.meta.to_dict())
    sub = out.meta.subarray
    sub.name, sub.xsize, sub.ysize = "SUB256", size, size
    sub.xstart = sub.ystart = 2048 - size + 1
    path = folder / uncal.name.replace("_uncal", "w_uncal")
    out.save(path)
    return path


def _repeat(uncal: Path, nints: int) -> Path:
    """The exposure with its integrations repeated to ``nints`` (replaces the file)."""
    import numpy as np

    from webbcal import datamodels as dm

    with dm.open(uncal) as model:
        data = np.asarray(model.data)
        reps = -(-nints // data.shape[0])
        out = dm.Level1bModel(data=np.concatenate([data] * reps)[:nints])
        out.meta.update(model.meta.to_dict())
    exp = out.meta.exposure
    exp.nints = nints
    exp.integration_end = nints
    out.save(uncal)
    return uncal


# --------------------------------------------------------------------------- worker


#: Warm-up exposures: a 1-output window with 2 integrations, a 4-output one with one
#: integration, MIRI, and two short time series processed in row bands (1 and 4 outputs),
#: so that every numba code path (and type specialisation) of the timed run is loaded
#: from the cache.
WARMUPS = {
    "tiny": dict(instrument="NIRCAM", detector="NRCA1", subarray="SUB160", ngroups=5, nints=2),
    "tiny4": dict(instrument="NIRCAM", detector="NRCA1", subarray="SUBGRISM64", ngroups=3,
                  nints=1),
    "tiny_miri": dict(instrument="MIRI", detector="MIRIMAGE", subarray="SUB128",
                      filter="F770W", pupil=None, readpatt="FASTR1", ngroups=5, nints=2),
    "tiny_tso": dict(instrument="NIRCAM", detector="NRCA1", subarray="SUB160", ngroups=4,
                     nints=6, tso=True),
    "tiny4_tso": dict(instrument="NIRCAM", detector="NRCA1", subarray="SUBGRISM64", ngroups=3,
                      nints=6, tso=True),
}  # fmt: skip
#: max_ramp_memory (GB) of the warm-ups; small enough that the time series go in bands.
WARMUP_RAMP_MEMORY = 0.001


def make_warmups(workdir: Path) -> list[Path]:
    """The warm-up exposures (simulated once, cached in ``workdir``)."""
    from webbcal.sim import ExposureConfig, TSOConfig, simulate_exposure

    paths = []
    for name, spec in WARMUPS.items():
        folder = workdir / name
        done = folder / "input.json"
        if not done.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            spec = dict(spec)
            tso = TSOConfig(enabled=spec.pop("tso", False))
            truth = simulate_exposure(ExposureConfig(output_dir=str(folder), tso=tso, **spec))
            done.write_text(json.dumps({"uncal": str(truth.files["uncal"])}))
        paths.append(Path(json.loads(done.read_text())["uncal"]))
    return paths


def worker(case: str, workdir: Path, timed: bool) -> dict:
    """Run the pipeline on the case (after a warm-up when ``timed``); return the timings."""
    from webbcal.core.step import Step
    from webbcal.pipelines.calwebb_detector1 import Detector1Pipeline

    uncal = make_input(case, workdir)
    if timed:
        for warm in make_warmups(workdir):
            with tempfile.TemporaryDirectory() as tmp:
                Detector1Pipeline.call(str(warm), save_results=True, output_dir=tmp,
                                       max_ramp_memory=WARMUP_RAMP_MEMORY)
    steps: list[tuple[str, float, float]] = []
    original = Step._execute

    def timed_execute(self, target, config):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return original(self, target, config)
        finally:
            if not self.is_pipeline:
                steps.append((self.name, time.perf_counter() - t0, time.process_time() - c0,
                              peak_rss_gb()))

    Step._execute = timed_execute
    with tempfile.TemporaryDirectory() as out:
        cpu0, t0 = time.process_time(), time.perf_counter()
        Detector1Pipeline.call(str(uncal), save_results=True, output_dir=out)
        total = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        written = sorted(p.name for p in Path(out).iterdir())
    Step._execute = original
    return {"case": case, "total_s": total, "cpu_s": cpu, "peak_rss_gb": peak_rss_gb(),
            "steps": steps, "outputs": written}  # fmt: skip


def _timed(func, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    func(*args, **kwargs)
    return time.perf_counter() - t0


def stcal_worker(case: str, workdir: Path) -> dict:
    """Kernel times of stcal and webbcal on the same calibrated ramp (same inputs)."""
    import numpy as np
    from stcal.jump.jump import detect_jumps_data
    from stcal.jump.jump_class import JumpData
    from stcal.linearity.linearity import linearity_correction
    from stcal.ramp_fitting.ramp_fit import ramp_fit_data
    from stcal.ramp_fitting.ramp_fit_class import RampData
    from stcal.saturation.saturation import flag_saturated_pixels

    from webbcal import datamodels as dm
    from webbcal.datamodels import dqflags
    from webbcal.kernels.jump import detect_jumps
    from webbcal.kernels.linearity import correct_linearity
    from webbcal.kernels.ramp_fit import fit_ramps_ols
    from webbcal.kernels.saturation import flag_saturation
    from webbcal.refs import best_reference, cutout
    from webbcal.steps.dq_init import DQInitStep

    flags = dict(dqflags.pixel)
    ramp = DQInitStep.call(str(make_input(case, workdir)))
    exp = ramp.meta.exposure

    def ref(reftype, attr="data"):
        with dm.open(best_reference(reftype, ramp)) as model:
            return np.array(cutout(getattr(model, attr), ramp, model))

    sat, gain, rn = ref("saturation"), ref("gain"), ref("readnoise")
    sat_dq = np.zeros(sat.shape, np.uint32)
    times = {}
    fresh = lambda: (ramp.data.copy(), ramp.groupdq.copy(), ramp.pixeldq.copy())  # noqa: E731
    # warm webbcal's kernels (numba cache load) on a corner of the data
    tiny = (np.ascontiguousarray(ramp.data[:, :, :16, :16]),
            np.zeros(ramp.data[:, :, :16, :16].shape, np.uint8), np.zeros((16, 16), np.uint32))
    flag_saturation(*(a.copy() for a in tiny), sat[:16, :16], sat_dq[:16, :16])
    detect_jumps(*(a.copy() for a in tiny), gain[:16, :16], rn[:16, :16],
                 nframes=int(exp.nframes))
    fit_ramps_ols(*(a.copy() for a in tiny), gain[:16, :16], rn[:16, :16],
                  frame_time=float(exp.frame_time), group_time=float(exp.group_time),
                  nframes=int(exp.nframes))  # fmt: skip
    d, g, p = fresh()
    ours = _timed(flag_saturation, d, g, p, sat, sat_dq)
    d, g, p = fresh()
    theirs = _timed(flag_saturated_pixels, d, g, p, sat.copy(), sat_dq.copy(), 65535, flags)
    times["saturation"] = (ours, theirs)
    if ramp.meta.instrument.name != "MIRI":
        coeffs = ref("linearity", "coeffs")
        correct_linearity(*(a.copy() for a in tiny), np.ascontiguousarray(coeffs[:, :16, :16]))
        d, g, p = fresh()
        ours = _timed(correct_linearity, d, g, p, coeffs)
        d, g, p = fresh()
        theirs = _timed(linearity_correction, d, g, p, coeffs.copy(), np.zeros(sat.shape,
                        np.uint32), flags)  # fmt: skip
        times["linearity"] = (ours, theirs)
    d, g, p = fresh()
    ours = _timed(detect_jumps, d, g, p, gain, rn, nframes=int(exp.nframes))
    d, g, p = fresh()
    jd = JumpData(gain2d=gain, rnoise2d=rn, dqflags=flags)
    jd.init_arrays_from_arrays(d, g, p)
    jd.nframes = int(exp.nframes)
    jd.dt_group = np.ones(1)  # what JumpData sets for JWST data (no read pattern)
    jd.n_reads_groupdiff = np.ones(1) * 2 * jd.nframes
    jd.max_cores = "1"
    theirs = _timed(detect_jumps_data, jd)
    times["jump"] = (ours, theirs)
    d, g, p = fresh()
    kw = dict(frame_time=float(exp.frame_time), group_time=float(exp.group_time),
              nframes=int(exp.nframes))  # fmt: skip
    ours = _timed(fit_ramps_ols, d, g, p, gain, rn, **kw)
    rd = RampData()
    rd.set_arrays(d, g, p, np.zeros(sat.shape, np.float32))
    rd.set_meta(str(ramp.meta.instrument.name), float(exp.frame_time), float(exp.group_time),
                int(exp.groupgap or 0), int(exp.nframes), int(exp.drop_frames1 or 0))
    rd.set_dqflags(flags)
    rd.suppress_one_group_ramps = True
    theirs = _timed(ramp_fit_data, rd, False, rn.copy(), gain.copy(), "OLS_C", "optimal", "1")
    times["ramp_fit"] = (ours, theirs)
    return {"case": case, "kernels": times}


def report_stcal(result: dict) -> None:
    print(f"  kernels vs stcal ({result['case']}, same data; webbcal warm):")
    for name, (ours, theirs) in result["kernels"].items():
        print(f"    {name:<12s} webbcal {ours * 1000:8.1f} ms  stcal {theirs * 1000:9.1f} ms  "
              f"ratio {theirs / ours:6.1f}x")


def run_sub(args: list[str]) -> dict:
    env = dict(os.environ)
    cmd = [sys.executable, __file__, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"worker failed: {' '.join(args)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(result: dict) -> None:
    case = result["case"]
    limit_s, limit_gb = TARGETS[case]
    print(f"\n== {case}: {CASES[case]}")
    merged: dict[str, list[float]] = {}
    for name, seconds, cpu, peak in result["steps"]:
        acc = merged.setdefault(name, [0.0, 0.0, 0.0])
        acc[0] += seconds
        acc[1] += cpu
        acc[2] = max(acc[2], peak)
    print(f"  {'step':<14s} {'wall ms':>9s} {'cpu ms':>9s} {'peak GB':>8s}")
    for name, (seconds, cpu, peak) in merged.items():
        print(f"  {name:<14s} {seconds * 1000:9.1f} {cpu * 1000:9.1f} {peak:8.2f}")
    other = result["total_s"] - sum(v[0] for v in merged.values())
    other_cpu = result["cpu_s"] - sum(v[1] for v in merged.values())
    print(f"  {'(read/write)':<14s} {other * 1000:9.1f} {other_cpu * 1000:9.1f}")
    gb = f" (target <= {limit_gb} GB)" if limit_gb else ""
    secs = f" (target <= {limit_s} s)" if limit_s else ""
    print(f"  total {result['total_s']:.2f} s{secs}, CPU {result['cpu_s']:.2f} s,"
          f" peak RSS {result['peak_rss_gb']:.2f} GB{gb}")
    print(f"  outputs: {', '.join(result['outputs'])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "webbcal_bench"))
    ap.add_argument("--worker", choices=("prepare", "timed", "stcal"))
    ap.add_argument("--stcal", action="store_true", help="also time stcal's kernels")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if args.worker == "stcal":
        print(json.dumps(stcal_worker(cases[0], workdir)))
        return
    if args.worker:
        print(json.dumps(worker(cases[0], workdir, timed=args.worker == "timed")))
        return
    for case in cases:
        make_input(case, workdir)
        run_sub(["--cases", case, "--workdir", str(workdir), "--worker", "prepare"])
        report(run_sub(["--cases", case, "--workdir", str(workdir), "--worker", "timed"]))
        if args.stcal:
            report_stcal(run_sub(["--cases", case, "--workdir", str(workdir),
                                  "--worker", "stcal"]))  # fmt: skip


if __name__ == "__main__":
    main()
