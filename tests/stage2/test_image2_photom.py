"""photom: the conversion to MJy/sr, the variances, AREA and the pixel-area keywords."""

from __future__ import annotations

import numpy as np
import pytest

from webbcal import datamodels as dm
from webbcal.errors import ReferenceFileError
from webbcal.refs import best_reference
from webbcal.steps.photom import MJYSR_TO_UJYA2, PhotomStep, find_photom_row

from .image2_factories import rate_model, simulate


@pytest.fixture(scope="module")
def nircam_sub():
    return simulate("NIRCAM", "NRCA1", "SUB160")


def _with_flat_variance(model):
    model.var_flat = np.full(model.shape, 0.25, np.float32)
    return model


def test_photom_multiplies_by_photmjsr(nircam_sub):
    model = _with_flat_variance(rate_model(nircam_sub))
    before = {n: np.array(getattr(model, n), dtype=np.float64)
              for n in ("data", "err", "var_poisson", "var_rnoise", "var_flat")}  # fmt: skip
    out = PhotomStep.call(model)
    assert out.meta.cal_step.photom == "COMPLETE"
    c = out.meta.photometry.conversion_megajanskys
    with dm.open(best_reference("photom", out)) as ref:
        expected = find_photom_row(ref.phot_table, out).photmjsr
    assert c == pytest.approx(expected)
    assert c == pytest.approx(nircam_sub.photmjsr, rel=1e-6)  # what the simulator used
    np.testing.assert_allclose(out.data, before["data"] * c, rtol=1e-6)
    np.testing.assert_allclose(out.err, before["err"] * c, rtol=1e-6)
    for name in ("var_poisson", "var_rnoise", "var_flat"):
        np.testing.assert_allclose(getattr(out, name), before[name] * c**2, rtol=1e-6)
    assert out.meta.photometry.conversion_microjanskys == pytest.approx(c * MJYSR_TO_UJYA2)
    assert pytest.approx(23.5044305, rel=1e-8) == MJYSR_TO_UJYA2
    assert out.meta.bunit_data == "MJy/sr" and out.meta.bunit_err == "MJy/sr"


def test_area_is_cut_out_for_subarrays(nircam_sub):
    out = PhotomStep.call(rate_model(nircam_sub))
    path = best_reference("area", out)
    with dm.open(path) as ref:
        x0, y0 = out.meta.subarray.xstart - 1, out.meta.subarray.ystart - 1
        np.testing.assert_array_equal(out.area, ref.data[y0 : y0 + 160, x0 : x0 + 160])
        assert out.meta.photometry.pixelarea_steradians == pytest.approx(
            ref.meta.photometry.pixelarea_steradians
        )
        assert out.meta.photometry.pixelarea_arcsecsq == pytest.approx(
            ref.meta.photometry.pixelarea_arcsecsq
        )
    assert out.meta.photometry.pixelarea_steradians == pytest.approx(nircam_sub.pixar_sr)


def test_pixel_areas_from_photom_without_area_reference(nircam_sub):
    out = PhotomStep.call(rate_model(nircam_sub), override_area="N/A")
    assert not out.has("area")
    assert out.meta.photometry.pixelarea_steradians == pytest.approx(nircam_sub.pixar_sr)
    assert out.meta.ref_file.area.name == "N/A"


def test_cube_and_miri_rows():
    truth = simulate("MIRI", "MIRIMAGE", "SUB128", filter="F1000W")
    cube = rate_model(truth, nints=3)
    out = PhotomStep.call(cube)
    ny, nx = truth.truth_rate.shape
    assert out.data.shape == (3, ny, nx) and out.area.shape == (ny, nx)
    assert out.meta.photometry.conversion_megajanskys == pytest.approx(truth.photmjsr, rel=1e-6)


def test_no_matching_row_names_the_filter(nircam_sub):
    model = rate_model(nircam_sub)
    with dm.open(best_reference("photom", model)) as ref:
        model.meta.instrument.filter = "F999W"
        with pytest.raises(ReferenceFileError, match="FILTER=F999W"):
            find_photom_row(ref.phot_table, model)


def test_non_imaging_is_skipped(nircam_sub):
    model = rate_model(nircam_sub)
    model.meta.exposure.type = "NRC_WFSS"
    out = PhotomStep.call(model)
    assert out.meta.cal_step.photom == "SKIPPED"
    assert out.meta.bunit_data == "DN/s"
