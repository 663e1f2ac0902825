"""The local reference-file store: files, a manifest, atomic and concurrent-safe updates.

Layout (``$WEBBCAL_REFS``, default ``~/.cache/webbcal/refs``)::

    manifest.json                         one entry per file (see :class:`Entry`)
    references/jwst/<instrument>/<file>   the files, laid out like a CRDS cache

Files are written to a temporary name in their final directory and renamed into place, and
the manifest is rewritten the same way, so a reader never sees a partial file. Writers take
an advisory lock (``fcntl.flock``) on ``.lock`` for the manifest and on ``.<file>.lock``
while building one file, so concurrent processes build each file once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from webbcal.errors import ReferenceFileError

try:  # POSIX advisory locks; elsewhere concurrent builders may both build (same bytes)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

log = logging.getLogger(__name__)

__all__ = ["MANIFEST", "Entry", "Store", "default_root"]

MANIFEST = "manifest.json"
_FORMAT = 1


def default_root() -> Path:
    """``$WEBBCAL_REFS`` or ``~/.cache/webbcal/refs``."""
    env = os.environ.get("WEBBCAL_REFS")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "webbcal" / "refs"


@dataclass(frozen=True)
class Entry:
    """One file of the store.

    Attributes
    ----------
    name : str
        File name (unique in the store).
    reftype : str
        Lower-case reference type (``"flat"``, ``"pars-tweakregstep"``).
    instrument : str
        ``INSTRUME`` of the file.
    selectors : dict
        Keyword -> value or pattern the file is selected with (missing: N/A).
    useafter : str
        ``YYYY-MM-DDThh:mm:ss``.
    source : str
        ``"embedded"`` (built by webbcal) or ``"added"`` (a file added by the user).
    builder : int or None
        Embedded-builder version that made the file (None for added files).
    info : dict
        Builder facts about the file (e.g. ``{"nframes": 12}`` for a dark).
    """

    name: str
    reftype: str
    instrument: str
    selectors: dict[str, Any]
    useafter: str
    source: str
    builder: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def relpath(self) -> str:
        """Path below the store root."""
        return f"references/jwst/{self.instrument.lower()}/{self.name}"


class Store:
    """A reference-file store rooted at ``root`` (default: :func:`default_root`)."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()
        self._cache: tuple[tuple[int, int], dict[str, Entry]] | None = None

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- reading ---------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        """The manifest file."""
        return self.root / MANIFEST

    def _read(self) -> dict[str, Entry]:
        path = self.manifest_path
        try:
            st = path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        try:
            doc = json.loads(path.read_text())
            entries = {e["name"]: Entry(**e) for e in doc["files"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise ReferenceFileError(
                f"the reference store manifest is unreadable ({exc}); remove the store "
                f"directory to rebuild it",
                path=path,
            ) from None
        self._cache = (stamp, entries)
        return entries

    def entries(self, instrument: str | None = None, reftype: str | None = None) -> list[Entry]:
        """Entries, optionally of one instrument and reference type, sorted by name."""
        out = [
            e
            for e in self._read().values()
            if (instrument is None or e.instrument == instrument)
            and (reftype is None or e.reftype == reftype.lower())
        ]
        return sorted(out, key=lambda e: e.name)

    def get(self, name: str) -> Entry | None:
        """The entry of file ``name``."""
        return self._read().get(name)

    def path(self, entry: Entry) -> Path:
        """Absolute path of an entry's file."""
        return self.root / entry.relpath

    # -- writing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        with open(self.root / name, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _update(self, add: Entry | None = None, remove: str | None = None) -> None:
        with self._lock(".lock"):
            self._cache = None
            entries = dict(self._read())
            if remove is not None:
                entries.pop(remove, None)
            if add is not None:
                entries[add.name] = add
            doc = {
                "format": _FORMAT,
                "files": [asdict(entries[k]) for k in sorted(entries)],
            }
            _atomic_write_text(self.manifest_path, json.dumps(doc, indent=1, sort_keys=True))
            self._cache = None

    @contextlib.contextmanager
    def building(self, entry: Entry) -> Iterator[Path | None]:
        """Build ``entry``'s file: yields a temporary path to write, or None if done.

        Holds the file's lock, so concurrent builders wait; when another process built
        the same entry meanwhile, yields None. After the ``with`` body, the temporary
        file is renamed into place and the manifest updated; on error it is removed.
        """
        final = self.path(entry)
        final.parent.mkdir(parents=True, exist_ok=True)
        with self._lock(f".{entry.name}.lock"):
            self._cache = None
            if self.get(entry.name) == entry and final.is_file():
                yield None
                return
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{entry.name}.", suffix=final.suffix, dir=final.parent
            )
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                yield tmp
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
            self._update(add=entry)

    def add(self, source: str | os.PathLike, entry: Entry, *, copy: bool = True) -> Path:
        """Put an existing file into the store under ``entry`` (copied, or moved)."""
        with self.building(entry) as tmp:
            if tmp is not None:
                if copy:
                    shutil.copyfile(source, tmp)
                else:
                    os.replace(source, tmp)
        return self.path(entry)

    def remove(self, name: str) -> None:
        """Remove file ``name`` and its entry (no error when absent)."""
        entry = self.get(name)
        self._update(remove=name)
        if entry is not None:
            self.path(entry).unlink(missing_ok=True)


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
