"""``webbcal demo``: simulate an observation, calibrate it end to end, report on it.

::

    from webbcal.demo import DemoConfig, run_demo

    result = run_demo(DemoConfig(output_dir="demo_output"))
    print(result.summary_text())

The default is NIRCam F200W on NRCA1: four full-frame exposures in a 4-point box dither
of a field of stars and galaxies, with cosmic rays and snowballs. The demo

1. starts a local Dask cluster in the background;
2. simulates the exposures with :mod:`webbcal.sim` (uncal files and their truth): here
   until the cluster is up, the remaining ones on its workers;
3. runs Stage 1 -> 2 -> 3 with :func:`webbcal.parallel.run_observation`, through the level-2
   and level-3 association files it writes, the members of each stage in parallel; the
   Stage 1 of an exposure starts as soon as it is simulated;
4. writes the run report (:mod:`webbcal.report`) and ``demo_summary.json``.

Everything lands in ``output_dir``. ``small=True`` (``--small``) uses the SUB320 subarray
and fewer groups: a quick version for tests, with a denser field of brighter stars so that
its 10" x 10", 5 s exposures still hold about ten well-detected stars.

The simulated detector keeps all its effects, 1/f noise included: the reference pixels
remove the amplifier offsets and part of the row drift, and ERR (as the official one) does
not include what is left. The report therefore shows the plain Stage 1/2 pulls (std above
1 by that residual) next to ``stage1_rows_removed``, the pulls with each row's median
residual subtracted, which test ERR for the per-pixel noise.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from webbcal.errors import ParameterError
from webbcal.parallel.cluster import dask_client, default_workers, warm_up
from webbcal.parallel.ledger import write_json_atomic
from webbcal.parallel.observation import ObservationSummary, run_observation

log = logging.getLogger(__name__)

__all__ = ["DemoConfig", "DemoResult", "run_demo"]

#: Per instrument: (detector, filter, pupil, readout pattern).
INSTRUMENT_DEFAULTS = {
    "NIRCAM": ("NRCA1", "F200W", "CLEAR", "RAPID"),
    "MIRI": ("MIRIMAGE", "F770W", None, "FAST"),
    "NIRISS": ("NIS", "CLEAR", "F150W", "NIS"),
}
#: Subarray and groups of the ``small`` demo.
SMALL = ("SUB320", 5)
#: Per field: stars and galaxies per square arcminute, and the stars' flux range [micro-Jy].
#: The simulator's default (8 stars) leaves only ~6 stars on one NIRCam SW detector, too few
#: for a stable median flux ratio; the small field (10" x 10", a 5 s exposure) needs a
#: cluster-like density of brighter stars to hold ten well detected ones.
SCENE = {"full": (40.0, 25.0, (2.0, 3000.0)), "small": (400.0, 150.0, (20.0, 2000.0))}


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """What the demo simulates and how it runs (None: the instrument's default)."""

    output_dir: str = "demo_output"
    instrument: str = "NIRCAM"
    detector: str | None = None
    filter: str | None = None
    exposures: int = 4
    seed: int = 1
    ngroups: int | None = None
    subarray: str | None = None
    workers: int | None = None
    scheduler: str | None = None
    small: bool = False
    report: bool = True

    def observation(self) -> Any:
        """The :class:`webbcal.sim.ObservationConfig` of the demo.

        Raises
        ------
        ParameterError
            For an instrument the demo does not simulate.
        InputError
            For an unknown detector or filter.

        """
        from webbcal.instruments.detectors import get_detector
        from webbcal.refs.embedded.properties import band
        from webbcal.sim import ExposureConfig, ObservationConfig, SceneConfig

        inst = self.instrument.upper()
        if inst not in INSTRUMENT_DEFAULTS:
            known = ", ".join(sorted(INSTRUMENT_DEFAULTS))
            raise ParameterError(f"the demo simulates {known} imaging, not {self.instrument}")
        det, filt, pupil, readpatt = INSTRUMENT_DEFAULTS[inst]
        subarray = self.subarray or (SMALL[0] if self.small and inst == "NIRCAM" else "FULL")
        ngroups = self.ngroups or (SMALL[1] if self.small else 10)
        stars, galaxies, star_flux = SCENE["small" if subarray.upper() != "FULL" else "full"]
        exposure = ExposureConfig(
            instrument=inst,
            detector=(self.detector or det).upper(),
            filter=self.filter or filt,
            pupil=pupil,
            readpatt=readpatt,
            ngroups=ngroups,
            subarray=subarray.upper(),
            seed=self.seed,
            scene=SceneConfig(
                star_density=stars, galaxy_density=galaxies, star_flux_range=star_flux
            ),
            output_dir=self.output_dir,
        )
        get_detector(inst, exposure.detector)
        band(inst, exposure.filter, exposure.pupil)  # unknown detector or filter: InputError
        return ObservationConfig(
            exposure=exposure,
            exposures=self.exposures,
            dither_pattern="BOX" if self.exposures > 1 else "NONE",
        )


@dataclass
class DemoResult:
    """What the demo did: stage times, the chain's summary, the report and key numbers."""

    config: DemoConfig
    output_dir: Path
    times: dict[str, float] = field(default_factory=dict)
    observation: ObservationSummary | None = None
    report: Any = None
    numbers: dict[str, Any] = field(default_factory=dict)
    summary_file: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every stage ran and every member succeeded."""
        return self.observation is not None and self.observation.ok

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``demo_summary.json``)."""
        return {
            "config": asdict(self.config),
            "output_dir": str(self.output_dir),
            "ok": self.ok,
            "times_s": {k: round(v, 3) for k, v in self.times.items()},
            "numbers": self.numbers,
            "observation": self.observation.to_dict() if self.observation else None,
            "report": str(self.report.html) if self.report is not None else None,
        }

    def summary_text(self) -> str:
        """The one-screen terminal summary."""
        from webbcal.demo.summary import format_summary

        return format_summary(self)


def run_demo(config: DemoConfig) -> DemoResult:
    """Simulate, calibrate (Stage 1 -> 2 -> 3, in parallel) and report; see the module doc."""
    from webbcal.sim.observation import finish_observation, plan_observation

    out = Path(config.output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    config = replace(config, output_dir=str(out))
    result = DemoResult(config=config, output_dir=out)
    t_start = time.perf_counter()
    with ExitStack() as stack, ThreadPoolExecutor(2) as pool:
        starting = pool.submit(_start_client, stack, config)
        pool.submit(_load_asdf_extensions)  # the first uncal save needs them (seconds)
        if config.report:
            pool.submit(_warm_report)  # matplotlib and its fonts, off the report's path
        t0 = time.perf_counter()
        plan = plan_observation(config.observation())
        simulation = _Simulation(plan, starting)
        chain = run_observation(
            simulation.uncal,
            output_dir=out,
            client=simulation.client,
            workers=1 if simulation.client is None else None,
            product_name=plan.product_name,
            pending=simulation.pending,
        )
        sim = finish_observation(plan, simulation.exposures())
        result.times["simulate"] = simulation.finished - t0
        log.info(
            "demo: simulated %d exposure(s) in %.1f s (Stage 1 started on the first ones)",
            len(sim.exposures),
            result.times["simulate"],
        )
    result.observation = chain
    for stage, name in zip(chain.stages, ("stage1", "stage2", "stage3"), strict=False):
        result.times[name] = stage.seconds
        log.info("demo: %s (%s) in %.1f s", name, stage.pipeline, stage.seconds)
    if config.report:
        from webbcal.report import build_report

        t0 = time.perf_counter()
        result.report = build_report(out, title=f"webbcal demo: {sim.product_name}")
        result.times["report"] = time.perf_counter() - t0
        log.info("demo: report in %.1f s: %s", result.times["report"], result.report.html)
    result.times["total"] = time.perf_counter() - t_start
    result.numbers = _numbers(result)
    result.summary_file = write_json_atomic(out / "demo_summary.json", result.to_dict())
    return result


class _Simulation:
    """The exposures of ``plan``: simulated here until the Dask client is up, then on it.

    The cluster starts in the background; the first exposure (it routes the chain) and
    those simulated meanwhile are done in this process. The rest go to the workers (one
    exposure per worker at a time) as futures, ``pending``: Stage 1 of each exposure starts
    as soon as it is written, so a worker never waits for the whole set to be simulated.
    """

    def __init__(self, plan: Any, starting: Future) -> None:
        from webbcal.sim.observation import simulate_planned

        self.plan = plan
        n = len(plan.exposures)
        self.uncal = [_uncal_path(cfg) for cfg in plan.exposures]
        self.local: dict[int, Any] = {}
        k = 0
        while k < n and (k == 0 or not (starting.done() and starting.exception() is None)):
            self.local[k] = simulate_planned(plan, k)
            k += 1
        self.finished = time.perf_counter()
        self.client = starting.result() if k < n else None
        self.remote: dict[int, Any] = {}
        if self.client is None:
            for j in range(k, n):  # no cluster (one worker): all here
                self.local[j] = simulate_planned(plan, j)
            self.finished = time.perf_counter()
            return
        for j in range(k, n):
            future = self.client.submit(simulate_planned, plan, j, pure=False)
            future.add_done_callback(self._done)
            self.remote[j] = future

    @property
    def pending(self) -> dict[Path, Any]:
        """Uncal file -> the Dask future simulating it."""
        return {self.uncal[j]: future for j, future in self.remote.items()}

    def _done(self, _future: Any) -> None:
        self.finished = max(self.finished, time.perf_counter())

    def exposures(self) -> list[Any]:
        """The truth of every exposure, in order (waits for the remote ones)."""
        remote = {}
        if self.remote:
            truths = self.client.gather(list(self.remote.values()))
            remote = dict(zip(self.remote, truths, strict=True))
        return [self.local.get(j, remote.get(j)) for j in range(len(self.uncal))]


def _uncal_path(cfg: Any) -> Path:
    """Where the simulator writes the uncal file of an exposure configuration."""
    return Path(cfg.output_dir).resolve() / f"{cfg.basename}_uncal.fits"


def _load_asdf_extensions() -> None:
    """Import the ASDF extensions (a few seconds) while the simulator computes ramps."""
    import asdf

    len(asdf.get_config().extensions)


def _warm_report() -> None:
    """Import matplotlib and load its fonts while the simulator computes ramps."""
    from webbcal.report.figures import warm_up

    warm_up()


def _start_client(stack: ExitStack, config: DemoConfig) -> Any:
    """A warmed-up Dask client (None when one worker is asked for: run in this process)."""
    n = config.workers if config.workers is not None else default_workers(config.exposures)
    if config.scheduler is None and n <= 1:
        return None
    client = stack.enter_context(dask_client(n, config.scheduler))
    warm_up(client)
    return client


def _numbers(result: DemoResult) -> dict[str, Any]:
    """Sources, completeness, flux ratio, astrometry, pull std per stage (from the report)."""
    numbers: dict[str, Any] = {}
    data = result.report.data if result.report is not None else {}
    for product in data.get("products") or []:
        numbers["n_sources"] = product.get("n_sources")
        match = product.get("match") or {}
        for key in (
            "n_truth",
            "n_matched",
            "completeness",
            "completeness_bright",
            "n_bright",
            "completeness_stars",
            "completeness_galaxies",
            "n_matched_stars",
            "flux_ratio_stars",
            "flux_ratio_galaxies",
            "astrometry_rms_mas",
        ):
            if key in match:
                numbers[key] = match[key]
        break
    numbers["pulls"] = {
        stage: {k: s.get(k) for k in ("n", "mean", "std")}
        for stage, s in (data.get("pulls") or {}).items()
    }
    numbers["dq_totals"] = data.get("dq_totals", {})
    return numbers
