"""The embedded references invert the simulator: Stage 1 and the WCS recover the truth."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from webbcal.sim import DetectorEffects, ExposureConfig, SceneConfig, simulate_exposure


@pytest.fixture(scope="module")
def stage1(tmp_path_factory):
    pipelines = pytest.importorskip("webbcal.pipelines.calwebb_detector1")
    out = tmp_path_factory.mktemp("stage1")
    # No 1/f row drift: a 1-output subarray's refpix subtracts one mean of its reference
    # pixels per group (the official algorithm), half of them in the 4 reference rows at
    # one end, so the drift leaves a per-frame offset common to every pixel (~1 DN rms
    # here, hence ~0.36 DN/s rms in a 10 x 0.28 s ramp) that no per-pixel ERR covers.
    cfg = ExposureConfig(
        subarray="SUB160",
        ngroups=10,
        seed=3,
        output_dir=str(out),
        scene=SceneConfig(star_density=3000.0, galaxy_density=3000.0),
        effects=DetectorEffects(one_over_f=False),
    )
    truth = simulate_exposure(cfg)
    pipelines.Detector1Pipeline.call(
        str(truth.files["uncal"]), output_dir=str(out), save_results=True
    )
    return truth, out / f"{truth.name}_rate.fits"


@pytest.mark.slow
def test_detector1_rate_matches_truth_rate(stage1):
    truth, rate_path = stage1
    with fits.open(rate_path) as rate:
        sci, err, dq = rate["SCI"].data, rate["ERR"].data, rate["DQ"].data
    good = (dq == 0) & (err > 0)
    assert good.mean() > 0.9
    z = (sci - truth.truth_rate)[good] / err[good]
    assert abs(np.median(sci[good] - truth.truth_rate[good])) < 0.1  # DN/s
    assert z.std() == pytest.approx(1.0, abs=0.1)
    assert abs(z.mean()) < 0.1


@pytest.mark.slow
def test_pipeline_wcs_puts_truth_sources_at_truth_pixels(stage1):
    step = pytest.importorskip("webbcal.steps.assign_wcs")
    truth, rate_path = stage1
    wcs = step.AssignWcsStep.call(str(rate_path)).meta.wcs
    cat = truth.catalog
    ny, nx = truth.truth_rate.shape
    inside = (cat["x"] > 0) & (cat["x"] < nx - 1) & (cat["y"] > 0) & (cat["y"] < ny - 1)
    assert inside.sum() >= 10
    x, y = wcs.invert(cat["ra"][inside], cat["dec"][inside])
    np.testing.assert_allclose(x, cat["x"][inside], atol=1e-4)
    np.testing.assert_allclose(y, cat["y"][inside], atol=1e-4)
