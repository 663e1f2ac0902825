"""Simulator of raw JWST exposures with their truth.

``simulate_exposure(ExposureConfig(...))`` writes ``<name>_uncal.fits`` and its truth
(``_truth_rate.fits``, ``_truth_cat.ecsv``, ``_truth_cr.ecsv``);
``simulate_observation(ObservationConfig(...))`` does so for a dither/mosaic pattern of one
scene and adds the level-2/3 associations and ``manifest.json``. The detector model uses
exactly the arrays of :func:`webbcal.refs.embedded.properties.detector_properties`, so the
embedded reference files invert it.
"""

from webbcal.sim.config import ExposureConfig, ObservationConfig, TSOConfig
from webbcal.sim.cosmic_rays import CosmicRayConfig
from webbcal.sim.detector import DetectorEffects
from webbcal.sim.exposure import ExposureTruth, simulate_exposure
from webbcal.sim.observation import ObservationResult, simulate_observation
from webbcal.sim.scene import Scene, SceneConfig

__all__ = [
    "CosmicRayConfig",
    "DetectorEffects",
    "ExposureConfig",
    "ExposureTruth",
    "ObservationConfig",
    "ObservationResult",
    "Scene",
    "SceneConfig",
    "TSOConfig",
    "simulate_exposure",
    "simulate_observation",
]
