"""One member's run, as executed by a Dask worker (or in this process): :func:`run_member`.

A :class:`MemberTask` names the pipeline class, the member (a file, or a member of an
association product) and the options. :func:`run_member` builds a **fresh** step instance
and runs it through the same code path as a serial ``Step.call`` on the association:

* ``input_kind = "model"``: the science member is opened and given to the step with its
  association product and association as context, exactly as ``Step.run`` does for each
  member in turn (so naming, backgrounds and parameters are identical); the member's
  products are committed on their own, when it succeeds;
* ``input_kind = "association"``: ``Step.run`` on an association holding that one product;
* a plain file: ``Step.run(path)``.

Any exception is caught, logged in the member's log (with its traceback unless it is a
webbcal error), and returned as a
``failed`` :class:`~webbcal.parallel.results.MemberResult` with the error message, so one
failing member never stops the others. After the products are in place the member's
completion record is written (:mod:`webbcal.parallel.ledger`); the member's log goes to
``<ledger>/<key>.log``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webbcal import __version__
from webbcal.associations.asn import Association, load_asn
from webbcal.core import progress
from webbcal.core.inputs import open_model
from webbcal.core.outputs import Outputs
from webbcal.core.step import iter_models
from webbcal.errors import ParameterError, WebbcalError
from webbcal.parallel import ledger
from webbcal.parallel.recorder import StepRecorder
from webbcal.parallel.results import MemberResult

log = logging.getLogger(__name__)

__all__ = ["MemberTask", "fingerprint_of", "run_member"]

Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class MemberTask:
    """Everything a worker needs to run one member (picklable).

    Attributes
    ----------
    key, label : str
        Record name and display name of the member.
    pipeline : type
        The Step/Pipeline class (importable by the workers).
    source : str or None
        The file to run on when there is no association.
    asn_path : str or None
        The association file.
    product_index : int or None
        The product within the association.
    member_index : int or None
        The science member within the product (``"model"`` pipelines).
    inputs : tuple of str
        Every file the member reads (for the fingerprint).
    options : dict
        Parameter overrides (``save_results`` and ``output_dir`` included).
    config_file : str or None
        A parameter file.
    output_dir : str
        Where products go; ledger paths are relative to it.
    ledger_dir : str
        Folder of the completion records.
    fingerprint : str
        Digest of the configuration and inputs (see :func:`fingerprint_of`); empty for a
        member whose input is still being made: it is then taken when the member starts.
    topic : str or None
        Dask event topic for progress events.

    """

    key: str
    label: str
    pipeline: type
    source: str | None = None
    asn_path: str | None = None
    product_index: int | None = None
    member_index: int | None = None
    inputs: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    config_file: str | None = None
    output_dir: str = "."
    ledger_dir: str = "ledger"
    fingerprint: str = ""
    topic: str | None = None


def fingerprint_of(task: MemberTask) -> str:
    """The digest of what the member's products depend on (see :func:`ledger.fingerprint`).

    The pipeline class, the options, the parameter file's content, where the member sits
    (its file, or its association, product and member index) and its input files.

    Raises
    ------
    ParameterError
        When the parameter file cannot be read.

    """
    where = {
        name: getattr(task, name)
        for name in ("source", "asn_path", "product_index", "member_index")
        if getattr(task, name) is not None
    }
    config = _file_digest(task.config_file) if task.config_file else None
    cls = task.pipeline
    return ledger.fingerprint(
        f"{cls.__module__}.{cls.__qualname__}",
        {"options": task.options, "config": config, "where": where},
        [Path(p) for p in task.inputs],
    )


def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise ParameterError(f"cannot read the parameter file: {exc}") from None


def run_member(task: MemberTask, emit: Emit | None = None) -> MemberResult:
    """Run one member; never raises for the member's own errors (see the module doc).

    Parameters
    ----------
    task : MemberTask
        The member to run.
    emit : callable, optional
        Receives progress events (``member_start``, ``step_start``, ``step_end``,
        ``member_end``); by default, inside a Dask worker, they are sent as the worker's
        events under ``task.topic``.

    """
    emit = emit or _worker_emitter(task.topic)
    worker = _worker_name()
    if worker != "local":
        progress.set_enabled(False)  # a worker's terminal lines would break the live display

    def send(event: dict[str, Any]) -> None:
        if emit is not None:
            emit({"key": task.key, "label": task.label, **event})

    ledger_dir = Path(task.ledger_dir)
    ledger_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = task.fingerprint or fingerprint_of(task)
    record_file = ledger.record_path(ledger_dir, task.key)
    started = _now()
    t0 = time.perf_counter()
    send({"event": "member_start", "worker": worker})
    outputs: list[dict[str, Any]] = []
    error = None
    with _member_log(record_file.with_suffix(".log")), StepRecorder(on_event=send) as recorder:
        log.info("%s: %s on %s (%s)", task.label, task.pipeline.alias, worker, task.key)
        try:
            written = _execute(task)
            outputs = [ledger.describe_output(p, Path(task.output_dir)) for p in written]
        except Exception as exc:  # one member's failure is recorded, never raised
            error = _message(exc)
            recorder.close_open("failed")
            if isinstance(exc, WebbcalError):
                log.error("%s: failed: %s", task.label, error)
            else:
                log.error("%s: failed: %s\n%s", task.label, error, traceback.format_exc())
    seconds = time.perf_counter() - t0
    status = "failed" if error is not None else "complete"
    steps = [s for s in recorder.steps if s["name"] != task.pipeline.alias]
    ledger.write_json_atomic(
        record_file,
        {
            "schema": ledger.SCHEMA,
            "pipeline": task.pipeline.alias,
            "class": task.pipeline.class_name,
            "key": task.key,
            "label": task.label,
            "status": status,
            "error": error,
            "fingerprint": fingerprint,
            "inputs": list(task.inputs),
            "asn": task.asn_path,
            "outputs": outputs,
            "steps": steps,
            "seconds": round(seconds, 4),
            "peak_rss_mb": round(recorder.peak_rss_mb, 1),
            "worker": worker,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": started,
            "finished": _now(),
            "webbcal_version": __version__,
        },
    )
    paths = [ledger.output_file(o, Path(task.output_dir)) for o in outputs]
    send({"event": "member_end", "status": status, "error": error, "seconds": seconds})
    return MemberResult(
        key=task.key,
        label=task.label,
        status=status,
        outputs=paths,
        error=error,
        seconds=seconds,
        peak_rss_mb=recorder.peak_rss_mb,
        steps=steps,
        worker=worker,
    )


def _execute(task: MemberTask) -> list[Path]:
    """Run the member with a fresh step instance; returns the committed products."""
    step = task.pipeline(config_file=task.config_file, **task.options)
    if task.asn_path is None:
        if task.source is None:
            raise ValueError(f"member {task.key} has neither a file nor an association")
        result = step.run(task.source)
    else:
        asn = load_asn(task.asn_path)
        product = asn.products[task.product_index or 0]
        if task.member_index is None:
            result = step.run(Association(products=(product,), meta=asn.meta, path=asn.path))
        else:
            result = _run_in_context(step, asn, product, task.member_index)
    _close(result)
    return list(step.output_paths)


def _run_in_context(step: Any, asn: Association, product: Any, index: int) -> Any:
    """What ``Step.run`` does for one science member of an association, on its own.

    The member is opened and processed with its product and association as context, and
    its products are committed when it succeeds; every member file stays protected.
    """
    member = product.members[index]
    outputs = Outputs()
    step._outputs = outputs
    try:
        for other in asn.members():
            if other.path is not None:
                outputs.protect(other.path)
        if member.path is None:
            raise WebbcalError(f"association member {member.expname} has no resolvable path")
        model = open_model(member.path)
        result = step._run_one(model, source=member.path, product=product, asn=asn)
        step.output_paths = outputs.commit()
    finally:
        outputs.discard()
        step._outputs = None
    return result


def _close(result: Any) -> None:
    for model in iter_models(result):
        close = getattr(model, "close", None)
        if close is not None:
            close()


def _message(exc: BaseException) -> str:
    """The error as the user should read it."""
    if isinstance(exc, WebbcalError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _dask_worker() -> Any:
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:  # not inside a Dask task
        return None


def _worker_name() -> str:
    worker = _dask_worker()
    return str(worker.address) if worker is not None else "local"


def _worker_emitter(topic: str | None) -> Emit | None:
    worker = _dask_worker() if topic else None
    if worker is None:
        return None
    return lambda event: worker.log_event(topic, event)


class _ThreadFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.thread_id = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread_id


@contextmanager
def _member_log(path: Path) -> Iterator[None]:
    """Copy this thread's webbcal log records into ``path`` while active."""
    handler = logging.FileHandler(path, mode="w")
    handler.addFilter(_ThreadFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("webbcal")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
