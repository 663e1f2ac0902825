"""Native-byte-order copies of large reference arrays, served as read-only memory maps.

FITS stores arrays big-endian, so every read of a reference array costs a copy into fresh
process memory plus a byte swap: for a NIRCam full-frame Stage 1 about 450 MB, most of
the run's page faults. The first time a large array of a reference file is read, its
converted value (what the data model holds, DQ already translated through DQ_DEF) is
written beside the store as ``<root>/native/<key>/<name>.npy``; later reads map that file
(page-cache pages, no copy, no conversion). The key covers the file's resolved path, size
and modification time, so a changed reference is never served stale.

The arrays are read-only: kernels read references, never write them. Set
``WEBBCAL_NATIVE_REFS=0`` to switch the cache off.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from webbcal.atomic import atomic_write
from webbcal.datamodels.declare import Array
from webbcal.datamodels.model import DataModel

log = logging.getLogger(__name__)

__all__ = ["MIN_BYTES", "native_dir", "serve_native"]

#: Arrays smaller than this are read from the FITS file as usual.
MIN_BYTES = 1 << 20


def native_dir(path: Path, root: Path) -> Path:
    """The cache folder of the reference file ``path`` under the store ``root``."""
    st = path.stat()
    ident = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return root / "native" / hashlib.sha1(ident.encode()).hexdigest()[:20]


def serve_native(model: Any, path: Path, root: Path) -> None:
    """Make ``model``'s large arrays native memory maps (written on their first read).

    Parameters
    ----------
    model : DataModel
        A reference file just opened from ``path`` (nothing read yet).
    path : Path
        Its FITS file.
    root : Path
        The reference store's root (the cache lives under ``root/native``).
    """
    if os.environ.get("WEBBCAL_NATIVE_REFS", "1") == "0" or not isinstance(model, DataModel):
        return
    folder = native_dir(path, root)
    for name in _large_arrays(model):
        cached = folder / f"{name}.npy"
        if cached.is_file():
            setattr(model, name, np.load(cached, mmap_mode="r"))
            continue
        array = getattr(model, name)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            contiguous = np.ascontiguousarray(array)
            atomic_write(cached, lambda f, a=contiguous: np.save(f, a, allow_pickle=False))
        except OSError as exc:  # a read-only store: read from FITS every time
            log.debug("%s: native copy of %s not written (%s)", path.name, name, exc)
            return
        setattr(model, name, np.load(cached, mmap_mode="r"))  # the copy read is dropped


def _large_arrays(model: Any) -> list[str]:
    names = []
    for name, spec in model.declared().items():
        if not isinstance(spec, Array) or not model.has(name):
            continue
        shape = model.shape_of(name)
        if shape and int(np.prod(shape)) * np.dtype(spec.dtype).itemsize >= MIN_BYTES:
            names.append(name)
    return names
