"""Processing the members of an association concurrently, within a bounded memory budget.

The Stage 3 steps (``tweakreg``, ``skymatch``, ``outlier_detection``) do per-exposure work
that mixes numba kernels (which release the GIL) with Python (WCS evaluations, tables,
file reads). Members run two at a time on 2 to 7 cores and one per four cores beyond
(:func:`member_workers`); the cores are shared among them: each member's kernels run on
its share of the numba threads (:func:`kernel_threads`; the thread count is per calling
thread), so one member's Python overlaps the other's kernels without oversubscribing the
cores, and the kernels, whose results do not depend on their thread count, give the same
numbers. Every member in flight holds its full-frame work arrays, so they run in batches,
each finishing before the next starts (:func:`run_members`).

Within one ``calwebb_image3`` run, ``outlier_detection`` and ``resample`` drizzle every
exposure onto the same output grid through the same WCS: :func:`shared_geometry` lets them
compute that geometry once (the grid, each exposure's pixel map, its mean pixel area).
Results are kept by :func:`shared` only while a :func:`shared_geometry` block is open,
under keys holding the very WCS objects they were computed from (never an object that
merely looks the same), and dropped when the outermost block closes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import numba
import numba.np.ufunc.parallel
import numpy as np

__all__ = [
    "kernel_threads",
    "map_batches",
    "member_pool",
    "member_workers",
    "read_arrays",
    "release_freed_memory",
    "run_members",
    "shared",
    "shared_geometry",
]

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


def _cores() -> int:
    """The numba threads the calling thread may use (``NUMBA_NUM_THREADS`` at most)."""
    return max(1, min(numba.get_num_threads(), os.cpu_count() or 1))


@functools.cache
def _concurrent_kernels() -> bool:
    """Whether numba's parallel kernels may run in several threads at once.

    Not with its ``workqueue`` threading layer (the fallback without TBB or OpenMP): that
    one aborts the process on concurrent launches.
    """
    try:
        return numba.threading_layer() != "workqueue"
    except ValueError:  # not chosen until the first parallel kernel runs: choose it now
        launch = getattr(numba.np.ufunc.parallel, "_launch_threads", None)
        if launch is None:
            return False
        launch()
        return numba.threading_layer() != "workqueue"


def member_workers(count: int) -> int:
    """Members processed at once: 2 on 2 to 7 cores, one per four cores beyond; <= ``count``."""
    cores = _cores()
    if cores < 2 or not _concurrent_kernels():
        return 1
    return max(1, min(count, max(2, cores // 4)))


def kernel_threads(workers: int) -> int:
    """The numba threads of each of ``workers`` members run at once (the cores shared)."""
    return max(1, _cores() // max(1, workers))


def _with_threads(threads: int, func: Callable[[Any], T], item: Any) -> T:
    """``func(item)`` with the calling thread's numba kernels on ``threads`` threads."""
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return func(item)
    finally:
        numba.set_num_threads(before)


def _malloc_trim() -> Callable[[int], int] | None:
    """The C library's ``malloc_trim`` (glibc), None where there is none."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    """Hand the memory the finished helper threads freed back to the system.

    What a helper thread frees goes back to its own malloc arena, where only helper
    threads find it again: the calling thread's later arrays (resample's) would come on
    top of it. ``malloc_trim`` releases the free pages of every arena.
    """
    if _TRIM is not None:
        _TRIM(0)


def member_pool(size: int, threads: int | None = None) -> ThreadPoolExecutor:
    """``size`` threads whose numba kernels get ``threads`` threads each.

    ``threads`` defaults to :func:`kernel_threads` of ``size``.
    """
    threads = kernel_threads(size) if threads is None else threads
    return ThreadPoolExecutor(size, initializer=numba.set_num_threads, initargs=(threads,))


def map_batches(func: Callable[[Any], T], items: Sequence[Any], workers: int) -> Iterator[T]:
    """``func(item)`` of each item, in order, ``workers`` at a time, batch after batch.

    The calling thread runs the first item of each batch and ``workers - 1`` helper threads
    the others, every one with its share of the numba threads (:func:`kernel_threads`).
    Working in the calling thread keeps its temporaries in the memory the rest of the run
    reuses; what the helpers freed is given back to the system at the end
    (:func:`release_freed_memory`). A batch's results come once all of it is done.
    """
    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield func(item)
        return
    threads = kernel_threads(workers)
    with member_pool(workers - 1, threads) as pool:
        for start in range(0, len(items), workers):
            batch = items[start : start + workers]
            futures = [pool.submit(func, item) for item in batch[1:]]
            try:
                first = _with_threads(threads, func, batch[0])
            finally:
                results = [f.result() for f in futures]  # waited for even on an error
            yield first
            yield from results
    release_freed_memory()


def run_members(
    func: Callable[[int], Any],
    count: int,
    consume: Callable[[int, Any], None] | None = None,
    workers: int | None = None,
) -> list[Any]:
    """Run ``func(k)`` for ``k < count``, ``workers`` at a time, in batches (:func:`map_batches`).

    Each result is handed to ``consume(k, result)`` as soon as its batch is done (and then
    not kept: the returned list holds None for it); without ``consume`` the results are
    returned in order.
    """
    workers = member_workers(count) if workers is None else max(1, workers)
    out: list[Any] = [None] * count
    for k, result in enumerate(map_batches(func, list(range(count)), workers)):
        if consume is None:
            out[k] = result
        else:
            consume(k, result)
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
