"""Observations (dithers, associations, manifest), the CLI, TSO, MIRI and other detectors."""

from __future__ import annotations

import argparse
import json
import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

from webbcal.associations import load_asn
from webbcal.refs.embedded.properties import detector_properties
from webbcal.sim import (
    CosmicRayConfig,
    ExposureConfig,
    ObservationConfig,
    SceneConfig,
    TSOConfig,
    simulate_exposure,
    simulate_observation,
)
from webbcal.sim.cli import register
from webbcal.sim.cosmic_rays import generate_cosmic_rays
from webbcal.sim.detector import FrameSchedule

from .helpers import QUIET, linearize


@pytest.fixture(scope="module")
def observation(tmp_path_factory):
    out = tmp_path_factory.mktemp("obs")
    cfg = ObservationConfig(
        exposure=ExposureConfig(
            subarray="SUB160",
            ngroups=3,
            seed=5,
            output_dir=str(out),
            scene=SceneConfig(star_density=4000.0, galaxy_density=0.0),
        ),
        exposures=2,
        dither_pattern="BOX",
        dither_size=1.0,
        pointing_error_sigma=0.05,
    )
    return simulate_observation(cfg)


def test_observation_writes_associations_and_manifest(observation):
    res = observation
    out = res.files["manifest"].parent
    assert [e.name for e in res.exposures] == [
        "jw00001001001_01101_00001_nrca1",
        "jw00001001001_01101_00002_nrca1",
    ]
    manifest = json.loads(res.files["manifest"].read_text())
    roles = {f["role"] for f in manifest["files"]}
    assert {
        "uncal",
        "truth_rate",
        "truth_cat",
        "truth_cr",
        "asn_image2",
        "asn_image3",
        "truth_scene",
    } <= roles
    for f in manifest["files"]:
        assert (out / f["path"]).exists()
    asn2 = load_asn(res.files["asn_image2"], check_members=False)
    assert len(asn2.products) == 2
    assert asn2.products[0].members[0].expname.endswith("00001_nrca1_rate.fits")
    asn3 = load_asn(res.files["asn_image3"], check_members=False)
    assert asn3.products[0].name == res.product_name == "jw00001-o001_t001_nircam_clear-f200w"
    assert [m.expname for m in asn3.members()] == [f"{e.name}_cal.fits" for e in res.exposures]


def test_dithered_exposures_see_the_same_sky(observation):
    a, b = observation.exposures
    assert a.keywords["PATT_NUM"] == 1 and b.keywords["PATT_NUM"] == 2
    assert a.keywords["EXPSTART"] < b.keywords["EXPSTART"]
    assert a.pointing.error != b.pointing.error  # drawn per exposure, kept in the truth
    common = set(a.catalog["id"]) & set(b.catalog["id"])
    assert len(common) >= 3
    ia = {r["id"]: r for r in a.catalog}
    ib = {r["id"]: r for r in b.catalog}
    shifts = np.array([(ib[i]["x"] - ia[i]["x"], ib[i]["y"] - ia[i]["y"]) for i in common])
    # one rigid shift: the 1" box step (~32 pixels) plus the pointing errors
    assert np.ptp(shifts, axis=0).max() < 0.05
    assert math.hypot(*shifts[0]) == pytest.approx(1.0 / 0.0311, rel=0.2)
    assert all(ia[i]["flux"] == ib[i]["flux"] for i in common)


def test_cli_simulate(tmp_path):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "simulate",
            "--subarray",
            "SUB160",
            "--ngroups",
            "2",
            "--exposures",
            "1",
            "--no-cosmic-rays",
            "--seed",
            "3",
            "--output-dir",
            str(tmp_path),
        ]
    )
    assert args.func(args) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    uncal = [f for f in manifest["files"] if f["role"] == "uncal"]
    assert len(uncal) == 1 and (tmp_path / uncal[0]["path"]).exists()


def test_cosmic_ray_rate_matches_the_configuration():
    props = detector_properties("NIRCAM", "NRCA1")
    sch = FrameSchedule(ngroups=10, nframes=1, groupgap=0, nints=3, tframe=10.73677)
    cfg = CosmicRayConfig(snowball_rate=0.0)
    _, truth = generate_cosmic_rays(
        cfg, refmask=props.reference_mask, gain=props.gain, schedule=sch, pixel_um=18.0, seed=2
    )
    n = len(set(truth["event"]))
    area = (2040 * 2040) * (18e-4) ** 2
    expected = 5.0 * area * 10 * 10.73677 * 3
    assert abs(n - expected) < 4 * math.sqrt(expected)
    per_event = np.bincount(truth["event"], weights=truth["electrons"])
    assert per_event.min() >= 30 and np.median(per_event) > 300
    assert per_event.max() > 1e4  # heavy tail
    assert set(truth["integration"]) == {0, 1, 2}
    assert np.all(truth["group"] == truth["frame"])  # RAPID: one frame per group


def test_snowballs_saturate_and_are_listed():
    props = detector_properties("NIRCAM", "NRCA1")
    sch = FrameSchedule(ngroups=10, nframes=1, groupgap=0, nints=1, tframe=10.73677)
    cfg = CosmicRayConfig(rate=0.0, snowball_rate=0.02)
    _, truth = generate_cosmic_rays(
        cfg, refmask=props.reference_mask, gain=props.gain, schedule=sch, pixel_um=18.0, seed=4
    )
    events = set(truth["event"])
    assert len(events) >= 5 and set(truth["kind"]) == {"snowball"}
    for ev in events:
        rows = truth[truth["event"] == ev]
        assert len(rows) > 10 and rows["electrons"].max() >= 2e5


def test_tso_light_curve(tmp_path):
    cfg = ExposureConfig(
        detector="NRCA3",
        subarray="SUB64P",
        ngroups=3,
        nints=8,
        seed=2,
        effects=QUIET,
        cosmic_rays=CosmicRayConfig(enabled=False),
        scene=SceneConfig(random_sources=False, background=0.0),
        tso=TSOConfig(enabled=True, depth=0.05, star_flux=2000.0),
        output_dir=str(tmp_path),
    )
    truth = simulate_exposure(cfg)
    assert truth.keywords["TSOVISIT"] is True and truth.keywords["EXP_TYPE"] == "NRC_TSIMAGE"
    lc = truth.lightcurve
    rel = np.asarray(lc["relative_flux"])
    assert rel.min() == pytest.approx(0.95) and rel.max() == pytest.approx(1.0)
    lin = linearize(truth)
    signal = (lin[:, -1] - lin[:, 0]).sum(axis=(1, 2))
    dark = truth.dark_rate.sum() * 2 * truth.keywords["TGROUP"]
    star = signal - dark
    np.testing.assert_allclose(star / star.mean(), rel / rel.mean(), rtol=1e-5)
    assert "truth_lightcurve" in truth.files
    sdm = pytest.importorskip("stdatamodels.jwst.datamodels")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with sdm.Level1bModel(str(truth.files["uncal"])) as m:
            assert len(m.int_times) == 8 and m.meta.visit.tsovisit is True


def test_miri_frame_effects_are_added_to_raw_groups():
    cfg = ExposureConfig(
        instrument="MIRI",
        detector="MIRIMAGE",
        filter="F770W",
        pupil=None,
        readpatt="FAST",
        subarray="SUB64",
        ngroups=5,
        effects=QUIET,
        write=False,
        cosmic_rays=CosmicRayConfig(enabled=False),
        scene=SceneConfig(random_sources=False, background=20.0),
    )
    truth = simulate_exposure(cfg)
    props = detector_properties("MIRI", "MIRIMAGE")
    x0, y0 = truth.keywords["SUBSTRT1"] - 1, truth.keywords["SUBSTRT2"] - 1
    sl = (slice(y0, y0 + 64), slice(x0, x0 + 72))
    assert truth.data.shape == (1, 5, 64, 72)
    extras = props.reset_anomaly[:5][:, sl[0], sl[1]].astype(np.float64)
    extras[0] += props.first_frame_offset[sl]
    extras[-1] += props.last_frame_offset[sl]
    from webbcal.sim.detector import invert_linearity

    t = truth.keywords["TFRAME"] * np.arange(1, 6)
    lin = (truth.truth_rate + truth.dark_rate)[None] * t[:, None, None]
    fmax = (props.saturation[sl] - props.superbias[sl] + 5000.0).astype(np.float64)
    c = props.linearity[:, sl[0], sl[1]].astype(np.float64)
    raw = np.stack([props.superbias[sl] + invert_linearity(lin[g], c, fmax) for g in range(5)])
    np.testing.assert_allclose(truth.data[0] - raw, extras, atol=1e-3)
    assert truth.keywords["MIRNGRPS"] == 5


@pytest.mark.parametrize(
    ("inst", "det", "filt", "pupil", "readpatt", "sub"),
    [
        ("NIRISS", "NIS", "CLEAR", "F150W", "NISRAPID", "SUB64"),
        ("FGS", "GUIDER1", None, None, "FGSRAPID", "SUB128CNTR"),
        ("NIRCAM", "NRCALONG", "F444W", "CLEAR", "BRIGHT2", "SUB160P"),
    ],
)
def test_other_detectors_write_valid_files(tmp_path, inst, det, filt, pupil, readpatt, sub):
    cfg = ExposureConfig(
        instrument=inst,
        detector=det,
        filter=filt,
        pupil=pupil,
        readpatt=readpatt,
        subarray=sub,
        ngroups=3,
        output_dir=str(tmp_path),
        scene=SceneConfig(star_density=3000.0),
    )
    truth = simulate_exposure(cfg)
    assert truth.data.dtype == np.uint16
    assert np.all(truth.truth_rate >= 0) and truth.truth_rate.max() > 0
    sdm = pytest.importorskip("stdatamodels.jwst.datamodels")
    from stdatamodels.validate import ValidationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidationWarning)
        with sdm.Level1bModel(str(truth.files["uncal"])) as m:
            assert m.meta.instrument.name == inst
            assert m.meta.exposure.nframes == truth.keywords["NFRAMES"]
            assert m.data.shape == truth.data.shape
            if truth.keywords["NFRAMES"] > 1:  # BRIGHT2: the zero frame is downlinked
                assert m.meta.exposure.zero_frame is True
                np.testing.assert_array_equal(m.zeroframe, truth.zeroframe)
                assert np.median(truth.data[0, 0] - m.zeroframe[0].astype(float)) > -5
    assert replace(cfg, seed=cfg.seed).basename == truth.name


@pytest.mark.slow
def test_full_frame_reference_pixels_carry_offsets_and_drifts():
    """Full frame, all effects: refpix see the per-frame amplifier offsets and the 1/f drift."""
    truth = simulate_exposure(
        ExposureConfig(ngroups=3, write=False, seed=8, cosmic_rays=CosmicRayConfig(enabled=False))
    )
    props = detector_properties("NIRCAM", "NRCA1")
    d = truth.data[0].astype(np.float64) - props.superbias
    # amplifier offsets: the top/bottom refpix of one amplifier share an offset per group,
    # different amplifiers do not (the row drift is common to all of them)
    refs = np.concatenate([d[:, :4], d[:, -4:]], axis=1)
    half1, half2 = refs[:, :, 8:256].mean(axis=(1, 2)), refs[:, :, 256:504].mean(axis=(1, 2))
    amp_b = refs[:, :, 516:1020].mean(axis=(1, 2))
    assert np.abs(half1 - half2).max() < 0.5
    assert np.abs(half1 - amp_b).max() > 1.5
    # 1/f drift: the side refpix row means follow the science row means (minus the signal)
    side = d[:, 4:-4, :4].mean(axis=2)
    sci = d[:, 4:-4, 4:-4].mean(axis=2)
    for g in range(3):
        r = np.corrcoef(side[g] - side[g].mean(), sci[g] - sci[g].mean())[0, 1]
        assert r > 0.5
