"""Scenes: stars, Sersic galaxies, a user catalog and a uniform sky background.

A :class:`Scene` is a list of sources on the sky (ICRS degrees) with fluxes given at a
reference wavelength of 2 micron and a power-law spectral index, so one scene serves every
filter of an observation: ``F_nu(lambda) = flux_ref * (lambda / 2 um) ** beta``.
Stars have ``beta = -2`` (Rayleigh-Jeans), galaxies a random index in [-1, 1].
Everything is drawn from ``numpy.random.default_rng(seed)``, so a scene is a pure function
of its configuration and seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table

from webbcal.errors import InputError

__all__ = ["Scene", "SceneConfig", "default_background", "generate_scene"]

REFERENCE_WAVELENGTH_UM = 2.0

# Typical high-ecliptic-latitude background (zodiacal + telescope thermal) [MJy/sr].
_BKG_TABLE = (
    (0.6, 0.25),
    (1.0, 0.20),
    (2.0, 0.15),
    (3.5, 0.12),
    (4.5, 0.25),
    (5.5, 0.8),
    (7.7, 4.0),
    (10.0, 10.0),
    (12.8, 18.0),
    (15.0, 25.0),
    (18.0, 45.0),
    (21.0, 75.0),
    (25.5, 180.0),
)


def default_background(wavelength_um: float) -> float:
    """Default uniform sky background [MJy/sr] at a wavelength [micron] (log-log interpolation)."""
    lam = np.array([p[0] for p in _BKG_TABLE])
    val = np.array([p[1] for p in _BKG_TABLE])
    return float(np.exp(np.interp(math.log(wavelength_um), np.log(lam), np.log(val))))


@dataclass(frozen=True, kw_only=True)
class SceneConfig:
    """What the sky holds.

    Densities are per square arcminute; fluxes [micro-Jy] at 2 micron follow
    ``N(>F) ~ F**-slope`` between the range limits. ``background`` [MJy/sr] overrides the
    wavelength-dependent default. ``catalog`` is an ECSV file of extra sources with columns
    ``ra``, ``dec`` [deg], ``flux`` [micro-Jy, in the simulated filter] and optionally
    ``type`` (star/galaxy), ``sersic_n``, ``r_eff`` [arcsec], ``axis_ratio``, ``pa`` [deg].
    """

    star_density: float = 8.0
    star_flux_range: tuple[float, float] = (2.0, 3000.0)
    star_slope: float = 0.8
    galaxy_density: float = 25.0
    galaxy_flux_range: tuple[float, float] = (0.5, 100.0)
    galaxy_slope: float = 1.0
    galaxy_reff_range: tuple[float, float] = (0.05, 0.5)
    sersic_range: tuple[float, float] = (0.6, 4.0)
    axis_ratio_range: tuple[float, float] = (0.35, 1.0)
    background: float | None = None
    catalog: str | None = None
    random_sources: bool = True


@dataclass
class Scene:
    """Sources on the sky and the background.

    ``table`` columns: ``id``, ``ra``, ``dec`` [deg], ``flux_ref`` [micro-Jy at 2 um],
    ``beta`` (spectral index), ``type`` ("star"/"galaxy"), ``sersic_n``, ``r_eff``
    [arcsec], ``axis_ratio``, ``pa`` [deg E of N, major axis]; user-catalog rows have
    ``beta = 0`` and their flux taken as given in every filter.
    """

    table: Table
    background: float | None = None
    meta: dict = field(default_factory=dict)

    def flux_in(self, wavelength_um: float) -> np.ndarray:
        """Flux [micro-Jy] of every source at a wavelength [micron]."""
        t = self.table
        return np.asarray(t["flux_ref"]) * (wavelength_um / REFERENCE_WAVELENGTH_UM) ** np.asarray(
            t["beta"]
        )

    def background_at(self, wavelength_um: float) -> float:
        """Background [MJy/sr] at a wavelength (configured value or the default)."""
        return self.background if self.background is not None else default_background(wavelength_um)


def _power_law(rng: np.random.Generator, n: int, lo: float, hi: float, slope: float) -> np.ndarray:
    u = rng.random(n)
    return lo * (1.0 - u * (1.0 - (lo / hi) ** slope)) ** (-1.0 / slope)


def _disc(rng, n, ra0, dec0, radius_arcsec):
    """``n`` positions uniform in a disc of the tangent plane around (ra0, dec0)."""
    r = radius_arcsec * np.sqrt(rng.random(n)) / 206264.80624709636
    th = rng.uniform(0.0, 2.0 * math.pi, n)
    xi, eta = r * np.sin(th), r * np.cos(th)
    a0, d0 = math.radians(ra0), math.radians(dec0)
    denom = math.cos(d0) - eta * math.sin(d0)
    ra = a0 + np.arctan2(xi, denom)
    dec = np.arctan2(math.sin(d0) + eta * math.cos(d0), np.hypot(xi, denom))
    return np.degrees(ra) % 360.0, np.degrees(dec)


def _read_catalog(path: str) -> Table:
    p = Path(path)
    try:
        t = Table.read(p, format="ascii.ecsv")
    except Exception as exc:  # astropy raises many types for malformed files
        raise InputError(f"cannot read the source catalog: {exc}", path=p) from exc
    names = {c.lower(): c for c in t.colnames}
    missing = [c for c in ("ra", "dec") if c not in names]
    flux_col = names.get("flux", names.get("flux_ujy"))
    if missing or flux_col is None:
        raise InputError(
            "the source catalog needs columns ra, dec [deg] and flux [micro-Jy]", path=p
        )
    n = len(t)
    out = Table()
    out["ra"] = np.asarray(t[names["ra"]], float)
    out["dec"] = np.asarray(t[names["dec"]], float)
    out["flux_ref"] = np.asarray(t[flux_col], float)
    out["beta"] = np.zeros(n)
    typ = (
        np.char.lower(np.asarray(t[names["type"]], dtype=str))
        if "type" in names
        else np.full(n, "star")
    )
    if not np.all(np.isin(typ, ["star", "galaxy"])):
        raise InputError("catalog column 'type' must hold star or galaxy", path=p)
    out["type"] = typ.astype("<U6")

    def col(name, default):
        return np.asarray(t[names[name]], float) if name in names else np.full(n, default)

    out["sersic_n"] = col("sersic_n", 1.0)
    out["r_eff"] = col("r_eff", 0.2)
    out["axis_ratio"] = col("axis_ratio", 1.0)
    out["pa"] = col("pa", 0.0)
    return out


def generate_scene(
    config: SceneConfig, ra: float, dec: float, radius_arcsec: float, seed: int
) -> Scene:
    """Draw the random sources of ``config`` in a disc around (``ra``, ``dec``), add the catalog."""
    rng = np.random.default_rng([seed, 0x5CE7E])
    area = math.pi * (radius_arcsec / 60.0) ** 2
    parts = []
    if config.random_sources:
        ns = int(rng.poisson(config.star_density * area))
        sra, sdec = _disc(rng, ns, ra, dec, radius_arcsec)
        stars = Table()
        stars["ra"], stars["dec"] = sra, sdec
        stars["flux_ref"] = _power_law(rng, ns, *config.star_flux_range, config.star_slope)
        stars["beta"] = np.full(ns, -2.0)
        stars["type"] = np.full(ns, "star", dtype="<U6")
        stars["sersic_n"] = np.zeros(ns)
        stars["r_eff"] = np.zeros(ns)
        stars["axis_ratio"] = np.ones(ns)
        stars["pa"] = np.zeros(ns)
        parts.append(stars)

        ng = int(rng.poisson(config.galaxy_density * area))
        gra, gdec = _disc(rng, ng, ra, dec, radius_arcsec)
        gal = Table()
        gal["ra"], gal["dec"] = gra, gdec
        gal["flux_ref"] = _power_law(rng, ng, *config.galaxy_flux_range, config.galaxy_slope)
        gal["beta"] = rng.uniform(-1.0, 1.0, ng)
        gal["type"] = np.full(ng, "galaxy", dtype="<U6")
        gal["sersic_n"] = rng.uniform(*config.sersic_range, ng)
        lo, hi = config.galaxy_reff_range
        gal["r_eff"] = np.exp(rng.uniform(math.log(lo), math.log(hi), ng))
        gal["axis_ratio"] = rng.uniform(*config.axis_ratio_range, ng)
        gal["pa"] = rng.uniform(0.0, 180.0, ng)
        parts.append(gal)
    if config.catalog:
        parts.append(_read_catalog(config.catalog))
    if parts:
        from astropy.table import vstack

        table = vstack(parts, join_type="exact") if len(parts) > 1 else parts[0]
    else:
        table = Table(
            names=(
                "ra",
                "dec",
                "flux_ref",
                "beta",
                "type",
                "sersic_n",
                "r_eff",
                "axis_ratio",
                "pa",
            ),
            dtype=(float, float, float, float, "<U6", float, float, float, float),
        )
    table.add_column(np.arange(1, len(table) + 1, dtype=np.int64), name="id", index=0)
    return Scene(table=table, background=config.background, meta={"seed": seed})
