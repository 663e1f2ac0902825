"""flat_field on rate images, rateints cubes and guider products."""

from __future__ import annotations

import numpy as np
import pytest

from steps.factories import RefSet
from webbcal import datamodels as dm
from webbcal.datamodels import dqflags
from webbcal.steps.flat_field import FlatFieldStep


def _rate(shape=(10, 12), value=4.0, var=0.01):
    rate = dm.ImageModel(
        data=np.full(shape, value, np.float32),
        var_poisson=np.full(shape, var, np.float32),
        var_rnoise=np.full(shape, var, np.float32),
        err=np.full(shape, np.sqrt(2 * var), np.float32),
    )
    rate.meta.instrument.name = "NIRCAM"
    rate.meta.instrument.detector = "NRCA1"
    rate.meta.exposure.type = "NRC_IMAGE"
    return rate


@pytest.fixture
def refs(tmp_path):
    refs = RefSet(tmp_path)
    flat = np.full((10, 12), 2.0, np.float32)
    flat[0, 0] = np.nan
    flat[0, 1] = 0.0
    dq = np.zeros((10, 12), np.uint32)
    dq[0, 2] = dqflags.NO_FLAT_FIELD | dqflags.DO_NOT_USE
    err = np.full((10, 12), 0.02, np.float32)
    refs["flat"] = dm.FlatModel(data=flat, dq=dq, err=err)
    return refs


def test_flat_field_image_variances(refs):
    out = FlatFieldStep.call(_rate(), resolver=refs)
    assert out.meta.cal_step.flat_field == "COMPLETE"
    np.testing.assert_allclose(out.data[5, 5], 2.0)
    np.testing.assert_allclose(out.var_poisson[5, 5], 0.01 / 4)
    np.testing.assert_allclose(out.var_rnoise[5, 5], 0.01 / 4)
    # VAR_FLAT = SCI**2 * (err / flat)**2 with SCI flat-fielded
    np.testing.assert_allclose(out.var_flat[5, 5], 2.0**2 * (0.02 / 2.0) ** 2, rtol=1e-6)
    np.testing.assert_allclose(out.err**2, out.var_poisson + out.var_rnoise + out.var_flat,
                               rtol=1e-6)  # fmt: skip


def test_flat_field_bad_flat_pixels(refs):
    out = FlatFieldStep.call(_rate(), resolver=refs)
    for x in (0, 1, 2):
        assert out.dq[0, x] & dqflags.NO_FLAT_FIELD
        assert out.data[0, x] == 4.0  # flat reset to 1
        assert out.var_flat[0, x] == 0.0
    assert out.dq[0, 2] & dqflags.DO_NOT_USE
    assert out.dq[5, 5] == 0


def test_flat_field_cube(refs):
    cube = dm.CubeModel(data=np.full((3, 10, 12), 6.0, np.float32),
                        var_poisson=np.ones((3, 10, 12), np.float32),
                        var_rnoise=np.ones((3, 10, 12), np.float32))  # fmt: skip
    cube.meta.instrument.name = "NIRCAM"
    cube.meta.instrument.detector = "NRCA1"
    out = FlatFieldStep.call(cube, resolver=refs)
    np.testing.assert_allclose(out.data[:, 5, 5], 3.0)
    assert out.dq.shape == (3, 10, 12)
    assert (out.dq[:, 0, 0] & dqflags.NO_FLAT_FIELD).all()
    np.testing.assert_allclose(out.var_poisson[:, 5, 5], 0.25)


def test_flat_field_guider_error(refs):
    cal = dm.GuiderCalModel(data=np.full((2, 10, 12), 8.0, np.float32),
                            err=np.full((2, 10, 12), 1.0, np.float32))  # fmt: skip
    cal.meta.instrument.name = "FGS"
    cal.meta.instrument.detector = "GUIDER1"
    cal.meta.exposure.type = "FGS_TRACK"
    out = FlatFieldStep.call(cal, resolver=refs)
    np.testing.assert_allclose(out.data[:, 5, 5], 4.0)
    expected = np.sqrt(1.0 / 4.0 + 4.0**2 * (0.02 / 2.0) ** 2)
    np.testing.assert_allclose(out.err[:, 5, 5], expected, rtol=1e-6)
    assert out.dq[0, 0] & dqflags.NO_FLAT_FIELD


def test_flat_field_skips_nirspec_spectroscopy(refs):
    rate = _rate()
    rate.meta.instrument.name = "NIRSPEC"
    rate.meta.exposure.type = "NRS_FIXEDSLIT"
    out = FlatFieldStep.call(rate, resolver=refs)
    assert out.meta.cal_step.flat_field == "SKIPPED"
