"""calwebb_image3 end to end on a synthetic dither: products, names, layouts, catalog science."""

from __future__ import annotations

from types import SimpleNamespace

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from webbcal.associations import asn_from_list
from webbcal.catalog.segm import SegmentationMapModel
from webbcal.kernels.aperture import aperture_sums, disc_rectangle_area
from webbcal.pipelines.calwebb_image3 import Image3Pipeline
from webbcal.steps.resample import ResampleParams, resample_models
from webbcal.steps.source_catalog import SourceCatalogStep

from .synthetic import isolated, make_dither, measured_apcorr

PRODUCT = "jw01234-o001_t001_nircam_clear-f200w"

#: The official column list of the default (30/50/70 %) catalog, in order.
COLUMNS = [
    "label", "xcentroid", "ycentroid", "sky_centroid", "aper_bkg_flux", "aper_bkg_flux_err",
    "aper30_flux", "aper30_flux_err", "aper50_flux", "aper50_flux_err", "aper70_flux",
    "aper70_flux_err", "aper_total_flux", "aper_total_flux_err", "aper30_abmag",
    "aper30_abmag_err", "aper50_abmag", "aper50_abmag_err", "aper70_abmag", "aper70_abmag_err",
    "aper_total_abmag", "aper_total_abmag_err", "aper30_vegamag", "aper30_vegamag_err",
    "aper50_vegamag", "aper50_vegamag_err", "aper70_vegamag", "aper70_vegamag_err",
    "aper_total_vegamag", "aper_total_vegamag_err", "CI_50_30", "CI_70_50", "CI_70_30",
    "is_extended", "sharpness", "roundness", "nn_label", "nn_dist", "isophotal_flux",
    "isophotal_flux_err", "isophotal_abmag", "isophotal_abmag_err", "isophotal_vegamag",
    "isophotal_vegamag_err", "isophotal_area", "semimajor_sigma", "semiminor_sigma",
    "ellipticity", "orientation", "sky_orientation", "sky_bbox_ll", "sky_bbox_ul",
    "sky_bbox_lr", "sky_bbox_ur",
]  # fmt: skip

STEPS = {
    "tweakreg": {"separation": 0.5, "tolerance": 0.2, "abs_separation": 0.3,
                 "abs_tolerance": 0.2},
    "skymatch": {"skystat": "median"},
    "source_catalog": {"npixels": 5, "deblend": True},
}  # fmt: skip


@pytest.fixture(scope="module")
def run(dither_factory, tmp_path_factory):
    """The pipeline run on an association of the dither's _cal files, products saved."""
    d = dither_factory()
    work = tmp_path_factory.mktemp("image3")
    names = [m.save(work / m.meta.filename).name for m in d.models]
    refcat = work / "refcat.ecsv"
    d.stars[d.stars["flux"] > 8]["ra", "dec"].write(refcat)
    asn = asn_from_list(names, product_name=PRODUCT, acid="o001", asn_type="image3")
    asn_path = asn.write(work / "image3_asn.json")
    steps = {k: dict(v) for k, v in STEPS.items()}
    steps["tweakreg"]["abs_refcat"] = str(refcat)
    out = work / "out"
    result = Image3Pipeline.call(str(asn_path), save_results=True, output_dir=str(out),
                                 steps=steps)  # fmt: skip
    return SimpleNamespace(dither=d, result=result, out=out, asn=asn_path, steps=steps)


def test_products_and_names(run):
    result, out = run.result, run.out
    names = sorted(p.name for p in out.iterdir())
    expected = [f"{PRODUCT}_cat.ecsv", f"{PRODUCT}_i2d.fits", f"{PRODUCT}_segm.fits"] + [
        f"jw01234001001_01101_{k:05d}_nrca1_o001_crf.fits" for k in range(1, 5)
    ]
    assert names == sorted(expected)
    for step in ("tweakreg", "skymatch", "outlier_detection", "resample"):
        assert getattr(result.i2d.meta.cal_step, step) == "COMPLETE"
    assert result.i2d.meta.source_catalog == f"{PRODUCT}_cat.ecsv"


def test_products_open_with_the_official_models(run):
    from stdatamodels.jwst import datamodels as sdm

    out = run.out
    with sdm.open(out / f"{PRODUCT}_i2d.fits") as i2d:
        assert i2d.data.shape == i2d.wht.shape == i2d.err.shape
        assert i2d.meta.resample.pointings == 4
        assert i2d.meta.wcs is not None
    with sdm.SegmentationMapModel(out / f"{PRODUCT}_segm.fits") as segm:
        assert segm.data.dtype == np.uint32 and segm.data.max() > 50
    with sdm.ImageModel(out / "jw01234001001_01101_00002_nrca1_o001_crf.fits") as crf:
        assert crf.meta.cal_step.outlier_detection == "COMPLETE"
        assert crf.meta.background.level == pytest.approx(0.5, abs=0.01)  # 0.3 - (-0.2)
        assert "v2v3corr" in crf.meta.wcs.available_frames
    mine = SegmentationMapModel(out / f"{PRODUCT}_segm.fits")
    assert mine.data.dtype == np.uint32


def test_catalog_layout(run):
    out = run.out
    cat = QTable.read(out / f"{PRODUCT}_cat.ecsv")
    assert cat.colnames == COLUMNS
    assert isinstance(cat["sky_centroid"], SkyCoord)
    assert cat["aper_total_flux"].unit == u.Jy
    assert np.all(cat["aper_total_abmag"][cat["aper_total_flux"] > 0] < 40 * u.mag)


def test_catalog_against_truth(run, tmp_path):
    """Completeness, positions, aperture-corrected fluxes and their errors."""
    d, result = run.dither, run.result
    stars = d.stars
    # an APCORR describing this i2d's PSF: the noise-free exposures drizzled the same way
    clean = make_dither(noise=False, stars=stars)
    for m, aligned in zip(clean.models, result.crf):
        m.meta.wcs = aligned.meta.wcs
    i2d0 = resample_models(clean.models, ResampleParams())
    apcorr = measured_apcorr(i2d0, stars, d.models[0], tmp_path / "apcorr.fits")
    cat = SourceCatalogStep.call(
        result.i2d, override_apcorr=apcorr, npixels=5, deblend=True
    ).catalog.table
    truth = SkyCoord(stars["ra"] * u.deg, stars["dec"] * u.deg)
    x, y = result.i2d.meta.wcs.invert(truth.ra.deg, truth.dec.deg)
    ny, nx = result.i2d.shape
    wht = np.nan_to_num(result.i2d.wht)
    inside = np.isfinite(x) & (x > 12) & (x < nx - 12) & (y > 12) & (y < ny - 12)
    inside[inside] &= wht[np.rint(y[inside]).astype(int), np.rint(x[inside]).astype(int)] > 0
    # expected S/N of each star in the 70 % aperture, from the i2d's own error array
    flux_jy = np.asarray(stars["flux"]) * 1e-6
    to_jy = result.i2d.meta.photometry.pixelarea_steradians * 1e6
    _, var, _ = aperture_sums(np.zeros((ny, nx), np.float32), np.nan_to_num(result.i2d.err) * to_jy,
                              np.zeros((ny, nx), bool), np.where(inside, x, np.nan),
                              np.where(inside, y, np.nan), np.array([1.6]))  # fmt: skip
    snr = 0.7 * flux_jy / np.sqrt(var[:, 0])
    alone = isolated(np.nan_to_num(x, nan=-1e4), np.nan_to_num(y, nan=-1e4), flux_jy, 6.0)
    target = inside & alone & (snr > 10)
    _, sep, _ = truth.match_to_catalog_sky(cat["sky_centroid"])
    found = target & (sep < 40 * u.mas)
    assert target.sum() > 60
    assert found.sum() / target.sum() >= 0.95
    # positions
    m_idx, m_sep, _ = cat["sky_centroid"].match_to_catalog_sky(truth)
    good = (m_sep < 40 * u.mas) & alone[m_idx] & inside[m_idx]
    f = cat["aper_total_flux"].to_value(u.Jy)
    fe = cat["aper_total_flux_err"].to_value(u.Jy)
    good &= f / fe > 10
    offsets = cat["sky_centroid"][good].spherical_offsets_to(truth[m_idx[good]])
    dra, ddec = offsets[0].to_value(u.mas), offsets[1].to_value(u.mas)
    assert abs(np.median(dra)) < 10 and abs(np.median(ddec)) < 10
    assert np.percentile(np.hypot(dra, ddec), 90) < 10
    # fluxes and pulls (S/N 10-50: where the noise dominates the ~1 % PSF-phase scatter of
    # aperture photometry on undersampled, drizzled stars)
    ratio = f[good] / flux_jy[m_idx[good]]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.01)
    pulls = ((f - flux_jy[m_idx]) / fe)[good & (f / fe < 50)]
    assert pulls.size >= 30
    robust = 1.4826 * np.median(np.abs(pulls - np.median(pulls)))
    assert 0.8 < robust < 1.25
    assert abs(np.median(pulls)) < 0.3


def test_on_disk_mode_gives_the_same_products(run, tmp_path):
    from webbcal import datamodels as dm

    result, out = run.result, run.out
    disk = tmp_path / "disk"
    other = Image3Pipeline.call(str(run.asn), save_results=True, output_dir=str(disk),
                                steps=run.steps, in_memory=False)  # fmt: skip
    assert sorted(p.name for p in disk.iterdir()) == sorted(p.name for p in out.iterdir())
    assert np.array_equal(other.i2d.data, result.i2d.data, equal_nan=True)
    for path in disk.glob("*_crf.fits"):
        with dm.open(path) as a, dm.open(out / path.name) as b:
            assert np.array_equal(a.dq, b.dq) and np.array_equal(a.data, b.data)


def test_single_exposure_runs_resample_and_catalog_only(dither_factory, tmp_path):
    d = dither_factory()
    path = d.models[0].save(tmp_path / d.models[0].meta.filename)
    result = Image3Pipeline.call(str(path), steps={"source_catalog": {"npixels": 5}})
    i2d = result.i2d
    assert i2d.meta.cal_step.resample == "COMPLETE"
    for step in ("tweakreg", "skymatch", "outlier_detection"):
        assert getattr(i2d.meta.cal_step, step) == "SKIPPED"
    assert result.crf is None and len(result.catalog.table) > 20


def test_exact_disc_overlap():
    assert disc_rectangle_area(-5, 5, -5, 5, 2.0) == pytest.approx(np.pi * 4)
    assert disc_rectangle_area(0, 5, 0, 5, 2.0) == pytest.approx(np.pi)
    from photutils.geometry import circular_overlap_grid

    grid = circular_overlap_grid(-2.8, 2.2, -2.9, 2.1, 5, 5, 1.7, 1, 1)
    mine = np.array([[disc_rectangle_area(-2.8 + i, -1.8 + i, -2.9 + j, -1.9 + j, 1.7)
                      for i in range(5)] for j in range(5)])  # fmt: skip
    assert np.allclose(grid, mine, atol=1e-12)
