"""The numbers of a run report: pulls, catalog-vs-truth matching, DQ counts, step timing.

Every function takes arrays or tables and returns plain numbers (JSON-ready dicts), so the
figures and ``report.json`` show the same values.

Pulls are ``(measured - truth) / ERR``: when the pipeline's uncertainties are honest they
scatter as a unit Gaussian. :func:`pull_summary` gives the mean and standard deviation of
the pulls within +-5 (a Gaussian fit by moments, robust to the few pixels a wrong jump or
an unflagged defect throws far out), the MAD-based sigma, and the fraction beyond 5.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from webbcal.datamodels import dqflags

__all__ = [
    "DQ_FLAGS",
    "catalog_match",
    "dq_counts",
    "good_pixels",
    "image_pulls",
    "pull_summary",
    "row_detrended_pulls",
    "step_timing",
]

#: Flags counted in the DQ statistics, by name.
DQ_FLAGS = {
    "jump": dqflags.JUMP_DET,
    "saturated": dqflags.SATURATED,
    "outlier": dqflags.OUTLIER,
    "do_not_use": dqflags.DO_NOT_USE,
}

#: |pull| beyond which a value counts as an outlier, and the clip of the fitted moments.
PULL_CLIP = 5.0
#: Largest number of pulls kept per stage (evenly subsampled) for plots.
MAX_PULLS = 400_000


def good_pixels(
    data: np.ndarray, err: np.ndarray, truth: np.ndarray, dq: np.ndarray | None = None
) -> np.ndarray:
    """Pixels with a pull: finite data, truth and ERR, ERR > 0, and DQ 0 (when given)."""
    good = np.isfinite(data) & np.isfinite(truth) & np.isfinite(err) & (err > 0)
    if dq is not None:
        good &= np.asarray(dq) == 0
    return good


def _every(count: int) -> int:
    """The stride that keeps at most MAX_PULLS of ``count`` values."""
    return math.ceil(count / MAX_PULLS) if count > MAX_PULLS else 1


def image_pulls(
    data: np.ndarray,
    err: np.ndarray,
    truth: np.ndarray,
    dq: np.ndarray | None = None,
    *,
    good: np.ndarray | None = None,
) -> np.ndarray:
    """``(data - truth) / err`` over good pixels (DQ 0, finite, ERR > 0), flattened.

    ``good`` is :func:`good_pixels` when already known. More than MAX_PULLS good pixels
    are evenly subsampled (every k-th in memory order); only the kept pulls are computed,
    in float64.
    """
    data, err, truth = np.asarray(data), np.asarray(err), np.asarray(truth)
    if good is None:
        good = good_pixels(data, err, truth, dq)
    index = np.flatnonzero(good)
    index = index[:: _every(index.size)]
    values = [np.asarray(a.reshape(-1)[index], dtype=np.float64) for a in (data, truth, err)]
    return (values[0] - values[1]) / values[2]


def row_detrended_pulls(
    data: np.ndarray,
    err: np.ndarray,
    truth: np.ndarray,
    dq: np.ndarray | None = None,
    *,
    good: np.ndarray | None = None,
) -> np.ndarray:
    """Pulls after subtracting each row's median residual (the row-correlated 1/f part).

    The detector's 1/f noise moves whole rows (the fast readout direction of the near-IR
    detectors) together; the reference pixels remove only part of it and the pipeline's
    ERR, as the official one, does not include it. These pulls show whether ERR is honest
    for the per-pixel noise once that common row term is taken out. Rows with fewer than
    16 good pixels are left out; the pulls are subsampled as in :func:`image_pulls`.
    """
    data, err, truth = np.asarray(data), np.asarray(err), np.asarray(truth)
    if good is None:
        good = good_pixels(data, err, truth, dq)
    count = np.count_nonzero(good, axis=1)
    keep = count >= 16
    rows = slice(None) if keep.all() else np.flatnonzero(keep)
    good, count = good[rows], count[rows]
    resid = np.subtract(data[rows], truth[rows], dtype=np.float64)
    np.copyto(resid, np.inf, where=~good)  # sorted after every good residual of the row
    ordered = np.sort(resid, axis=1)
    k = np.arange(count.size)
    median = (ordered[k, (count - 1) // 2] + ordered[k, count // 2]) / 2
    del ordered
    resid -= median[:, None]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        pulls = resid[good] / np.asarray(err[rows][good], dtype=np.float64)
    pulls = pulls[np.isfinite(pulls)]
    return pulls[:: _every(pulls.size)]


def pull_summary(pulls: np.ndarray) -> dict[str, float | int]:
    """``n``, ``mean``, ``std`` (within +-5), ``std_mad`` and ``outlier_fraction`` (>5)."""
    pulls = np.asarray(pulls, dtype=np.float64)
    pulls = pulls[np.isfinite(pulls)]
    n = int(pulls.size)
    if n == 0:
        return {"n": 0}
    core = pulls[np.abs(pulls) <= PULL_CLIP]
    median = float(np.median(pulls))
    return {
        "n": n,
        "mean": float(core.mean()) if core.size else float("nan"),
        "std": float(core.std()) if core.size else float("nan"),
        "median": median,
        "std_mad": float(1.4826 * np.median(np.abs(pulls - median))),
        "outlier_fraction": float(1.0 - core.size / n),
    }


def dq_counts(dq: np.ndarray) -> dict[str, int]:
    """Pixels with each flag of :data:`DQ_FLAGS` set, and all flagged pixels."""
    dq = np.asarray(dq)
    flagged = dq[dq != 0].astype(np.uint32, copy=False)  # few pixels: count their bits
    counts = {
        name: int(np.count_nonzero(flagged & np.uint32(bit))) for name, bit in DQ_FLAGS.items()
    }
    counts["any"] = int(flagged.size)
    counts["pixels"] = int(dq.size)
    return counts


def _radec(table: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """RA/Dec [deg] of a catalog: ``sky_centroid`` (SkyCoord) or ``ra``/``dec`` columns."""
    names = table.colnames
    if "sky_centroid" in names:
        sky = table["sky_centroid"]
        try:
            return np.asarray(sky.ra.deg, float), np.asarray(sky.dec.deg, float)
        except AttributeError:  # a plain column of (ra, dec) pairs
            arr = np.asarray(sky, float)
            return arr[:, 0], arr[:, 1]
    if "ra" in names and "dec" in names:
        return _values(table["ra"], "deg"), _values(table["dec"], "deg")
    return None


def _values(column: Any, unit: str | None = None) -> np.ndarray:
    """A column as floats (converted to ``unit`` when it has units)."""
    if unit is not None and getattr(column, "unit", None) is not None:
        try:
            return np.asarray(column.to_value(unit), dtype=float)
        except (AttributeError, ValueError, TypeError):
            return np.asarray(column.quantity.to_value(unit), dtype=float)
    return np.asarray(getattr(column, "value", column), dtype=float)


def _flux_ujy(table: Any, name: str) -> np.ndarray | None:
    if name not in table.colnames:
        return None
    column = table[name]
    unit = getattr(column, "unit", None)
    if unit is None:
        return np.asarray(column, float) * 1e6  # official catalogs are in Jy
    return _values(column, "uJy")


def _noise_size_factor(catalog: Any, truth: Any, pixel_scale: float | None) -> np.ndarray:
    """Per truth source: noise of its flux relative to a point source's (1 for stars)."""
    factor = np.ones(len(truth))
    if pixel_scale is None or "r_eff" not in truth.colnames or not pixel_scale > 0:
        return factor
    radii = (catalog.meta.get("aperture_params") or {}).get("radii_pix") or [2.0]
    r_ap = max(float(max(radii)), 1.0)
    r_eff_pix = np.nan_to_num(np.asarray(truth["r_eff"], float)) / pixel_scale
    return np.sqrt(1.0 + (2.0 * r_eff_pix / r_ap) ** 2)


def catalog_match(
    catalog: Any,
    truth: Any,
    *,
    radius_arcsec: float = 0.15,
    footprint: Any = None,
    pixel_scale_arcsec: float | None = None,
) -> dict[str, Any]:
    """Match a source catalog to the truth scene by position and compare them.

    Parameters
    ----------
    catalog : astropy Table
        The ``_cat.ecsv`` (``sky_centroid``, ``aper_total_flux`` [+ ``_err``],
        ``isophotal_flux``, ``is_extended``).
    truth : astropy Table
        ``ra``, ``dec`` [deg], ``flux`` [uJy], ``type`` (star/galaxy).
    radius_arcsec : float
        Largest separation of a match.
    footprint : callable, optional
        ``(ra, dec) -> bool array``: truth sources inside the image (default: all).
    pixel_scale_arcsec : float, optional
        Pixel scale of the image; with it (and ``r_eff`` [arcsec] in the truth) the S/N of
        an extended source is estimated for its size (see ``completeness_bright``).

    Returns
    -------
    dict
        ``n_detected``, ``n_truth`` (in the footprint), ``n_matched``, ``completeness``
        (and ``completeness_bright``: truth sources with an expected S/N above 10, the
        S/N being the truth flux over the median point-source flux error times
        ``sqrt(1 + (2 r_eff / r_ap)**2)``, ``r_ap`` the largest catalog aperture: the
        background noise of an extended source grows with the radius holding its light;
        ``n_bright``, ``completeness_stars``, ``completeness_galaxies``),
        ``flux_ratio_stars``/``_galaxies`` (median measured/true), ``astrometry_rms_mas``,
        ``offset_ra_mas``/``offset_dec_mas`` (mean), ``flux_pull`` (stars), and
        ``pairs`` (per match: true and measured flux, error, dra, ddec, type) for plots.

    """
    from astropy.coordinates import SkyCoord

    out: dict[str, Any] = {"n_detected": len(catalog)}
    cat_pos, truth_pos = _radec(catalog), _radec(truth)
    if cat_pos is None or truth_pos is None or len(catalog) == 0 or len(truth) == 0:
        out.update(n_truth=len(truth), n_matched=0)
        return out
    t_ra, t_dec = truth_pos
    inside = np.ones(t_ra.size, bool) if footprint is None else np.asarray(footprint(t_ra, t_dec))
    t_idx = np.flatnonzero(inside)
    out["n_truth"] = int(t_idx.size)
    if t_idx.size == 0:
        out["n_matched"] = 0
        return out
    cat = SkyCoord(cat_pos[0], cat_pos[1], unit="deg")
    tru = SkyCoord(t_ra[t_idx], t_dec[t_idx], unit="deg")
    nearest, sep, _ = tru.match_to_catalog_sky(cat)
    ok = sep.arcsec <= radius_arcsec
    # one truth source per detection: keep the closest
    order = np.argsort(sep.arcsec)
    taken: set[int] = set()
    keep = np.zeros(ok.size, bool)
    for i in order:
        if ok[i] and int(nearest[i]) not in taken:
            taken.add(int(nearest[i]))
            keep[i] = True
    ti, ci = t_idx[keep], nearest[keep]
    out["n_matched"] = int(keep.sum())
    out["completeness"] = float(keep.sum() / t_idx.size)
    t_flux = np.asarray(truth["flux"], float)
    kind = np.asarray(truth["type"]).astype(str) if "type" in truth.colnames else None
    total = _flux_ujy(catalog, "aper_total_flux")
    total_err = _flux_ujy(catalog, "aper_total_flux_err")
    iso = _flux_ujy(catalog, "isophotal_flux")
    if total_err is not None and np.isfinite(total_err).any():
        limit = 10.0 * float(np.nanmedian(total_err))
        size = _noise_size_factor(catalog, truth, pixel_scale_arcsec)[t_idx]
        bright = t_flux[t_idx] > limit * size
        if bright.any():
            out["completeness_bright"] = float(keep[bright].sum() / bright.sum())
            out["n_bright"] = int(bright.sum())
            out["bright_limit_ujy"] = limit
    if kind is not None:
        for label, name in (("stars", "star"), ("galaxies", "galaxy")):
            sel = kind[t_idx] == name
            if sel.any():
                out[f"completeness_{label}"] = float(keep[sel].sum() / sel.sum())
    dra = ((cat_pos[0][ci] - t_ra[ti] + 180.0) % 360.0 - 180.0) * np.cos(np.radians(t_dec[ti]))
    dra_mas, ddec_mas = dra * 3.6e6, (cat_pos[1][ci] - t_dec[ti]) * 3.6e6
    stars = kind[ti] == "star" if kind is not None else np.ones(ti.size, bool)
    pos = stars if stars.any() else np.ones(ti.size, bool)
    if ti.size:
        out["astrometry_rms_mas"] = float(np.sqrt(np.mean(dra_mas[pos] ** 2 + ddec_mas[pos] ** 2)))
        out["offset_ra_mas"] = float(np.mean(dra_mas[pos]))
        out["offset_dec_mas"] = float(np.mean(ddec_mas[pos]))
    measured = np.full(ti.size, np.nan)
    err = np.full(ti.size, np.nan)
    if total is not None:
        measured[stars] = total[ci][stars]
        if total_err is not None:
            err[stars] = total_err[ci][stars]
    if iso is not None:
        measured[~stars] = iso[ci][~stars]
        iso_err = _flux_ujy(catalog, "isophotal_flux_err")
        if iso_err is not None:
            err[~stars] = iso_err[ci][~stars]
    truth_flux = t_flux[ti]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = measured / truth_flux
    for label, sel in (("stars", stars), ("galaxies", ~stars)):
        good = sel & np.isfinite(ratio)
        if good.any():
            out[f"flux_ratio_{label}"] = float(np.median(ratio[good]))
            out[f"n_matched_{label}"] = int(good.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        pulls = (measured - truth_flux) / err
    star_pulls = pulls[stars & np.isfinite(pulls)]
    out["flux_pull"] = pull_summary(star_pulls)
    out["pairs"] = {
        "truth_flux": truth_flux.tolist(),
        "measured_flux": measured.tolist(),
        "flux_err": err.tolist(),
        "dra_mas": dra_mas.tolist(),
        "ddec_mas": ddec_mas.tolist(),
        "star": stars.tolist(),
    }
    return out


def step_timing(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per pipeline: members, wall time, and per step the summed seconds and peak RSS.

    ``records`` are ledger records (:mod:`webbcal.parallel.ledger`).
    """
    pipelines: dict[str, Any] = {}
    for record in records:
        entry = pipelines.setdefault(
            record.get("pipeline", "?"),
            {"members": 0, "failed": 0, "seconds": 0.0, "peak_rss_mb": 0.0, "steps": {}},
        )
        entry["members"] += 1
        entry["failed"] += record.get("status") == "failed"
        entry["seconds"] += float(record.get("seconds") or 0.0)
        entry["peak_rss_mb"] = max(entry["peak_rss_mb"], float(record.get("peak_rss_mb") or 0.0))
        for step in record.get("steps") or []:
            s = entry["steps"].setdefault(
                step["name"], {"seconds": 0.0, "peak_rss_mb": 0.0, "runs": 0, "skipped": 0}
            )
            s["seconds"] += float(step.get("seconds") or 0.0)
            s["peak_rss_mb"] = max(s["peak_rss_mb"], float(step.get("peak_rss_mb") or 0.0))
            s["runs"] += 1
            s["skipped"] += step.get("status") == "skipped"
    return pipelines
