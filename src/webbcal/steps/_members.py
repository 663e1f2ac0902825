"""Processing the members of an association concurrently, within a bounded memory budget.

The Stage 3 steps (``tweakreg``, ``skymatch``, ``outlier_detection``) do per-exposure work
whose numba kernels already use every core. Running several exposures at once then only
pays where the cores outnumber what one exposure keeps busy, and every exposure in flight
holds its full-frame work arrays; so members run one at a time up to 3 cores, and one more
per 4 cores beyond (:func:`member_workers`), each batch finishing before the next starts
(:func:`run_members`).

Within one ``calwebb_image3`` run, ``outlier_detection`` and ``resample`` drizzle every
exposure onto the same output grid through the same WCS: :func:`shared_geometry` lets them
compute that geometry once (the grid, each exposure's pixel map, its mean pixel area).
Results are kept by :func:`shared` only while a :func:`shared_geometry` block is open,
under keys holding the very WCS objects they were computed from (never an object that
merely looks the same), and dropped when the outermost block closes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

__all__ = ["member_workers", "read_arrays", "run_members", "shared", "shared_geometry"]

T = TypeVar("T")

_LOCK = threading.Lock()
_MEMO: dict[tuple[Hashable, tuple[int, ...]], tuple[tuple[Any, ...], Any]] = {}
_DEPTH = [0]


@contextmanager
def shared_geometry() -> Iterator[None]:
    """Keep the results of :func:`shared` until the outermost such block closes."""
    with _LOCK:
        _DEPTH[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH[0] -= 1
            if _DEPTH[0] == 0:
                _MEMO.clear()


def shared(key: Hashable, objects: Sequence[Any], compute: Callable[[], T]) -> T:
    """``compute()``, or its earlier result for the same ``key`` and the same ``objects``.

    ``objects`` are compared by identity (the WCS objects the result depends on), so they
    must not be changed in place while the block is open (in ``calwebb_image3`` only
    ``tweakreg`` changes WCSs, before any step asks); outside a :func:`shared_geometry`
    block nothing is kept.
    """
    with _LOCK:
        active = _DEPTH[0] > 0
        entry = _MEMO.get((key, tuple(id(o) for o in objects))) if active else None
    if entry is not None and all(a is b for a, b in zip(entry[0], objects)):
        return entry[1]
    value = compute()
    if active:
        with _LOCK:
            if _DEPTH[0] > 0:
                _MEMO[(key, tuple(id(o) for o in objects))] = (tuple(objects), value)
    return value


def member_workers(count: int) -> int:
    """Members processed at once: one per four cores, at least 1, at most ``count``."""
    return max(1, min(count, (os.cpu_count() or 1) // 4))


def run_members(
    func: Callable[[int], Any],
    count: int,
    consume: Callable[[int, Any], None] | None = None,
    workers: int | None = None,
) -> list[Any]:
    """Run ``func(k)`` for ``k < count``, ``workers`` at a time, in batches.

    Each result is handed to ``consume(k, result)`` as soon as its batch is done (and then
    not kept: the returned list holds None for it); without ``consume`` the results are
    returned in order.
    """
    workers = member_workers(count) if workers is None else max(1, workers)
    out: list[Any] = [None] * count

    def keep(k: int, result: Any) -> None:
        if consume is None:
            out[k] = result
        else:
            consume(k, result)

    if workers <= 1:
        for k in range(count):
            keep(k, func(k))
        return out
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, count, workers):
            ks = list(range(start, min(count, start + workers)))
            for k, result in zip(ks, pool.map(func, ks)):
                keep(k, result)
    return out


def read_arrays(
    model: Any, names: Sequence[str], buffers: dict[str, np.ndarray] | None = None
) -> list[Any]:
    """The arrays ``names`` of ``model``, read together when it can (a file-backed view).

    ``buffers`` (by name, kept by the caller from one exposure to the next): float32
    arrays of the exposure's shape to read into, made here when missing. An array read
    from the exposure's file into its buffer is a view of it, valid until the buffer is
    used again; fresh memory is touched once for all exposures, not once per exposure.
    """
    if not names:
        return []
    reader = getattr(type(model), "read_arrays", None)
    if reader is not None:
        return list(reader(model, names))
    uncached = getattr(model, "read_uncached", None)
    if buffers is None or uncached is None:
        return [getattr(model, name) for name in names]
    out = []
    for name in names:
        buf = buffers.get(name)
        if buf is None or buf.shape != tuple(model.shape):
            buf = buffers[name] = np.empty(model.shape, np.float32)
        out.append(uncached(name, buf))
    return out
