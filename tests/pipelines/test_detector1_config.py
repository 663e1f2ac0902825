"""calwebb_detector1: registration, default (TSO) configuration, step orders, products."""

from __future__ import annotations

import numpy as np
import pytest

from steps.factories import RefSet, ramp
from webbcal.core import registry
from webbcal.datamodels import CubeModel, ImageModel, RampModel
from webbcal.errors import InputError
from webbcal.pipelines.calwebb_dark import DarkPipeline
from webbcal.pipelines.calwebb_detector1 import (
    MIRI_STEPS,
    NIR_STEPS,
    Detector1Pipeline,
    Detector1Result,
    default_pars,
)
from webbcal.pipelines.calwebb_guider import GuiderPipeline


def test_registered_under_official_names():
    assert registry.get("calwebb_detector1") is Detector1Pipeline
    assert registry.get("jwst.pipeline.Detector1Pipeline") is Detector1Pipeline
    assert registry.get("calwebb_dark") is DarkPipeline
    assert registry.get("calwebb_guider") is GuiderPipeline
    for alias in ("dq_init", "saturation", "superbias", "refpix", "linearity", "persistence",
                  "dark_current", "jump", "ramp_fit", "gain_scale", "group_scale", "ipc",
                  "firstframe", "lastframe", "reset", "rscd", "guider_cds", "flat_field"):
        assert registry.get(alias).alias == alias


def test_step_orders_are_the_official_ones():
    assert NIR_STEPS == ("group_scale", "dq_init", "saturation", "ipc", "superbias", "refpix",
                         "linearity", "persistence", "dark_current", "jump")
    assert MIRI_STEPS == ("group_scale", "dq_init", "saturation", "ipc", "firstframe",
                          "lastframe", "reset", "linearity", "rscd", "dark_current", "refpix",
                          "jump")


def _skipped(layer):
    return {name for name, sub in layer.steps.items() if sub.parameters.get("skip")}


@pytest.mark.parametrize(
    ("instrument", "exp_type", "tso", "expected"),
    [
        ("NIRCAM", "NRC_IMAGE", False, {"ipc"}),
        ("NIRCAM", "NRC_IMAGE", True, {"ipc", "persistence"}),
        ("NIRCAM", "NRC_TSGRISM", False, {"ipc", "persistence"}),
        ("MIRI", "MIR_LRS-SLITLESS", True,
         {"ipc", "reset", "persistence", "firstframe", "lastframe", "rscd"}),
        ("MIRI", "MIR_IMAGE", False, {"ipc", "reset"}),
    ],
)
def test_default_configuration(instrument, exp_type, tso, expected):
    model = ramp(instrument=instrument, exp_type=exp_type, tso=tso)
    assert _skipped(default_pars(model)) == expected


def test_default_configuration_is_overridable(tmp_path):
    model = ramp(exp_type="NRC_TSIMAGE", tso=True)
    pipe = Detector1Pipeline(resolver=RefSet(tmp_path), steps={"ipc": {"skip": False}})
    config = pipe.resolve(model)
    assert config.steps["ipc"].common.skip is False
    assert config.steps["persistence"].common.skip is True


def test_run_on_factory_ramp(tmp_path):
    refs = RefSet(tmp_path / "refs", nframes=10)
    (tmp_path / "refs").mkdir()
    model = ramp(nints=2, ngroups=6, rate=3.0, raw=True, noise=True)
    result = Detector1Pipeline.call(model, resolver=refs)
    assert isinstance(result, Detector1Result)
    assert isinstance(result.rate, ImageModel) and isinstance(result.rateints, CubeModel)
    np.testing.assert_allclose(np.nanmedian(result.rate.data), 3.0, atol=0.1)
    steps = result.rate.meta.cal_step
    assert steps.dq_init == steps.saturation == steps.jump == steps.ramp_fit == "COMPLETE"
    assert steps.ipc == "SKIPPED"
    assert steps.dark_sub == "COMPLETE"
    assert result.rate.meta.cal_step.firstframe is None  # near-IR: MIRI steps not run


def test_ramp_fit_skipped_returns_ramp(tmp_path):
    refs = RefSet(tmp_path / "refs", nframes=10)
    (tmp_path / "refs").mkdir()
    result = Detector1Pipeline.call(ramp(raw=True), resolver=refs,
                                    steps={"ramp_fit": {"skip": True}})  # fmt: skip
    assert result.rate is None and isinstance(result.ramp, RampModel)


def test_guider_exposure_is_refused(tmp_path):
    model = ramp(raw=True, ngroups=2, instrument="FGS", detector="GUIDER1",
                 exp_type="FGS_TRACK")  # fmt: skip
    with pytest.raises(InputError, match="calwebb_guider"):
        Detector1Pipeline.call(model, resolver=RefSet(tmp_path))
