"""Progress of a parallel run: log lines per member and step, a live block on a terminal.

:class:`RunDisplay` receives the events of :func:`webbcal.parallel.tasks.run_member`
(``member_start``, ``step_start``, ``step_end``, ``member_end``), from worker threads or the
Dask client's thread. It always logs each member's start and end (INFO) and each step's end
(INFO without a live display, DEBUG with one). When stderr is a terminal (and progress is
not turned off, see :func:`webbcal.core.progress.set_enabled`) it also keeps a compact
block at the bottom of the terminal, redrawn on every event::

    calwebb_detector1 [######......] 2/4 done, 0 failed, 12.3 s
      jw01_00003_nrca1  jump            (7 steps done)  worker 1
      jw01_00004_nrca1  ramp_fit        (9 steps done)  worker 2
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, TextIO

from webbcal.core.progress import Progress

log = logging.getLogger(__name__)

__all__ = ["RunDisplay"]

_BAR = 20


@dataclass
class _Member:
    label: str
    state: str = "waiting"
    step: str = ""
    steps_done: int = 0
    worker: str = ""


class RunDisplay:
    """Show the progress of one pipeline over several members.

    Parameters
    ----------
    pipeline : str
        The pipeline alias.
    members : list of (key, label)
        The members to run.
    stream : file, optional
        Where the live block goes (default ``sys.stderr``).
    live : bool, optional
        Force the live block on or off (default: on a terminal, see above).
    log_steps : bool
        Log each step's end (off when the steps run in this process: they log it).

    """

    def __init__(
        self,
        pipeline: str,
        members: list[tuple[str, str]],
        stream: TextIO | None = None,
        live: bool | None = None,
        log_steps: bool = True,
    ) -> None:
        self.pipeline = pipeline
        self._members = {key: _Member(label) for key, label in members}
        self._stream = stream
        self.live = Progress(pipeline, 0, stream).enabled if live is None else live
        self._lock = threading.RLock()
        self._lines = 0
        self._start = time.perf_counter()
        self._closed = False
        self._workers: dict[str, int] = {}
        self._log_steps = log_steps

    @property
    def stream(self) -> TextIO:
        """Where the live block goes."""
        return self._stream or sys.stderr

    # ------------------------------------------------------------------ events

    def handle(self, event: dict[str, Any]) -> None:
        """Take one event (thread-safe); events after :meth:`close` are ignored."""
        with self._lock:
            if self._closed:
                return
            member = self._members.get(event.get("key", ""))
            if member is None:
                return
            self._update(member, event)
            self._draw()

    def dask_handler(self, event: tuple[float, dict[str, Any]]) -> None:
        """``Client.subscribe_topic`` handler: ``(timestamp, event)``."""
        self.handle(event[1])

    def _update(self, member: _Member, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "member_start":
            member.state = "running"
            worker = str(event.get("worker", ""))
            member.worker = f"worker {self._workers.setdefault(worker, len(self._workers) + 1)}"
            self._log(logging.INFO, "%s: %s started (%s)", member.label, self.pipeline, worker)
        elif kind == "step_start":
            member.step = str(event.get("step", ""))
        elif kind == "step_end":
            if event.get("step") == self.pipeline:
                return
            member.steps_done += 1
            level = logging.INFO if self._log_steps and not self.live else logging.DEBUG
            self._log(
                level,
                "%s: %s %s in %.2f s",
                member.label,
                event.get("step"),
                event.get("status"),
                float(event.get("seconds", 0.0)),
            )
        elif kind == "member_end":
            member.state = str(event.get("status", "complete"))
            if member.state == "failed":
                self._log(logging.ERROR, "%s: failed: %s", member.label, event.get("error"))
            else:
                self._log(
                    logging.INFO,
                    "%s: %s in %.1f s",
                    member.label,
                    member.state,
                    float(event.get("seconds", 0.0)),
                )

    def resumed(self, key: str, reason: str = "complete on disk") -> None:
        """Mark a member that a resumed run does not run again."""
        with self._lock:
            member = self._members.get(key)
            if member is not None:
                member.state = "resumed"
                self._log(logging.INFO, "%s: %s skipped: %s", member.label, self.pipeline, reason)
                self._draw()

    # ------------------------------------------------------------------ drawing

    def _log(self, level: int, msg: str, *args: Any) -> None:
        if self.live and log.isEnabledFor(level):
            self._clear()
        log.log(level, msg, *args)

    def _clear(self) -> None:
        if self._lines:
            self.stream.write(f"\r\x1b[{self._lines}A\x1b[J")
            self._lines = 0

    def _draw(self) -> None:
        if not self.live:
            return
        self._clear()
        lines = [self._header()]
        width = max((len(m.label) for m in self._members.values()), default=10)
        for m in self._members.values():
            if m.state == "running":
                lines.append(
                    f"  {m.label:<{width}}  {m.step:<16} ({m.steps_done} steps done)  {m.worker}"
                )
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._lines = len(lines)

    def _header(self) -> str:
        members = self._members.values()
        total = len(self._members)
        finished = sum(m.state in ("complete", "resumed", "failed") for m in members)
        failed = sum(m.state == "failed" for m in members)
        filled = round(_BAR * finished / total) if total else _BAR
        bar = "#" * filled + "." * (_BAR - filled)
        elapsed = time.perf_counter() - self._start
        return f"{self.pipeline} [{bar}] {finished}/{total} done, {failed} failed, {elapsed:.1f} s"

    def close(self) -> None:
        """Remove the live block and ignore later events."""
        with self._lock:
            self._clear()
            if self.live:
                self.stream.flush()
            self._closed = True
