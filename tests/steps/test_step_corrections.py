"""saturation, superbias, linearity, dark_current, ipc, refpix, persistence on factory ramps."""

from __future__ import annotations

import numpy as np
import pytest

from steps.factories import BIAS, RefSet, ramp
from webbcal import datamodels as dm
from webbcal.datamodels import dqflags
from webbcal.steps.dark_current import DarkCurrentStep
from webbcal.steps.ipc import IPCStep
from webbcal.steps.linearity import LinearityStep
from webbcal.steps.persistence import PersistenceResult, PersistenceStep, TrapsFilledModel
from webbcal.steps.refpix import RefPixStep
from webbcal.steps.saturation import SaturationStep
from webbcal.steps.superbias import SuperBiasStep


@pytest.fixture
def refs(tmp_path):
    return RefSet(tmp_path, nframes=12)


def test_saturation_flags_later_groups_and_neighbours(refs):
    model = ramp(ngroups=6)
    model.data[0, 3:, 5, 5] = 61000.0
    model.data[0, 2, 1, 1] = 0.0
    out = SaturationStep.call(model, resolver=refs)
    sat = (out.groupdq & dqflags.SATURATED) != 0
    assert sat[0, 3:, 5, 5].all() and not sat[0, :3, 5, 5].any()
    assert sat[0, 3:, 4:7, 4:7].all()  # n_pix_grow_sat=1
    assert not sat[0, 3:, 5, 7].any()
    assert out.groupdq[0, 2, 1, 1] == dqflags.AD_FLOOR | dqflags.DO_NOT_USE
    out2 = SaturationStep.call(ramp(ngroups=6), resolver=refs, n_pix_grow_sat=0)
    assert out2.meta.cal_step.saturation == "COMPLETE"


def test_saturation_no_sat_check(refs):
    thresholds = np.full((10, 12), 60000.0, np.float32)
    thresholds[2, 2] = np.nan
    refs["saturation"] = dm.SaturationModel(data=thresholds, dq=np.zeros((10, 12), np.uint32))
    out = SaturationStep.call(ramp(), resolver=refs)
    assert out.pixeldq[2, 2] & dqflags.NO_SAT_CHECK


def test_superbias_subtracts_and_flags(refs):
    bias = np.full((10, 12), BIAS, np.float32)
    dq = np.zeros((10, 12), np.uint32)
    dq[3, 3] = dqflags.UNRELIABLE_BIAS
    refs["superbias"] = dm.SuperBiasModel(data=bias, dq=dq)
    model = ramp(rate=2.0)
    expected = model.data - BIAS
    out = SuperBiasStep.call(model, resolver=refs)
    np.testing.assert_allclose(out.data, expected)
    assert out.pixeldq[3, 3] & dqflags.UNRELIABLE_BIAS


def test_linearity_applies_polynomial_except_saturated(refs):
    coeffs = np.zeros((3, 10, 12), np.float32)
    coeffs[1] = 1.0
    coeffs[2] = 1e-5
    refs["linearity"] = dm.LinearityModel(coeffs=coeffs, dq=np.zeros((10, 12), np.uint32))
    model = ramp(bias=0.0, rate=100.0, ngroups=4)
    raw = model.data.copy()
    model.groupdq[0, 3] = dqflags.SATURATED
    out = LinearityStep.call(model, resolver=refs)
    np.testing.assert_allclose(out.data[0, :3], raw[0, :3] + 1e-5 * raw[0, :3] ** 2, rtol=1e-6)
    np.testing.assert_array_equal(out.data[0, 3], raw[0, 3])


def test_dark_current_frame_averaged_and_average_dark(refs):
    frames = np.arange(1, 13, dtype=np.float32)[:, None, None] * np.ones((10, 12), np.float32)
    dark = dm.DarkModel(data=frames, dq=np.zeros((10, 12), np.uint32),
                        average_dark_current=np.full((10, 12), 0.1, np.float32))  # fmt: skip
    dark.meta.exposure.nframes, dark.meta.exposure.groupgap = 1, 0
    refs["dark"] = dark
    model = ramp(ngroups=3, nframes=2, groupgap=1, rate=0.0)
    before = model.data.copy()
    out = DarkCurrentStep.call(model, resolver=refs)
    # group g averages dark frames 3g, 3g+1 (values 3g+1, 3g+2)
    for g in range(3):
        np.testing.assert_allclose(before[0, g] - out.data[0, g], 3 * g + 1.5)
    np.testing.assert_allclose(out.average_dark_current, 0.1)
    assert out.meta.cal_step.dark_sub == "COMPLETE"
    out2 = DarkCurrentStep.call(ramp(ngroups=3), resolver=refs, average_dark_current=0.5)
    np.testing.assert_allclose(out2.average_dark_current, 0.5)


def test_dark_current_skipped_for_coarser_dark(refs):
    dark = dm.DarkModel(data=np.zeros((12, 10, 12), np.float32),
                        dq=np.zeros((10, 12), np.uint32))  # fmt: skip
    dark.meta.exposure.nframes, dark.meta.exposure.groupgap = 4, 0
    refs["dark"] = dark
    out = DarkCurrentStep.call(ramp(ngroups=3, nframes=2), resolver=refs)
    assert out.meta.cal_step.dark_sub == "SKIPPED"


def test_dark_output_is_saved(refs, tmp_path):
    step = DarkCurrentStep(resolver=refs, dark_output="averaged_dark.fits",
                           output_dir=str(tmp_path / "o"))  # fmt: skip
    step.run(ramp(ngroups=3, nframes=2))
    assert [p.name for p in step.output_paths] == ["averaged_dark.fits"]
    with dm.open(step.output_paths[0]) as saved:
        assert saved.data.shape == (3, 10, 12)


def test_ipc_identity_kernel_changes_nothing(refs):
    model = ramp(noise=True)
    before = model.data.copy()
    out = IPCStep.call(model, resolver=refs)
    np.testing.assert_array_equal(out.data, before)
    assert out.meta.cal_step.ipc == "COMPLETE"


def _subarray_with_refpix():
    model = ramp(ngroups=3, shape=(10, 12), rate=0.0, bias=0.0)
    sub = model.meta.subarray
    sub.name, sub.xstart, sub.ystart, sub.xsize, sub.ysize = "SUBTEST", 2037, 2039, 12, 10
    model.meta.exposure.noutputs = 1
    model.pixeldq[-4:, :] = dqflags.REFERENCE_PIXEL
    model.pixeldq[:, -4:] = dqflags.REFERENCE_PIXEL
    return model


def test_refpix_one_output_subarray_removes_offsets(refs):
    model = _subarray_with_refpix()
    offsets = np.array([5.0, -3.0, 7.0])
    model.data[0] += offsets[:, None, None].astype(np.float32)
    out = RefPixStep.call(model, resolver=refs)
    assert out.meta.cal_step.refpix == "COMPLETE"
    np.testing.assert_allclose(out.data[0, :, :6, :8], 0.0, atol=1e-4)


def test_refpix_skipped_without_usable_reference_pixels(refs):
    model = _subarray_with_refpix()
    model.pixeldq[model.pixeldq != 0] |= dqflags.DO_NOT_USE
    out = RefPixStep.call(model, resolver=refs)
    assert out.meta.cal_step.refpix == "SKIPPED"


def test_refpix_sirs_is_refused(refs):
    from webbcal.errors import ParameterError

    with pytest.raises(ParameterError, match="sirs"):
        RefPixStep.call(_subarray_with_refpix(), resolver=refs, refpix_algorithm="sirs")


def test_persistence_without_input_traps(refs, tmp_path):
    model = ramp(ngroups=5, rate=200.0)
    before = model.data.copy()
    step = PersistenceStep(resolver=refs, save_results=True, output_dir=str(tmp_path / "o"),
                           save_persistence=True)  # fmt: skip
    result = step.run(model)
    assert isinstance(result, PersistenceResult)
    np.testing.assert_array_equal(result.ramp.data, before)  # no traps filled before
    assert isinstance(result.trapsfilled, TrapsFilledModel)
    assert result.trapsfilled.data.shape[0] == 1  # one trap family in the factory TRAPPARS
    assert result.trapsfilled.data.max() > 0  # this exposure filled traps
    names = sorted(p.name for p in step.output_paths)
    assert names == ["jw01000001001_01101_00001_nrca1_output_pers.fits",
                     "jw01000001001_01101_00001_nrca1_persistence.fits",
                     "jw01000001001_01101_00001_nrca1_trapsfilled.fits"]  # fmt: skip


def test_persistence_with_input_traps(refs, tmp_path):
    traps = TrapsFilledModel(data=np.full((1, 10, 12), 1000.0, np.float32))
    path = tmp_path / "previous_trapsfilled.fits"
    traps.save(path)
    model = ramp(ngroups=5, rate=1.0)
    before = model.data.copy()
    result = PersistenceStep.call(model, resolver=refs, input_trapsfilled=str(path),
                                  flag_pers_cutoff=1.0)  # fmt: skip
    released = before[0, -1] - result.ramp.data[0, -1]
    assert (released > 1.0).all()  # traps (tau 500 s) release ~2% per 10 s group
    assert (result.ramp.pixeldq & dqflags.PERSISTENCE).all()
    assert result.trapsfilled.data.max() < 1000.0
