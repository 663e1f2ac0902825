"""calwebb_dark: corrections up to dark_current, on a factory ramp and a simulated dark."""

from __future__ import annotations

import numpy as np
import pytest

from steps.factories import RefSet, ramp
from steps.simdata import simulated
from webbcal import datamodels as dm
from webbcal.datamodels import dqflags
from webbcal.pipelines.calwebb_dark import DarkPipeline
from webbcal.sim import CosmicRayConfig, DetectorEffects, SceneConfig


def test_dark_pipeline_steps_and_product(tmp_path):
    refs = RefSet(tmp_path / "refs")
    (tmp_path / "refs").mkdir()
    model = ramp(raw=True, nints=2, ngroups=4, exp_type="NRC_DARK")
    pipe = DarkPipeline(resolver=refs, save_results=True, output_dir=str(tmp_path / "out"))
    out = pipe.run(model)
    assert isinstance(out, dm.RampModel) and out.data.shape == (2, 4, 10, 12)
    steps = out.meta.cal_step
    assert steps.dq_init == steps.saturation == steps.superbias == steps.linearity == "COMPLETE"
    assert steps.ipc == "SKIPPED"
    assert steps.dark_sub is None and steps.jump is None and steps.ramp_fit is None
    assert [p.name for p in pipe.output_paths] == ["jw01000001001_01101_00001_nrca1_dark.fits"]
    # superbias removed: the ramp starts near rate * (first read time)
    np.testing.assert_allclose(out.data[:, 0], 5.0 * 10.0, atol=1.0)
    stdm = pytest.importorskip("stdatamodels.jwst.datamodels")
    with stdm.open(pipe.output_paths[0]) as official:
        assert type(official).__name__ == "RampModel"
        assert official.data.shape == (2, 4, 10, 12)


@pytest.mark.slow
def test_dark_pipeline_against_truth(tmp_path_factory):
    root = tmp_path_factory.mktemp("darkpipe")
    empty = SceneConfig(star_density=0.0, galaxy_density=0.0, background=0.0)
    truth = simulated(root, "nrc_dark", instrument="NIRCAM", detector="NRCA1",
                      subarray="SUB160", readpatt="RAPID", ngroups=30, nints=2, seed=5,
                      exp_type="NRC_DARK", scene=empty,
                      effects=DetectorEffects(one_over_f=False, amp_offsets=False),
                      cosmic_rays=CosmicRayConfig(enabled=False))  # fmt: skip
    out = DarkPipeline.call(str(truth.files["uncal"]))
    assert out.meta.cal_step.linearity == "COMPLETE" and out.meta.cal_step.dark_sub is None
    nints, ngroups = out.data.shape[:2]
    tgroup = float(out.meta.exposure.group_time)
    t = np.arange(ngroups) * tgroup
    w = (t - t.mean()) / ((t - t.mean()) ** 2).sum()
    slopes = np.einsum("g,igyx->iyx", w, out.data.astype(np.float64)).mean(axis=0)
    rn_group = 7.0 / np.sqrt(2.0)  # NIRCam CDS read noise / sqrt(2)
    sigma = rn_group * np.sqrt((w**2).sum()) / np.sqrt(nints)
    usable = (out.pixeldq & (dqflags.DO_NOT_USE | dqflags.REFERENCE_PIXEL)) == 0
    usable &= ~(out.groupdq & dqflags.SATURATED).any(axis=(0, 1))
    dark = truth.dark_rate
    pull = (slopes - dark) / np.sqrt(sigma**2 + dark / (2.0 * t[-1] * nints))
    print(f"dark slope pulls: mean {pull[usable].mean():+.3f} std {pull[usable].std():.3f}")
    assert abs(pull[usable].mean()) < 0.05
    assert abs(pull[usable].std() - 1.0) < 0.1
    hot = ((out.pixeldq & dqflags.HOT) != 0) & ~(out.groupdq & dqflags.SATURATED).any(axis=(0, 1))
    assert hot.sum() >= 5  # hot pixels (DO_NOT_USE) still carry their dark signal
    print(f"hot pixels: dark {dark[hot].mean():.2f} DN/s, pulls {np.round(pull[hot], 1)}")
    assert abs(np.median(pull[hot])) < 1.0 and (np.abs(pull[hot]) < 4).all()
