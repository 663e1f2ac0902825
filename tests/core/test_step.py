import json

import numpy as np
import pytest

import webbcal
from core import toys
from webbcal.core.provenance import recorded_parameters
from webbcal.errors import InputError, ReferenceFileError, StepError


def read(path):
    return toys.ToyModel.read(path)


def test_call_records_provenance(toy):
    src = toy.exposure(data=(1.0, 3.0))
    before = src.read_bytes()
    model = toys.ScaleStep.call(src, factor=3)
    np.testing.assert_allclose(model.data, [3.0, 9.0])
    meta = model.meta
    assert meta.cal_step.scale == "COMPLETE"
    assert meta.ref_file.gain.name == "toy_gain_0001.fits"
    assert meta.ref_file.area.name == "N/A"
    assert meta.calibration_software_version == webbcal.__version__
    params = recorded_parameters(model)["scale"]
    assert params["factor"] == 3.0 and params["names"] == ["a"] and params["skip"] is False
    assert src.read_bytes() == before  # the input file is untouched
    assert not list(toy.folder.glob("*_scale.fits"))  # save_results is off by default


def test_run_on_model_and_timing_log(toy, caplog):
    caplog.set_level("INFO", logger="webbcal")
    model = toys.ToyModel((2.0,), {"exposure": {"type": "NRC_IMAGE"}})
    step = toys.ScaleStep(factor=1.5)
    assert step.run(model) is model
    assert model.data[0] == 3.0
    assert step.config.params.factor == 1.5
    assert "scale: complete in" in caplog.text


def test_save_results_names_and_output_dir(toy, tmp_path):
    src = toy.exposure("jw01_nrca1_rate.fits")
    step = toys.ScaleStep(save_results=True, output_dir=str(tmp_path / "out"))
    step.run(src)
    out = tmp_path / "out" / "jw01_nrca1_scale.fits"
    assert step.output_paths == [out.resolve()]
    assert read(out).meta.cal_step.scale == "COMPLETE"
    assert not list((tmp_path / "out").glob(".webbcal-*"))  # staging removed


def test_output_file_and_suffix(toy):
    src = toy.exposure()
    toys.ScaleStep.call(src, save_results=True, output_dir=str(toy.folder), suffix="cal")
    assert (toy.folder / "jw01_nrca1_cal.fits").is_file()
    toys.ScaleStep.call(src, save_results=True, output_dir=str(toy.folder), output_file="mine.fits")
    assert (toy.folder / "mine.fits").is_file()


def test_never_overwrites_input(toy):
    src = toy.exposure("jw01_nrca1_scale.fits")
    before = src.read_bytes()
    with pytest.raises(StepError, match="refusing to overwrite an input file"):
        toys.ScaleStep.call(src, save_results=True, output_dir=str(toy.folder))
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    ("kwargs", "meta", "reason"),
    [
        ({"skip": True}, {}, "skip=True"),
        ({}, {"exposure": {"type": "NRC_DARK"}}, "exposure is a dark"),
    ],
)
def test_skips_are_recorded(toy, caplog, kwargs, meta, reason):
    caplog.set_level("INFO", logger="webbcal")
    model = toys.ToyModel((1.0,), meta)
    out = toys.ShiftStep.call(model, **kwargs)
    assert out.data[0] == 1.0
    assert out.meta.cal_step.shift_cal == "SKIPPED"  # declared cal_step key
    assert reason in caplog.text


def test_missing_reference_skips(toy, caplog):
    caplog.set_level("INFO", logger="webbcal")
    toy.refs.files["gain"] = None
    model = toys.ScaleStep.call(toys.ToyModel((1.0,)))
    assert model.meta.cal_step.scale == "SKIPPED"
    assert model.data[0] == 1.0
    assert "no gain reference applies" in caplog.text
    assert model.meta.ref_file.gain.name is None


def test_reference_override_and_na(toy, tmp_path):
    other = toys.write_model(tmp_path / "my_gain.fits", (10.0,))
    model = toys.ScaleStep.call(toys.ToyModel((1.0,)), override_gain=str(other), factor=1)
    assert model.data[0] == 10.0
    assert model.meta.ref_file.gain.name == str(other)
    skipped = toys.ScaleStep.call(toys.ToyModel((1.0,)), override_gain="N/A")
    assert skipped.meta.cal_step.scale == "SKIPPED"
    with pytest.raises(ReferenceFileError, match="override_gain"):
        toys.ScaleStep.call(toys.ToyModel((1.0,)), override_gain=str(tmp_path / "nope.fits"))


def test_injected_resolver(toy, tmp_path):
    gain = toys.write_model(tmp_path / "g.fits", (5.0,))
    calls = []

    def resolver(reftype, model):
        calls.append(reftype)
        return gain if reftype == "gain" else None

    model = toys.ScaleStep.call(toys.ToyModel((1.0,)), resolver=resolver, factor=1)
    assert model.data[0] == 5.0
    assert calls == ["pars-scalestep", "gain", "area"]
    assert toy.refs.calls == []


def test_pars_reference_used(toy):
    toy.refs.set_pars("pars-scalestep", "class: jwst.x.ScaleStep\nparameters:\n  factor: 10\n")
    model = toys.ScaleStep.call(toys.ToyModel((1.0,)))
    assert model.data[0] == 10.0
    model = toys.ScaleStep.call(toys.ToyModel((1.0,)), factor=1)
    assert model.data[0] == 1.0


def test_several_products_and_skipped_result(toy):
    src = toy.exposure(data=(1.0, 2.0, 3.0, 4.0))
    step = toys.SplitStep(save_results=True, output_dir=str(toy.folder))
    result = step.run(src)
    assert isinstance(result, toys.SplitResult)
    assert result.low.meta.cal_step.split == "COMPLETE"
    assert sorted(p.name for p in step.output_paths) == [
        "jw01_nrca1_high.fits",
        "jw01_nrca1_split.fits",
    ]
    skipped = toys.SplitStep.call(toys.ToyModel((1.0,)), skip=True)
    assert isinstance(skipped, toys.SplitResult)
    assert skipped.high is None and skipped.main.meta.cal_step.split == "SKIPPED"


def test_input_errors(toy, tmp_path):
    with pytest.raises(InputError, match="input file not found"):
        toys.ScaleStep.call(tmp_path / "missing_uncal.fits")
    with pytest.raises(InputError, match="cannot run on a int"):
        toys.ScaleStep.call(3)


def test_association_runs_each_science_member(toy):
    for name in ("a_rate.fits", "b_rate.fits", "bg_rate.fits"):
        toy.exposure(name)
    asn = {
        "asn_type": "image2",
        "asn_rule": "DMSLevel2bBase",
        "products": [
            {
                "name": "a",
                "members": [
                    {"expname": "a_rate.fits", "exptype": "science"},
                    {"expname": "bg_rate.fits", "exptype": "background"},
                ],
            },
            {"name": "b", "members": [{"expname": "b_rate.fits", "exptype": "science"}]},
        ],
    }
    path = toy.folder / "l2_asn.json"
    path.write_text(json.dumps(asn))
    step = toys.ShiftStep(save_results=True, output_dir=str(toy.folder / "out"))
    results = step.run(path)
    assert [r.data[0] for r in results] == [2.0, 2.0]
    assert sorted(p.name for p in step.output_paths) == ["a_shift.fits", "b_shift.fits"]


def test_association_step_names_products(toy):
    for name in ("x1_cal.fits", "x2_cal.fits"):
        toy.exposure(name, data=(1.0,))
    asn = {
        "asn_type": "image3",
        "asn_id": "c3001",
        "products": [
            {
                "name": "jw99009-a3001_t001_nircam_f090w",
                "members": [
                    {
                        "expname": "x1_cal.fits",
                        "exptype": "science",
                        "exposerr": None,
                        "asn_candidate": "[('o001', 'observation')]",
                    },
                    {"expname": "x2_cal.fits", "exptype": "science"},
                ],
            }
        ],
    }
    path = toy.folder / "l3_asn.json"
    path.write_text(json.dumps(asn))
    step = toys.CombineStep(save_results=True, output_dir=str(toy.folder / "out"))
    result = step.run(path)
    assert result.combined.data[0] == 2.0
    assert sorted(p.name for p in step.output_paths) == [
        "jw99009-a3001_t001_nircam_f090w_i2d.fits",
        "x1_o001_crf.fits",
        "x2_c3001_crf.fits",
    ]


def test_failed_run_writes_nothing(toy):
    src = toy.exposure()
    out = toy.folder / "out"
    with pytest.raises(StepError, match="on purpose"):
        toys.ToyPipeline.call(
            src,
            save_results=True,
            save_scaled=True,
            output_dir=str(out),
            steps={"shift": {"fail": True}},
        )
    assert not out.exists() or not any(out.iterdir())
