"""Time building one detector's embedded reference set (NIRCam NRCA1 and MIRI MIRIMAGE).

For each detector, in a fresh temporary store and a fresh process state:

* imports (astropy.modeling, asdf-astropy ...) and the loading of the ASDF extension
  manifests are timed first, separately (one-time costs of any process writing ASDF);
* the *core set*: every type the builder makes for the detector, with the flat of one
  filter, for a full-frame 10-group exposure (what ``webbcal refs build --filter F`` makes);
* the remaining flats (every other imaging filter of the detector, clear pupil).

Per-type times and the bytes written are printed. Target: < 30 s per detector's core set.

Usage: ``python benchmarks/refs_build.py [--detector NIRCAM:NRCA1 ...] [--no-flats]``
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

FIRST_FILTER = {"NIRCAM": "F200W", "MIRI": "F770W", "NIRISS": "F200W"}


def _size(paths) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6


def bench(instrument: str, detector: str, flats: bool) -> None:
    from webbcal.refs import Store, build_references
    from webbcal.refs.embedded import properties

    with tempfile.TemporaryDirectory(prefix="webbcal-refs-bench-") as tmp:
        store = Store(tmp)
        t0 = time.perf_counter()
        properties.detector_properties(instrument, detector)
        t_props = time.perf_counter() - t0

        first = FIRST_FILTER.get(instrument)
        t0 = time.perf_counter()
        core = build_references(
            instrument, [detector], filters=[first] if first else None, store=store
        )
        t_core = time.perf_counter() - t0
        print(f"{instrument} {detector}: truth properties {t_props:6.2f} s")
        print(f"{instrument} {detector}: core set, {len(core):2d} files, {_size(core):7.0f} MB "
              f"in {t_core:6.2f} s; with the properties {t_props + t_core:6.2f} s "
              "(target < 30 s)")  # fmt: skip
        for path in core:
            print(f"    {path.name}")
        if flats and first:
            t0 = time.perf_counter()
            more = build_references(instrument, [detector], ["flat"], store=store)
            t_flats = time.perf_counter() - t0
            new = [p for p in more if p not in core]
            print(f"{instrument} {detector}: {len(new)} more flats, {_size(new):7.0f} MB in "
                  f"{t_flats:6.2f} s ({t_flats / max(len(new), 1):.2f} s each)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", nargs="+", default=["NIRCAM:NRCA1", "MIRI:MIRIMAGE"],
                        metavar="INSTRUMENT:DETECTOR")  # fmt: skip
    parser.add_argument("--no-flats", action="store_true", help="skip the all-filter flats")
    args = parser.parse_args()

    t0 = time.perf_counter()
    import asdf
    import asdf_astropy  # noqa: F401
    import astropy.modeling  # noqa: F401 - one-time import costs, reported separately

    import webbcal.refs  # noqa: F401

    asdf.AsdfFile()  # loads the ASDF extension manifests (seconds, once per process)
    print(f"imports and ASDF extensions (astropy.modeling, asdf-astropy, webbcal.refs): "
          f"{time.perf_counter() - t0:.2f} s")  # fmt: skip
    for spec in args.detector:
        instrument, detector = spec.split(":")
        bench(instrument.upper(), detector.upper(), not args.no_flats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
