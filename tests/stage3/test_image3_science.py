"""Slow science checks of Stage 3 imaging on the simulator's exposures (real WCS chain)."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from webbcal.datamodels import dqflags
from webbcal.pipelines.calwebb_image3 import Image3Pipeline

from .image3_factories import simulate_dither

pytestmark = pytest.mark.slow

SKY = (0.0, 0.5, -0.25, 1.0)


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    d = simulate_dither(cosmic_rays=40, sky_offsets=SKY, ngroups=10)
    work = tmp_path_factory.mktemp("science")
    refcat = work / "refcat.ecsv"
    scene = d.scene_table
    scene[scene["flux"] > 20]["ra", "dec"].write(refcat)
    result = Image3Pipeline.call(
        d.models,
        steps={
            "tweakreg": {"separation": 0.5, "tolerance": 0.3, "abs_refcat": str(refcat),
                         "abs_separation": 0.3, "abs_tolerance": 0.3, "abs_minobj": 10},
            "skymatch": {"skystat": "median"},
            "source_catalog": {"npixels": 5, "deblend": True},
        },
    )  # fmt: skip
    return d, result


def test_alignment_residuals_and_positions(processed):
    d, result = processed
    for m, truth in zip(result.crf, d.truths):
        fits = m.meta.webbcal.to_dict()["tweakreg"]
        if fits["relative"]["status"] != "REFERENCE":
            assert fits["relative"]["rms_mas"] <= 5.0 and fits["relative"]["nmatches"] >= 15
        ra, dec = m.meta.wcs(np.asarray(truth.catalog["x"]), np.asarray(truth.catalog["y"]),
                             with_bounding_box=False)  # fmt: skip
        dra = (ra - truth.catalog["ra"]) * np.cos(np.radians(dec)) * 3.6e6
        ddec = (dec - truth.catalog["dec"]) * 3.6e6
        assert np.hypot(np.mean(dra), np.mean(ddec)) < 10.0


def test_sky_offsets_and_cosmic_rays(processed):
    d, result = processed
    levels = np.array([m.meta.background.level for m in result.crf])
    expected = np.array(SKY) - min(SKY)
    assert np.abs(levels - expected).max() <= 0.01 * expected.max()
    for k, (m, (ys, xs)) in enumerate(zip(result.crf, d.cosmic_rays)):
        ra, dec = m.meta.wcs(xs.astype(float), ys.astype(float))
        cover = sum(((x > 3) & (x < o.shape[1] - 4) & (y > 3) & (y < o.shape[0] - 4))
                    for o in result.crf for x, y in [o.meta.wcs.invert(ra, dec)])  # fmt: skip
        sel = cover >= 3
        flagged = (m.dq[ys[sel], xs[sel]] & dqflags.OUTLIER) != 0
        assert flagged.mean() >= 0.95, f"exposure {k}: {flagged.mean():.3f}"


def test_mosaic_catalog_positions(processed):
    d, result = processed
    cat = result.catalog.table
    truth = SkyCoord(d.scene_table["ra"] * u.deg, d.scene_table["dec"] * u.deg)
    idx, sep, _ = cat["sky_centroid"].match_to_catalog_sky(truth)
    good = (sep < 40 * u.mas) & (cat["aper_total_flux"] / cat["aper_total_flux_err"] > 20)
    assert good.sum() > 30
    offsets = cat["sky_centroid"][good].spherical_offsets_to(truth[idx[good]])
    dra, ddec = offsets[0].to_value(u.mas), offsets[1].to_value(u.mas)
    assert abs(np.median(dra)) < 10 and abs(np.median(ddec)) < 10


def test_stage1_to_stage3_chain(tmp_path):
    """uncal -> calwebb_detector1 -> calwebb_image2 -> calwebb_image3, files only."""
    from webbcal.pipelines.calwebb_detector1 import Detector1Pipeline
    from webbcal.pipelines.calwebb_image2 import Image2Pipeline
    from webbcal.sim import ExposureConfig, ObservationConfig, SceneConfig, simulate_observation

    exposure = ExposureConfig(subarray="SUB320", ngroups=6, output_dir=str(tmp_path),
                              scene=SceneConfig(star_density=3000.0,
                                                star_flux_range=(5.0, 500.0)))  # fmt: skip
    config = ObservationConfig(exposure=exposure, exposures=4, dither_size=2.0,
                               pointing_error_sigma=0.2)  # fmt: skip
    obs = simulate_observation(config)
    for truth in obs.exposures:
        Detector1Pipeline.call(str(truth.files["uncal"]), save_results=True,
                               output_dir=str(tmp_path))  # fmt: skip
        rate = str(tmp_path / f"{truth.name}_rate.fits")
        Image2Pipeline.call(rate, save_results=True, output_dir=str(tmp_path),
                            steps={"resample": {"skip": True}})  # fmt: skip
    out = tmp_path / "stage3"
    steps = {"tweakreg": {"separation": 0.5, "tolerance": 0.3}}
    result = Image3Pipeline.call(str(obs.files["asn_image3"]), save_results=True,
                                 output_dir=str(out), steps=steps)  # fmt: skip
    names = {p.name for p in out.iterdir()}
    assert f"{obs.product_name}_i2d.fits" in names and f"{obs.product_name}_cat.ecsv" in names
    assert sum(n.endswith("_crf.fits") for n in names) == 4
    statuses = [m.meta.webbcal.to_dict()["tweakreg"]["relative"]["status"] for m in result.crf]
    assert statuses.count("SUCCESS") == 3
