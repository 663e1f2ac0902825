"""Sky levels of the exposures of an association, measured through their WCS (skymatch).

* **local** -- each exposure's own sky statistic over its good pixels;
* **global** -- the lowest of the local skies, given to every exposure;
* **match** -- relative sky offsets ``d_i`` that make the exposures agree where they overlap.
  For every overlapping pair (i, j) the sky of i on the pixels it shares with j (``s_ij``)
  and of j on the pixels it shares with i (``s_ji``) are measured; the offsets minimise
  ``sum_ij w_ij ((s_ij - d_i) - (s_ji - d_j))**2`` (``w_ij``: the overlap in pixels), a
  linear least-squares problem solved per group of connected exposures. With ``match_down``
  the offsets are shifted so the lowest is 0 (higher skies are brought down to the lowest);
  otherwise so the highest is 0 (lower skies are brought up). Exposures overlapping no
  other get 0;
* **global+match** -- the matched offsets plus the lowest ``local_i - d_i``, so the matched
  sky is absolute.

Overlaps come from the pixel map of one exposure onto the other (``wcs_j^-1(wcs_i(x, y))``
on a node grid ``stepsize`` pixels apart, :func:`webbcal.kernels.pixmap.node_map`): a pixel
of i belongs to the overlap when its centre falls on a good pixel of j. Pairs whose
footprints cannot overlap are skipped before any pixel is visited; pairs are measured
concurrently (``workers`` threads; the numba kernels release the GIL).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.kernels.pixmap import node_map
from webbcal.kernels.skystats import gather_good, gather_overlap, sky_value

log = logging.getLogger(__name__)

__all__ = ["METHODS", "PairSky", "SkyStat", "match_deltas", "pair_sky", "sky_levels"]

#: The official sky methods.
METHODS = ("local", "global", "match", "global+match")


@dataclass(frozen=True)
class SkyStat:
    """How a sky value is computed from pixels (see :func:`webbcal.kernels.skystats.sky_value`)."""

    stat: int
    lower: float = math.nan
    upper: float = math.nan
    nclip: int = 5
    lsigma: float = 4.0
    usigma: float = 4.0
    binwidth: float = 0.1

    def __call__(self, values: np.ndarray) -> tuple[float, int]:
        """``(sky, npix)`` of ``values``."""
        sky, n = sky_value(values, self.stat, self.lower, self.upper, self.nclip,
                           self.lsigma, self.usigma, self.binwidth)  # fmt: skip
        return float(sky), int(n)


@dataclass(frozen=True)
class PairSky:
    """Sky of exposures ``i`` and ``j`` on their common pixels."""

    i: int
    j: int
    sky_i: float
    sky_j: float
    npix: int


def _mapping(wcs_from: Any, wcs_to: Any):
    forward = wcs_from.forward_transform
    backward = wcs_to.backward_transform

    def mapping(x: np.ndarray, y: np.ndarray):
        return backward(*forward(x, y))

    return mapping


def _may_overlap(a: Any, b: Any) -> bool:
    """Whether the corners of ``a`` fall near ``b``'s array (cheap test before the pixels)."""
    ny, nx = a.shape
    xs = np.array([-0.5, nx - 0.5, nx - 0.5, -0.5, (nx - 1) / 2.0])
    ys = np.array([-0.5, -0.5, ny - 0.5, ny - 0.5, (ny - 1) / 2.0])
    bx, by = _mapping(a.meta.wcs, b.meta.wcs)(xs, ys)
    if not (np.all(np.isfinite(bx)) and np.all(np.isfinite(by))):
        return True
    my, mx = b.shape
    return not (bx.max() < -0.5 or by.max() < -0.5 or bx.min() > mx - 0.5 or by.min() > my - 0.5)


def pair_sky(
    a: Any, b: Any, ia: int, ib: int, bad_bits: int, stat: SkyStat, stepsize: int
) -> PairSky | None:
    """Sky of models ``a`` and ``b`` on the pixels they share (None: no common pixel)."""
    if not (_may_overlap(a, b) or _may_overlap(b, a)):
        return None
    nab = node_map(_mapping(a.meta.wcs, b.meta.wcs), a.shape, step=stepsize)
    nba = node_map(_mapping(b.meta.wcs, a.meta.wcs), b.shape, step=stepsize)
    va = gather_overlap(a.data, a.dq, bad_bits, nab.nodes, nab.hx, nab.hy, b.dq, bad_bits)
    vb = gather_overlap(b.data, b.dq, bad_bits, nba.nodes, nba.hx, nba.hy, a.dq, bad_bits)
    if va.size == 0 or vb.size == 0:
        return None
    sa, na = stat(va)
    sb, nb = stat(vb)
    if not (math.isfinite(sa) and math.isfinite(sb)) or min(na, nb) == 0:
        return None
    return PairSky(ia, ib, sa, sb, min(va.size, vb.size))


def _components(n: int, pairs: Sequence[PairSky]) -> list[list[int]]:
    parent = list(range(n))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for p in pairs:
        parent[root(p.i)] = root(p.j)
    groups: dict[int, list[int]] = {}
    for k in range(n):
        groups.setdefault(root(k), []).append(k)
    return list(groups.values())


def match_deltas(n: int, pairs: Sequence[PairSky], *, match_down: bool = True) -> np.ndarray:
    """Relative sky offsets of ``n`` exposures from their pairwise overlap skies."""
    deltas = np.zeros(n)
    for group in _components(n, pairs):
        if len(group) < 2:
            continue
        index = {k: m for m, k in enumerate(group)}
        a = np.zeros((len(group), len(group)))
        b = np.zeros(len(group))
        for p in pairs:
            if p.i not in index:
                continue
            i, j, w = index[p.i], index[p.j], float(p.npix)
            diff = p.sky_i - p.sky_j
            a[i, i] += w
            a[j, j] += w
            a[i, j] -= w
            a[j, i] -= w
            b[i] += w * diff
            b[j] -= w * diff
        d = np.linalg.lstsq(a, b, rcond=None)[0]
        d -= d.min() if match_down else d.max()
        deltas[group] = d
    return deltas


def _run(func, items: Sequence[Any], workers: int) -> list[Any]:
    if workers <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items))


def sky_levels(
    models: Sequence[Any],
    method: str,
    bad_bits: int,
    stat: SkyStat,
    *,
    match_down: bool = True,
    stepsize: int = 32,
    workers: int = 1,
) -> np.ndarray:
    """The sky level of each model (in its data units) for ``method`` (see the module doc)."""
    if method not in METHODS:
        raise ValueError(f"unknown sky method {method!r}; use one of {', '.join(METHODS)}")
    n = len(models)
    local = np.full(n, np.nan)
    if method != "match":

        def own(k: int) -> float:
            sky, npix = stat(gather_good(models[k].data, models[k].dq, bad_bits))
            log.info("skymatch: %s: sky %.6g from %d pixels", models[k].meta.filename, sky,
                     npix)  # fmt: skip
            return sky

        local[:] = _run(own, list(range(n)), workers)
        if not np.any(np.isfinite(local)):
            raise ValueError("no exposure has good pixels to measure the sky on")
    if method == "local":
        return local
    if method == "global":
        return np.full(n, np.nanmin(local))
    work = [(i, j) for i in range(n) for j in range(i + 1, n)]

    def pair(ij: tuple[int, int]) -> PairSky | None:
        i, j = ij
        return pair_sky(models[i], models[j], i, j, bad_bits, stat, stepsize)

    found = _run(pair, work, workers)
    pairs = [p for p in found if p is not None]
    for p in pairs:
        log.info("skymatch: overlap %d-%d: %d pixels, skies %.6g / %.6g",
                 p.i, p.j, p.npix, p.sky_i, p.sky_j)  # fmt: skip
    lonely = sorted(set(range(n)) - {p.i for p in pairs} - {p.j for p in pairs})
    for k in lonely:
        log.warning("skymatch: %s overlaps no other exposure; its offset is 0",
                    models[k].meta.filename)  # fmt: skip
    deltas = match_deltas(n, pairs, match_down=match_down)
    if method == "match":
        return deltas
    return deltas + np.nanmin(local - deltas)
