"""Simulated exposures: files, determinism, noise statistics, signal chain, geometry."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from scipy.ndimage import convolve

from webbcal.refs.embedded.properties import detector_properties, photom_conversion
from webbcal.sim import CosmicRayConfig, ExposureConfig, SceneConfig, simulate_exposure
from webbcal.sim.detector import invert_linearity

from .helpers import QUIET, WHITE, good_interior, linearize

BASE = ExposureConfig(subarray="SUB160", ngroups=6, readpatt="RAPID", seed=11)


def _group_times(truth) -> np.ndarray:
    kw = truth.keywords
    return kw["TFRAME"] * (np.arange(kw["NGROUPS"]) + 1.0)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same configuration simulated twice into two folders, plus another seed."""
    cfg = replace(
        BASE,
        scene=SceneConfig(star_density=3000.0, galaxy_density=3000.0),
        cosmic_rays=CosmicRayConfig(rate=300.0),
    )
    a = simulate_exposure(replace(cfg, output_dir=str(tmp_path_factory.mktemp("a"))))
    b = simulate_exposure(replace(cfg, output_dir=str(tmp_path_factory.mktemp("b"))))
    c = simulate_exposure(replace(cfg, seed=12, write=False))
    return a, b, c


def test_files_written_with_official_names(pair):
    a = pair[0]
    assert a.name == "jw00001001001_01101_00001_nrca1"
    assert set(a.files) == {"uncal", "truth_rate", "truth_cat", "truth_cr"}
    for path in a.files.values():
        assert path.exists() and path.name.startswith(a.name)
    assert len(a.catalog) > 5 and len(a.cosmic_rays) > 0


def test_same_seed_same_files(pair):
    a, b, c = pair
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    for role in ("truth_rate", "truth_cat", "truth_cr"):
        assert a.files[role].read_bytes() == b.files[role].read_bytes(), role
    with fits.open(a.files["uncal"]) as ha, fits.open(b.files["uncal"]) as hb:
        np.testing.assert_array_equal(ha["SCI"].data, hb["SCI"].data)
        for ext in ("PRIMARY", "SCI"):
            ka = {k: v for k, v in ha[ext].header.items() if k != "DATE"}
            kb = {k: v for k, v in hb[ext].header.items() if k != "DATE"}
            assert ka == kb


def test_official_datamodels_open_the_uncal(pair):
    sdm = pytest.importorskip("stdatamodels.jwst.datamodels")
    from stdatamodels.validate import ValidationWarning

    a = pair[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidationWarning)
        m = sdm.Level1bModel(str(a.files["uncal"]))
    with m:
        assert m.data.dtype == np.uint16 and m.data.shape == (1, 6, 160, 160)
        np.testing.assert_array_equal(m.data, a.data)
        assert m.meta.instrument.name == "NIRCAM" and m.meta.instrument.detector == "NRCA1"
        assert m.meta.exposure.type == "NRC_IMAGE"
        assert m.meta.exposure.ngroups == 6 and m.meta.exposure.nframes == 1
        assert m.meta.subarray.name == "SUB160" and m.meta.subarray.xstart == 1889
        assert m.meta.wcsinfo.roll_ref == pytest.approx(a.keywords["ROLL_REF"])
        assert m.meta.aperture.name == "NRCA1_SUB160"
        assert m.meta.visit.tsovisit is False
        assert len(m.int_times) == 1


def _chi2_of_slopes(truth):
    """Reduced chi-square of per-pixel OLS slopes against Poisson + read noise."""
    cfg = truth.config
    props = detector_properties(cfg.instrument, cfg.detector)
    x0, y0 = truth.keywords["SUBSTRT1"] - 1, truth.keywords["SUBSTRT2"] - 1
    ny, nx = truth.data.shape[-2:]
    sl = (slice(y0, y0 + ny), slice(x0, x0 + nx))
    lin = linearize(truth)[0]
    t = _group_times(truth)
    w = (t - t.mean()) / np.sum((t - t.mean()) ** 2)
    slope = np.tensordot(w, lin, axes=1)
    expected = truth.truth_rate + truth.dark_rate
    gain = props.gain[sl].astype(np.float64)
    k2 = props.ipc_kernel.astype(np.float64) ** 2
    shot = convolve(truth.ideal_rate * truth.flat, k2, mode="constant") + truth.dark_rate
    tmin = np.minimum.outer(t, t)
    var_p = (w @ tmin @ w) * shot / gain
    # read noise and quantisation happen on raw DN: scale by dL/dF at each group
    c = props.linearity[:, sl[0], sl[1]].astype(np.float64)
    f = truth.data[0].astype(np.float64) - props.superbias[sl]
    dldf = sum(i * c[i] * f ** (i - 1) for i in range(1, c.shape[0]))
    rn2 = (props.readnoise[sl].astype(np.float64) ** 2) / 2.0 + 1.0 / 12.0
    var_r = np.sum((w[:, None, None] * dldf) ** 2, axis=0) * rn2
    good = good_interior(truth)
    z2 = (slope - expected) ** 2 / (var_p + var_r)
    return float(z2[good].mean()), int(good.sum()), float(np.median(var_p[good] / var_r[good]))


@pytest.mark.parametrize("rate", [0.0, 3000.0])
def test_slope_scatter_matches_poisson_and_read_noise(rate):
    phot = photom_conversion("NIRCAM", "NRCA1", "F200W", "CLEAR")
    cfg = replace(
        BASE,
        ngroups=8,
        effects=WHITE,
        write=False,
        scene=SceneConfig(random_sources=False, background=rate * phot),
        cosmic_rays=CosmicRayConfig(enabled=False),
    )
    chi2, n, ratio = _chi2_of_slopes(simulate_exposure(cfg))
    assert n > 20000
    assert (ratio > 10) if rate else (ratio < 0.1)  # Poisson- vs read-noise-dominated
    assert chi2 == pytest.approx(1.0, abs=0.05)


def test_noise_free_ramp_inverts_exactly_with_the_linearity():
    cfg = replace(
        BASE,
        effects=QUIET,
        write=False,
        cosmic_rays=CosmicRayConfig(enabled=False),
        scene=SceneConfig(star_density=2000.0, background=20000.0),
    )
    truth = simulate_exposure(cfg)
    lin = linearize(truth)[0]
    t = _group_times(truth)
    expect = (truth.truth_rate + truth.dark_rate)[None] * t[:, None, None]
    props = detector_properties("NIRCAM", "NRCA1")
    sat = props.saturation[2048 - 160 :, 2048 - 160 :]
    ok = (truth.data[0] < sat - 1).all(axis=0)
    assert ok.mean() > 0.99 and expect.max() > 5000.0
    assert np.abs(lin - expect)[:, ok].max() < 1e-3
    ref = props.reference_mask[2048 - 160 :, 2048 - 160 :]
    np.testing.assert_allclose(
        truth.data[0][:, ref],
        np.broadcast_to(props.superbias[2048 - 160 :, 2048 - 160 :][ref], (6, int(ref.sum()))),
    )


def test_saturated_groups_clip_at_the_saturation_level():
    phot = photom_conversion("NIRCAM", "NRCA1", "F200W", "CLEAR")
    cfg = replace(
        BASE,
        write=False,
        cosmic_rays=CosmicRayConfig(enabled=False),
        effects=replace(QUIET, quantize=True),
        scene=SceneConfig(random_sources=False, background=30000.0 * phot),
    )
    truth = simulate_exposure(cfg)
    props = detector_properties("NIRCAM", "NRCA1")
    sl = (slice(1888, 2048), slice(1888, 2048))
    satclip = np.ceil(props.saturation[sl])
    raw = truth.data[0].astype(np.float64)
    assert np.all(raw <= satclip)
    t = _group_times(truth)
    lin = (truth.truth_rate + truth.dark_rate)[None] * t[:, None, None]
    fmax = np.maximum(props.saturation[sl] - props.superbias[sl], 1.0) + 5000.0
    unclipped = np.stack(
        [
            props.superbias[sl]
            + invert_linearity(
                lin[g], props.linearity[:, sl[0], sl[1]].astype(np.float64), fmax.astype(np.float64)
            )
            for g in range(len(t))
        ]
    )
    light = ~props.reference_mask[sl] & (truth.flat > 0)
    above = (unclipped > satclip + 1) & light
    below = (unclipped < satclip - 1) & light
    assert above.sum() > 1000 and below.sum() > 1000
    assert np.all(raw[above] == satclip[np.nonzero(above)[1:]])
    assert np.all(raw[below] < satclip[np.nonzero(below)[1:]])
    # once saturated, a pixel stays saturated
    sat = raw >= satclip
    assert not np.any(sat[:-1] & ~sat[1:])


def test_cosmic_ray_jumps_land_where_the_truth_says():
    cfg = replace(
        BASE,
        write=False,
        effects=QUIET,
        scene=SceneConfig(random_sources=False, background=50.0),
        cosmic_rays=CosmicRayConfig(rate=1500.0, snowball_rate=0.0),
    )
    truth = simulate_exposure(cfg)
    crs = truth.cosmic_rays
    assert set(crs["kind"]) == {"cr"} and len(crs) > 50
    lin = linearize(truth)[0]
    t = _group_times(truth)
    smooth = (truth.truth_rate + truth.dark_rate)[None] * t[:, None, None]
    excess = lin - smooth  # what the cosmic rays added (after IPC)
    props = detector_properties("NIRCAM", "NRCA1")
    center = float(props.ipc_kernel[1, 1])
    counts = np.bincount(crs["event"])
    hit = np.zeros(excess.shape[1:], int)
    np.add.at(hit, (crs["y"], crs["x"]), 1)
    checked = 0
    for row in crs:
        if counts[row["event"]] != 1 or row["group"] == 0 or row["dn"] < 50:
            continue
        y, x = row["y"], row["x"]
        if hit[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].sum() != 1:
            continue
        step = np.diff(excess[:, y, x])
        assert np.argmax(step) == row["group"] - 1
        assert step[row["group"] - 1] == pytest.approx(center * row["dn"], rel=1e-6)
        checked += 1
    assert checked > 10


def test_star_and_galaxy_centroids_match_the_truth(tmp_path):
    cat = Table()
    cat["ra"] = [53.16250, 53.16228]
    cat["dec"] = [-27.79140, -27.79128]
    cat["flux"] = [50.0, 80.0]
    cat["type"] = ["star", "galaxy"]
    cat["sersic_n"] = [1.0, 1.5]
    cat["r_eff"] = [0.0, 0.08]
    cat["axis_ratio"] = [1.0, 0.6]
    cat["pa"] = [0.0, 30.0]
    path = tmp_path / "cat.ecsv"
    cat.write(path, format="ascii.ecsv")
    cfg = replace(
        BASE,
        write=False,
        scene=SceneConfig(random_sources=False, background=0.0, catalog=str(path)),
    )
    truth = simulate_exposure(cfg)
    img = truth.ideal_rate.astype(np.float64)
    tc = truth.catalog
    assert len(tc) == 2
    for row in tc:
        xi, yi = round(row["x"]), round(row["y"])
        r = 14
        box = img[yi - r : yi + r + 1, xi - r : xi + r + 1]
        yy, xx = np.mgrid[yi - r : yi + r + 1, xi - r : xi + r + 1]
        cx, cy = (box * xx).sum() / box.sum(), (box * yy).sum() / box.sum()
        assert abs(cx - row["x"]) < 0.02 and abs(cy - row["y"]) < 0.02, row["type"]
        assert box.sum() == pytest.approx(row["countrate"], rel=0.01)
        assert row["countrate_in_array"] == pytest.approx(row["countrate"], rel=1e-3)
    pixar = truth.pixar_sr
    assert tc["countrate"][0] == pytest.approx(50e-12 / (truth.photmjsr * pixar))
    # the header's FITS WCS agrees with the true positions near the reference pixel
    w = WCS(
        fits.Header(
            {
                k: v
                for k, v in truth.keywords.items()
                if k.startswith(("CRPIX", "CRVAL", "CDELT", "PC", "CTYPE", "CUNIT"))
            }
        )
    )
    px, py = w.all_world2pix(tc["ra"], tc["dec"], 0)
    np.testing.assert_allclose(px, tc["x"], atol=0.5)
    np.testing.assert_allclose(py, tc["y"], atol=0.5)
