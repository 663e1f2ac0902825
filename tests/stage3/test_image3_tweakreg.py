"""tweakreg: relative and absolute alignment of dithers with injected pointing errors."""

from __future__ import annotations

import numpy as np
import pytest

from webbcal.errors import ParameterError
from webbcal.kernels.starfind import star_kernel
from webbcal.steps.tweakreg import TweakRegStep

#: Matching options for the small synthetic fields (8" across, dense).
MATCH = {"separation": 0.5, "tolerance": 0.2}


def _offsets_mas(model, true_wcs):
    """Mean (dRA cos dec, dDec) [mas] of the model's WCS against the true one, on a grid."""
    x, y = np.meshgrid(np.linspace(10, 245, 6), np.linspace(10, 245, 6))
    ra, dec = model.meta.wcs(x, y)
    rt, dt = true_wcs(x, y)
    dra = (ra - rt) * np.cos(np.radians(dec)) * 3.6e6
    dde = (dec - dt) * 3.6e6
    return np.array([dra.mean(), dde.mean()]), float(np.hypot(dra.std(), dde.std()))


def test_star_kernel_matches_the_daofind_definition():
    k = star_kernel(2.5, 1.5)
    assert k.data.shape == (5, 5)
    assert abs(k.data.sum()) < 1e-12  # zero-sum density enhancement
    assert k.mask[2, 2] and k.mask[0, 2] and not k.mask[0, 0]


def test_relative_alignment_removes_pointing_errors(dither_factory):
    d = dither_factory()
    before = [_offsets_mas(m, t)[0] for m, t in zip(d.models, d.true_wcs)]
    assert max(np.hypot(*(b - before[0])) for b in before) > 300  # 0.05-0.5" errors
    models = TweakRegStep.call(d.models, **MATCH)
    after = [_offsets_mas(m, t) for m, t in zip(models, d.true_wcs)]
    reference = after[0][0]
    for k, (offset, spread) in enumerate(after):
        assert np.hypot(*(offset - reference)) < 3.0, f"exposure {k} off by {offset - reference}"
        assert spread < 3.0
    fits = [m.meta.webbcal.to_dict()["tweakreg"]["relative"] for m in models]
    assert [f["status"] for f in fits].count("REFERENCE") == 1
    for m, fit in zip(models, fits):
        if fit["status"] == "REFERENCE":
            continue
        assert fit["status"] == "SUCCESS" and fit["applied"]
        assert fit["nmatches"] >= 15
        assert fit["rms_mas"] <= 5.0
        assert "v2v3corr" in m.meta.wcs.available_frames
        assert m.meta.cal_step.tweakreg == "COMPLETE"
        assert m.meta.wcsinfo.ctype1 == "RA---TAN-SIP"


def test_absolute_alignment_to_a_reference_catalog(dither_factory, tmp_path):
    d = dither_factory()
    refcat = tmp_path / "refcat.ecsv"
    d.stars[d.stars["flux"] > 8]["ra", "dec"].write(refcat)
    models = TweakRegStep.call(d.models, abs_refcat=str(refcat), abs_separation=0.3,
                               abs_tolerance=0.2, **MATCH)  # fmt: skip
    for m, t in zip(models, d.true_wcs):
        offset, spread = _offsets_mas(m, t)
        assert np.hypot(*offset) < 5.0 and spread < 3.0
        assert m.meta.webbcal.to_dict()["tweakreg"]["absolute"]["applied"]


def test_refused_fit_leaves_the_wcs_untouched(dither_factory, caplog):
    d = dither_factory()
    before = [m.meta.wcs for m in d.models]
    models = TweakRegStep.call(d.models, minobj=400, **MATCH)
    assert all(m.meta.wcs is w for m, w in zip(models, before))
    assert "WCS left unchanged" in caplog.text
    statuses = [m.meta.webbcal.to_dict()["tweakreg"]["relative"]["status"] for m in models]
    assert statuses.count("REFERENCE") == 1
    assert all(s.startswith(("FAILED", "REFUSED")) for s in statuses if s != "REFERENCE")


def test_network_catalogs_are_refused_before_any_work(dither_factory):
    d = dither_factory()
    with pytest.raises(ParameterError, match="ECSV file"):
        TweakRegStep.call(d.models, abs_refcat="GAIADR3")


def test_single_exposure_is_skipped(dither_factory):
    d = dither_factory()
    out = TweakRegStep.call(d.models[:1])
    assert out[0].meta.cal_step.tweakreg == "SKIPPED"


def test_saved_catalogs_and_corrected_wcs_round_trip(dither_factory, tmp_path):
    from stdatamodels.jwst import datamodels as sdm

    d = dither_factory()
    step = TweakRegStep(save_catalogs=True, output_dir=str(tmp_path), **MATCH)
    models = step.run(d.models)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "jw01234001001_01101_00001_nrca1_cal_cat.ecsv" in names
    assert models[0].meta.tweakreg_catalog == "jw01234001001_01101_00001_nrca1_cal_cat.ecsv"
    path = models[1].save(tmp_path / "aligned.fits")
    with sdm.ImageModel(path) as official:
        x, y = np.array([10.0, 200.0]), np.array([30.0, 150.0])
        ra0, dec0 = models[1].meta.wcs(x, y)
        ra1, dec1 = official.meta.wcs(x, y)
        assert np.allclose(ra0, ra1, rtol=0, atol=1e-10) and np.allclose(dec0, dec1, atol=1e-10)
