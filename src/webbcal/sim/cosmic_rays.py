"""Cosmic rays and snowballs: arrival times, footprints, charges, and their truth table.

Events arrive uniformly in time during each integration (from the reset to the last read
frame) and uniformly over the light-sensitive pixels, at ``rate`` events / cm^2 / s for
the detector's physical pixel size (18 micron near-IR, 25 micron MIRI). An event arriving
during frame interval ``k`` (between reads ``k - 1`` and ``k``) adds its charge to frame ``k``
and every later frame of the integration; the first group whose average it changes is its
``group``.

* cosmic rays: log-normal charge (median 1500 e-, sigma_ln 1.1, clipped to 30 .. 2e5 e-),
  80% on one pixel, 20% short tracks of 2-4 pixels sharing the charge;
* snowballs: a disc of radius 1.5-4 pixels with 2e5 e- per pixel (saturating) and a halo
  out to 2.5 radii falling from 10% of the core level.

The truth table has one row per pixel hit (``event`` links the pixels of one event).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from webbcal.sim.detector import FrameSchedule

__all__ = ["CosmicRayConfig", "generate_cosmic_rays", "pixel_size_um"]


def pixel_size_um(instrument: str) -> float:
    """Physical pixel pitch [micron]: 25 for MIRI, 18 for the near-IR detectors."""
    return 25.0 if instrument.upper() == "MIRI" else 18.0


@dataclass(frozen=True, kw_only=True)
class CosmicRayConfig:
    """Cosmic-ray and snowball rates and charges."""

    enabled: bool = True
    rate: float = 5.0  # events / cm^2 / s
    snowball_rate: float = 1.5e-3  # events / cm^2 / s (~2 per full NIR frame per 100 s)
    median_electrons: float = 1500.0
    sigma_ln: float = 1.1
    track_fraction: float = 0.2
    snowball_core_electrons: float = 2.0e5


def _snowball(rng, y, x, core_e):
    rc = rng.uniform(1.5, 4.0)
    rh = 2.5 * rc
    h = math.ceil(rh)
    dy, dx = np.mgrid[-h : h + 1, -h : h + 1]
    r = np.hypot(dy, dx)
    e = np.where(r <= rc, core_e, 0.1 * core_e * np.exp(-(r - rc) / (0.4 * rc)))
    keep = r <= rh
    return (y + dy[keep]).ravel(), (x + dx[keep]).ravel(), e[keep].ravel()


def _crs(rng, config, y, x):
    """Pixels and electrons of ``len(y)`` cosmic rays: (event index, y, x, electrons)."""
    n = y.size
    q = np.clip(
        config.median_electrons * np.exp(config.sigma_ln * rng.standard_normal(n)), 30.0, 2e5
    )
    length = np.where(rng.random(n) < config.track_fraction, rng.integers(2, 5, n), 1)
    ang = rng.uniform(0.0, math.pi, n)
    ev = np.repeat(np.arange(n), length)
    step = np.arange(ev.size) - np.repeat(np.cumsum(length) - length, length)
    ys = y[ev] + np.round(step * np.sin(ang[ev])).astype(np.int64)
    xs = x[ev] + np.round(step * np.cos(ang[ev])).astype(np.int64)
    w = np.where(length[ev] > 1, rng.uniform(0.5, 1.5, ev.size), 1.0)
    return ev, ys, xs, q[ev] * w / np.bincount(ev, w)[ev]


def generate_cosmic_rays(
    config: CosmicRayConfig,
    *,
    refmask: np.ndarray,
    gain: np.ndarray,
    schedule: FrameSchedule,
    pixel_um: float,
    seed: int,
) -> tuple[dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]], Table]:
    """Draw the events of one exposure.

    Returns
    -------
    deposits : dict
        ``(integration, frame) -> (y, x, dn)`` for :func:`webbcal.sim.detector.simulate_ramp`.
    truth : astropy.table.Table
        One row per pixel hit: ``event``, ``kind`` (cr/snowball), ``integration``, ``group``,
        ``frame``, ``time`` [s after the reset], ``x``, ``y`` (0-based), ``electrons``,
        ``dn`` (electrons / gain, before IPC and non-linearity).

    """
    rng = np.random.default_rng([seed, 0xC05])
    ny, nx = refmask.shape
    light = ~refmask.astype(bool)
    light_index = np.flatnonzero(light)
    area_cm2 = light_index.size * (pixel_um * 1e-4) ** 2
    tint = schedule.frames_per_int * schedule.tframe
    parts = []
    nevents = 0
    if config.enabled and light_index.size:
        for kind, rate in (("cr", config.rate), ("snowball", config.snowball_rate)):
            n = int(rng.poisson(rate * area_cm2 * tint * schedule.nints))
            if n == 0:
                continue
            iint = rng.integers(schedule.nints, size=n)
            t = rng.uniform(0.0, tint, n)
            k = np.minimum((t // schedule.tframe).astype(np.int64), schedule.frames_per_int - 1)
            y, x = np.divmod(light_index[rng.integers(light_index.size, size=n)], nx)
            if kind == "cr":
                ev, ys, xs, es = _crs(rng, config, y, x)
            else:
                blobs = [
                    _snowball(rng, y[i], x[i], config.snowball_core_electrons) for i in range(n)
                ]
                ev = np.concatenate([np.full(b[0].size, i) for i, b in enumerate(blobs)])
                ys, xs, es = (np.concatenate([b[j] for b in blobs]) for j in range(3))
            ok = (ys >= 0) & (ys < ny) & (xs >= 0) & (xs < nx)
            ok[ok] = light[ys[ok], xs[ok]]
            ev, ys, xs, es = ev[ok], ys[ok], xs[ok], es[ok]
            parts.append((nevents + ev, kind, iint[ev], k[ev], t[ev], ys, xs, es))
            nevents += n
    cols = ("event", "kind", "integration", "frame", "time", "y", "x", "electrons")
    if parts:
        merged = {
            c: np.concatenate([np.full(p[0].size, p[1]) if c == "kind" else p[j] for p in parts])
            for j, c in enumerate(cols)
        }
    else:
        merged = {c: np.zeros(0) for c in cols}
    ys, xs = merged["y"].astype(np.int64), merged["x"].astype(np.int64)
    dn = merged["electrons"] / gain[ys, xs].astype(np.float64) if ys.size else np.zeros(0)
    frame = merged["frame"].astype(np.int64)
    rows = {
        "event": merged["event"],
        "kind": merged["kind"],
        "integration": merged["integration"],
        "group": schedule.first_affected_group(frame),
        "frame": frame,
        "time": merged["time"],
        "x": xs,
        "y": ys,
        "electrons": merged["electrons"],
        "dn": dn,
    }
    # renumber events in order of appearance so that dropped (off-array) events leave no gap
    _, rows["event"] = np.unique(rows["event"], return_inverse=True)
    dtypes = {
        "event": np.int64,
        "kind": "<U8",
        "integration": np.int32,
        "group": np.int32,
        "frame": np.int32,
        "time": np.float64,
        "x": np.int32,
        "y": np.int32,
        "electrons": np.float64,
        "dn": np.float64,
    }
    truth = Table({k: np.asarray(v, dtype=dtypes[k]) for k, v in rows.items()})
    truth.meta.update(
        rate_per_cm2_s=config.rate,
        snowball_rate_per_cm2_s=config.snowball_rate,
        pixel_size_um=pixel_um,
        light_sensitive_area_cm2=area_cm2,
        integration_duration_s=tint,
        nints=schedule.nints,
    )
    key = rows["integration"].astype(np.int64) * schedule.frames_per_int + frame
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    deposits = {}
    for chunk in np.split(order, bounds) if order.size else []:
        where = (int(rows["integration"][chunk[0]]), int(frame[chunk[0]]))
        deposits[where] = (ys[chunk], xs[chunk], dn[chunk])
    return deposits, truth
