"""Truth detector properties: the source of the embedded references and of simulated detectors.

:func:`detector_properties` generates, deterministically from the instrument and detector
names, every per-pixel property of a detector: bias, gain, read noise, dark current,
saturation, non-linearity, bad pixels, IPC, pixel response (and for MIRI the reset anomaly,
first/last-frame effects and RSCD groups). The embedded reference files are written from
these arrays, and ``webbcal.sim`` simulates ramps from the same arrays, so the pipeline run
with the embedded references on simulated data recovers the truth.

Typical values come from :mod:`webbcal.instruments` (``get_detector``: gain, CDS read noise,
saturation, dark current, reference-pixel borders, amplifiers).

Conventions (those of the official reference files):

* arrays are full frame, DMS orientation, ``[y, x]``;
* ``superbias`` is the raw bias level (DN) a ramp starts from, pedestal included;
* ``saturation`` is a raw-DN threshold, bias included (as the SATURATION reference);
* ``linearity`` holds correction coefficients: ``linear = sum_i c_i * F**i`` with ``F``
  the bias-subtracted raw DN (``c0 = 0``, ``c1 = 1``). The simulator inverts it; the
  LINEARITY reference holds these coefficients for the near-IR detectors (their pipeline
  subtracts the superbias before the linearity step) and, for MIRI (no superbias step),
  the same polynomial re-expanded in raw DN (:func:`raw_dn_coefficients`);
* ``readnoise`` is the CDS read noise in DN (per-frame noise is ``readnoise / sqrt(2)``);
* ``dq`` holds the MASK reference flags (standard JWST pixel flags).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from webbcal.datamodels import dqflags
from webbcal.instruments.detectors import Detector, get_detector
from webbcal.instruments.filters import Filter, get_filter
from webbcal.instruments.geometry import nominal_pixel_area

__all__ = [
    "LINEARITY_NCOEFFS",
    "DetectorProperties",
    "band",
    "detector_properties",
    "filter_offset",
    "flat_for",
    "photom_conversion",
    "psf_fwhm",
    "raw_dn_coefficients",
    "rng_for",
]

#: Number of linearity correction coefficients (c0 ... c4).
LINEARITY_NCOEFFS = 5

#: Version of the generation recipe: any change of the arrays for given names bumps it
#: (the store rebuilds embedded files made by another version).
RECIPE_VERSION = 1

_DQ = dqflags.pixel


@dataclass(frozen=True, eq=False)
class DetectorProperties:
    """Per-pixel truth of one detector (full frame, DMS orientation, read-only arrays).

    Attributes
    ----------
    instrument, detector : str
        INSTRUME and DETECTOR values.
    shape : tuple of int
        Full frame ``(ny, nx)``.
    superbias : ndarray
        float32 (ny, nx) raw bias level [DN], pedestal included (NIR ~12000-15000).
    gain : ndarray
        float32 (ny, nx) [e-/DN].
    readnoise : ndarray
        float32 (ny, nx) CDS read noise [DN].
    dark_rate : ndarray
        float32 (ny, nx) dark current [DN/s]; 0 on reference pixels; hot pixels much higher.
    saturation : ndarray
        float32 (ny, nx) raw-DN saturation threshold, bias included (< 65535).
    linearity : ndarray
        float32 (ncoeffs, ny, nx) correction coefficients on bias-subtracted raw DN,
        ``linear = sum_i c_i F**i``; ``c0 = 0``, ``c1 = 1``; identity on reference pixels
        and on NO_LIN_CORR pixels.
    dq : ndarray
        uint32 (ny, nx) MASK flags: DEAD, HOT, WARM, LOW_QE, NO_GAIN_VALUE (with DO_NOT_USE
        where the pixel is unusable) and REFERENCE_PIXEL|DO_NOT_USE on the borders.
    ipc_kernel : ndarray
        float32 (3, 3), sums to 1.
    pixel_flat : ndarray
        float32 (ny, nx) pixel-to-pixel response, mean 1 over the light-sensitive pixels,
        0 on dead pixels, 1 on reference pixels.
    reset_anomaly : ndarray or None
        MIRI: float32 (ngroups_ref, ny, nx) DN added to group g (< ngroups_ref) of every
        integration; included in the MIRI DARK reference (and the RESET reference).
    first_frame_offset, last_frame_offset : ndarray or None
        MIRI: float32 (ny, nx) DN added to the first / last group of every integration
        (the firstframe / lastframe steps flag those groups).
    rscd_group_skip : mapping or None
        MIRI: READPATT -> (groups affected in the first integration, groups affected in
        later integrations), as in the RSCD reference's RSCD_GROUP_SKIP table.
    persat : ndarray or None
        Near-IR: float32 (ny, nx) persistence saturation level [DN above bias].
    trap_density : ndarray or None
        Near-IR: float32 (ny, nx) relative trap density.
    trappars : ndarray or None
        Near-IR: structured (3,) capture0, capture1, capture2, decay_param of the trap
        families (TRAPPARS reference table).
    refpix : tuple of int
        Reference-pixel borders (bottom, top, left, right).
    """

    instrument: str
    detector: str
    shape: tuple[int, int]
    superbias: np.ndarray
    gain: np.ndarray
    readnoise: np.ndarray
    dark_rate: np.ndarray
    saturation: np.ndarray
    linearity: np.ndarray
    dq: np.ndarray
    ipc_kernel: np.ndarray
    pixel_flat: np.ndarray
    reset_anomaly: np.ndarray | None
    first_frame_offset: np.ndarray | None
    last_frame_offset: np.ndarray | None
    rscd_group_skip: Mapping[str, tuple[int, int]] | None
    persat: np.ndarray | None
    trap_density: np.ndarray | None
    trappars: np.ndarray | None
    refpix: tuple[int, int, int, int]

    @property
    def is_miri(self) -> bool:
        """True for the MIRI detectors."""
        return self.instrument == "MIRI"

    @property
    def reference_mask(self) -> np.ndarray:
        """Bool (ny, nx): True on reference pixels."""
        return (self.dq & _DQ["REFERENCE_PIXEL"]) != 0


def rng_for(*names: object) -> np.random.Generator:
    """A generator seeded from ``names`` (stable across runs, platforms and versions)."""
    digest = hashlib.sha256("\x1f".join(str(n).upper() for n in names).encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "little")))


def _smooth(rng: np.random.Generator, shape: tuple[int, int], nterms: int = 6) -> np.ndarray:
    """A smooth random field, mean ~0, rms ~1 (sum of separable low-order cosines)."""
    ny, nx = shape
    ky, kx = rng.integers(0, 4, size=(2, nterms))
    py, px = rng.uniform(0.0, 2.0 * math.pi, size=(2, nterms))
    amp = rng.normal(size=nterms)
    y = np.linspace(0.0, math.pi, ny)[:, None]
    x = np.linspace(0.0, math.pi, nx)[:, None]
    cy = (np.cos(ky * y + py) * amp).astype(np.float32)  # (ny, nterms)
    cx = np.cos(kx * x + px).astype(np.float32)  # (nx, nterms)
    out = cy @ cx.T
    out -= out.mean()
    sd = out.std()
    return out / sd if sd > 0 else out


def _normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def _amp_map(det: Detector, values: np.ndarray) -> np.ndarray:
    """float32 (ny, nx) holding ``values[k]`` on the pixels of amplifier ``k``."""
    out = np.empty(det.shape, dtype=np.float32)
    for k, amp in enumerate(det.amplifiers):
        out[amp.slices] = values[k]
    return out


def _pick(rng: np.random.Generator, free: np.ndarray, fraction: float) -> np.ndarray:
    """Bool mask of about ``fraction`` of the True pixels of ``free`` (and marks them used)."""
    chosen = (rng.random(free.shape, dtype=np.float32) < fraction) & free
    free &= ~chosen
    return chosen


def _linearity(rng: np.random.Generator, well: np.ndarray) -> np.ndarray:
    """(5, ny, nx) correction coefficients: the correction is ~7% (4-10%) at full well."""
    shape = well.shape
    # linear = F * (1 + k1 x + k2 x**2 + k3 x**3), x = F / well
    k1 = np.float32(0.055) + np.float32(0.008) * _normal(rng, shape)
    k2 = np.float32(0.012) + np.float32(0.003) * _normal(rng, shape)
    k3 = np.float32(0.004) + np.float32(0.001) * _normal(rng, shape)
    coeffs = np.empty((LINEARITY_NCOEFFS, *shape), dtype=np.float32)
    coeffs[0] = 0.0
    coeffs[1] = 1.0
    inv = np.float32(1.0) / well
    np.multiply(k1, inv, out=coeffs[2])
    np.multiply(k2, inv * inv, out=coeffs[3])
    np.multiply(k3, inv * inv * inv, out=coeffs[4])
    return coeffs


def raw_dn_coefficients(coeffs: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Re-expand ``sum_i c_i (R - bias)**i`` as ``sum_j q_j R**j`` (float64 arithmetic).

    For instruments whose pipeline applies the linearity correction to raw DN (MIRI has no
    superbias step): ``Q(raw) == P(raw - bias)`` exactly, so the corrected ramps differ
    from the bias-subtracted ones only by a per-pixel constant.
    """
    n = coeffs.shape[0]
    c = coeffs.astype(np.float64)
    mb = -bias.astype(np.float64)
    q = np.zeros_like(c)
    for i in range(n):
        for j in range(i + 1):
            q[j] += c[i] * math.comb(i, j) * mb ** (i - j)
    return q.astype(np.float32)


def _amp_gains(det: Detector) -> np.ndarray:
    """Mean gain of each amplifier [e-/DN]."""
    r = rng_for("webbcal-truth", RECIPE_VERSION, det.instrument, det.name, "amp-gain")
    return det.gain * (1.0 + r.normal(0.0, 0.02, size=len(det.amplifiers)))


def _readonly(*arrays: np.ndarray | None) -> None:
    for a in arrays:
        if a is not None:
            a.flags.writeable = False


@functools.lru_cache(maxsize=2)
def detector_properties(instrument: str, detector: str) -> DetectorProperties:
    """The truth properties of a detector (deterministic; cached; arrays are read-only).

    Drawn once per machine: later processes map them from the reference store (see
    :mod:`webbcal.refs.embedded.properties_cache`).

    Raises
    ------
    webbcal.errors.InputError
        For an unknown instrument or detector.
    """
    from webbcal.refs.embedded.properties_cache import load_properties, save_properties
    from webbcal.refs.store import default_root

    det = get_detector(instrument, detector)
    props = load_properties(DetectorProperties, det, default_root())
    if props is None:
        props = _draw_properties(det)
        save_properties(props, det, default_root())
    return props


def _draw_properties(det: Detector) -> DetectorProperties:
    """Draw the truth properties of detector ``det`` (see :func:`detector_properties`)."""
    inst, name = det.instrument, det.name
    ny, nx = shape = det.shape
    namps = len(det.amplifiers)
    is_miri = inst == "MIRI"

    def rng(what: str) -> np.random.Generator:
        return rng_for("webbcal-truth", RECIPE_VERSION, inst, name, what)

    ref = np.ones(shape, dtype=bool)
    ref[det.science_slices] = False
    light = ~ref

    # bias: per-amplifier pedestal, column structure, smooth gradient, pixel scatter
    r = rng("superbias")
    pedestal = r.uniform(12500.0, 14500.0)
    amp_offsets = r.normal(0.0, 250.0, size=namps)
    columns = r.normal(0.0, 12.0, size=nx).astype(np.float32)
    superbias = (
        np.float32(pedestal)
        + _amp_map(det, amp_offsets)
        + columns[None, :]
        + np.float32(60.0) * _smooth(r, shape)
        + np.float32(20.0) * _normal(r, shape)
    )
    np.clip(superbias, 11000.0, 16000.0, out=superbias)

    # gain [e-/DN]: per-amplifier and per-pixel (mean 1) scatter around the typical value
    gain = _amp_map(det, _amp_gains(det))
    gain *= np.float32(1.0) + np.float32(0.015) * _normal(rng("gain"), shape)

    # CDS read noise [DN]: log-normal scatter, a few noisy pixels
    r = rng("readnoise")
    readnoise = _amp_map(det, det.readnoise * (1.0 + r.normal(0.0, 0.05, size=namps)))
    readnoise *= np.exp(np.float32(0.08) * _normal(r, shape))
    noisy = r.random(shape, dtype=np.float32) < 0.003
    readnoise[noisy] *= r.uniform(1.8, 3.0, size=int(noisy.sum())).astype(np.float32)

    # bad pixels (disjoint classes on light-sensitive pixels)
    r = rng("badpix")
    free = light.copy()
    dead = _pick(r, free, 2e-4)
    hot = _pick(r, free, 5e-4)
    warm = _pick(r, free, 3e-3)
    low_qe = _pick(r, free, 1e-3)
    no_gain = _pick(r, free, 5e-5)

    # dark current [DN/s]: log-normal around the typical value; warm and hot pixels
    r = rng("dark")
    base = det.dark_current
    dark = np.float32(base) * np.exp(np.float32(0.3) * _normal(r, shape))
    dark[warm] = (base * 10 ** r.uniform(1.0, 1.5, size=int(warm.sum()))).astype(np.float32)
    dark[hot] = (max(base * 100.0, 0.1) * 10 ** r.uniform(0.0, 1.3, size=int(hot.sum()))).astype(
        np.float32
    )
    dark[ref] = 0.0

    # pixel response: smooth structure, pixel scatter, low-QE and dead pixels
    r = rng("flat")
    pixel_flat = (
        np.float32(1.0)
        + np.float32(0.01) * _smooth(r, shape)
        + np.float32(0.02) * _normal(r, shape)
    )
    pixel_flat[low_qe] = r.uniform(0.2, 0.6, size=int(low_qe.sum())).astype(np.float32)
    good = light & ~dead
    pixel_flat /= np.float32(pixel_flat[good].mean())
    pixel_flat[dead] = 0.0
    pixel_flat[ref] = 1.0

    # full well above bias and saturation threshold (raw DN, bias included)
    r = rng("saturation")
    well_mean = det.saturation - float(superbias.mean())
    well = np.float32(well_mean) * (np.float32(1.0) + np.float32(0.02) * _normal(r, shape))
    saturation = np.minimum(superbias + well, np.float32(65000.0))
    well = saturation - superbias

    linearity = _linearity(rng("linearity"), well)
    identity = ref | dead
    linearity[:, identity] = 0.0
    linearity[1, identity] = 1.0

    dq = np.zeros(shape, dtype=np.uint32)
    dnu = _DQ["DO_NOT_USE"]
    dq[ref] |= _DQ["REFERENCE_PIXEL"]  # as the official masks: refpix uses them
    dq[dead] |= _DQ["DEAD"] | dnu
    dq[hot] |= _DQ["HOT"] | dnu
    dq[warm] |= _DQ["WARM"]
    dq[low_qe] |= _DQ["LOW_QE"]
    dq[no_gain] |= _DQ["NO_GAIN_VALUE"] | dnu

    # inter-pixel capacitance
    r = rng("ipc")
    alpha = (0.002 if is_miri else 0.0055) * (1.0 + r.normal(0.0, 0.05))
    beta = 0.0 if is_miri else 0.0004 * (1.0 + r.normal(0.0, 0.05))
    ipc = np.array([[beta, alpha, beta], [alpha, 0.0, alpha], [beta, alpha, beta]])
    ipc[1, 1] = 1.0 - ipc.sum()
    ipc_kernel = ipc.astype(np.float32)

    reset_anomaly = first_frame = last_frame = None
    rscd = persat = trap_density = trappars = None
    if is_miri:
        r = rng("reset")
        ngroups_ref = 12
        amp = np.float32(40.0) * (np.float32(1.0) + np.float32(0.3) * _smooth(r, shape))
        amp *= np.float32(1.0) + np.float32(0.1) * _normal(r, shape)
        decay = np.exp(-np.arange(ngroups_ref, dtype=np.float32) / np.float32(2.5))
        reset_anomaly = decay[:, None, None] * amp[None]
        reset_anomaly[:, ref] = 0.0
        first_frame = np.float32(-15.0) + np.float32(3.0) * _normal(r, shape)
        last_frame = np.float32(25.0) + np.float32(8.0) * _smooth(r, shape)
        last_frame += np.float32(4.0) * _normal(r, shape)
        # FASTR1/FASTR100 and SLOWR1 read like FAST and SLOW; the table names each pattern
        rscd = {
            "FAST": (1, 3), "FASTR1": (1, 3), "FASTR100": (1, 3), "SLOW": (1, 1), "SLOWR1": (1, 1),
        }
    else:
        r = rng("persistence")
        persat = (np.float32(0.95) * well).astype(np.float32)
        trap_density = np.exp(np.float32(0.15) * _normal(r, shape)).astype(np.float32)
        trap_density[ref] = 0.0
        trappars = np.array(
            [
                (2.0e-4, -1.0 / 300.0, 0.0, -1.0 / 500.0),
                (1.0e-4, -1.0 / 1500.0, 0.0, -1.0 / 3000.0),
                (5.0e-5, -1.0 / 6000.0, 0.0, -1.0 / 20000.0),
            ],
            dtype=[("capture0", ">f8"), ("capture1", ">f8"), ("capture2", ">f8"),
                   ("decay_param", ">f8")],
        )  # fmt: skip

    props = DetectorProperties(
        instrument=inst,
        detector=name,
        shape=(ny, nx),
        superbias=superbias.astype(np.float32, copy=False),
        gain=gain,
        readnoise=readnoise,
        dark_rate=dark,
        saturation=saturation.astype(np.float32, copy=False),
        linearity=linearity,
        dq=dq,
        ipc_kernel=ipc_kernel,
        pixel_flat=pixel_flat,
        reset_anomaly=reset_anomaly,
        first_frame_offset=first_frame,
        last_frame_offset=last_frame,
        rscd_group_skip=rscd,
        persat=persat,
        trap_density=trap_density,
        trappars=trappars,
        refpix=det.refpix,
    )
    _readonly(
        props.superbias, props.gain, props.readnoise, props.dark_rate, props.saturation,
        props.linearity, props.dq, props.ipc_kernel, props.pixel_flat, reset_anomaly,
        first_frame, last_frame, persat, trap_density,
    )  # fmt: skip
    return props


# ------------------------------------------------------------------ filter-dependent truth

#: Telescope collecting area [m**2] and diameter [m].
_AREA_M2 = 25.4
_DIAMETER_M = 6.5
_PLANCK = 6.62607015e-34

#: Typical total system throughput of the imaging filters (telescope + instrument + QE).
_THROUGHPUT = {"NIRCAM": 0.45, "NIRISS": 0.35, "MIRI": 0.30, "FGS": 0.45}
#: Extra transmission of pupil elements that are not filters (coronagraph Lyot stops,
#: weak lenses, non-redundant mask).
_PUPIL_TRANSMISSION = {"MASKRND": 0.80, "MASKBAR": 0.80, "WLP8": 0.90, "WLM8": 0.90,
                       "WLP4": 0.90, "NRM": 0.15}  # fmt: skip

#: FGS has no filters: its band, as a Filter (0.6-5.0 micron).
_FGS_BAND = Filter("FGS", "N/A", pivot=2.2, bandwidth=4.4, channel=None, wheel="filter")


def band(instrument: str, filter: str | None, pupil: str | None = None) -> Filter:
    """The filter that sets the band of an exposure (FGS: its whole 0.6-5 micron band).

    Raises
    ------
    webbcal.errors.InputError
        For an unknown filter.
    """
    det_inst = instrument.strip().upper()
    if det_inst == "FGS":
        return _FGS_BAND
    return get_filter(det_inst, filter or "", pupil=pupil)


def _pupil_factor(pupil: str | None) -> float:
    return _PUPIL_TRANSMISSION.get(str(pupil or "").strip().upper(), 1.0)


@functools.lru_cache(maxsize=4)
def flat_for(
    instrument: str, detector: str, filter: str | None, pupil: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Truth flat field (SCI) and its uncertainty (ERR) for a filter, float32 (ny, nx).

    ``SCI = pixel_flat * L``, with ``L`` a smooth filter-dependent large-scale term
    (1-3 %, larger at longer wavelengths), normalised to mean 1 on the good light-sensitive
    pixels; 0 on dead pixels, 1 on reference pixels. ``ERR = 0.002 * SCI``. The simulator
    multiplies the incident count rate by SCI; the FLAT reference holds SCI (with 1 and
    NO_FLAT_FIELD on dead pixels). Cached; arrays are read-only.
    """
    props = detector_properties(instrument, detector)
    bp = band(props.instrument, filter, pupil)
    amplitude = 0.01 + 0.02 * min(bp.pivot / 25.0, 1.0)
    large = np.float32(1.0) + np.float32(amplitude) * _smooth(
        rng_for("webbcal-flat", RECIPE_VERSION, props.instrument, props.detector, bp.name),
        props.shape,
        nterms=4,
    )
    ref = props.reference_mask
    good = ~ref & (props.pixel_flat > 0)
    large /= np.float32(large[good].mean())
    sci = props.pixel_flat * large
    sci[ref] = 1.0
    err = np.float32(0.002) * sci
    _readonly(sci, err)
    return sci, err


def photom_conversion(
    instrument: str, detector: str, filter: str | None, pupil: str | None = None
) -> float:
    """PHOTMJSR: surface brightness [MJy/sr] of a count rate of 1 DN/s per pixel.

    From the photon rate a flat spectrum of 1 MJy/sr gives a pixel of solid angle
    PIXAR_SR: ``rate = A * F * PIXAR_SR * W / h`` electrons/s, with ``A`` the collecting
    area and ``W = T * ln(lambda_max / lambda_min)`` (``T`` a typical system throughput),
    divided by the detector's gain (mean of its amplifiers). NIRCam F200W gives ~2.3
    (zero point ~28 AB), F356W ~0.4, MIRI F770W ~0.6; a per-detector factor (+-2 %) models
    sensitivity differences.
    """
    det = get_detector(instrument, detector)
    bp = band(det.instrument, filter, pupil)
    lo = max(bp.pivot - bp.bandwidth / 2.0, 0.05)
    hi = bp.pivot + bp.bandwidth / 2.0
    width = _THROUGHPUT[det.instrument] * _pupil_factor(pupil) * math.log(hi / lo)
    pixar_sr = nominal_pixel_area(det.instrument, det.name).sr
    gain = float(_amp_gains(det).mean())
    mjy_per_e = _PLANCK / (_AREA_M2 * width * pixar_sr) * 1e20
    scatter = rng_for("webbcal-photom", RECIPE_VERSION, det.instrument, det.name)
    return float(mjy_per_e * gain * (1.0 + 0.02 * scatter.standard_normal()))


def psf_fwhm(instrument: str, filter: str | None, pupil: str | None = None) -> float:
    """FWHM [arcsec] of the Gaussian PSF the APCORR reference assumes.

    ``sqrt((1.03 lambda / D)**2 + 0.02"**2)`` at the band's pivot wavelength (diffraction
    plus a small jitter and pixel-response term).
    """
    bp = band(instrument, filter, pupil)
    diffraction = 1.03 * bp.pivot * 1e-6 / _DIAMETER_M * 206264.806
    return float(math.hypot(diffraction, 0.02))


def filter_offset(instrument: str, filter: str) -> tuple[float, float]:
    """MIRI imager boresight offset of a filter, (column, row) [pixels] (FILTEROFFSET).

    The pointing shift each filter introduces relative to F770W (0, 0): up to ~0.3 pixel.
    The WCS adds it to the pixel coordinates before the distortion; a simulator placing
    sources with the distortion model must add it too. Other instruments: (0, 0).
    """
    name = str(filter).strip().upper()
    if instrument.strip().upper() != "MIRI" or name == "F770W":
        return 0.0, 0.0
    col, row = rng_for("webbcal-filteroffset", RECIPE_VERSION, name).uniform(-0.3, 0.3, 2)
    return round(float(col), 4), round(float(row), 4)
