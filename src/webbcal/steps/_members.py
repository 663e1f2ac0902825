"""Processing the members of an association concurrently, within a bounded memory budget.

The Stage 3 steps (``tweakreg``, ``skymatch``, ``outlier_detection``) do per-exposure work
whose numba kernels already use every core. Running several exposures at once then only
pays where the cores outnumber what one exposure keeps busy, and every exposure in flight
holds its full-frame work arrays; so members run one at a time up to 3 cores, and one more
per 4 cores beyond (:func:`member_workers`), each batch finishing before the next starts
(:func:`run_members`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["member_workers", "run_members"]


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
