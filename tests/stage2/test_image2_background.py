"""background: sigma-clipped mean of the association's background exposures, subtracted."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.stats import sigma_clip

from webbcal import datamodels as dm
from webbcal.datamodels import dqflags
from webbcal.pipelines.calwebb_image2 import Image2Pipeline
from webbcal.steps.background import BackgroundStep, average_background

from .image2_factories import rate_model, simulate


def _image(value, err, dq=0, shape=(6, 7)):
    return dm.ImageModel(
        data=np.full(shape, value, np.float32),
        err=np.full(shape, err, np.float32),
        dq=np.full(shape, dq, np.uint32),
    )


def test_average_background_clips_and_propagates():
    values = [1.0, 1.1, 0.9, 1.05, 50.0]
    errs = [0.1, 0.2, 0.1, 0.3, 0.1]
    models = [_image(v, e, dq=(dqflags.HOT if i == 2 else 0)) for i, (v, e) in
              enumerate(zip(values, errs))]  # fmt: skip
    models[0].data[0, 0] = 1.02
    avg = average_background(models, sigma=1.5, maxiters=None)
    stack = np.stack([m.data for m in models]).astype(np.float64)
    clipped = sigma_clip(stack, sigma=1.5, maxiters=None, axis=0)
    np.testing.assert_allclose(avg.data, clipped.mean(axis=0), rtol=1e-6)
    keep = ~np.ma.getmaskarray(clipped)[:, 3, 3]
    assert not keep[4] and keep[:2].all()  # the 50 is rejected
    expect_err = np.sqrt(np.sum(np.square(errs)[keep])) / keep.sum()
    assert avg.err[3, 3] == pytest.approx(expect_err, rel=1e-6)
    assert np.all(avg.dq == dqflags.HOT)
    assert avg.count == 5


def test_average_of_rateints_backgrounds_uses_the_integration_mean():
    cube = dm.CubeModel(data=np.stack([np.full((4, 5), v, np.float32) for v in (1.0, 3.0)]),
                        err=np.full((2, 4, 5), 0.2, np.float32),
                        dq=np.zeros((2, 4, 5), np.uint32))  # fmt: skip
    avg = average_background([cube, _image(2.0, 0.1, shape=(4, 5))])
    np.testing.assert_allclose(avg.data, 2.0)
    expected = np.sqrt((np.sqrt(2 * 0.2**2) / 2) ** 2 + 0.1**2) / 2
    np.testing.assert_allclose(avg.err, expected, rtol=1e-6)


@pytest.fixture(scope="module")
def bkg_association(tmp_path_factory):
    """A science rate and two background rates of the same field, in a level-2 asn."""
    folder = tmp_path_factory.mktemp("bkg_asn")
    sci_truth = simulate("NIRCAM", "NRCA1", "SUB160", seed=11)
    names = {}
    for i, seed in enumerate((21, 22)):
        bkg = simulate("NIRCAM", "NRCA1", "SUB160", seed=seed, exposure=2 + i)
        model = rate_model(bkg, seed=seed)
        model.data += np.float32(0.5 + i)  # the background exposures differ by a pedestal
        names[f"bkg{i}"] = model.save(folder / model.meta.filename).name
    sci = rate_model(sci_truth, seed=3)
    names["sci"] = sci.save(folder / sci.meta.filename).name
    product = sci_truth.name
    asn = {
        "asn_type": "image2",
        "asn_rule": "DMSLevel2bBase",
        "asn_id": "o001",
        "products": [{
            "name": product,
            "members": [
                {"expname": names["sci"], "exptype": "science"},
                {"expname": names["bkg0"], "exptype": "background"},
                {"expname": names["bkg1"], "exptype": "background"},
            ],
        }],
    }  # fmt: skip
    path = folder / "jw00001-o001_image2_asn.json"
    path.write_text(json.dumps(asn))
    return path, folder, names


def test_background_subtraction_in_the_pipeline(bkg_association, tmp_path):
    asn, folder, names = bkg_association
    result = Image2Pipeline.call(str(asn), output_dir=str(tmp_path), save_results=True,
                                 save_bsub=True, steps={"resample": {"skip": True}})  # fmt: skip
    cal = result[0].cal if isinstance(result, list) else result.cal
    assert cal.meta.cal_step.bkg_subtract == "COMPLETE"
    bsub_path = tmp_path / names["sci"].replace("_rate", "_bsub")
    assert bsub_path.is_file()
    with (
        dm.open(folder / names["sci"]) as sci,
        dm.open(bsub_path) as bsub,
        dm.open(folder / names["bkg0"]) as b0,
        dm.open(folder / names["bkg1"]) as b1,
    ):
        mean = (b0.data.astype(np.float64) + b1.data) / 2.0  # two values are never clipped
        np.testing.assert_allclose(bsub.data, sci.data - mean, atol=2e-5)
        np.testing.assert_array_equal(bsub.err, sci.err)  # official: ERR unchanged
        np.testing.assert_array_equal(bsub.dq, sci.dq | b0.dq | b1.dq)
        assert bsub.meta.cal_step.bkg_subtract == "COMPLETE"
    assert (tmp_path / names["sci"].replace("_rate", "_cal")).is_file()


def test_single_exposure_skips_background():
    truth = simulate("NIRCAM", "NRCA1", "SUB160")
    out = BackgroundStep.call(rate_model(truth))
    assert out.meta.cal_step.bkg_subtract == "SKIPPED"
