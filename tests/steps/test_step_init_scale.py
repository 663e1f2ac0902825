"""dq_init, group_scale and gain_scale on factory-made exposures."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from steps.factories import RefSet, ramp
from webbcal import datamodels as dm
from webbcal.datamodels import dqflags
from webbcal.errors import InputError, ReferenceFileError
from webbcal.steps.dq_init import DQInitStep
from webbcal.steps.gain_scale import GainScaleStep
from webbcal.steps.group_scale import GroupScaleStep


@pytest.fixture
def refs(tmp_path):
    return RefSet(tmp_path)


def test_dq_init_converts_raw_once_and_ors_mask(refs):
    mask = np.zeros((10, 12), np.uint32)
    mask[2, 3] = dqflags.HOT | dqflags.DO_NOT_USE
    refs["mask"] = dm.MaskModel(dq=mask)
    raw = ramp(raw=True, nints=2)
    out = DQInitStep.call(raw, resolver=refs)
    assert isinstance(out, dm.RampModel)
    assert out.data.dtype == np.float32
    np.testing.assert_array_equal(out.data, raw.data.astype(np.float32))
    assert out.pixeldq[2, 3] == dqflags.HOT | dqflags.DO_NOT_USE
    assert out.groupdq.shape == raw.data.shape and out.groupdq.dtype == np.uint8
    assert not out.groupdq.any()
    assert not out.has("err")  # no 4-D ERR
    assert out.meta.cal_step.dq_init == "COMPLETE"
    assert out.meta.ref_file.mask.name == "ref_mask.fits"
    assert out.meta.instrument.detector == "NRCA1"


def test_dq_init_streams_sci_from_file(refs, tmp_path):
    raw = ramp(raw=True, nints=2, ngroups=3)
    path = tmp_path / "x_uncal.fits"
    raw.save(path)
    out = DQInitStep.call(str(path), resolver=refs)
    np.testing.assert_array_equal(out.data, raw.data.astype(np.float32))


def test_dq_init_keeps_existing_pixeldq(refs):
    model = ramp()
    model.pixeldq[0, 0] = dqflags.WARM
    refs["mask"] = dm.MaskModel(dq=np.full((10, 12), dqflags.LOW_QE, np.uint32))
    out = DQInitStep.call(model, resolver=refs)
    assert out is model
    assert out.pixeldq[0, 0] == dqflags.WARM | dqflags.LOW_QE


def test_dq_init_user_supplied_dq(refs, tmp_path):
    user = np.zeros((10, 12), np.int32)
    user[4, 4] = dqflags.OTHER_BAD_PIXEL
    path = tmp_path / "user_dq.fits"
    fits.PrimaryHDU(user).writeto(path)
    out = DQInitStep.call(ramp(), resolver=refs, user_supplied_dq=str(path))
    assert out.pixeldq[4, 4] == dqflags.OTHER_BAD_PIXEL


def test_dq_init_mask_shape_mismatch_is_clear(refs):
    refs["mask"] = dm.MaskModel(dq=np.zeros((5, 5), np.uint32))
    with pytest.raises(ReferenceFileError, match="MASK reference"):
        DQInitStep.call(ramp(), resolver=refs)


def test_dq_init_window_mismatch_is_clear(refs):
    model = ramp()
    model.meta.subarray.xsize, model.meta.subarray.ysize = 128, 128
    with pytest.raises(InputError, match="SUBSIZE1/SUBSIZE2"):
        DQInitStep.call(model, resolver=refs)


def test_dq_init_guider_flags_go_to_dq(refs):
    raw = ramp(raw=True, ngroups=2, instrument="FGS", detector="GUIDER1", exp_type="FGS_ACQ1")
    mask = np.zeros((10, 12), np.uint32)
    mask[1, 1] = dqflags.DEAD
    refs["mask"] = dm.MaskModel(dq=mask)
    out = DQInitStep.call(raw, resolver=refs)
    assert isinstance(out, dm.GuiderRawModel)
    assert out.dq[1, 1] == dqflags.DEAD


def test_group_scale_skips_when_divisor_matches(refs):
    model = ramp(raw=True)
    out = GroupScaleStep.call(model, resolver=refs)
    assert out is model
    assert out.meta.cal_step.group_scale == "SKIPPED"


def test_group_scale_rescales(refs):
    model = ramp(raw=True, nframes=5)
    model.meta.exposure.frame_divisor = 8
    out = GroupScaleStep.call(model, resolver=refs)
    assert isinstance(out, dm.RampModel)
    np.testing.assert_allclose(out.data, model.data * (8 / 5), rtol=1e-6)
    assert out.meta.cal_step.group_scale == "COMPLETE"


def _rate(value=2.0, err=0.5):
    rate = dm.ImageModel(
        data=np.full((4, 4), value, np.float32), err=np.full((4, 4), err, np.float32),
        var_poisson=np.full((4, 4), err**2 / 2, np.float32),
        var_rnoise=np.full((4, 4), err**2 / 2, np.float32),
    )  # fmt: skip
    rate.meta.instrument.name = "NIRSPEC"
    rate.meta.instrument.detector = "NRS1"
    return rate


def test_gain_scale_skips_without_gainfact(refs):
    out = GainScaleStep.call(_rate(), resolver=refs)
    assert out.meta.cal_step.gain_scale == "SKIPPED"
    assert out.data[0, 0] == 2.0


def test_gain_scale_rescales_errors_and_variances(refs):
    gain = dm.GainModel(data=np.full((4, 4), 2.0, np.float32))
    gain.meta.exposure.gain_factor = 1.5
    refs["gain"] = gain
    out = GainScaleStep.call(_rate(), resolver=refs)
    assert out.meta.cal_step.gain_scale == "COMPLETE"
    np.testing.assert_allclose(out.data, 3.0)
    np.testing.assert_allclose(out.err, 0.75)
    np.testing.assert_allclose(out.var_poisson, 0.125 * 2.25)
    np.testing.assert_allclose(out.var_rnoise, 0.125 * 2.25)
    assert out.meta.exposure.gain_factor == 1.5
