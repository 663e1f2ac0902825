"""calwebb_detector1 on a simulated MIRI subarray and a NIRCam time series (slow).

MIRI: SUB128, FASTR1, 12 groups, 2 integrations. The official reference-pixel correction
is not applied to MIRI subarrays, so the simulation has no per-frame amplifier offsets
(nor 1/f drift). The ``reset`` step is skipped: the embedded RESET reference and the
embedded MIRI DARK both hold the reset anomaly, so running both would subtract it twice.

NIRCam TSO: NRC_TSIMAGE, 30 integrations of 5 groups. The default TSO configuration skips
ipc and persistence; processing in row bands (a tiny ``max_ramp_memory``) gives exactly
the products of whole-ramp processing.
"""

from __future__ import annotations

import numpy as np
import pytest

from steps.simdata import pulls, simulated
from webbcal.pipelines.calwebb_detector1 import Detector1Pipeline
from webbcal.sim import DetectorEffects, SceneConfig, TSOConfig

pytestmark = pytest.mark.slow

QUIET = DetectorEffects(amp_offsets=False, one_over_f=False)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("d1miri_tso")


def test_miri_subarray_pulls(root):
    truth = simulated(root, "miri_sub128", instrument="MIRI", detector="MIRIMAGE",
                      filter="F770W", pupil=None, subarray="SUB128", readpatt="FASTR1",
                      ngroups=12, nints=2, seed=1, effects=QUIET,
                      scene=SceneConfig(star_density=20000.0, star_flux_range=(5.0, 3.0e4),
                                        star_slope=0.5))  # fmt: skip
    result = Detector1Pipeline.call(str(truth.files["uncal"]), steps={"reset": {"skip": True}})
    steps = result.rate.meta.cal_step
    assert steps.firstframe == steps.lastframe == steps.rscd == "COMPLETE"
    assert steps.refpix == "SKIPPED"  # MIRI subarray
    assert steps.superbias is None  # not a MIRI step
    stats = pulls(result.rate.data, result.rate.err, result.rate.dq, truth.truth_rate,
                  (0.0, 10.0, 100.0))  # fmt: skip
    print("\n".join(str(s) for s in stats))
    for s in stats:
        assert s.n > 1000, s
        assert abs(s.mean) < 0.05 and abs(s.std - 1.0) < 0.05, s
    assert result.rateints.data.shape == (2, 128, 136)  # SUBSIZE1=136, SUBSIZE2=128


@pytest.fixture(scope="module")
def tso(root):
    truth = simulated(root, "nrc_tso", instrument="NIRCAM", detector="NRCA1",
                      subarray="SUB160", readpatt="RAPID", ngroups=5, nints=30, seed=3,
                      effects=QUIET, tso=TSOConfig(enabled=True, star_flux=3.0e4))  # fmt: skip
    return truth


def test_tso_defaults_and_pulls(tso):
    assert tso.keywords.get("EXP_TYPE", "NRC_TSIMAGE") == "NRC_TSIMAGE"
    result = Detector1Pipeline.call(str(tso.files["uncal"]))
    steps = result.rate.meta.cal_step
    assert steps.ipc == steps.persistence == "SKIPPED"
    assert steps.jump == steps.ramp_fit == "COMPLETE"
    assert result.rateints.data.shape == (30, 160, 160)
    assert len(result.rateints.int_times) == 30
    (faint,) = pulls(result.rate.data, result.rate.err, result.rate.dq, tso.truth_rate,
                     (0.0, 1.0))  # fmt: skip
    print(faint)
    assert abs(faint.mean) < 0.05 and abs(faint.std - 1.0) < 0.05, faint


# 0.004 GB: bands of 8 rows (fitted without their halo rows); 0.0175 GB: three bands of 54
@pytest.mark.parametrize("max_ramp_memory", [0.004, 0.0175])
def test_tso_streamed_equals_whole(tso, max_ramp_memory):
    uncal = str(tso.files["uncal"])
    whole = Detector1Pipeline.call(uncal, max_ramp_memory=0)
    streamed = Detector1Pipeline.call(uncal, max_ramp_memory=max_ramp_memory)
    for name in ("data", "dq", "err", "var_poisson", "var_rnoise"):
        np.testing.assert_array_equal(getattr(streamed.rate, name), getattr(whole.rate, name))
        np.testing.assert_array_equal(getattr(streamed.rateints, name),
                                      getattr(whole.rateints, name))  # fmt: skip
    assert streamed.rate.meta.subarray.ystart == whole.rate.meta.subarray.ystart
    assert streamed.rate.meta.subarray.ysize == 160
    assert streamed.rate.meta.cal_step.to_dict() == whole.rate.meta.cal_step.to_dict()
    assert len(streamed.rateints.int_times) == 30
