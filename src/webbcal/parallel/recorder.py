"""Per-step wall time and peak memory of one member's run, from the framework's log.

:meth:`webbcal.core.step.Step._execute` logs, for every step and pipeline it runs,
``"<name>: running"`` (or ``"<name>: SKIPPED: <reason>"``) when it starts and
``"<name>: <status> in <seconds> s"`` when it ends. :class:`StepRecorder` listens to those
records (only those of the thread that runs the member, so several members in one process
do not mix), keeps a stack of the steps in progress, samples the process's resident
memory every ``interval`` seconds while they run, and produces one entry per finished
step::

    {"name": "jump", "status": "complete", "seconds": 2.81, "peak_rss_mb": 905.2,
     "start_rss_mb": 610.0}

``peak_rss_mb`` is the largest sampled RSS of the whole process while the step ran (the
memory of the member's process, shared data included). Each start and end is also passed
to ``on_event`` (progress displays).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

__all__ = ["StepRecorder"]

#: The logger and message formats of the framework's step records.
STEP_LOGGER = "webbcal.core.step"
_RUNNING = "%s: running"
_SKIPPED = "%s: SKIPPED: %s"
_DONE = "%s: %s in %.2f s"

_MB = 1024.0**2

_level_lock = threading.Lock()
_installed = 0  # recorders installed in this process
_saved_level = logging.NOTSET


class StepRecorder(logging.Handler):
    """Record the steps run by the current thread while installed (a context manager).

    Parameters
    ----------
    on_event : callable, optional
        Called with ``{"event": "step_start"|"step_end", "step": name, ...}``.
    interval : float
        Seconds between memory samples.

    Attributes
    ----------
    steps : list of dict
        Finished steps, in the order they finished (a pipeline comes after its steps).
    peak_rss_mb : float
        Largest sampled RSS while installed.

    """

    def __init__(
        self, on_event: Callable[[dict[str, Any]], None] | None = None, interval: float = 0.05
    ) -> None:
        super().__init__(level=logging.INFO)
        self.steps: list[dict[str, Any]] = []
        self.peak_rss_mb = 0.0
        self._on_event = on_event
        self._interval = interval
        self._open: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._thread_id = threading.get_ident()
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._logger = logging.getLogger(STEP_LOGGER)

    # ------------------------------------------------------------------ context

    def __enter__(self) -> StepRecorder:
        self._thread_id = threading.get_ident()
        self._sample()
        _raise_level(logging.getLogger("webbcal"))
        self._logger.addHandler(self)
        self._sampler = threading.Thread(target=self._sample_loop, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        _restore_level(logging.getLogger("webbcal"))
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
        self._sample()

    # ------------------------------------------------------------------ memory

    def _sample(self) -> float:
        rss = self._process.memory_info().rss / _MB
        with self._lock:
            self.peak_rss_mb = max(self.peak_rss_mb, rss)
            for entry in self._open:
                entry["peak_rss_mb"] = max(entry["peak_rss_mb"], rss)
        return rss

    def _sample_loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    # ------------------------------------------------------------------ records

    def emit(self, record: logging.LogRecord) -> None:
        """Turn the framework's step start/end records into step entries."""
        if record.thread != self._thread_id or not isinstance(record.args, tuple):
            return
        if record.msg in (_RUNNING, _SKIPPED) and record.args:
            self._start(str(record.args[0]), skipped=record.msg == _SKIPPED)
        elif record.msg == _DONE and len(record.args) == 3:
            name, status, seconds = record.args
            self._end(str(name), str(status), float(seconds))

    def _start(self, name: str, skipped: bool) -> None:
        rss = self._sample()
        entry = {"name": name, "t0": time.perf_counter(), "peak_rss_mb": rss, "start_rss_mb": rss}
        with self._lock:
            self._open.append(entry)
        self._notify({"event": "step_start", "step": name, "skipped": skipped})

    def _end(self, name: str, status: str, seconds: float) -> None:
        self._sample()
        with self._lock:
            index = next(
                (i for i in range(len(self._open) - 1, -1, -1) if self._open[i]["name"] == name),
                None,
            )
            entry = self._open.pop(index) if index is not None else None
        peak = entry["peak_rss_mb"] if entry else self.peak_rss_mb
        start = entry["start_rss_mb"] if entry else peak
        step = {
            "name": name,
            "status": status,
            "seconds": round(seconds, 4),
            "peak_rss_mb": round(peak, 1),
            "start_rss_mb": round(start, 1),
        }
        self.steps.append(step)
        self._notify({"event": "step_end", "step": name, "status": status, "seconds": seconds})

    def close_open(self, status: str = "failed") -> None:
        """End the steps still in progress (after an exception) with ``status``."""
        with self._lock:
            names = [entry["name"] for entry in reversed(self._open)]
            starts = {entry["name"]: entry["t0"] for entry in self._open}
        for name in names:
            self._end(name, status, time.perf_counter() - starts[name])

    def _notify(self, event: dict[str, Any]) -> None:
        if self._on_event is not None:
            self._on_event(event)


def _raise_level(logger: logging.Logger) -> None:
    """Let ``logger`` make INFO records while any recorder is installed.

    Handlers keep their own levels: a console at WARNING (``webbcal -q``) still shows
    only warnings.
    """
    global _installed, _saved_level
    with _level_lock:
        if _installed == 0:
            _saved_level = logger.level
            if not logger.isEnabledFor(logging.INFO):
                logger.setLevel(logging.INFO)
        _installed += 1


def _restore_level(logger: logging.Logger) -> None:
    global _installed
    with _level_lock:
        _installed -= 1
        if _installed == 0:
            logger.setLevel(_saved_level)
