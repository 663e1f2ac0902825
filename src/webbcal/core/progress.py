"""Progress lines for long runs: one line per exposure and per step, on a terminal only.

Pipelines print ``[3/11] calwebb_detector1: jump ... 2.31 s`` to stderr when stderr is a
TTY, and nothing otherwise (logs carry the same information). The CLI turns progress off
with ``-q``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["Progress", "set_enabled"]

_enabled: bool | None = None  # None: on when the stream is a TTY


def set_enabled(enabled: bool | None) -> None:
    """Force progress lines on (True) or off (False), or back to TTY detection (None)."""
    global _enabled
    _enabled = enabled


class Progress:
    """Counter of ``total`` items of work, printing one line per item.

    Parameters
    ----------
    label : str
        What is being done (``"calwebb_detector1"``).
    total : int
        Number of items.
    stream : file, optional
        Default: ``sys.stderr`` at the time of printing.

    """

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        """Where lines go."""
        return self._stream or sys.stderr

    @property
    def enabled(self) -> bool:
        """True when lines are printed."""
        if _enabled is not None:
            return _enabled
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    @contextmanager
    def item(self, name: str) -> Iterator[None]:
        """Print a line when the item ``name`` starts and when it ends."""
        self.done += 1
        prefix = f"[{self.done}/{self.total}] {self.label}: {name}"
        start = time.perf_counter()
        if self.enabled:
            print(f"{prefix} ...", file=self.stream, flush=True)
        ok = False
        try:
            yield
            ok = True
        finally:
            if self.enabled:
                status = "done" if ok else "failed"
                elapsed = time.perf_counter() - start
                print(f"{prefix} {status} ({elapsed:.2f} s)", file=self.stream, flush=True)
