"""Header keywords of simulated exposures and the files written for them."""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time, TimeDelta

from webbcal import __version__
from webbcal.datamodels import Level1bModel
from webbcal.datamodels.keywords import KEYWORDS
from webbcal.datamodels.products import INT_TIMES_COLUMNS

if TYPE_CHECKING:
    from webbcal.sim.exposure import ExposureTruth, _Context

log = logging.getLogger(__name__)

__all__ = ["atomic_write", "exposure_keywords", "write_exposure"]


@functools.cache
def _keyword_paths() -> dict[str, str]:
    """FITS keyword -> meta path for the exposure headers (PRIMARY and SCI entries)."""
    out: dict[str, str] = {}
    for k in KEYWORDS:
        if k.path.startswith(("guidestar.", "ref_file.")) or k.hdu not in ("PRIMARY", "SCI"):
            continue
        out.setdefault(k.keyword, k.path)
    return out


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _plain_column(column: Any) -> bool:
    """A 1-D unmasked number column, or strings without blanks or quotes."""
    if getattr(column, "mask", None) is not None and np.any(column.mask):
        return False
    values = np.asarray(column)
    if values.ndim != 1:
        return False
    if values.dtype.kind in "iuf":
        return True
    if values.dtype.kind not in "US":
        return False
    text = values.astype(str)
    return not any(not v or any(ch.isspace() or ch in "\"'#" for ch in v) for v in set(text))


def write_ecsv(table: Table, path: Path) -> None:
    """Write ``table`` as ECSV; the rows of plain tables are formatted in bulk (fast).

    The header is astropy's (of the empty table), so the file reads back identically;
    floats are written with Python's shortest round-trip repr, as astropy does.
    """
    columns = [table[name] for name in table.colnames]
    if len(table) == 0 or not all(_plain_column(c) for c in columns):
        table.write(path, format="ascii.ecsv", overwrite=True)
        return
    text = [np.asarray(c).astype(str).tolist() for c in columns]
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        table[:0].write(fh, format="ascii.ecsv")
        fh.write("\n".join(map(" ".join, zip(*text))))
        fh.write("\n")


def _times(ctx: _Context) -> tuple[Time, Time]:
    start = Time(ctx.cfg.date_obs, format="isot", scale="utc")
    return start, start + TimeDelta(ctx.tim.duration, format="sec")


def exposure_keywords(ctx: _Context, lightcurve: Table | None) -> dict[str, Any]:
    """FITS keyword values of a simulated exposure (all mapped by the keyword table)."""
    cfg, det, sub = ctx.cfg, ctx.det, ctx.sub
    start, end = _times(ctx)
    mid = start + (end - start) / 2
    inst = det.instrument
    kw: dict[str, Any] = {
        "TELESCOP": "JWST",
        "INSTRUME": inst,
        "DETECTOR": det.name,
        "EXP_TYPE": cfg.exp_type_value,
        "DATE-OBS": start.isot[:10],
        "TIME-OBS": start.isot[11:23],
        "DATE-BEG": start.isot[:23],
        "DATE-END": end.isot[:23],
        "EXPSTART": start.mjd,
        "EXPMID": mid.mjd,
        "EXPEND": end.mjd,
        "MJD-BEG": start.mjd,
        "MJD-AVG": mid.mjd,
        "MJD-END": end.mjd,
        "PROGRAM": f"{cfg.program:05d}",
        "OBSERVTN": f"{cfg.observation:03d}",
        "VISIT": f"{cfg.visit:03d}",
        "VISITGRP": f"{cfg.visit_group:02d}",
        "SEQ_ID": str(cfg.sequence),
        "ACT_ID": f"{cfg.activity:02d}",
        "EXPOSURE": str(cfg.exposure),
        "VISIT_ID": f"{cfg.program:05d}{cfg.observation:03d}{cfg.visit:03d}",
        "OBS_ID": (
            f"V{cfg.program:05d}{cfg.observation:03d}{cfg.visit:03d}P00000000"
            f"{cfg.visit_group:02d}{cfg.sequence:01d}{cfg.activity:02d}"
        ),
        "EXPCOUNT": cfg.exposure,
        "EXPRIPAR": "PRIME",
        "TSOVISIT": bool(cfg.tso.enabled),
        "VISITYPE": "PRIME_TARGETED_FIXED",
        "TARGNAME": cfg.target_name,
        "TARGPROP": cfg.target_name,
        "TARG_RA": cfg.ra,
        "TARG_DEC": cfg.dec,
        "TARGTYPE": "FIXED",
        "SCA_NUM": det.sca_id,
        "FASTAXIS": det.fastaxis,
        "SLOWAXIS": det.slowaxis,
        "ZEROFRAM": False,
        "DATAPROB": False,
        "INTSTART": 1,
        "INTEND": cfg.nints,
        "PATTTYPE": cfg.dither_pattern.upper(),
        "PATT_NUM": cfg.dither_position,
        "NUMDTHPT": cfg.dither_total,
        "PRIDTPTS": cfg.dither_total,
        "BUNIT": "DN",
        "VA_SCALE": 1.0,
        "WCSAXES": 2,
        "CTYPE1": "RA---TAN",
        "CTYPE2": "DEC--TAN",
        "CUNIT1": "deg",
        "CUNIT2": "deg",
        "XREF_SCI": ctx.pointing.aperture.x_sci_ref,
        "YREF_SCI": ctx.pointing.aperture.y_sci_ref,
        "CAL_VER": f"webbcal-sim {__version__}",
    }
    if cfg.filter is not None:
        kw["FILTER"] = cfg.filter.upper()
    if cfg.pupil is not None and inst in ("NIRCAM", "NIRISS"):
        kw["PUPIL"] = cfg.pupil.upper()
    if inst == "NIRCAM":
        kw["MODULE"] = det.name[3]
        kw["CHANNEL"] = "LONG" if det.channel == "LW" else "SHORT"
    if inst == "MIRI":
        kw["MIRNGRPS"] = cfg.ngroups
        kw["MIRNFRMS"] = ctx.tim.readpatt.nframes
    kw.update(ctx.tim.keywords())
    kw.update(ctx.sub.keywords())
    # CRPIX: the APERNAME reference pixel on the written array; a SIAF subarray aperture's
    # science frame is the subarray, a full-frame aperture's needs the subarray offset.
    grid = (0, 0) if sub.aperture else (sub.xstart - 1, sub.ystart - 1)
    point = ctx.pointing.keywords(grid)
    point["PPS_APER"] = point["APERNAME"]
    kw.update(point)
    ny, nx = sub.shape
    corners_x = np.array([0, nx - 1, nx - 1, 0], float)
    corners_y = np.array([0, 0, ny - 1, ny - 1], float)
    ra, dec = ctx.geometry.pix_to_radec(ctx.pointing.att, corners_x, corners_y)
    kw["S_REGION"] = "POLYGON ICRS " + " ".join(f"{a:.9f} {d:.9f}" for a, d in zip(ra, dec))
    paths = _keyword_paths()
    missing = [k for k in kw if k not in paths]
    if missing:
        raise KeyError(f"keywords not in the datamodels keyword table: {missing}")
    return kw


def _int_times(ctx: _Context, lightcurve: Table | None) -> np.ndarray:
    cfg, tim, sch = ctx.cfg, ctx.tim, ctx.schedule
    p = tim.readpatt
    cycle = (sch.frames_per_int + p.drop_frames3 + p.nresets) * tim.tframe
    start = np.arange(cfg.nints) * cycle
    end = start + sch.frames_per_int * tim.tframe
    t0 = _times(ctx)[0].mjd
    rows = np.zeros(cfg.nints, dtype=list(INT_TIMES_COLUMNS))
    rows["integration_number"] = np.arange(1, cfg.nints + 1)
    for col, sec in (("start", start), ("mid", 0.5 * (start + end)), ("end", end)):
        mjd = t0 + sec / 86400.0
        rows[f"int_{col}_MJD_UTC"] = mjd
        rows[f"int_{col}_BJD_TDB"] = mjd  # no barycentric correction is simulated
    return rows


def _uncal(truth: ExposureTruth, ctx: _Context) -> Level1bModel:
    model = Level1bModel(data=truth.data)
    paths = _keyword_paths()
    for key, value in truth.keywords.items():
        model.meta.set(paths[key], value.item() if isinstance(value, np.generic) else value)
    model.int_times = _int_times(ctx, truth.lightcurve)
    if truth.zeroframe is not None:
        model.zeroframe = truth.zeroframe
    return model


def _truth_rate_hdul(truth: ExposureTruth) -> fits.HDUList:
    kw = truth.keywords
    hdr = fits.Header()
    for key in (
        "TELESCOP",
        "INSTRUME",
        "DETECTOR",
        "FILTER",
        "PUPIL",
        "EXP_TYPE",
        "SUBARRAY",
        "SUBSTRT1",
        "SUBSTRT2",
        "SUBSIZE1",
        "SUBSIZE2",
        "APERNAME",
        "EXPSTART",
    ):
        if key in kw:
            hdr[key] = kw[key]
    hdr["TRUTHOF"] = (f"{truth.name}_uncal.fits", "uncal of this truth")
    hdr["PHOTMJSR"] = (truth.photmjsr, "MJy/sr per DN/s used by the simulator")
    hdr["PIXAR_SR"] = (truth.pixar_sr, "nominal pixel area [sr]")
    hdr["BKG_MJSR"] = (truth.background, "uniform sky background [MJy/sr]")
    hdr["BKG_RATE"] = (truth.background / truth.photmjsr, "sky in IDEAL [DN/s]")
    hdr["SEED"] = truth.config.seed
    hdus = [fits.PrimaryHDU(header=hdr)]
    docs = {
        "SCI": "IPC (*) (FLAT * IDEAL): what the Stage 1 rate estimates [DN/s]",
        "IDEAL": "sources + sky before flat and IPC [DN/s]",
        "FLAT": "pixel response applied (rate x flat)",
        "DARK": "dark current simulated [DN/s] (not in SCI)",
    }
    for name, arr in (
        ("SCI", truth.truth_rate),
        ("IDEAL", truth.ideal_rate),
        ("FLAT", truth.flat),
        ("DARK", truth.dark_rate),
    ):
        h = fits.ImageHDU(np.asarray(arr, ">f4"), name=name)  # FITS order: no swap on write
        h.header["BUNIT"] = "" if name == "FLAT" else "DN/s"
        h.header["CONTENT"] = docs[name]
        hdus.append(h)
    return fits.HDUList(hdus)


def _catalog_meta(truth: ExposureTruth) -> dict[str, Any]:
    p = truth.pointing
    ra_h, dec_h, roll_h = p.reference()
    ra_t, dec_t, roll_t = p.reference(p.att_true)
    return {
        "exposure": truth.name,
        "photmjsr": truth.photmjsr,
        "pixar_sr": truth.pixar_sr,
        "header_ra_ref": ra_h,
        "header_dec_ref": dec_h,
        "header_roll_ref": roll_h,
        "true_ra_ref": ra_t,
        "true_dec_ref": dec_t,
        "true_roll_ref": roll_t,
        "pointing_error_dv2_arcsec": p.error[0],
        "pointing_error_dv3_arcsec": p.error[1],
        "pointing_error_droll_deg": p.error[2],
        "x_y_convention": "0-based pixels of the written array, true attitude",
        "countrate_units": "DN/s in IDEAL units (before flat and IPC), infinite aperture",
    }


def write_exposure(truth: ExposureTruth, ctx: _Context) -> dict[str, Path]:
    """Write the uncal file and the truth files; return role -> path."""
    out = Path(truth.config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    uncal = out / f"{truth.name}_uncal.fits"
    files["uncal"] = _uncal(truth, ctx).save(uncal)
    files["truth_rate"] = atomic_write(
        out / f"{truth.name}_truth_rate.fits",
        lambda p: _truth_rate_hdul(truth).writeto(p, overwrite=True),
    )
    cat = truth.catalog.copy()
    cat.meta.update(_catalog_meta(truth))
    files["truth_cat"] = atomic_write(
        out / f"{truth.name}_truth_cat.ecsv",
        lambda p: write_ecsv(cat, p),
    )
    files["truth_cr"] = atomic_write(
        out / f"{truth.name}_truth_cr.ecsv",
        lambda p: write_ecsv(truth.cosmic_rays, p),
    )
    if truth.lightcurve is not None:
        files["truth_lightcurve"] = atomic_write(
            out / f"{truth.name}_truth_lightcurve.ecsv",
            lambda p: truth.lightcurve.write(p, format="ascii.ecsv", overwrite=True),
        )
    log.info("wrote %s", uncal)
    return files
