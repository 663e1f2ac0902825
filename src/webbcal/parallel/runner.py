"""Run the members of an association in parallel: :func:`run_association`, :func:`run_files`.

Each science member of each product is one task (see :mod:`webbcal.parallel.tasks`),
run on a local Dask cluster (``workers`` processes) or on a Dask scheduler
(``scheduler="tcp://HOST:PORT"``). With ``workers=1`` the members run one after the other
in this process, with the same per-member isolation and records. A pipeline that
combines the members (``input_kind = "association"``, e.g. ``calwebb_image3``) is
parallel inside; each of its products is then one task run in this process.

``resume=True`` skips every member whose completion record verifies (its products are
whole and were made from the same inputs with the same parameters, see
:mod:`webbcal.parallel.ledger`), and removes the staging folders a killed run left.

The summary of a run is written to ``<output_dir>/ledger/<alias>.run.json``.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from webbcal.associations.asn import Association, load_asn
from webbcal.core import registry
from webbcal.core.naming import split_extension, strip_suffix
from webbcal.core.step import Step
from webbcal.errors import ParameterError
from webbcal.parallel import ledger
from webbcal.parallel.cluster import dask_client, default_workers
from webbcal.parallel.display import RunDisplay
from webbcal.parallel.results import MemberResult, RunSummary
from webbcal.parallel.tasks import MemberTask, fingerprint_of, run_member

log = logging.getLogger(__name__)

__all__ = ["pipeline_class", "run_association", "run_files", "run_tasks"]

#: Folders a killed run may leave in the output directory (staged products, ramp spills).
STALE_PATTERNS = (".webbcal-*", "webbcal-spill-*")


def pipeline_class(pipeline: str | type[Step]) -> type[Step]:
    """The Step/Pipeline class for an alias, class name or class."""
    if isinstance(pipeline, type) and issubclass(pipeline, Step):
        return pipeline
    if isinstance(pipeline, str):
        return registry.get(pipeline)
    raise ParameterError(f"not a step or pipeline: {pipeline!r}")


def run_association(
    pipeline: str | type[Step],
    asn_path: str | os.PathLike,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    output_dir: str | os.PathLike | None = None,
    config_file: str | os.PathLike | None = None,
    client: Any = None,
    **overrides: Any,
) -> RunSummary:
    """Run a step or pipeline on every member of an association, in parallel.

    Parameters
    ----------
    pipeline : str or Step class
        Alias (``"calwebb_detector1"``), class name, or class.
    asn_path : str or Path
        The association file.
    workers : int, optional
        Worker processes of the local Dask cluster (default: one per core, at most one
        per member); 1 runs the members one after the other in this process.
    scheduler : str, optional
        Address of a running Dask scheduler to use instead of a local cluster.
    resume : bool
        Skip members whose products are already complete on disk.
    output_dir : str or Path, optional
        Where products (and the ledger) go; default: the current directory.
    config_file : str or Path, optional
        A parameter file, as ``Step.call(config_file=...)``.
    client : distributed.Client, optional
        An existing client to use (``workers`` and ``scheduler`` are then ignored).
    **overrides
        Parameters, as for ``Step.call`` (``steps={"jump": {...}}`` for pipelines);
        ``save_results`` defaults to True.

    Returns
    -------
    RunSummary
        One :class:`MemberResult` per member, in association order; failed members
        carry their error and do not stop the others.

    """
    cls = pipeline_class(pipeline)
    asn_file = Path(asn_path).resolve()
    asn = load_asn(asn_file)
    out = _output_dir(output_dir, overrides)
    options = _options(overrides, out)
    tasks = plan_association(cls, asn, asn_file, options, config_file, out)
    in_process = cls.input_kind == "association"
    return run_tasks(
        cls,
        tasks,
        str(asn_file),
        out,
        workers=1 if in_process else workers,
        scheduler=None if in_process else scheduler,
        resume=resume,
        client=None if in_process else client,
    )


def run_files(
    pipeline: str | type[Step],
    files: Sequence[str | os.PathLike],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    output_dir: str | os.PathLike | None = None,
    config_file: str | os.PathLike | None = None,
    client: Any = None,
    pending: Mapping[str | os.PathLike, Any] | None = None,
    **overrides: Any,
) -> RunSummary:
    """Like :func:`run_association`, for a list of exposure files (``Step.call(file)`` each).

    ``pending`` maps some of ``files`` to futures (Dask futures on ``client``, or
    ``concurrent.futures`` ones) that make them: such a member starts when its future is
    done, so that e.g. the Stage 1 of the exposures already simulated runs while the others
    are still being simulated. A future that fails fails its member.
    """
    cls = pipeline_class(pipeline)
    out = _output_dir(output_dir, overrides)
    options = _options(overrides, out)
    alias = cls.alias
    makers = {Path(f).resolve(): future for f, future in (pending or {}).items()}
    tasks = []
    after: dict[str, Any] = {}
    for i, name in enumerate(files):
        path = Path(name).resolve()
        key = f"{i:04d}_{path.name}"
        tasks.append(
            _task(
                cls,
                key,
                _label(path.name),
                options,
                config_file,
                out,
                (path,),
                pending=path in makers,
                source=str(path),
            )
        )
        if path in makers:
            after[key] = makers[path]
    label = f"{len(tasks)} file(s)" if len(tasks) != 1 else str(tasks[0].source)
    log.debug("%s: %d file task(s), %d waiting for their input", alias, len(tasks), len(after))
    return run_tasks(
        cls,
        tasks,
        label,
        out,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        client=client,
        after=after,
    )


def plan_association(
    cls: type[Step],
    asn: Association,
    asn_file: Path,
    options: dict[str, Any],
    config_file: str | os.PathLike | None,
    out: Path,
) -> list[MemberTask]:
    """One task per science member (``"model"`` steps) or per product (``"association"``)."""
    tasks = []
    for p, product in enumerate(asn.products):
        inputs = tuple(m.path for m in product.members if m.path is not None)
        if cls.input_kind == "association":
            name = product.name or f"product{p}"
            tasks.append(
                _task(
                    cls,
                    f"{p:03d}_{name}",
                    name,
                    options,
                    config_file,
                    out,
                    inputs,
                    asn_path=str(asn_file),
                    product_index=p,
                )
            )
            continue
        for j, member in enumerate(product.members):
            if member.exptype != "science":
                continue
            key = f"{p:03d}_{j:03d}_{member.expname}"
            tasks.append(
                _task(
                    cls,
                    key,
                    _label(member.expname),
                    options,
                    config_file,
                    out,
                    (member.path, *[i for i in inputs if i != member.path]),
                    asn_path=str(asn_file),
                    product_index=p,
                    member_index=j,
                )
            )
    return tasks


def run_tasks(
    cls: type[Step],
    tasks: list[MemberTask],
    input_label: str,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    client: Any = None,
    after: Mapping[str, Any] | None = None,
) -> RunSummary:
    """Run prepared tasks (resume check, cluster or in-process), write the run summary.

    ``after`` maps task keys to the futures that make their inputs (see :func:`run_files`).
    """
    t0 = time.perf_counter()
    after = after or {}
    results: dict[str, MemberResult] = {}
    if resume:
        _remove_stale(out)
    todo = []
    for task in tasks:
        done = _completed(task) if resume and task.key not in after else None
        if done is None:
            todo.append(task)
        else:
            results[task.key] = done
    in_process = client is None and scheduler is None and (workers == 1 or len(todo) <= 1)
    display = RunDisplay(
        cls.alias,
        [(t.key, t.label) for t in tasks],
        live=False if in_process else None,
        log_steps=not in_process,
    )
    for key in results:
        display.resumed(key)
    used_workers = 0
    try:
        if todo and in_process:
            for task in todo:
                results[task.key] = _run_here(task, after.get(task.key), display)
        elif todo:
            used_workers = _run_on_dask(todo, results, display, workers, scheduler, client, after)
    finally:
        display.close()
    summary = RunSummary(
        pipeline=cls.alias,
        input=input_label,
        output_dir=out,
        members=[results[t.key] for t in tasks],
        seconds=time.perf_counter() - t0,
        workers=used_workers,
        scheduler=scheduler,
    )
    ledger.write_json_atomic(
        out / ledger.LEDGER_DIR / f"{_safe(cls.alias)}.run.json", summary.to_dict()
    )
    log.info("%s", summary.describe())
    return summary


def _run_here(task: MemberTask, maker: Any, display: RunDisplay) -> MemberResult:
    """Run a member in this process, once the future making its input (if any) is done."""
    if maker is not None:
        try:
            maker.result()
        except Exception as exc:  # the input could not be made: the member fails
            return _not_run(task, exc)
    return run_member(task, emit=display.handle)


def _run_after(task: MemberTask, _made: Any) -> MemberResult:
    """Run a member on a Dask worker once its input is made (``_made``: that result)."""
    return run_member(task)


def _run_on_dask(
    todo: list[MemberTask],
    results: dict[str, MemberResult],
    display: RunDisplay,
    workers: int | None,
    scheduler: str | None,
    client: Any,
    after: Mapping[str, Any],
) -> int:
    """Submit the tasks, collect their results as they finish; returns the worker count."""
    if client is not None:
        return _submit_all(client, todo, results, display, after)
    n = workers if workers is not None else default_workers(len(todo))
    with dask_client(n, scheduler) as own:
        return _submit_all(own, todo, results, display, after)


def _submit_all(
    client: Any,
    todo: list[MemberTask],
    results: dict[str, MemberResult],
    display: RunDisplay,
    after: Mapping[str, Any],
) -> int:
    from distributed import as_completed

    topic = f"webbcal-progress-{uuid.uuid4().hex[:12]}"
    todo = [replace(t, topic=topic) for t in todo]
    client.subscribe_topic(topic, display.dask_handler)
    try:
        futures = {}
        for task in todo:
            key = f"webbcal-{topic}-{task.key}"
            if task.key in after:
                future = client.submit(_run_after, task, after[task.key], key=key, pure=False)
            else:
                future = client.submit(run_member, task, key=key, pure=False)
            futures[future] = task
        for future in as_completed(futures):
            task = futures[future]
            try:
                results[task.key] = future.result()
            except Exception as exc:  # the task or its input could not run, or a worker died
                results[task.key] = _not_run(task, exc)
                display.handle(
                    {
                        "key": task.key,
                        "event": "member_end",
                        "status": "failed",
                        "error": results[task.key].error,
                    }
                )
    finally:
        client.unsubscribe_topic(topic)
    return len(client.scheduler_info().get("workers", {}))


def _not_run(task: MemberTask, exc: BaseException) -> MemberResult:
    """A failed result (and record) for a task that Dask could not run to its end."""
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        error = (
            "the Dask worker running it died (out of memory, or killed); "
            "try fewer --workers or a larger memory limit"
        )
    else:
        error = f"it could not run: {type(exc).__name__}: {exc}"
    record = ledger.record_path(Path(task.ledger_dir), task.key)
    ledger.write_json_atomic(
        record,
        {
            "schema": ledger.SCHEMA,
            "pipeline": task.pipeline.alias,
            "key": task.key,
            "label": task.label,
            "status": "failed",
            "error": error,
            "fingerprint": task.fingerprint,
            "inputs": list(task.inputs),
            "outputs": [],
            "steps": [],
        },
    )
    return MemberResult(task.key, task.label, "failed", error=error)


def _completed(task: MemberTask) -> MemberResult | None:
    """A ``resumed`` result when the member's record verifies, else None (logged)."""
    record = ledger.read_record(ledger.record_path(Path(task.ledger_dir), task.key))
    if record is None or record.get("key") != task.key:
        return None
    reason = ledger.verify_record(record, Path(task.output_dir), expect=task.fingerprint)
    if reason is not None:
        log.info("%s: not complete (%s): running it again", task.label, reason)
        return None
    outputs = [ledger.output_file(o, Path(task.output_dir)) for o in record["outputs"]]
    return MemberResult(
        task.key,
        task.label,
        "resumed",
        outputs=outputs,
        steps=list(record.get("steps", [])),
        peak_rss_mb=float(record.get("peak_rss_mb", 0.0)),
        worker=str(record.get("worker", "")),
    )


def _remove_stale(out: Path) -> None:
    """Remove staging and spill folders that a killed run left in ``out``."""
    for pattern in STALE_PATTERNS:
        for path in out.glob(pattern):
            if path.is_dir():
                log.info("removing %s, left by an interrupted run", path)
                shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------- helpers


def _output_dir(output_dir: str | os.PathLike | None, overrides: dict[str, Any]) -> Path:
    """The output directory (argument, else the ``output_dir`` override, else ``.``)."""
    from_overrides = overrides.pop("output_dir", None)
    out = Path(output_dir if output_dir is not None else from_overrides or ".").resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out


def _options(overrides: dict[str, Any], out: Path) -> dict[str, Any]:
    options = dict(overrides)
    options.setdefault("save_results", True)
    options["output_dir"] = str(out)
    return options


def _task(
    cls: type[Step],
    key: str,
    label: str,
    options: dict[str, Any],
    config_file: str | os.PathLike | None,
    out: Path,
    inputs: Sequence[Path],
    *,
    pending: bool = False,
    **where: Any,
) -> MemberTask:
    """A member's task; ``pending``: its input is still being made (fingerprint taken later)."""
    task = MemberTask(
        key=key,
        label=label,
        pipeline=cls,
        inputs=tuple(str(p) for p in inputs),
        options=options,
        config_file=str(Path(config_file).resolve()) if config_file is not None else None,
        output_dir=str(out),
        ledger_dir=str(ledger.ledger_dir(out, cls.alias)),
        **where,
    )
    return task if pending else replace(task, fingerprint=fingerprint_of(task))


def _label(name: str) -> str:
    """``jw..._nrca1_uncal.fits`` -> ``jw..._nrca1`` (display name)."""
    return strip_suffix(split_extension(Path(name).name)[0])


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
