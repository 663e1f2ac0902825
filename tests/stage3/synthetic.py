"""Fast synthetic ``_cal`` exposures for the Stage 3 tests (no ramps, no reference build).

A dithered set of NIRCam-like images of one star field: a linear detector -> V2/V3 model
(0.0311"/pixel, no distortion) inside the official imaging gwcs
(:func:`webbcal.wcs.imaging_wcs`), pixel-integrated Gaussian stars of the F200W APCORR PSF
rendered at their *true* positions (the commanded attitude plus a pointing error), a flat
sky, and Gaussian noise whose variance is exactly the VAR_POISSON + VAR_RNOISE written
beside it. The models carry the commanded WCS, so the pointing errors are what tweakreg
must remove. Sizes are small (256 x 256) to keep the fast tests fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table, vstack

from webbcal.datamodels import ImageModel, dqflags
from webbcal.refs.embedded.properties import psf_fwhm
from webbcal.sim.psf import PSFModel, render_stars
from webbcal.wcs import Pointing, imaging_wcs

SCALE = 0.0311  # arcsec / pixel
V2_REF, V3_REF = 120.6714, -527.3877
RA0, DEC0, ROLL = 53.1625, -27.7914, 45.0
PHOTMJSR = 2.27
PIXAR_SR = math.radians(SCALE / 3600.0) ** 2
GAIN = 2.0
TEXP = 200.0
RN_DN = 12.0  # read noise of the slope [DN/s * TEXP]
SKY_MJYSR = 0.15


@dataclass
class SyntheticDither:
    """Models, the star truth (ra, dec, flux [uJy]) and per-exposure truth."""

    models: list
    stars: Table
    true_wcs: list
    cosmic_rays: list = field(default_factory=list)
    sky: list = field(default_factory=list)


def _distortion(shape):
    from astropy.modeling import models

    ny, nx = shape
    xr, yr = (nx - 1) / 2.0, (ny - 1) / 2.0
    matrix = np.array([[-SCALE, 0.0], [0.0, SCALE]])
    model = (
        (models.Shift(-xr) & models.Shift(-yr))
        | models.AffineTransformation2D(matrix=matrix)
        | (models.Shift(V2_REF) & models.Shift(V3_REF))
    )
    model.inverse = (
        (models.Shift(-V2_REF) & models.Shift(-V3_REF))
        | models.AffineTransformation2D(matrix=np.linalg.inv(matrix))
        | (models.Shift(xr) & models.Shift(yr))
    )
    return model


def _pointing(ra, dec, roll):
    return Pointing(v2_ref=V2_REF, v3_ref=V3_REF, roll_ref=roll, ra_ref=ra, dec_ref=dec,
                    v3yangle=0.0, vparity=-1)  # fmt: skip


def star_field(n: int, radius_arcsec: float, seed: int, flux_range=(2.0, 400.0)) -> Table:
    """Random stars (ra, dec [deg], flux [uJy], N(>F) ~ F**-0.7) in a disc."""
    rng = np.random.default_rng(seed)
    r = radius_arcsec * np.sqrt(rng.uniform(0, 1, n))
    t = rng.uniform(0, 2 * np.pi, n)
    lo, hi = flux_range
    a = -0.7
    u = rng.uniform(0, 1, n)
    flux = (lo**a + u * (hi**a - lo**a)) ** (1 / a)
    ra = RA0 + r * np.cos(t) / 3600.0 / math.cos(math.radians(DEC0))
    dec = DEC0 + r * np.sin(t) / 3600.0
    return Table({"ra": ra, "dec": dec, "flux": flux})


def make_dither(
    *,
    shape=(256, 256),
    offsets=((-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)),
    errors=((0.05, -0.12, 0.0), (-0.31, 0.22, 0.002), (0.42, 0.18, -0.001), (-0.08, -0.47, 0.0)),
    nstars: int = 120,
    faint: int = 0,
    sky_offsets=None,
    cosmic_rays: int = 0,
    seed: int = 3,
    noise: bool = True,
    stars: Table | None = None,
) -> SyntheticDither:
    """Dithered exposures (``offsets`` [arcsec] in RA/Dec, ``errors`` (dra, ddec [arcsec],
    droll [deg]) of the true attitude); ``nstars`` stars of 2-400 uJy plus ``faint`` of
    0.1-2 uJy.
    """
    if stars is None:
        stars = star_field(nstars, 7.5, seed)
        if faint:
            stars = vstack([stars, star_field(faint, 7.5, seed + 1, (0.1, 2.0))])
    fwhm = psf_fwhm("NIRCAM", "F200W", "CLEAR")
    psf = PSFModel.gaussian(fwhm, SCALE, 1.99)
    rate_per_ujy = 1.0 / (PHOTMJSR * PIXAR_SR * 1e12)
    rng = np.random.default_rng(seed + 1000)
    out = SyntheticDither([], stars, [], [], [])
    cosd = math.cos(math.radians(DEC0))
    for k, ((ox, oy), (ex, ey, er)) in enumerate(zip(offsets, errors)):
        ra_c, dec_c = RA0 + ox / 3600.0 / cosd, DEC0 + oy / 3600.0
        commanded = imaging_wcs(_distortion(shape), _pointing(ra_c, dec_c, ROLL), shape)
        true = imaging_wcs(_distortion(shape),
                           _pointing(ra_c + ex / 3600.0 / cosd, dec_c + ey / 3600.0, ROLL + er),
                           shape)  # fmt: skip
        x, y = true.invert(np.asarray(stars["ra"]), np.asarray(stars["dec"]),
                           with_bounding_box=False)  # fmt: skip
        sky = SKY_MJYSR + (0.0 if sky_offsets is None else float(sky_offsets[k]))
        rate = np.full(shape, sky / PHOTMJSR)
        render_stars(rate, x, y, np.asarray(stars["flux"]) * rate_per_ujy, psf)
        var_p = np.clip(rate, 0, None) / (GAIN * TEXP)
        var_r = np.full(shape, (RN_DN / TEXP) ** 2)
        sci = rate + (rng.standard_normal(shape) * np.sqrt(var_p + var_r) if noise else 0.0)
        dq = np.zeros(shape, np.uint32)
        dead = rng.integers(0, shape[0] * shape[1], 40)
        dq.flat[dead] = dqflags.DO_NOT_USE | dqflags.DEAD
        sci.flat[dead] = 0.0
        model = ImageModel(
            data=(sci * PHOTMJSR).astype(np.float32),
            dq=dq,
            err=(np.sqrt(var_p + var_r) * PHOTMJSR).astype(np.float32),
            var_poisson=(var_p * PHOTMJSR**2).astype(np.float32),
            var_rnoise=(var_r * PHOTMJSR**2).astype(np.float32),
            var_flat=np.zeros(shape, np.float32),
        )
        _meta(model, k, ra_c, dec_c)
        model.meta.wcs = commanded
        if cosmic_rays:
            out.cosmic_rays.append(_plant(model, cosmic_rays, rng))
        out.models.append(model)
        out.true_wcs.append(true)
        out.sky.append(sky)
    return out


def _meta(model: ImageModel, k: int, ra: float, dec: float) -> None:
    m = model.meta
    m.filename = f"jw01234001001_01101_{k + 1:05d}_nrca1_cal.fits"
    m.instrument.name, m.instrument.detector = "NIRCAM", "NRCA1"
    m.instrument.filter, m.instrument.pupil = "F200W", "CLEAR"
    m.instrument.channel, m.instrument.module = "SHORT", "A"
    m.exposure.type = "NRC_IMAGE"
    m.exposure.exposure_time = m.exposure.effective_exposure_time = TEXP
    m.exposure.measurement_time = TEXP
    m.exposure.start_time = 60400.0 + k * 0.01
    m.exposure.end_time = 60400.0 + k * 0.01 + TEXP / 86400.0
    m.observation.date, m.observation.time = "2024-04-01", "00:00:00.000"
    m.observation.program_number, m.observation.observation_number = "01234", "001"
    m.observation.visit_number, m.observation.visit_group = "001", "01"
    m.observation.sequence_id, m.observation.activity_id = "1", "01"
    m.observation.exposure_number = str(k + 1)
    m.subarray.name = "FULL"
    m.subarray.xstart, m.subarray.ystart = 1, 1
    m.subarray.xsize, m.subarray.ysize = model.shape[1], model.shape[0]
    m.dither.primary_type = "INTRAMODULEBOX"
    w = m.wcsinfo
    w.v2_ref, w.v3_ref, w.roll_ref = V2_REF, V3_REF, ROLL
    w.ra_ref, w.dec_ref = ra, dec
    w.v3yangle, w.vparity = 0.0, -1
    m.bunit_data = m.bunit_err = "MJy/sr"
    m.photometry.conversion_megajanskys = PHOTMJSR
    m.photometry.pixelarea_steradians = PIXAR_SR
    m.photometry.pixelarea_arcsecsq = SCALE**2
    for step in ("assign_wcs", "flat_field", "photom"):
        setattr(m.cal_step, step, "COMPLETE")


def _plant(model: ImageModel, count: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Cosmic-ray hits (1-3 pixels, 30-300 sigma) on good pixels; returns their pixels."""
    ny, nx = model.shape
    ys, xs = [], []
    data, err = model.data, model.err
    good = (model.dq & dqflags.DO_NOT_USE) == 0
    while len(ys) < count:
        y, x = int(rng.integers(4, ny - 5)), int(rng.integers(4, nx - 5))
        pix = [(y, x), (y, x + 1), (y + 1, x)][: int(rng.integers(1, 4))]
        if not all(good[p] for p in pix):
            continue
        for p in pix:
            data[p] += float(rng.uniform(30.0, 300.0)) * err[p]
            ys.append(p[0])
            xs.append(p[1])
    return np.array(ys), np.array(xs)


def isolated(x: np.ndarray, y: np.ndarray, flux: np.ndarray, radius: float) -> np.ndarray:
    """Stars with no neighbour brighter than 1 % of them within ``radius`` pixels."""
    keep = np.ones(x.size, bool)
    for i in range(x.size):
        d = np.hypot(x - x[i], y - y[i])
        d[i] = np.inf
        keep[i] = not np.any((d < radius) & (flux > 0.01 * flux[i]))
    return keep


def measured_apcorr(i2d: ImageModel, stars: Table, like: ImageModel, path) -> str:
    """An APCORR reference for the PSF of a noise-free ``i2d`` of ``stars``.

    The encircled energy is measured with exact apertures at the stars' true positions
    (isolated, well inside the image), relative to their true fluxes; the rows of the
    embedded reference for ``like``'s filter get the radii of that curve.
    """
    from webbcal.kernels.aperture import aperture_sums
    from webbcal.refs import best_reference, read_reference

    x, y = i2d.meta.wcs.invert(np.asarray(stars["ra"]), np.asarray(stars["dec"]),
                               with_bounding_box=False)  # fmt: skip
    flux = np.asarray(stars["flux"], float)
    ny, nx = i2d.shape
    inside = np.isfinite(x) & (x > 15) & (x < nx - 15) & (y > 15) & (y < ny - 15)
    sel = inside & isolated(x, y, flux, 12.0)
    sky = np.nanmedian(i2d.data)
    data = np.nan_to_num(i2d.data - sky) * i2d.meta.photometry.pixelarea_steradians * 1e12
    radii = np.linspace(0.2, 8.0, 80)
    sums, _, _ = aperture_sums(data.astype(np.float32), np.empty((0, 0), np.float32),
                               np.zeros(data.shape, bool), x[sel], y[sel], radii)  # fmt: skip
    ee = np.median(sums / flux[sel, None], axis=0)
    ref = read_reference(best_reference("apcorr", like))
    table = ref.apcorr_table.copy()
    rows = (np.char.strip(table["filter"].astype(str)) == "F200W") & (
        np.char.strip(table["pupil"].astype(str)) == "CLEAR"
    )
    table["radius"][rows] = np.interp(table["eefraction"][rows], np.maximum.accumulate(ee), radii)
    table["apcorr"][rows] = 1.0 / table["eefraction"][rows]
    ref.apcorr_table = table
    return str(ref.save(path))
