r"""``webbcal simulate``: write simulated uncal exposures with their truth.

::

    webbcal simulate --instrument NIRCAM --detector NRCA1 --filter F200W --pupil CLEAR \\
        --readpatt RAPID --ngroups 10 --nints 1 --subarray FULL --exposures 4 --seed 1 \\
        --output-dir DIR [--dither BOX] [--mosaic 2x2] [--tso] [--no-cosmic-rays]
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from typing import Any

from webbcal.errors import ParameterError
from webbcal.sim.config import ExposureConfig, ObservationConfig, TSOConfig
from webbcal.sim.cosmic_rays import CosmicRayConfig
from webbcal.sim.observation import simulate_observation
from webbcal.sim.scene import SceneConfig

log = logging.getLogger(__name__)

__all__ = ["config_from_args", "register", "simulate_command"]

#: Defaults per instrument: (detector, filter, pupil, readpatt).
_DEFAULTS = {
    "NIRCAM": ("NRCA1", "F200W", "CLEAR", "RAPID"),
    "MIRI": ("MIRIMAGE", "F770W", None, "FAST"),
    "NIRISS": ("NIS", "CLEAR", "F150W", "NIS"),
    "FGS": ("GUIDER1", None, None, "FGSRAPID"),
}


def register(subparsers: Any) -> None:
    """Add ``simulate`` to the command line."""
    p = subparsers.add_parser(
        "simulate",
        help="simulate raw (uncal) exposures with their truth",
        description="Simulate a dithered observation of a random star/galaxy field and write "
        "uncal files, truth (rate image, source and cosmic-ray tables), level-2/3 "
        "associations and manifest.json.",
    )
    p.add_argument(
        "--instrument",
        default="NIRCAM",
        type=str.upper,
        choices=sorted(_DEFAULTS),
        help="instrument (default NIRCAM)",
    )
    p.add_argument("--detector", help="DETECTOR (default per instrument, e.g. NRCA1)")
    p.add_argument("--filter", help="FILTER (default per instrument)")
    p.add_argument("--pupil", help="PUPIL (default per instrument)")
    p.add_argument("--readpatt", help="readout pattern (default per instrument)")
    p.add_argument("--ngroups", type=int, default=10, help="groups per integration")
    p.add_argument("--nints", type=int, default=1, help="integrations per exposure")
    p.add_argument("--subarray", default="FULL", help="SUBARRAY name (default FULL)")
    p.add_argument("--exposures", type=int, default=4, help="dither positions per tile")
    p.add_argument("--dither", default="BOX", help="dither pattern: BOX, LINE or NONE")
    p.add_argument("--dither-size", type=float, default=2.0, help="dither size [arcsec]")
    p.add_argument("--mosaic", default="1x1", help="mosaic tiles ROWSxCOLS (default 1x1)")
    p.add_argument("--ra", type=float, default=53.1625, help="target RA [deg]")
    p.add_argument("--dec", type=float, default=-27.7914, help="target Dec [deg]")
    p.add_argument("--roll", type=float, default=45.0, help="V3 position angle [deg]")
    p.add_argument(
        "--pointing-error",
        type=float,
        default=0.0,
        help="rms pointing error per exposure [arcsec] (recorded in the truth)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--program", type=int, default=1, help="program number")
    p.add_argument("--observation", type=int, default=1, help="observation number")
    p.add_argument("--catalog", help="ECSV of extra sources (ra, dec, flux [uJy], ...)")
    p.add_argument("--background", type=float, help="sky background [MJy/sr]")
    p.add_argument(
        "--no-random-sources",
        action="store_true",
        help="no random stars/galaxies (catalog and sky only)",
    )
    p.add_argument("--no-cosmic-rays", action="store_true", help="no cosmic rays or snowballs")
    p.add_argument(
        "--tso",
        action="store_true",
        help="time series: TSOVISIT=T, a transiting host star, many integrations",
    )
    p.add_argument("--transit-depth", type=float, default=0.01, help="TSO transit depth")
    p.add_argument("--output-dir", default=".", help="where to write (default .)")
    p.set_defaults(func=simulate_command)


def _mosaic(text: str) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ParameterError(f"--mosaic must look like 2x2, not {text!r}") from None
    if rows < 1 or cols < 1:
        raise ParameterError(f"--mosaic needs positive sizes, not {text!r}")
    return rows, cols


def config_from_args(args: argparse.Namespace) -> ObservationConfig:
    """The :class:`ObservationConfig` that ``webbcal simulate`` arguments describe."""
    det, filt, pupil, readpatt = _DEFAULTS[args.instrument]
    if args.exposures < 1:
        raise ParameterError("--exposures must be at least 1")
    tso = TSOConfig(enabled=bool(args.tso), depth=args.transit_depth)
    exposure = ExposureConfig(
        instrument=args.instrument,
        detector=(args.detector or det).upper(),
        filter=args.filter or filt,
        pupil=args.pupil or pupil,
        readpatt=(args.readpatt or readpatt).upper(),
        ngroups=args.ngroups,
        nints=args.nints,
        subarray=args.subarray.upper(),
        ra=args.ra,
        dec=args.dec,
        roll=args.roll,
        seed=args.seed,
        program=args.program,
        observation=args.observation,
        scene=SceneConfig(
            catalog=args.catalog,
            background=args.background,
            random_sources=not args.no_random_sources,
        ),
        cosmic_rays=CosmicRayConfig(enabled=not args.no_cosmic_rays),
        tso=tso,
        output_dir=args.output_dir,
    )
    dither = "NONE" if args.tso else args.dither.upper()
    return ObservationConfig(
        exposure=exposure,
        exposures=1 if args.tso else args.exposures,
        dither_pattern=dither,
        dither_size=args.dither_size,
        mosaic=_mosaic(args.mosaic),
        pointing_error_sigma=args.pointing_error,
    )


def simulate_command(args: argparse.Namespace) -> int:
    """Handler of ``webbcal simulate``."""
    config = config_from_args(args)
    if args.tso and args.nints == 1:
        config = replace(config, exposure=replace(config.exposure, nints=20))
    result = simulate_observation(config)
    n = len(result.exposures)
    print(f"wrote {n} exposure(s) of {result.product_name} to {args.output_dir}")
    print(f"manifest: {result.files.get('manifest')}")
    return 0
