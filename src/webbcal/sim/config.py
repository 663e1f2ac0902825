"""Typed configurations of simulated exposures and observations."""

from __future__ import annotations

from dataclasses import dataclass, field

from webbcal.sim.cosmic_rays import CosmicRayConfig
from webbcal.sim.detector import DetectorEffects
from webbcal.sim.scene import SceneConfig

__all__ = [
    "DEFAULT_EXP_TYPES",
    "ExposureConfig",
    "ObservationConfig",
    "TSOConfig",
]

#: EXP_TYPE of imaging exposures per instrument (TSO variant second).
DEFAULT_EXP_TYPES = {
    "NIRCAM": ("NRC_IMAGE", "NRC_TSIMAGE"),
    "MIRI": ("MIR_IMAGE", "MIR_IMAGE"),
    "NIRISS": ("NIS_IMAGE", "NIS_IMAGE"),
    "FGS": ("FGS_IMAGE", "FGS_IMAGE"),
}


@dataclass(frozen=True, kw_only=True)
class TSOConfig:
    """A time series: a host star at the aperture reference point with a transit.

    The light curve is a trapezoid: relative flux ``1 - depth`` between second and third
    contact, linear ingress/egress of ``ingress`` seconds, total ``duration`` seconds, centred
    ``t0`` seconds after the exposure start (defaults: mid-exposure, a third of the exposure,
    duration / 8). Each integration sees the value at its mid time.
    """

    enabled: bool = False
    depth: float = 0.01
    star_flux: float = 3000.0  # micro-Jy in the simulated filter
    t0: float | None = None
    duration: float | None = None
    ingress: float | None = None


@dataclass(frozen=True, kw_only=True)
class ExposureConfig:
    """One exposure: instrument set-up, readout, pointing, scene, effects and outputs.

    Pointing: the APERNAME aperture (the subarray's SIAF aperture, else the detector's
    full-frame one) points at (``ra``, ``dec``) [deg] with the V3 axis at position angle
    ``roll`` [deg] there, moved by the ideal-frame ``offset`` [arcsec]; ``pointing_error``
    ``(dv2, dv3 [arcsec], droll [deg])`` is applied to the true attitude only.

    ``psf`` is ``"gaussian"`` (the APCORR reference's optical Gaussian, default) or
    ``"diffraction"``
    (core + halo + wings scaled with lambda / D), see :mod:`webbcal.sim.psf`.

    ``zeroframe`` writes the ZEROFRAME extension (default: NIRCam/NIRISS with NFRAMES > 1).

    Identifiers build the official file name
    ``jw<program:05><observation:03><visit:03>_<visit_group:02><sequence:1><activity:02>_
    <exposure:05>_<detector>``.
    """

    instrument: str = "NIRCAM"
    detector: str = "NRCA1"
    filter: str | None = "F200W"
    pupil: str | None = "CLEAR"
    readpatt: str = "RAPID"
    ngroups: int = 10
    nints: int = 1
    subarray: str = "FULL"
    exp_type: str | None = None
    ra: float = 53.1625
    dec: float = -27.7914
    roll: float = 45.0
    offset: tuple[float, float] = (0.0, 0.0)
    pointing_error: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seed: int = 1
    psf: str = "gaussian"
    zeroframe: bool | None = None
    scene: SceneConfig = field(default_factory=SceneConfig)
    cosmic_rays: CosmicRayConfig = field(default_factory=CosmicRayConfig)
    effects: DetectorEffects = field(default_factory=DetectorEffects)
    tso: TSOConfig = field(default_factory=TSOConfig)
    program: int = 1
    observation: int = 1
    visit: int = 1
    visit_group: int = 1
    sequence: int = 1
    activity: int = 1
    exposure: int = 1
    dither_pattern: str = "NONE"
    dither_position: int = 1
    dither_total: int = 1
    date_obs: str = "2024-03-01T00:00:00.000"
    target_name: str = "SIMULATED-FIELD"
    output_dir: str = "."
    write: bool = True

    @property
    def exp_type_value(self) -> str:
        """EXP_TYPE (the configured one, else the instrument's imaging type)."""
        if self.exp_type:
            return self.exp_type.upper()
        types = DEFAULT_EXP_TYPES.get(self.instrument.upper(), ("UNKNOWN", "UNKNOWN"))
        return types[1] if self.tso.enabled else types[0]

    @property
    def basename(self) -> str:
        """Official exposure file name stem, e.g. ``jw00001001001_01101_00001_nrca1``."""
        return (
            f"jw{self.program:05d}{self.observation:03d}{self.visit:03d}_"
            f"{self.visit_group:02d}{self.sequence:01d}{self.activity:02d}_"
            f"{self.exposure:05d}_{self.detector.lower()}"
        )


@dataclass(frozen=True, kw_only=True)
class ObservationConfig:
    """Several exposures of one field: a dither pattern, optionally tiled as a mosaic.

    ``exposure`` is the template (its offset, pointing error, exposure number and seed are
    set per exposure). ``exposures`` dithers of ``dither_pattern`` (BOX, LINE or NONE;
    ``dither_size`` [arcsec]) are taken at each of the ``mosaic`` (rows, cols) tiles, spaced
    by ``mosaic_step`` [arcsec] (default: 90% of the array's field). Per exposure a pointing
    error with rms ``pointing_error_sigma`` [arcsec] (and ``roll_error_sigma`` [deg]) is drawn
    from the seed and recorded in the truth. Written exposures drop their ramps and truth
    images from memory unless ``keep_arrays``.
    """

    exposure: ExposureConfig = field(default_factory=ExposureConfig)
    exposures: int = 4
    dither_pattern: str = "BOX"
    dither_size: float = 2.0
    mosaic: tuple[int, int] = (1, 1)
    mosaic_step: tuple[float, float] | None = None
    pointing_error_sigma: float = 0.0
    roll_error_sigma: float = 0.0
    product_name: str | None = None
    keep_arrays: bool = False
