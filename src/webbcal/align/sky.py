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
footprints cannot overlap are skipped before any pixel is visited. Each exposure's WCS
transforms, footprint and pixel flags are computed once; the pixel maps are evaluated
serially (Python); each pair is measured (``workers`` threads sharing the numba threads;
the kernels release the GIL) while the next ones are mapped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.kernels.pixmap import NodeMap, node_map
from webbcal.kernels.skystats import gather_good, gather_overlap, good_flags, sky_value
from webbcal.steps._members import map_batches, member_pool, release_freed_memory

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


class _Frame:
    """What the overlaps need of one exposure, computed once: WCS transforms and flags."""

    def __init__(self, model: Any, flags: np.ndarray) -> None:
        self.model = model
        self.shape = model.data.shape
        wcs = model.meta.wcs
        # gwcs builds these compound models anew at every access: build them once
        self.forward = wcs.forward_transform
        self.backward = wcs.backward_transform
        self.flags = flags
        ny, nx = self.shape
        xs = np.array([-0.5, nx - 0.5, nx - 0.5, -0.5, (nx - 1) / 2.0])
        ys = np.array([-0.5, -0.5, ny - 0.5, ny - 0.5, (ny - 1) / 2.0])
        self.corners = self.forward(xs, ys)  # the footprint's corners and centre on the sky


def _mapping(a: _Frame, b: _Frame):
    forward = a.forward
    backward = b.backward

    def mapping(x: np.ndarray, y: np.ndarray):
        return backward(*forward(x, y))

    return mapping


def _may_overlap(a: _Frame, b: _Frame) -> bool:
    """Whether the corners of ``a`` fall near ``b``'s array (cheap test before the pixels)."""
    bx, by = b.backward(*a.corners)
    if not (np.all(np.isfinite(bx)) and np.all(np.isfinite(by))):
        return True
    my, mx = b.shape
    return not (bx.max() < -0.5 or by.max() < -0.5 or bx.min() > mx - 0.5 or by.min() > my - 0.5)


@dataclass(frozen=True)
class _PairMaps:
    """Pixel maps of an overlapping pair, each exposure onto the other."""

    i: int
    j: int
    a_to_b: NodeMap
    b_to_a: NodeMap


def _pair_maps(a: _Frame, b: _Frame, ia: int, ib: int, stepsize: int) -> _PairMaps | None:
    """The pair's pixel maps (None when their footprints cannot overlap)."""
    if not (_may_overlap(a, b) or _may_overlap(b, a)):
        return None
    # gather_overlap interpolates linearly to pick the nearest pixel: no cubic-error check
    nab = node_map(_mapping(a, b), a.shape, step=stepsize, tolerance=None)
    nba = node_map(_mapping(b, a), b.shape, step=stepsize, tolerance=None)
    return _PairMaps(ia, ib, nab, nba)


def _measure_pair(a: _Frame, b: _Frame, maps: _PairMaps, stat: SkyStat) -> PairSky | None:
    """Sky of ``a`` and ``b`` on the pixels they share (None: no common pixel)."""
    nab, nba = maps.a_to_b, maps.b_to_a
    va = gather_overlap(a.model.data, a.flags, nab.nodes, nab.hx, nab.hy, b.flags)
    vb = gather_overlap(b.model.data, b.flags, nba.nodes, nba.hx, nba.hy, a.flags)
    if va.size == 0 or vb.size == 0:
        return None
    sa, na = stat(va)
    sb, nb = stat(vb)
    if not (math.isfinite(sa) and math.isfinite(sb)) or min(na, nb) == 0:
        return None
    return PairSky(maps.i, maps.j, sa, sb, min(va.size, vb.size))


def pair_sky(
    a: Any, b: Any, ia: int, ib: int, bad_bits: int, stat: SkyStat, stepsize: int
) -> PairSky | None:
    """Sky of models ``a`` and ``b`` on the pixels they share (None: no common pixel)."""
    fa = _Frame(a, good_flags(a.data, a.dq, bad_bits))
    fb = _Frame(b, good_flags(b.data, b.dq, bad_bits))
    maps = _pair_maps(fa, fb, ia, ib, stepsize)
    return None if maps is None else _measure_pair(fa, fb, maps, stat)


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
    return list(map_batches(func, items, workers))


def _run_as_mapped(func, items: Iterator[Any], workers: int) -> list[Any]:
    """``func`` of each item, in order, in ``workers`` threads as the items are made."""
    if workers <= 1:
        return [func(item) for item in items]
    with member_pool(workers) as pool:
        futures = [pool.submit(func, item) for item in items]
        out = [f.result() for f in futures]
    release_freed_memory()
    return out


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
    flags = [good_flags(m.data, m.dq, bad_bits) for m in models]
    if method != "match":

        def own(k: int) -> float:
            sky, npix = stat(gather_good(models[k].data, flags[k]))
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
    # the WCS (Python, holding the GIL) is used here, one pair after the other, while the
    # pairs already mapped are measured in threads (numba, without the GIL)
    frames = [_Frame(m, f) for m, f in zip(models, flags)]
    maps = (
        _pair_maps(frames[i], frames[j], i, j, stepsize) for i in range(n) for j in range(i + 1, n)
    )

    def pair(m: _PairMaps) -> PairSky | None:
        return _measure_pair(frames[m.i], frames[m.j], m, stat)

    found = _run_as_mapped(pair, (m for m in maps if m is not None), workers)
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
