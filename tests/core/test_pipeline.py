from typing import ClassVar

import numpy as np
import pytest

from core import toys
from webbcal.associations import asn_from_list
from webbcal.core import Pipeline, Step, progress, registry
from webbcal.core.provenance import recorded_parameters


def test_pipeline_runs_steps_in_order(toy):
    src = toy.exposure(data=(1.0, 2.0))
    pipe = toys.ToyPipeline(steps={"scale": {"factor": 3}, "shift": {"shift": 0.5}})
    model = pipe.run(src)
    np.testing.assert_allclose(model.data, [3.5, 6.5])
    assert model.meta.cal_step.scale == "COMPLETE"
    assert model.meta.cal_step.shift_cal == "COMPLETE"
    recorded = recorded_parameters(model)
    assert set(recorded) == {"scale", "shift", "calwebb_toy"}
    assert recorded["scale"]["factor"] == 3.0
    assert recorded["calwebb_toy"]["save_scaled"] is False
    assert pipe.output_paths == []


def test_skipped_step_still_recorded(toy):
    model = toys.ToyPipeline.call(toy.exposure(), steps={"scale": {"skip": True}})
    assert model.meta.cal_step.scale == "SKIPPED"
    assert model.meta.cal_step.shift_cal == "COMPLETE"


def test_final_intermediate_and_step_products(toy):
    src = toy.exposure("jw01_nrca1_uncal.fits")
    out = toy.folder / "out"
    pipe = toys.ToyPipeline(
        save_results=True,
        save_scaled=True,
        output_dir=str(out),
        steps={"shift": {"save_results": True}},
    )
    pipe.run(src)
    names = sorted(p.name for p in pipe.output_paths)
    assert names == ["jw01_nrca1_scaled.fits", "jw01_nrca1_shift.fits", "jw01_nrca1_toyout.fits"]
    scaled = toys.ToyModel.read(out / "jw01_nrca1_scaled.fits")
    assert scaled.meta.cal_step.scale == "COMPLETE"


def test_pipeline_pars_and_step_pars(toy):
    toy.refs.set_pars("pars-scalestep", "class: ScaleStep\nparameters: {factor: 5, offset: 1}\n")
    toy.refs.set_pars(
        "pars-toypipeline",
        "class: jwst.pipeline.ToyPipeline\nsteps:\n- class: ScaleStep\n  name: scale\n"
        "  parameters: {factor: 4}\n",
    )
    pipe = toys.ToyPipeline()
    model = pipe.run(toys.ToyModel((1.0,)))
    assert pipe.config.steps["scale"].params.factor == 4.0
    assert pipe.config.steps["scale"].params.offset == 1
    assert model.data[0] == 1.0 * 4 + 1 + 1.0


def test_step_defs_must_be_steps():
    with pytest.raises(TypeError, match="is not a Step class"):
        type("BadPipeline", (Pipeline,), {"step_defs": {"x": int}})


def test_class_defaults():
    assert toys.ToyPipeline.cal_step is None
    assert toys.ScaleStep.cal_step == "scale"
    assert toys.ScaleStep.suffix == "scale"
    assert toys.ScaleStep.class_name == "ScaleStep"
    assert toys.ToyPipeline.is_pipeline and not toys.ScaleStep.is_pipeline
    plain = type("PlainStep", (Step,), {})
    assert plain.alias == "plainstep"


def test_describe_lists_parameters():
    text = toys.ToyPipeline.describe()
    assert "calwebb_toy (ToyPipeline): Scale then shift" in text
    assert "--save_scaled=False  [a boolean]" in text
    assert "--steps.scale.<param>" in text
    assert "reference types: gain, area (optional)" in toys.ScaleStep.describe()


class ToyStage3(Pipeline):
    """Combine a product's exposures, then shift the combined image."""

    alias = "calwebb_toy3"
    suffix = "final"
    input_kind = "association"
    step_defs: ClassVar[dict[str, type[Step]]] = {
        "combine": toys.CombineStep,
        "shift": toys.ShiftStep,
    }

    def process(self, exposures, refs, params):
        result = self.run_step("combine", exposures)
        return self.run_step("shift", result.combined)


def test_stage3_outputs_named_from_the_product(toy):
    for name in ("x1_cal.fits", "x2_cal.fits"):
        toy.exposure(name, data=(1.0,))
    asn = asn_from_list(["x1_cal.fits", "x2_cal.fits"], product_name="mosaic")
    asn.write(toy.folder / "l3_asn.json")
    pipe = ToyStage3(
        save_results=True,
        output_dir=str(toy.folder / "out"),
        steps={"combine": {"save_results": True}, "shift": {"save_results": True}},
    )
    result = pipe.run(toy.folder / "l3_asn.json")
    assert result.data[0] == 3.0
    assert sorted(p.name for p in pipe.output_paths) == [
        "mosaic_final.fits",
        "mosaic_i2d.fits",
        "mosaic_shift.fits",
        "x1_o999_crf.fits",
        "x2_o999_crf.fits",
    ]


def test_stage3_on_a_single_file(toy):
    src = toy.exposure("jw01_nrca1_cal.fits")
    pipe = ToyStage3(save_results=True, output_dir=str(toy.folder / "out"))
    pipe.run(src)
    assert [p.name for p in pipe.output_paths] == ["jw01_nrca1_final.fits"]


def test_progress_lines(toy, capsys):
    progress.set_enabled(True)
    try:
        toys.ToyPipeline.call(toy.exposure())
    finally:
        progress.set_enabled(None)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "[1/2] calwebb_toy: scale ..."
    assert err[1].startswith("[1/2] calwebb_toy: scale done (")
    assert err[3].startswith("[2/2] calwebb_toy: shift done (")


def test_progress_quiet_when_not_a_tty(toy, capsys):
    toys.ToyPipeline.call(toy.exposure())
    assert capsys.readouterr().err == ""


def test_input_dir(toy, monkeypatch, tmp_path):
    toy.exposure("jw01_nrca1_rate.fits")
    monkeypatch.chdir(tmp_path / "refs")
    model = toys.ShiftStep.call("jw01_nrca1_rate.fits", input_dir=str(toy.folder))
    assert model.meta.cal_step.shift_cal == "COMPLETE"


def test_pipeline_classes_reachable_by_name():
    import webbcal.pipelines

    with registry.use(toys.toy_registry()):
        assert webbcal.pipelines.ToyPipeline is toys.ToyPipeline
    with pytest.raises(AttributeError):
        webbcal.pipelines.NoSuchPipeline  # noqa: B018
