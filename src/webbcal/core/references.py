"""Reference files for a step run: selection, overrides, lazy opening.

A step declares ``reftypes`` (required: if one does not apply to the exposure the step is
SKIPPED with the reason ``no <reftype> reference applies``) and ``optional_reftypes``
(None is fine). Its ``process`` receives a :class:`Refs`:

* ``refs.path("gain")`` -> the selected file (None for an optional type that does not apply);
* ``refs.open("gain")`` or ``refs.gain`` -> the file opened with
  :func:`webbcal.refs.read_reference` (a data model for FITS references, an
  ``AsdfReference`` for ASDF ones), once, and closed when the step ends.

Inside :func:`shared_references` (e.g. a streamed Detector1 that runs every step on each
chunk of integrations), each reference file is opened once for all those step runs and
closed when the block ends.

Selection goes through a resolver ``(reftype, model) -> Path | None``; the default is
:func:`best_reference` (``webbcal.refs.best_reference``, imported when first used). A
``override_<reftype>`` parameter replaces the selection (``"N/A"``: not applicable).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from webbcal.errors import ReferenceFileError

log = logging.getLogger(__name__)

__all__ = ["NOT_APPLICABLE", "Refs", "Resolver", "best_reference", "shared_references"]

Resolver = Callable[[str, Any], "Path | None"]

#: The value an override (or a recorded ref_file name) has when no file applies.
NOT_APPLICABLE = "N/A"


#: (path, size, mtime) -> opened reference, inside :func:`shared_references` (per thread).
_SHARED: ContextVar[dict[tuple[str, int, int], Any] | None] = ContextVar(
    "webbcal_shared_references", default=None
)


@contextmanager
def shared_references() -> Iterator[None]:
    """Within the block, each reference file is opened once for every step run (this thread).

    The models are closed when the block ends; a file that changes on disk meanwhile is
    opened again.
    """
    opened: dict[tuple[str, int, int], Any] = {}
    token = _SHARED.set(opened)
    try:
        yield
    finally:
        _SHARED.reset(token)
        for model in opened.values():
            _close(model)


def _close(model: Any) -> None:
    close = getattr(model, "close", None)
    if close is not None:
        close()


def _read(path: Path) -> tuple[Any, bool]:
    """The reference at ``path``, and whether it is shared (not to be closed by a step)."""
    from webbcal.refs import read_reference

    shared = _SHARED.get()
    if shared is None:
        return read_reference(path), False
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in shared:
        shared[key] = read_reference(path)
    return shared[key], True


def best_reference(reftype: str, model: Any) -> Path | None:
    """Default resolver: :func:`webbcal.refs.best_reference` (None: not applicable)."""
    from webbcal.refs import best_reference as select

    return select(reftype, model)


class Refs:
    """The reference files of one step run.

    Parameters
    ----------
    owner : str
        Step name, for messages.
    model : object
        The model references are selected for.
    required, optional : tuple of str
        Declared reference types.
    overrides : mapping
        reftype -> ``override_<reftype>`` value (None: no override).
    resolver : callable
        ``(reftype, model) -> Path | None``.

    """

    def __init__(
        self,
        owner: str,
        model: Any,
        required: tuple[str, ...],
        optional: tuple[str, ...],
        overrides: Mapping[str, str | None],
        resolver: Resolver,
    ) -> None:
        self.owner = owner
        self._model = model
        self._required = required
        self._optional = optional
        self._overrides = overrides
        self._resolver = resolver
        self._paths: dict[str, Path | None] = {}
        self._open: dict[str, Any] = {}
        self._borrowed: set[str] = set()

    @property
    def declared(self) -> tuple[str, ...]:
        """All declared reference types."""
        return self._required + self._optional

    def _select(self, reftype: str) -> Path | None:
        override = self._overrides.get(reftype)
        if override is not None:
            if override.strip().upper() == NOT_APPLICABLE:
                return None
            path = Path(override).expanduser()
            if not path.is_file():
                raise ReferenceFileError(
                    f"override_{reftype} for {self.owner}: file not found", path=path
                )
            log.info("%s: using override %s reference %s", self.owner, reftype, path)
            return path
        return self._resolver(reftype, self._model)

    def path(self, reftype: str) -> Path | None:
        """The reference file of ``reftype`` (None: it does not apply)."""
        if reftype not in self.declared:
            raise KeyError(f"{self.owner} does not declare reference type {reftype!r}")
        if reftype not in self._paths:
            self._paths[reftype] = self._select(reftype)
        return self._paths[reftype]

    def open(self, reftype: str) -> Any:
        """The reference file opened as a model (cached; closed when the step ends)."""
        if reftype not in self._open:
            path = self.path(reftype)
            if path is None:
                raise ReferenceFileError(f"{self.owner}: no {reftype} reference applies")
            self._open[reftype], shared = _read(path)
            if shared:
                self._borrowed.add(reftype)
        return self._open[reftype]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.declared:
            raise AttributeError(name)
        return self.open(name)

    def select_all(self) -> str | None:
        """Select every declared type now; the skip reason when a required one is None."""
        for reftype in self.declared:
            path = self.path(reftype)
            if path is None and reftype in self._required:
                return f"no {reftype} reference applies"
        return None

    def recorded_names(self) -> dict[str, str]:
        """Reftype -> the name recorded in ``meta.ref_file.<reftype>.name``."""
        names = {}
        for reftype, path in self._paths.items():
            if path is None:
                names[reftype] = NOT_APPLICABLE
            elif self._overrides.get(reftype) is not None:
                names[reftype] = str(path)
            else:
                names[reftype] = path.name
        return names

    def close(self) -> None:
        """Close every reference model this run opened (shared ones stay open)."""
        for reftype, model in self._open.items():
            if reftype not in self._borrowed:
                _close(model)
        self._open.clear()
        self._borrowed.clear()
