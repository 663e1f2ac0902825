"""MIRI firstframe, lastframe, reset, rscd and FGS guider_cds on factory ramps."""

from __future__ import annotations

import numpy as np
import pytest

from steps.factories import RefSet, ramp
from webbcal import datamodels as dm
from webbcal.datamodels import dqflags
from webbcal.refs.formats import models as ref_models
from webbcal.refs.formats import tables
from webbcal.steps.firstframe import FirstFrameStep
from webbcal.steps.guider_cds import GuiderCdsStep
from webbcal.steps.lastframe import LastFrameStep
from webbcal.steps.reset import ResetStep
from webbcal.steps.rscd import RscdStep, rscd_skips

DNU = dqflags.DO_NOT_USE


@pytest.fixture
def refs(tmp_path):
    return RefSet(tmp_path, nframes=8)


def _miri(**kw):
    kw.setdefault("ngroups", 8)
    return ramp(instrument="MIRI", detector="MIRIMAGE", exp_type="MIR_IMAGE",
                readpatt="FAST", **kw)  # fmt: skip


def test_firstframe_and_lastframe(refs):
    out = LastFrameStep.call(FirstFrameStep.call(_miri(nints=2), resolver=refs), resolver=refs)
    assert (out.groupdq[:, 0] & DNU).all() and (out.groupdq[:, -1] & DNU).all()
    assert not (out.groupdq[:, 1:-1] & DNU).any()
    assert out.meta.cal_step.firstframe == out.meta.cal_step.lastframe == "COMPLETE"


@pytest.mark.parametrize("step", [FirstFrameStep, LastFrameStep, ResetStep, RscdStep])
def test_miri_steps_skip_other_instruments(refs, step):
    out = step.call(ramp(), resolver=refs)
    assert getattr(out.meta.cal_step, step.alias) == "SKIPPED"


def test_firstframe_skipped_for_few_groups(refs):
    assert FirstFrameStep.call(_miri(ngroups=3), resolver=refs).meta.cal_step.firstframe == (
        "SKIPPED"
    )


def test_reset_subtracts_per_integration(refs):
    reset = np.zeros((2, 8, 10, 12), np.float32)
    reset[0, :2] = 10.0
    reset[1, :2] = 20.0
    refs["reset"] = dm.ResetModel(data=reset, dq=np.zeros((10, 12), np.uint32))
    model = _miri(nints=3)
    before = model.data.copy()
    out = ResetStep.call(model, resolver=refs)
    np.testing.assert_allclose(before[0, :2] - out.data[0, :2], 10.0)
    np.testing.assert_allclose(before[1, :2] - out.data[1, :2], 20.0)
    np.testing.assert_allclose(before[2, :2] - out.data[2, :2], 20.0)  # last ref integration
    np.testing.assert_array_equal(before[:, 2:], out.data[:, 2:])


def test_rscd_flags_first_groups(refs):
    rows = [("GENERIC", "FAST", 1, 3)]
    refs["rscd"] = ref_models.RSCDModel(
        rscd_group_skip_table=tables.table(tables.RSCD_GROUP_SKIP, rows))
    out = RscdStep.call(_miri(nints=2), resolver=refs)
    gdq = out.groupdq
    assert (gdq[0, :1] & DNU).all() and not (gdq[0, 1:] & DNU).any()
    assert (gdq[1, :3] & DNU).all() and not (gdq[1, 3:] & DNU).any()
    assert out.meta.rscd.ngroups_skip_int1 == 1 and out.meta.rscd.ngroups_skip_int2p == 3


def test_rscd_table_lookup():
    table = tables.table(tables.RSCD_GROUP_SKIP, [("FULL", "FAST", 1, 3), ("SUB64", "SLOW", 0, 1)])
    assert rscd_skips(table, "FULL", "FAST") == (1, 3)
    assert rscd_skips(table, "SUB64", "SLOW") == (0, 1)
    assert rscd_skips(table, "FULL", "SLOW") is None


def test_guider_cds_track_and_id(refs):
    model = ramp(raw=True, nints=3, ngroups=2, rate=100.0, frame_time=0.5, instrument="FGS",
                 detector="GUIDER1", exp_type="FGS_TRACK")  # fmt: skip
    out = GuiderCdsStep.call(model, resolver=refs)
    assert isinstance(out, dm.GuiderCalModel)
    assert out.data.shape == (3, 10, 12)
    np.testing.assert_allclose(out.data, 100.0, atol=2.0)  # uint16 rounding of the raw ramp
    assert (out.err > 0).all() and out.meta.bunit_data == "DN/s"
    model.meta.exposure.type = "FGS_ID-IMAGE"
    assert GuiderCdsStep.call(model, resolver=refs).data.shape == (1, 10, 12)


def test_guider_cds_needs_two_groups(refs):
    from webbcal.errors import InputError

    model = ramp(raw=True, nints=2, ngroups=1, instrument="FGS", detector="GUIDER1",
                 exp_type="FGS_ACQ1")  # fmt: skip
    with pytest.raises(InputError, match="at least 2 groups"):
        GuiderCdsStep.call(model, resolver=refs)
