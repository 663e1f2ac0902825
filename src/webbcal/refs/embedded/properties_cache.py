"""Detector truth properties kept on disk between processes, served as read-only maps.

:func:`~webbcal.refs.embedded.properties.detector_properties` draws a detector's per-pixel
truth (bias, gain, read noise, dark, linearity, ...): about 1.5 s of CPU for a NIRCam
detector, in every fresh process that simulates (the demo's main process and each Dask
worker). The first process to draw them writes the arrays to
``<store>/native/properties/<key>/*.npy`` (``meta.json`` last: the set is complete once it
exists); later processes map those files read-only. The key hashes the recipe's source
(``properties.py``) and the detector's definition, so a changed recipe is never served
stale. ``WEBBCAL_NATIVE_REFS=0`` turns the cache off, as for reference arrays.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from webbcal.atomic import atomic_write

log = logging.getLogger(__name__)

__all__ = ["load_properties", "save_properties"]

_META = "meta.json"
#: Fields that are not arrays, kept in ``meta.json``.
_PLAIN = ("instrument", "detector", "shape", "refpix", "rscd_group_skip")


def _folder(det: Any, root: Path) -> Path:
    recipe = Path(__file__).with_name("properties.py").read_bytes()
    digest = hashlib.sha1(recipe + repr(det).encode()).hexdigest()[:20]
    return root / "native" / "properties" / digest


def _enabled() -> bool:
    return os.environ.get("WEBBCAL_NATIVE_REFS", "1") != "0"


def load_properties(cls: type, det: Any, root: Path) -> Any | None:
    """The cached properties of detector ``det`` as a ``cls`` instance, or None."""
    folder = _folder(det, root)
    meta_file = folder / _META
    if not _enabled() or not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text())
        values: dict[str, Any] = {name: meta[name] for name in _PLAIN}
        values["shape"] = tuple(values["shape"])
        values["refpix"] = tuple(values["refpix"])
        skip = values["rscd_group_skip"]
        values["rscd_group_skip"] = None if skip is None else {k: tuple(v) for k, v in skip.items()}
        for field in dataclasses.fields(cls):
            if field.name not in _PLAIN:
                stored = folder / f"{field.name}.npy"
                values[field.name] = (
                    np.asarray(np.load(stored, mmap_mode="r")) if stored.is_file() else None
                )
        return cls(**values)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # unreadable: draw them again
        log.warning("detector properties cache %s not used: %s", folder, exc)
        return None


def save_properties(props: Any, det: Any, root: Path) -> None:
    """Write ``props`` to the cache (a store that cannot be written is left alone)."""
    if not _enabled():
        return
    folder = _folder(det, root)
    meta = {name: getattr(props, name) for name in _PLAIN}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for field in dataclasses.fields(props):
            value = getattr(props, field.name)
            if field.name in _PLAIN or value is None:
                continue
            array = np.ascontiguousarray(value)
            atomic_write(folder / f"{field.name}.npy",
                         lambda f, a=array: np.save(f, a, allow_pickle=False))  # fmt: skip
        atomic_write(folder / _META, lambda f: f.write(json.dumps(meta).encode()))
    except OSError as exc:
        log.debug("detector properties not cached in %s: %s", folder, exc)
