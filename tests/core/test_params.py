from dataclasses import dataclass
from typing import Literal

import pytest

from core import toys
from webbcal.core.config_files import read_config, read_config_tree
from webbcal.core.params import (
    BARE_FLAG,
    Layer,
    check_layer,
    coerce,
    param,
    param_specs,
    resolve_config,
)
from webbcal.core.step import Step
from webbcal.errors import ParameterError


def c(value, tp):
    return coerce(value, tp, name="p", owner="TestStep")


@pytest.mark.parametrize(
    ("value", "tp", "expected"),
    [
        ("true", bool, True),
        ("Yes", bool, True),
        ("0", bool, False),
        ("no", bool, False),
        (False, bool, False),
        (BARE_FLAG, bool, True),
        ("5", int, 5),
        (-3, int, -3),
        ("2.5", float, 2.5),
        (3, float, 3.0),
        ("1e-3", float, 0.001),
        ("inf", float, float("inf")),
        ("text", str, "text"),
        ("none", str | None, None),
        ("None", int | None, None),
        (None, float | None, None),
        ("7", int | None, 7),
        ("7", float | int, 7.0),
        (7, int | float, 7),
        ("1,2,3", tuple[int, ...], (1, 2, 3)),
        ("[1.5, 2]", tuple[float, ...], (1.5, 2.0)),
        ([1, 2], list[int], [1, 2]),
        (["a", 2.0], tuple[str, float], ("a", 2.0)),
        ("slow", Literal["fast", "slow"], "slow"),
        ("2", Literal[1, 2], 2),
    ],
)
def test_coerce(value, tp, expected):
    assert c(value, tp) == expected
    assert type(c(value, tp)) is type(expected)


@pytest.mark.parametrize(
    ("value", "tp"),
    [
        ("maybe", bool),
        (2, bool),
        ("5.5", int),
        (True, int),
        (5.0, int),
        ("abc", float),
        (True, float),
        (3, str),
        ("medium", Literal["fast", "slow"]),
        ("1,x", tuple[int, ...]),
        ([1, 2, 3], tuple[int, int]),
        (None, int),
        (BARE_FLAG, int),
    ],
)
def test_coerce_rejects(value, tp):
    with pytest.raises(ParameterError) as err:
        c(value, tp)
    message = str(err.value)
    assert "TestStep" in message and "'p'" in message


def test_error_names_parameter_step_and_value():
    with pytest.raises(
        ParameterError, match=r"ScaleStep: parameter 'factor' expects a number, got 'big'"
    ):
        toys.ScaleStep(factor="big")
    with pytest.raises(ParameterError, match=r"ScaleStep: unknown parameter 'factr'"):
        toys.ScaleStep(factr=3)


def test_specs_include_common_and_overrides():
    specs = param_specs(toys.ScaleStep)
    assert list(specs)[:5] == ["factor", "offset", "mode", "names", "limit"]
    for name in (
        "skip",
        "save_results",
        "output_dir",
        "output_file",
        "suffix",
        "input_dir",
        "search_output_file",
        "override_gain",
        "override_area",
    ):
        assert name in specs
    assert all(spec.doc for spec in specs.values())


def test_params_must_be_frozen_dataclass():
    @dataclass
    class Loose:
        x: int = 1

    with pytest.raises(TypeError, match="frozen dataclass"):
        type("BadStep", (Step,), {"Params": Loose})


def test_params_cannot_shadow_common():
    @dataclass(frozen=True, kw_only=True)
    class Shadow:
        skip: bool = param(True, "x")

    bad = type("ShadowStep", (Step,), {"Params": Shadow})
    with pytest.raises(TypeError, match="redefines common"):
        param_specs(bad)


def _layer(source, strict=True, **values):
    return check_layer(toys.ScaleStep, Layer(source=source, parameters=values, strict=strict))


def test_precedence_four_levels():
    pars = Layer(
        source="pars", parameters={"factor": 3.0, "offset": 1, "mode": "slow"}, strict=False
    )
    user = _layer("user", offset=2, names=["x", "y"])
    kwargs = _layer("overrides", offset="5")
    config = resolve_config(toys.ScaleStep, [user, kwargs], pars=lambda cls: pars)
    p = config.params
    assert p.factor == 3.0  # pars over default
    assert p.mode == "slow"  # pars over default
    assert p.names == ("x", "y")  # user over default
    assert p.offset == 5  # overrides over user over pars
    assert p.limit is None  # default
    assert config.common.skip is False


def test_pars_file_unknown_name_warns_not_fails(caplog):
    pars = Layer(source="pars-scalestep x.asdf", parameters={"nonexistent": 1}, strict=False)
    config = resolve_config(toys.ScaleStep, [], pars=lambda cls: pars)
    assert config.params.factor == 2.0
    assert "nonexistent" in caplog.text


def test_official_common_parameters_are_accepted():
    layer = _layer("file", pre_hooks=[], post_hooks=[], output_ext=".fits", output_use_model=True)
    assert layer.parameters == {}


def test_pipeline_step_configuration_layers():
    pars = {
        toys.ToyPipeline: Layer("pars-toypipeline", steps={"scale": Layer("p", {"factor": 4})}),
        toys.ScaleStep: Layer("pars-scalestep", {"factor": 3, "offset": 9}),
    }
    user = check_layer(toys.ToyPipeline, Layer("user", steps={"scale": Layer("u", {"offset": 1})}))
    kw = check_layer(toys.ToyPipeline, Layer.from_overrides({"steps": {"shift": {"shift": "7"}}}))
    config = resolve_config(toys.ToyPipeline, [user, kw], pars=lambda cls: pars.get(cls))
    assert config.steps["scale"].params.factor == 4  # pipeline pars over step pars
    assert config.steps["scale"].params.offset == 1  # user over step pars
    assert config.steps["shift"].params.shift == 7.0
    assert config.steps["shift"].name == "shift"


def test_unknown_step_in_pipeline_config():
    with pytest.raises(ParameterError, match="unknown step 'jmp'"):
        toys.ToyPipeline(steps={"jmp": {"x": 1}})
    with pytest.raises(
        ParameterError, match=r"calwebb_toy.steps.scale: parameter 'factor'|ToyPipeline.steps.scale"
    ):
        toys.ToyPipeline(steps={"scale": {"factor": "x"}})


@pytest.mark.parametrize("ext", [".asdf", ".yaml"])
def test_save_parameters_round_trip(tmp_path, ext):
    layer = check_layer(
        toys.ToyPipeline,
        Layer.from_overrides(
            {
                "save_scaled": True,
                "output_dir": "out",
                "steps": {"scale": {"names": "p,q", "limit": 3}},
            }
        ),
    )
    config = resolve_config(toys.ToyPipeline, [layer])
    path = config.save(tmp_path / f"params{ext}")
    tree = read_config_tree(path)
    assert tree["class"] == "core.toys.ToyPipeline"
    assert tree["name"] == "calwebb_toy"
    assert [s["name"] for s in tree["steps"]] == ["scale", "shift"]
    again = resolve_config(toys.ToyPipeline, [check_layer(toys.ToyPipeline, read_config(path))])
    assert again == config
    assert again.steps["scale"].params.names == ("p", "q")


def test_config_file_for_another_class(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("class: jwst.pipeline.Detector1Pipeline\nparameters: {}\n")
    with pytest.raises(ParameterError, match="for Detector1Pipeline, not ScaleStep"):
        toys.ScaleStep(config_file=path)


def test_config_file_official_class_name_and_old_layout(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("class: jwst.scale.ScaleStep\nname: scale\nfactor: 6\n")
    step = toys.ScaleStep(config_file=path)
    assert step.resolve().params.factor == 6.0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[unclosed", "not a valid YAML"),
        ("- a list\n", "must hold a mapping"),
        ("class: X\nparameters: [1]\n", "'parameters' must be a mapping"),
    ],
)
def test_bad_config_files(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError, match=match):
        read_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ParameterError, match="parameter file not found"):
        toys.ScaleStep(config_file=tmp_path / "nope.asdf")
