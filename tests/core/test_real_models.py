"""The framework on real webbcal.datamodels products (not the toy double)."""

import numpy as np
import pytest

from core import toys
from webbcal import datamodels
from webbcal.cli import main
from webbcal.core import registry
from webbcal.core.provenance import recorded_parameters


@pytest.fixture
def rate(tmp_path, monkeypatch):
    monkeypatch.setattr("webbcal.core.references.best_reference", lambda reftype, model: None)
    monkeypatch.chdir(tmp_path)
    model = datamodels.ImageModel(data=np.arange(6, dtype="f4").reshape(2, 3))
    model.meta.exposure.type = "NRC_IMAGE"
    path = model.save(tmp_path / "jw01_nrca1_rate.fits")
    with registry.use(toys.toy_registry()):
        yield path


def test_cli_and_python_identical_on_fits(rate, tmp_path):
    before = rate.read_bytes()
    assert main(["-q", "run", "shift", str(rate), "--shift=2.5", "--output_dir=out"]) == 0
    with datamodels.open(tmp_path / "out" / "jw01_nrca1_shift.fits") as cli:
        cli_data, cli_meta = cli.data.copy(), cli.meta.to_dict()
    toys.ShiftStep.call(str(rate), shift=2.5, output_dir="out", save_results=True)
    with datamodels.open(tmp_path / "out" / "jw01_nrca1_shift.fits") as py:
        np.testing.assert_array_equal(py.data, cli_data)
        assert recorded_parameters(py) == recorded_parameters(cli)
        assert py.meta.cal_step.shift_cal == "COMPLETE"
        meta = py.meta.to_dict()
    for volatile in ("date",):
        meta.pop(volatile, None)
        cli_meta.pop(volatile, None)
    assert meta == cli_meta
    np.testing.assert_array_equal(cli_data, np.arange(6).reshape(2, 3) + 2.5)
    assert rate.read_bytes() == before


def test_skipped_result_type_on_real_model(rate):
    result = toys.SplitStep.call(str(rate), skip=True)
    assert isinstance(result.main, datamodels.ImageModel)
    assert result.main.meta.cal_step.split == "SKIPPED"


def test_info_on_real_headers(real_headers_dir, capsys):
    nircam = real_headers_dir / "jw01075001001_03105_00009_nrca2_uncal.fits"
    assert main(["info", str(nircam)]) == 0
    out = capsys.readouterr().out
    assert "NRCA2" in out and "Level1bModel" in out
    assert "1: calwebb_detector1" in out
    assert main(["info", str(real_headers_dir / "fgs_track_guider1.fits")]) == 0
    assert "1: calwebb_guider  2: N/A  3: N/A" in capsys.readouterr().out
