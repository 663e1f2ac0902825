"""Stage 1 -> 2 -> 3 over a set of raw exposures: :func:`run_observation`.

The stages come from the routing table (:mod:`webbcal.pipelines.routing`) for the first
exposure's EXP_TYPE, e.g. ``calwebb_detector1``, ``calwebb_image2``, ``calwebb_image3`` for
NIRCam imaging. Stage 1 runs on the uncal files; its main products (named by the
pipeline's suffix: ``_rate``, or ``_rateints`` for time series) are listed in a level-2
association written to the output directory, on which Stage 2 runs; its products
(``_cal``/``_calints``) make the level-3 association of Stage 3. The members of stages 1
and 2 run in parallel on one Dask cluster, started once; Stage 3 is parallel inside.
Members that fail are reported and left out of the next stage; a stage whose pipeline is
not available ends the chain with a warning.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webbcal.associations import asn_from_list
from webbcal.core import registry
from webbcal.errors import InputError, ParameterError
from webbcal.parallel import ledger
from webbcal.parallel.cluster import dask_client, default_workers
from webbcal.parallel.results import RunSummary
from webbcal.parallel.runner import run_association, run_files

log = logging.getLogger(__name__)

__all__ = ["ObservationSummary", "product_name_for", "run_observation", "stages_for"]


@dataclass
class ObservationSummary:
    """What :func:`run_observation` did.

    Attributes
    ----------
    stages : list of RunSummary
        One per stage that ran, in order.
    associations : dict
        ``"level2"``/``"level3"`` -> the association files written.
    product_name : str
        The level-3 product name.
    not_run : list of str
        Stages that did not run, each with the reason.
    seconds : float
        Wall time of the whole chain.

    """

    output_dir: Path
    product_name: str
    stages: list[RunSummary] = field(default_factory=list)
    associations: dict[str, Path] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every stage ran and no member failed."""
        return not self.not_run and all(s.ok for s in self.stages)

    def stage(self, alias: str) -> RunSummary | None:
        """The summary of the stage run by ``alias``, if it ran."""
        return next((s for s in self.stages if s.pipeline == alias), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "output_dir": str(self.output_dir),
            "product_name": self.product_name,
            "seconds": round(self.seconds, 3),
            "associations": {k: str(v) for k, v in self.associations.items()},
            "not_run": list(self.not_run),
            "stages": [s.to_dict() for s in self.stages],
        }


def stages_for(path: str | os.PathLike) -> tuple[str | None, str | None, str | None]:
    """The stage 1, 2, 3 pipelines of an exposure file, from the routing table."""
    from webbcal import datamodels
    from webbcal.pipelines.routing import pipelines_for_model

    with datamodels.open(path) as model:
        return pipelines_for_model(model)


def product_name_for(path: str | os.PathLike) -> str:
    """The level-3 product name of an exposure, ``jw<program>-o<obs>_t001_<inst>_<optics>``."""
    from webbcal import datamodels

    with datamodels.open(path) as model:
        meta = model.meta
        program = str(meta.observation.program_number or "00000").zfill(5)
        observation = str(meta.observation.observation_number or "001").zfill(3)
        instrument = str(meta.instrument.name or "unknown").lower()
        optics = sorted(
            str(v).lower()
            for v in (meta.instrument.filter, meta.instrument.pupil)
            if v and str(v).upper() not in ("N/A", "NONE", "")
        )
    return f"jw{program}-o{observation}_t001_{instrument}_{'-'.join(optics) or 'clear'}"


def run_observation(
    uncal_files: Sequence[str | os.PathLike],
    *,
    output_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    stages: Sequence[str | None] | None = None,
    product_name: str | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    client: Any = None,
    pending: Mapping[str | os.PathLike, Any] | None = None,
) -> ObservationSummary:
    """Run Stage 1, 2 and 3 on raw exposures through the association files it writes.

    Parameters
    ----------
    uncal_files : sequence of path
        The raw exposures of one observation (one instrument set-up).
    output_dir : path, optional
        Where products, associations and the ledger go (default: the current directory).
    workers, scheduler, resume
        As for :func:`~webbcal.parallel.run_association`; one cluster serves all stages.
    stages : sequence of str or None, optional
        Pipelines of stages 1, 2, 3 (None: the stage is not run); default: routing.
    product_name : str, optional
        The level-3 product name (default: :func:`product_name_for` the first exposure).
    options : mapping, optional
        Pipeline alias -> parameter overrides, e.g.
        ``{"calwebb_detector1": {"steps": {"jump": {"rejection_threshold": 5}}}}``.
    client : distributed.Client, optional
        A Dask client to use (``workers`` and ``scheduler`` are then ignored).
    pending : mapping, optional
        Exposures still being made (e.g. simulated) -> the futures (Dask futures on
        ``client``) that make them: their Stage 1 starts as each one is done, while the
        others already run. The first exposure routes the chain; if it is pending too, the
        chain waits for it.

    """
    t0 = time.perf_counter()
    files = [Path(f).resolve() for f in uncal_files]
    if not files:
        raise InputError("run_observation needs at least one exposure")
    waiting = {Path(f).resolve(): future for f, future in (pending or {}).items()}
    for path in files:
        if path not in waiting and not path.is_file():
            raise InputError("exposure file not found", path=path)
    if files[0] in waiting:
        waiting[files[0]].result()
    out = Path(output_dir or ".").resolve()
    out.mkdir(parents=True, exist_ok=True)
    route = list(stages) if stages is not None else list(stages_for(files[0]))
    route += [None] * (3 - len(route))
    name = product_name or product_name_for(files[0])
    summary = ObservationSummary(output_dir=out, product_name=name)
    options = options or {}
    common = {"output_dir": out, "resume": resume}
    tso = route[2] == "calwebb_tso3"
    with _shared_client(workers, scheduler, len(files), client) as client:
        inputs: list[Path] = files
        for level, alias in enumerate(route, start=1):
            if alias is None:
                continue
            if not inputs:
                summary.not_run.append(f"{alias}: no input left (every member failed)")
                break
            if registry.find(alias) is None:
                why = f"{alias}: not available in this version of webbcal"
                log.warning("stage %d not run: %s", level, why)
                summary.not_run.append(why)
                break
            kw = {**common, **dict(options.get(alias, {}))}
            if level == 1:
                stage = run_files(alias, inputs, client=client, pending=waiting, **kw)
            else:
                asn_file = _write_asn(inputs, level, name, out, tso)
                summary.associations[f"level{level}"] = asn_file
                stage = run_association(alias, asn_file, client=client, **kw)
            summary.stages.append(stage)
            suffix = registry.get(alias).suffix + ("ints" if tso and level < 3 else "")
            inputs = [
                p
                for m in stage.members
                if m.ok
                for p in [m.output_with_suffix(suffix)]
                if p is not None
            ]
    summary.seconds = time.perf_counter() - t0
    ledger.write_json_atomic(out / ledger.LEDGER_DIR / "observation.run.json", summary.to_dict())
    return summary


@contextmanager
def _shared_client(
    workers: int | None, scheduler: str | None, n: int, client: Any
) -> Iterator[Any]:
    """One Dask client for every stage (None: run in this process)."""
    if client is not None or (scheduler is None and (workers == 1 or n <= 1)):
        yield client
        return
    if workers is not None and workers < 1:
        raise ParameterError(f"workers must be at least 1, not {workers}")
    with dask_client(workers or default_workers(n), scheduler) as client:
        yield client


def _write_asn(inputs: list[Path], level: int, product: str, out: Path, tso: bool) -> Path:
    """Write the level-2 (one product per exposure) or level-3 association of a stage."""
    names = [os.path.relpath(p, out) for p in inputs]
    program = product[2:7] if product.startswith("jw") else "00000"
    acid = product.split("-", 1)[1][:4] if "-" in product else "o001"
    kind = "tso" if tso else "image"
    if level == 2:
        asn = asn_from_list(
            names,
            rule="DMSLevel2bBase",
            acid=acid,
            program=program,
            asn_type=f"{'tso-' if tso else ''}image2",
        )
        path = out / f"{product}_{kind}2_asn.json"
    else:
        asn = asn_from_list(
            names,
            product_name=product,
            rule="DMS_Level3_Base",
            acid=acid,
            program=program,
            asn_type="tso3" if tso else "image3",
        )
        path = out / f"{product}_{kind}3_asn.json"
    log.info("stage %d association: %s (%d member(s))", level, path, len(names))
    return asn.write(path)
