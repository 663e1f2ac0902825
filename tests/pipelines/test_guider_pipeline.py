"""calwebb_guider: FGS guiding modes, on factory exposures and the real FGS headers."""

from __future__ import annotations

import numpy as np
import pytest

from steps.factories import isolated_cli_logging, ramp
from webbcal import datamodels as dm
from webbcal.cli import main as cli_main
from webbcal.datamodels import dqflags
from webbcal.errors import WebbcalError
from webbcal.pipelines.calwebb_guider import GuiderPipeline
from webbcal.pipelines.routing import pipelines_for_model


@pytest.fixture
def cli_logging():
    """Isolate the CLI's logging set-up (see ``steps.factories.isolated_cli_logging``)."""
    with isolated_cli_logging():
        yield


REAL_FGS = ("fgs_acq1_guider1.fits", "fgs_id-image_guider1.fits", "fgs_track_guider1.fits")


def _guider(exp_type: str, nints: int, ngroups: int, rate: float = 400.0):
    model = ramp(raw=True, nints=nints, ngroups=ngroups, shape=(32, 32), rate=rate,
                 instrument="FGS", detector="GUIDER1", exp_type=exp_type, readpatt="TRACK",
                 frame_time=0.0125, noise=True)  # fmt: skip
    sub = model.meta.subarray
    sub.name, sub.xstart, sub.ystart, sub.xsize, sub.ysize = "SUB32CNTR", 1009, 1009, 32, 32
    model.meta.exposure.noutputs = 1
    return model


def test_track_mode(tmp_path):
    model = _guider("FGS_TRACK", nints=4, ngroups=2)
    pipe = GuiderPipeline(save_results=True, output_dir=str(tmp_path))
    cal = pipe.run(model)
    assert isinstance(cal, dm.GuiderCalModel)
    assert cal.data.shape == (4, 32, 32)
    steps = cal.meta.cal_step
    assert steps.dq_init == steps.guider_cds == steps.flat_field == "COMPLETE"
    assert cal.meta.bunit_data == "DN/s"
    good = (cal.dq & dqflags.DO_NOT_USE) == 0
    # the rate was divided by the flat: compare rate * flat with the input rate
    from webbcal.refs import best_reference

    with dm.open(best_reference("flat", cal)) as flat:
        from webbcal.refs import cutout

        f = cutout(flat.data, cal, flat)
    recovered = np.median((cal.data * f)[:, good])
    assert recovered == pytest.approx(400.0, rel=0.01)
    assert (cal.err[:, good] > 0).all()
    assert [p.name for p in pipe.output_paths] == [
        "jw01000001001_01101_00001_nrca1_cal.fits"
    ]


def test_id_mode_gives_one_image(tmp_path):
    cal = GuiderPipeline.call(_guider("FGS_ID-IMAGE", nints=2, ngroups=2))
    assert cal.data.shape == (1, 32, 32)


def test_not_a_guiding_mode_is_refused():
    model = _guider("FGS_IMAGE", nints=1, ngroups=2)
    with pytest.raises(WebbcalError, match="FGS guiding modes"):
        GuiderPipeline.call(model)


@pytest.mark.parametrize("name", REAL_FGS)
def test_real_fgs_files_route_and_stop_cleanly(real_headers_dir, name, tmp_path, capsys,
                                                cli_logging):
    path = real_headers_dir / name
    with dm.open(path) as model:
        assert pipelines_for_model(model)[0] == "calwebb_guider"
    try:
        GuiderPipeline.call(str(path), save_results=True, output_dir=str(tmp_path))
    except WebbcalError as exc:
        assert "1x1" in str(exc) or "group" in str(exc)
    code = cli_main(["run", "calwebb_guider", str(path), "--output_dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code in (0, 1)
    assert "Traceback" not in err
    if code == 1:
        assert "webbcal: error:" in err
