import json

import pytest

from core import toys
from webbcal.cli import main
from webbcal.core import registry
from webbcal.core.provenance import recorded_parameters


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Toy models and steps in a private registry; references from a fake resolver."""
    toys.install(monkeypatch)
    (tmp_path / "refs").mkdir()
    fake = toys.FakeRefs(tmp_path / "refs")
    monkeypatch.setattr("webbcal.core.references.best_reference", fake)
    monkeypatch.chdir(tmp_path)
    src = toys.write_model(tmp_path / "jw01_nrca1_uncal.fits", (1.0, 2.0))
    with registry.use(toys.toy_registry()):
        yield tmp_path, src


def one_error_line(capsys):
    """The error is one line, the last on stderr (log lines may precede it)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert [line for line in err if line.startswith("webbcal: error: ")] == err[-1:], err
    return err[-1]


def test_list(env, capsys):
    assert main(["run", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.index("Pipelines:") < out.index("calwebb_toy") < out.index("Steps:")
    assert "scale" in out and "Multiply the data by a gain-weighted factor" in out
    assert "ShiftStep" in out and "Add a constant" in out


def test_cli_and_python_give_identical_products(env):
    folder, src = env
    assert (
        main(
            ["-q", "run", "scale", str(src), "--factor=3", "--names", "x,y", "--output_dir", "out"]
        )
        == 0
    )
    cli = toys.ToyModel.read(folder / "out" / "jw01_nrca1_scale.fits")
    toys.ScaleStep.call(str(src), factor=3, names=("x", "y"), output_dir="out", save_results=True)
    py = toys.ToyModel.read(folder / "out" / "jw01_nrca1_scale.fits")
    assert cli.data.tolist() == py.data.tolist() == [3.0, 6.0]
    assert recorded_parameters(cli) == recorded_parameters(py)
    assert cli.meta.to_dict() == py.meta.to_dict()


def test_pipeline_steps_options_and_dash_names(env):
    folder, src = env
    assert (
        main(
            [
                "-q",
                "run",
                "ToyPipeline",
                str(src),
                "--steps.scale.factor=5",
                "--steps.shift.shift",
                "0",
                "--output-dir=res",
                "--save_scaled",
            ]
        )
        == 0
    )
    out = toys.ToyModel.read(folder / "res" / "jw01_nrca1_toyout.fits")
    assert out.data.tolist() == [5.0, 10.0]
    assert (folder / "res" / "jw01_nrca1_scaled.fits").is_file()
    params = recorded_parameters(out)
    assert params["scale"]["factor"] == 5.0 and params["calwebb_toy"]["save_scaled"] is True


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--factr=3"], "unknown parameter 'factr'"),
        (["--factor=big"], "parameter 'factor' expects a number, got 'big'"),
        (["--mode=medium"], "parameter 'mode' expects one of 'fast', 'slow', got 'medium'"),
        (["--steps.x.y=1"], "bad option|unknown"),
        (["-x"], "unknown option '-x'"),
    ],
)
def test_bad_parameters_exit_2_with_one_line(env, capsys, args, match):
    folder, src = env
    assert main(["run", "scale", str(src), "--output_dir=out", *args]) == 2
    line = one_error_line(capsys)
    assert __import__("re").search(match, line), line
    assert not (folder / "out").exists()


def test_usage_errors(env, capsys):
    assert main(["run", "nosuch", "x.fits"]) == 2
    assert "no step or pipeline is called 'nosuch'" in one_error_line(capsys)
    assert main(["run", "scale"]) == 2
    assert "missing the input file" in one_error_line(capsys)
    assert main(["run"]) == 2
    one_error_line(capsys)


def test_failure_exit_1_and_nothing_written(env, capsys):
    folder, src = env
    code = main(
        [
            "run",
            "calwebb_toy",
            str(src),
            "--steps.shift.fail=true",
            "--save_scaled=yes",
            "--output_dir=out",
        ]
    )
    assert code == 1
    assert "shift failed on purpose" in one_error_line(capsys)
    assert not list((folder / "out").iterdir())


def test_missing_input_exit_1(env, capsys):
    assert main(["run", "scale", "nope_uncal.fits"]) == 1
    assert "nope_uncal.fits: input file not found" in one_error_line(capsys)


def test_save_parameters_then_config(env):
    folder, src = env
    assert (
        main(
            [
                "-q",
                "run",
                "calwebb_toy",
                str(src),
                "--steps.scale.factor=4",
                "--output_dir=a",
                "--save-parameters",
                "saved.asdf",
            ]
        )
        == 0
    )
    first = toys.ToyModel.read(folder / "a" / "jw01_nrca1_toyout.fits")
    # the saved file, as --config and as the target, reproduces the run
    assert main(["-q", "run", "calwebb_toy", str(src), "--config", "saved.asdf"]) == 0
    again = toys.ToyModel.read(folder / "a" / "jw01_nrca1_toyout.fits")
    assert again.data.tolist() == first.data.tolist()
    assert main(["-q", "run", "saved.asdf", str(src)]) == 0
    assert recorded_parameters(toys.ToyModel.read(folder / "a" / "jw01_nrca1_toyout.fits")) == (
        recorded_parameters(first)
    )


def test_step_help(env, capsys):
    assert main(["run", "scale", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--factor=2.0  [a number]  Multiply the data by this" in out
    assert "--override_gain" in out


def test_info(env, capsys):
    _, src = env
    assert main(["info", str(src)]) == 0
    out = capsys.readouterr().out
    assert "NRC_IMAGE" in out
    assert "1: calwebb_detector1  2: calwebb_image2  3: calwebb_image3" in out


def test_asn_from_list_and_check(env, capsys):
    folder, _ = env
    (folder / "data").mkdir()
    for name in ("a_cal.fits", "b_cal.fits"):
        (folder / "data" / name).write_text("x")
    assert (
        main(
            [
                "asn",
                "from-list",
                "-o",
                "data/l3_asn.json",
                "--product-name",
                "mosaic",
                "data/a_cal.fits",
                "data/b_cal.fits",
            ]
        )
        == 0
    )
    data = json.loads((folder / "data" / "l3_asn.json").read_text())
    assert [m["expname"] for m in data["products"][0]["members"]] == ["a_cal.fits", "b_cal.fits"]
    assert data["products"][0]["name"] == "mosaic"
    assert (
        main(["asn", "from-list", "-o", "l2_asn.json", "-r", "DMSLevel2bBase", "data/a_cal.fits"])
        == 0
    )
    data = json.loads((folder / "l2_asn.json").read_text())
    assert data["products"] == [
        {"name": "a", "members": [{"expname": "data/a_cal.fits", "exptype": "science"}]}
    ]
    assert main(["asn", "check", "data/l3_asn.json"]) == 0
    capsys.readouterr()
    assert main(["asn", "from-list", "-o", "x.json", "data/a_cal.fits"]) == 1
    assert "needs a product name" in one_error_line(capsys)
    assert main(["info", "data/l3_asn.json"]) == 0
    assert "product mosaic" in capsys.readouterr().out


def test_log_file_and_verbosity(env, capsys):
    folder, src = env
    assert main(["--log-file", "run.log", "run", "scale", str(src), "--output_dir=o"]) == 0
    log = (folder / "run.log").read_text()
    assert "scale: complete in" in log and "Saved" in log
    assert "scale: running" in capsys.readouterr().err
    assert main(["-q", "run", "scale", str(src), "--output_dir=o"]) == 0
    assert capsys.readouterr().err == ""


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: webbcal" in capsys.readouterr().err
