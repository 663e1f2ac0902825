"""Simulate one exposure: scene -> optics -> detector, and write the uncal file and its truth.

Truth products (all on the pixels of the written array, 0-based, DMS orientation):

``<name>_truth_rate.fits``
    ``SCI``: the noise-free count rate [DN/s] that calwebb_detector1's ``rate`` estimates:
    ``IPC (*) (FLAT * IDEAL)``, i.e. sources + sky through the pixel response (flat applied)
    and inter-pixel capacitance, with dark current, bias, non-linearity, noise and cosmic
    rays removed. ``IDEAL``: sources + sky [DN/s] before flat and IPC (what a flat-fielded,
    IPC-free rate image holds; ``IDEAL * PHOTMJSR`` is the Stage-2 surface brightness
    [MJy/sr]). ``FLAT``: the flat applied. ``DARK``: the dark rate simulated [DN/s].
    Reference pixels and dead pixels are 0 in SCI. For a time series, SCI/IDEAL hold the
    exposure-mean light curve value; the light curve is in the catalog truth.
``<name>_truth_cat.ecsv``
    One row per source whose stamp touches the array: ``id``, ``ra``, ``dec`` [deg],
    ``x``, ``y`` [0-based pixels, true attitude], ``countrate`` [DN/s, total in IDEAL units,
    infinite aperture], ``flux`` [micro-Jy in the filter], ``type``, ``sersic_n``, ``r_eff``
    [arcsec], ``r_eff_pix``, ``axis_ratio``, ``pa`` [deg E of N], ``theta_pix`` [deg from +x
    toward +y], ``countrate_in_array`` [DN/s of the source that lands on the array].
    Metadata: PHOTMJSR, PIXAR_SR, background, PSF, true and header pointing, TSO light curve.
``<name>_truth_cr.ecsv``
    One row per pixel hit by a cosmic ray or snowball (see :mod:`webbcal.sim.cosmic_rays`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from astropy.table import Table

from webbcal.errors import ParameterError
from webbcal.instruments.detectors import get_detector
from webbcal.instruments.geometry import get_geometry, nominal_pixel_area
from webbcal.instruments.readout import timing
from webbcal.instruments.subarrays import get_subarray, subarray_amplifiers
from webbcal.refs.embedded import properties as P  # noqa: N812
from webbcal.sim.config import ExposureConfig
from webbcal.sim.cosmic_rays import generate_cosmic_rays, pixel_size_um
from webbcal.sim.detector import DetectorSetup, FrameSchedule, ipc_convolve, simulate_ramp
from webbcal.sim.output import exposure_keywords, write_exposure
from webbcal.sim.pointing import ExposurePointing, SkyGeometry
from webbcal.sim.psf import PSFModel, render_galaxy, render_stars
from webbcal.sim.scene import Scene, generate_scene

log = logging.getLogger(__name__)

__all__ = ["ExposureTruth", "simulate_exposure"]


@dataclass
class ExposureTruth:
    """What :func:`simulate_exposure` made, in memory and on disk.

    Attributes
    ----------
    config : ExposureConfig
        The configuration simulated.
    name : str
        File name stem (``jw..._nrca1``).
    files : dict
        Role -> path of every file written (``uncal``, ``truth_rate``, ``truth_cat``,
        ``truth_cr``); empty when ``config.write`` is False.
    data : ndarray or None
        The raw ramps (uint16, or float64 when ``effects.quantize`` is False); None after
        :meth:`release_arrays` (as for the written exposures of an observation).
    truth_rate, ideal_rate, flat, dark_rate : ndarray or None
        The truth images (see the module docstring); float64 in memory (the ramps are
        computed from exactly these), float32 in the truth file.
    catalog : astropy.table.Table
        Source truth.
    cosmic_rays : astropy.table.Table
        Cosmic-ray truth.
    pointing : ExposurePointing
        Header and true attitude.
    photmjsr, pixar_sr, background : float
        Photometric conversion [MJy/sr per DN/s], nominal pixel area [sr], sky [MJy/sr].
    keywords : dict
        The main header keyword values written.
    lightcurve : astropy.table.Table or None
        TSO: per-integration times and relative flux of the host star.
    zeroframe : ndarray or None
        (nints, ny, nx) first frame of each integration, when simulated (ZEROFRAM=T).

    """

    config: ExposureConfig
    name: str
    data: np.ndarray | None
    truth_rate: np.ndarray | None
    ideal_rate: np.ndarray | None
    flat: np.ndarray | None
    dark_rate: np.ndarray | None
    catalog: Table
    cosmic_rays: Table
    pointing: ExposurePointing
    photmjsr: float
    pixar_sr: float
    background: float
    keywords: dict
    lightcurve: Table | None = None
    zeroframe: np.ndarray | None = None
    files: dict[str, Path] = field(default_factory=dict)

    def release_arrays(self) -> None:
        """Drop the ramps and truth images (they are in ``files``); tables are kept."""
        self.data = self.zeroframe = None
        self.truth_rate = self.ideal_rate = self.flat = self.dark_rate = None


@dataclass
class _Context:
    cfg: ExposureConfig
    det: object
    sub: object
    tim: object
    schedule: FrameSchedule
    slices: tuple[slice, slice]
    geometry: SkyGeometry
    pointing: ExposurePointing
    wavelength: float
    psf: PSFModel
    photmjsr: float
    pixar_sr: float


def _context(cfg: ExposureConfig) -> _Context:
    inst = cfg.instrument.upper()
    det = get_detector(inst, cfg.detector)
    sub = get_subarray(inst, cfg.subarray, det.name)
    tim = timing(inst, cfg.readpatt, sub, cfg.ngroups, cfg.nints, detector=det.name)
    p = tim.readpatt
    schedule = FrameSchedule(
        ngroups=cfg.ngroups,
        nframes=p.nframes,
        groupgap=p.groupgap,
        nints=cfg.nints,
        tframe=tim.tframe,
        drop1=p.drop_frames1,
    )
    window = get_geometry(inst, det.name, sub)
    geometry = SkyGeometry(window, P.filter_offset(inst, cfg.filter) if cfg.filter else (0.0, 0.0))
    apername = sub.aperture or det.siaf_aperture
    pointing = ExposurePointing.create(
        apername, cfg.ra, cfg.dec, cfg.roll, offset=cfg.offset, error=cfg.pointing_error
    )
    wavelength = P.band(inst, cfg.filter, cfg.pupil).pivot
    scale = math.sqrt(window.pixel_area)
    if cfg.psf == "gaussian":
        psf = PSFModel.gaussian(P.psf_fwhm(inst, cfg.filter, cfg.pupil), scale, wavelength)
    elif cfg.psf == "diffraction":
        psf = PSFModel.for_wavelength(wavelength, scale)
    else:
        raise ParameterError(f"unknown PSF model {cfg.psf!r}: use gaussian or diffraction")
    photmjsr = float(P.photom_conversion(inst, det.name, cfg.filter, cfg.pupil))
    pixar_sr = nominal_pixel_area(inst, det.name).sr
    return _Context(
        cfg,
        det,
        sub,
        tim,
        schedule,
        sub.full_frame_slices,
        geometry,
        pointing,
        wavelength,
        psf,
        photmjsr,
        pixar_sr,
    )


def _pixel_axes(ctx: _Context, att, x, y):
    """Unit vectors of north and east [pixel per arcsec] at pixel positions."""
    ra, dec = ctx.geometry.pix_to_radec(att, x, y)
    d = 1.0 / 3600.0
    xn, yn = ctx.geometry.radec_to_pix(att, ra, dec + d)
    xe, ye = ctx.geometry.radec_to_pix(att, ra + d / np.cos(np.radians(dec)), dec)
    return (xn - x, yn - y), (xe - x, ye - y)


def _lightcurve(ctx: _Context) -> Table:
    cfg, tim, sch = ctx.cfg, ctx.tim, ctx.schedule
    p = tim.readpatt
    cycle = (sch.frames_per_int + p.drop_frames3 + p.nresets) * tim.tframe
    start = np.arange(cfg.nints) * cycle
    end = start + sch.frames_per_int * tim.tframe
    mid = 0.5 * (start + end)
    total = end[-1]
    tso = cfg.tso
    t0 = tso.t0 if tso.t0 is not None else 0.5 * total
    dur = tso.duration if tso.duration is not None else total / 3.0
    ing = tso.ingress if tso.ingress is not None else dur / 8.0
    dt = np.abs(mid - t0)
    frac = np.clip((0.5 * dur - dt) / max(ing, 1e-9), 0.0, 1.0)
    rel = 1.0 - tso.depth * frac
    t = Table()
    t["integration"] = np.arange(1, cfg.nints + 1, dtype=np.int32)
    t["t_start"], t["t_mid"], t["t_end"] = start, mid, end
    t["relative_flux"] = rel
    t.meta.update(depth=tso.depth, t0=t0, duration=dur, ingress=ing)
    return t


def _render(ctx: _Context, scene: Scene, refmask: np.ndarray):
    """Ideal rate image [DN/s] of static sources + sky, the TSO star image, and the catalog."""
    cfg = ctx.cfg
    ny, nx = ctx.sub.shape
    att = ctx.pointing.att_true
    per_ujy = 1e-12 / (ctx.photmjsr * ctx.pixar_sr)  # DN/s per micro-Jy
    t = scene.table
    flux = scene.flux_in(ctx.wavelength)
    x, y = ctx.geometry.radec_to_pix(att, np.asarray(t["ra"]), np.asarray(t["dec"]))
    margin = ctx.psf.stamp_radius + 8.0 * np.asarray(t["r_eff"]) / ctx.psf.pixel_scale + 2
    inside = (x > -margin) & (x < nx - 1 + margin) & (y > -margin) & (y < ny - 1 + margin)
    ideal = np.zeros((ny, nx), dtype=np.float64)
    rates = flux * per_ujy
    is_star = np.asarray(t["type"]) == "star"
    landed = np.zeros(len(t))
    sel = np.flatnonzero(inside & is_star)
    landed[sel] = render_stars(ideal, x[sel], y[sel], rates[sel], ctx.psf)
    theta = np.zeros(len(t))
    gsel = np.flatnonzero(inside & ~is_star)
    if gsel.size:
        (nxv, nyv), (exv, eyv) = _pixel_axes(ctx, att, x[gsel], y[gsel])
        kernels: dict[int, np.ndarray] = {}
        for j, i in enumerate(gsel):
            pa = math.radians(float(t["pa"][i]))
            dx = math.cos(pa) * nxv[j] + math.sin(pa) * exv[j]
            dy = math.cos(pa) * nyv[j] + math.sin(pa) * eyv[j]
            theta[i] = math.atan2(dy, dx)
            landed[i] = render_galaxy(
                ideal,
                x[i],
                y[i],
                rates[i],
                n=float(t["sersic_n"][i]),
                r_eff_pix=float(t["r_eff"][i]) / ctx.psf.pixel_scale,
                q=float(t["axis_ratio"][i]),
                theta=theta[i],
                psf=ctx.psf,
                kernels=kernels,
            )
    bkg = scene.background_at(ctx.wavelength)
    ideal += bkg / ctx.photmjsr
    ideal[refmask] = 0.0

    cat = Table()
    keep = np.flatnonzero(inside)
    cat["id"] = np.asarray(t["id"])[keep]
    cat["ra"] = np.asarray(t["ra"])[keep]
    cat["dec"] = np.asarray(t["dec"])[keep]
    cat["x"], cat["y"] = x[keep], y[keep]
    cat["countrate"] = rates[keep]
    cat["countrate_in_array"] = landed[keep]
    cat["flux"] = flux[keep]
    cat["type"] = np.asarray(t["type"])[keep]
    cat["sersic_n"] = np.asarray(t["sersic_n"])[keep]
    cat["r_eff"] = np.asarray(t["r_eff"])[keep]
    cat["r_eff_pix"] = cat["r_eff"] / ctx.psf.pixel_scale
    cat["axis_ratio"] = np.asarray(t["axis_ratio"])[keep]
    cat["pa"] = np.asarray(t["pa"])[keep]
    cat["theta_pix"] = np.degrees(theta[keep])

    tso_img = None
    if cfg.tso.enabled:
        tso_img = np.zeros((ny, nx), dtype=np.float64)
        g = ctx.pointing.aperture
        tx, ty = ctx.geometry.v2v3_to_pix(g.v2_ref, g.v3_ref)
        trate = cfg.tso.star_flux * per_ujy
        render_stars(tso_img, np.atleast_1d(tx), np.atleast_1d(ty), np.array([trate]), ctx.psf)
        tso_img[refmask] = 0.0
        ra_t, dec_t = ctx.geometry.pix_to_radec(att, tx, ty)
        row = {c: 0.0 for c in cat.colnames}
        row.update(
            id=0,
            ra=float(ra_t),
            dec=float(dec_t),
            x=float(tx),
            y=float(ty),
            countrate=trate,
            countrate_in_array=float(tso_img.sum()),
            flux=cfg.tso.star_flux,
            type="star",
            axis_ratio=1.0,
        )
        cat.add_row(row)
    cat.meta.update(background_mjysr=bkg, background_rate=bkg / ctx.photmjsr)
    return ideal, tso_img, cat


def _detector_setup(ctx: _Context, props, refmask: np.ndarray) -> DetectorSetup:
    sl = ctx.slices
    det, sub = ctx.det, ctx.sub
    ny, nx = sub.shape
    amps = subarray_amplifiers(det, sub)
    code = np.zeros((ny, nx), dtype=np.int8)
    fast_x = det.fast_axis_is_x
    for k, amp in enumerate(amps):
        code[amp.slices] = 2 * k
    if fast_x:
        code += ((np.arange(nx) + sub.xstart - 1) & 1).astype(np.int8)[None, :]
    else:
        code += ((np.arange(ny) + sub.ystart - 1) & 1).astype(np.int8)[:, None]
    cfg = ctx.cfg
    extra = np.zeros((1, 1, 1), np.float32)
    extra_index = None
    if props.is_miri and cfg.effects.group_extras:
        ng = cfg.ngroups
        pats = []
        for g in range(ng):
            pat = np.zeros((ny, nx), np.float32)
            if props.reset_anomaly is not None and g < props.reset_anomaly.shape[0]:
                pat += props.reset_anomaly[g][sl]
            if g == 0 and props.first_frame_offset is not None:
                pat += props.first_frame_offset[sl]
            if g == ng - 1 and ng > 1 and props.last_frame_offset is not None:
                pat += props.last_frame_offset[sl]
            pats.append(pat)
        extra = np.stack(pats)
        extra_index = np.tile(np.arange(ng), (cfg.nints, 1))
    return DetectorSetup(
        gain=props.gain[sl],
        superbias=props.superbias[sl],
        rn_read=props.readnoise[sl] / np.float32(math.sqrt(2.0)),
        dark_rate=props.dark_rate[sl],
        saturation=props.saturation[sl],
        lincoef=props.linearity[:, sl[0], sl[1]],
        ipc_kernel=props.ipc_kernel,
        refmask=refmask,
        amp_code=code,
        namps=len(amps),
        fast_axis_x=fast_x,
        group_extra=extra,
        group_extra_index=extra_index,
    )


def simulate_exposure(config: ExposureConfig, scene: Scene | None = None) -> ExposureTruth:
    """Simulate one exposure and (when ``config.write``) write its uncal file and truth.

    Parameters
    ----------
    config : ExposureConfig
        What to simulate.
    scene : Scene, optional
        The sky; by default one is drawn from ``config.scene`` and ``config.seed`` around the
        pointing, large enough to cover the array.

    Returns
    -------
    ExposureTruth

    """
    det = get_detector(config.instrument, config.detector)
    cfg = replace(config, instrument=det.instrument, detector=det.name)
    ctx = _context(cfg)
    props = P.detector_properties(cfg.instrument, ctx.det.name)
    sl = ctx.slices
    refmask = props.reference_mask[sl]
    ny, nx = ctx.sub.shape
    if scene is None:
        ra_c, dec_c = ctx.geometry.pix_to_radec(ctx.pointing.att, (nx - 1) / 2, (ny - 1) / 2)
        radius = 0.75 * math.hypot(nx, ny) * ctx.psf.pixel_scale + 5.0
        scene = generate_scene(cfg.scene, float(ra_c), float(dec_c), radius, cfg.seed)
    ideal, tso_img, catalog = _render(ctx, scene, refmask)

    flat = (
        np.asarray(P.flat_for(cfg.instrument, ctx.det.name, cfg.filter, cfg.pupil)[0])[sl]
        if cfg.effects.flat
        else np.ones((ny, nx), np.float32)
    ).astype(np.float64)
    lightcurve = _lightcurve(ctx) if cfg.tso.enabled else None
    kernel = props.ipc_kernel.astype(np.float64)
    refu8 = refmask.astype(np.uint8)

    def detected(img):
        lit = img * flat
        return ipc_convolve(lit, kernel, refu8) if cfg.effects.ipc else np.where(refmask, 0.0, lit)

    variable = None
    mean_ideal = ideal
    if tso_img is not None:
        rel = np.asarray(lightcurve["relative_flux"])
        variable = (tso_img * flat, rel)
        mean_ideal = ideal + rel.mean() * tso_img
    truth_rate = detected(mean_ideal)

    deposits, cr_truth = generate_cosmic_rays(
        cfg.cosmic_rays,
        refmask=refmask,
        gain=props.gain[sl],
        schedule=ctx.schedule,
        pixel_um=pixel_size_um(cfg.instrument),
        seed=cfg.seed,
    )
    setup = _detector_setup(ctx, props, refmask)
    dark = setup.dark_rate if cfg.effects.dark else np.zeros((ny, nx), np.float32)
    want_zero = cfg.zeroframe
    if want_zero is None:
        want_zero = cfg.instrument in ("NIRCAM", "NIRISS") and ctx.schedule.nframes > 1
    zeroframe = (
        np.empty((cfg.nints, ny, nx), np.uint16 if cfg.effects.quantize else np.float64)
        if want_zero
        else None
    )
    data = simulate_ramp(
        setup,
        ctx.schedule,
        ideal * flat,
        seed=cfg.seed,
        variable=variable,
        effects=cfg.effects,
        cr_deposits=deposits,
        zeroframe=zeroframe,
    )
    keywords = exposure_keywords(ctx, lightcurve)
    keywords["ZEROFRAM"] = zeroframe is not None
    truth = ExposureTruth(
        config=cfg,
        name=cfg.basename,
        data=data,
        truth_rate=truth_rate,
        ideal_rate=mean_ideal,
        flat=flat,
        dark_rate=np.asarray(dark, np.float32),
        catalog=catalog,
        cosmic_rays=cr_truth,
        pointing=ctx.pointing,
        photmjsr=ctx.photmjsr,
        pixar_sr=ctx.pixar_sr,
        background=float(catalog.meta["background_mjysr"]),
        keywords=keywords,
        lightcurve=lightcurve,
        zeroframe=zeroframe,
    )
    if cfg.write:
        truth.files = write_exposure(truth, ctx)
    return truth
