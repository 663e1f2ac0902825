"""jump and ramp_fit on factory-made ramps."""

from __future__ import annotations

import numpy as np
import pytest

from steps.factories import GAIN, READNOISE, RefSet, ramp
from webbcal import datamodels as dm
from webbcal.datamodels import dqflags
from webbcal.steps.jump import JumpStep
from webbcal.steps.ramp_fit import RampFitResult, RampFitStep


@pytest.fixture
def refs(tmp_path):
    return RefSet(tmp_path)


def test_jump_flags_injected_cosmic_ray(refs):
    model = ramp(ngroups=10, noise=True)
    model.data[0, 6:, 5, 5] += 800.0
    out = JumpStep.call(model, resolver=refs)
    assert out.meta.cal_step.jump == "COMPLETE"
    assert out.groupdq[0, 6, 5, 5] & dqflags.JUMP_DET
    # the 4 neighbours too (flag_4_neighbors)
    assert out.groupdq[0, 6, 4, 5] & dqflags.JUMP_DET
    assert out.meta.exposure.primary_cosmic_rays > 0
    out2 = JumpStep.call(
        ramp(ngroups=10, noise=True), resolver=refs, flag_4_neighbors=False
    )
    assert out2.meta.cal_step.jump == "COMPLETE"


def test_jump_skipped_for_two_groups(refs):
    out = JumpStep.call(ramp(ngroups=2), resolver=refs)
    assert out.meta.cal_step.jump == "SKIPPED"


def test_jump_after_jump_flagging_converts_seconds(refs):
    model = ramp(ngroups=10, noise=True)
    model.data[0, 4:, 3, 3] += 5000.0
    out = JumpStep.call(
        model, resolver=refs, after_jump_flag_dn1=1000.0, after_jump_flag_time1=25.0
    )
    # TGROUP = 10 s: 25 s -> 2 groups after the jump
    assert all(out.groupdq[0, g, 3, 3] & dqflags.JUMP_DET for g in (4, 5, 6))


def test_ramp_fit_noiseless_rate_and_products(refs):
    model = ramp(nints=3, ngroups=5, rate=7.0)
    result = RampFitStep.call(model, resolver=refs)
    assert isinstance(result, RampFitResult)
    rate, ints = result.rate, result.rateints
    assert isinstance(rate, dm.ImageModel) and isinstance(ints, dm.CubeModel)
    np.testing.assert_allclose(rate.data, 7.0, rtol=1e-5)
    np.testing.assert_allclose(ints.data, 7.0, rtol=1e-5)
    for m in (rate, ints):
        np.testing.assert_allclose(m.err**2, m.var_poisson + m.var_rnoise, rtol=1e-5)
        assert m.meta.bunit_data == "DN/s"
        assert m.meta.cal_step.ramp_fit == "COMPLETE"
    # read-noise variance of an unweighted 5-group ramp (Poisson variance aside)
    t = np.arange(5) * 10.0
    rn = READNOISE / np.sqrt(2)
    expected = 12 * rn**2 / (5 * (5**2 - 1) * 10.0**2) / 3  # 3 integrations
    assert rate.var_rnoise[0, 0] == pytest.approx(expected, rel=1e-3)
    assert t.size == 5
    assert rate.var_poisson[0, 0] == pytest.approx(7.0 / GAIN / (40.0 * 3), rel=0.05)


def test_ramp_fit_single_integration_has_no_rateints(refs):
    result = RampFitStep.call(ramp(nints=1), resolver=refs)
    assert result.rateints is None
    assert result.rate.data.shape == (10, 12)


def test_ramp_fit_group_range(refs):
    model = ramp(ngroups=8, rate=4.0)
    model.data[0, 6:] += 1000.0  # garbage after lastgroup
    result = RampFitStep.call(model, resolver=refs, firstgroup=1, lastgroup=5)
    np.testing.assert_allclose(result.rate.data, 4.0, rtol=1e-5)
    assert model.groupdq[0, 0].all() and model.groupdq[0, 7].all()


def test_ramp_fit_miri_drops_flagged_edge_groups(refs):
    model = ramp(ngroups=8, rate=3.0, instrument="MIRI", detector="MIRIMAGE",
                 exp_type="MIR_IMAGE", readpatt="FASTR1")  # fmt: skip
    model.data[0, 0] -= 50.0
    model.data[0, -1] += 80.0
    model.groupdq[0, 0] = dqflags.DO_NOT_USE
    model.groupdq[0, -1] = dqflags.DO_NOT_USE
    result = RampFitStep.call(model, resolver=refs)
    np.testing.assert_allclose(result.rate.data, 3.0, rtol=1e-5)


def test_ramp_fit_saves_rate_and_rateints(refs, tmp_path):
    out = tmp_path / "out"
    step = RampFitStep(resolver=refs, save_results=True, output_dir=str(out))
    step.run(ramp(nints=2))
    names = sorted(p.name for p in step.output_paths)
    assert names == [
        "jw01000001001_01101_00001_nrca1_ramp_fit.fits",
        "jw01000001001_01101_00001_nrca1_rateints.fits",
    ]


def test_ramp_fit_likely_falls_back_for_few_groups(refs):
    result = RampFitStep.call(ramp(ngroups=3, rate=2.0), resolver=refs, algorithm="LIKELY")
    np.testing.assert_allclose(result.rate.data, 2.0, rtol=1e-5)


def test_ramp_fit_likely(refs):
    result = RampFitStep.call(ramp(ngroups=8, rate=6.0, noise=True), resolver=refs,
                              algorithm="LIKELY")  # fmt: skip
    assert result.rate.meta.cal_step.ramp_fit == "COMPLETE"
    assert abs(np.nanmedian(result.rate.data) - 6.0) < 0.3
    np.testing.assert_allclose(result.rate.err**2,
                               result.rate.var_poisson + result.rate.var_rnoise, rtol=1e-4)
