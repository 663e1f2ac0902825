"""All-or-nothing writing of a run's products.

During a run every product is saved into a hidden staging folder beside its final place
(so the file is written under its final name); when the whole run succeeds the files are
moved into place, and when it fails the staging folders are removed: a failed run leaves
no partial products. Input files are never overwritten.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from webbcal.errors import StepError

log = logging.getLogger(__name__)

__all__ = ["Outputs"]


class Outputs:
    """The products of one run, staged until :meth:`commit`.

    Parameters
    ----------
    inputs : iterable of Path
        Files that must never be overwritten.

    """

    def __init__(self, inputs: list[Path] | None = None) -> None:
        self._inputs = {p.resolve() for p in inputs or ()}
        self._staging: dict[Path, Path] = {}  # final directory -> staging directory
        self._staged: dict[Path, Path] = {}  # final path -> staged path
        self.written: list[Path] = []
        self._lock = threading.Lock()

    def protect(self, path: Path) -> None:
        """Never overwrite ``path`` (an input of the run)."""
        self._inputs.add(Path(path).resolve())

    def save(self, product: Any, path: Path) -> Path:
        """Stage ``product`` (anything with ``save(path)``) to be written at ``path``."""
        path = Path(path)
        final = path.resolve()
        if final in self._inputs:
            raise StepError(
                "refusing to overwrite an input file; choose another output_dir or output_file",
                path=path,
            )
        save = getattr(product, "save", None)
        if save is None:
            raise TypeError(f"cannot save a {type(product).__name__}: it has no save(path)")
        directory = final.parent
        with self._lock:  # products may be saved from several threads
            directory.mkdir(parents=True, exist_ok=True)
            if directory not in self._staging:
                self._staging[directory] = Path(tempfile.mkdtemp(prefix=".webbcal-", dir=directory))
            staged = self._staging[directory] / final.name
        returned = save(staged)
        if isinstance(returned, str | Path) and Path(returned).name != final.name:
            raise StepError(f"product saved as {Path(returned).name}, expected {final.name}")
        with self._lock:
            self._staged[final] = staged
        log.debug("staged %s", path)
        return path

    def commit(self) -> list[Path]:
        """Move every staged product into place; returns the written paths."""
        for final, staged in self._staged.items():
            os.replace(staged, final)
            self.written.append(final)
            log.info("Saved %s", final)
        self._staged.clear()
        self.discard()
        return self.written

    def discard(self) -> None:
        """Remove staging folders and whatever is still staged in them."""
        for staging in self._staging.values():
            shutil.rmtree(staging, ignore_errors=True)
        self._staging.clear()
        self._staged.clear()
