"""assign_wcs and the WCS helpers: truth positions, exact transforms, SIP, S_REGION."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from webbcal.sim.pointing import attitude_matrix, v2v3_to_radec
from webbcal.steps.assign_wcs import AssignWcsStep
from webbcal.wcs import Pointing, fit_sip, scale_at, v2v3_to_sky, va_correction
from webbcal.wcs.imaging import bounding_box

from .image2_factories import rate_model, simulate

#: (instrument, detector, subarray, filter); full frames are in the slow set.
CASES_FAST = [
    ("NIRCAM", "NRCA1", "SUB160", None),
    ("NIRCAM", "NRCALONG", "SUB160", "F444W"),
    ("MIRI", "MIRIMAGE", "SUB128", "F1000W"),  # a filter with a FILTEROFFSET
    ("NIRISS", "NIS", "SUB128", None),
]
CASES_FULL = [
    ("NIRCAM", "NRCA1", "FULL", None),
    ("NIRCAM", "NRCALONG", "FULL", "F444W"),
    ("MIRI", "MIRIMAGE", "FULL", "F1000W"),
    ("NIRISS", "NIS", "FULL", None),
]


def _pointing(**kw) -> Pointing:
    base = dict(v2_ref=120.6714, v3_ref=-527.3877, roll_ref=45.3, ra_ref=53.16, dec_ref=-27.79,
                v3yangle=-0.5, vparity=-1, va_scale=None)  # fmt: skip
    base.update(kw)
    return Pointing(**base)


def test_v2v3_to_sky_is_the_attitude_rotation():
    p = _pointing()
    att = attitude_matrix(p.v2_ref, p.v3_ref, p.ra_ref, p.dec_ref, p.roll_ref)
    rng = np.random.default_rng(3)
    v2 = p.v2_ref + rng.uniform(-150, 150, 50)
    v3 = p.v3_ref + rng.uniform(-150, 150, 50)
    ra, dec = v2v3_to_sky(p)(v2, v3)
    ra_t, dec_t = v2v3_to_radec(att, v2, v3)
    sep = np.hypot((ra - ra_t) * np.cos(np.radians(dec_t)), dec - dec_t) * 3600.0
    assert sep.max() < 1e-8  # arcsec
    b2, b3 = v2v3_to_sky(p).inverse(ra, dec)
    assert np.abs(b2 - v2).max() < 1e-8 and np.abs(b3 - v3).max() < 1e-8
    ra0, dec0 = v2v3_to_sky(p)(p.v2_ref, p.v3_ref)
    assert ra0 == pytest.approx(p.ra_ref, abs=1e-10) and dec0 == pytest.approx(p.dec_ref, abs=1e-10)


def test_velocity_aberration_scales_about_the_reference_point():
    p = _pointing(va_scale=1.0001)
    model = va_correction(p)
    v2, v3 = model(p.v2_ref + 10.0, p.v3_ref - 20.0)
    assert v2 == pytest.approx(p.v2_ref + 10.0 * 1.0001, abs=1e-9)
    assert v3 == pytest.approx(p.v3_ref - 20.0 * 1.0001, abs=1e-9)
    assert model(p.v2_ref, p.v3_ref) == pytest.approx((p.v2_ref, p.v3_ref), abs=1e-9)
    back = model.inverse(v2, v3)
    assert back == pytest.approx((p.v2_ref + 10.0, p.v3_ref - 20.0), abs=1e-9)
    assert va_correction(_pointing(va_scale=1.0)).n_inputs == 2


def _check_truth(case, tmp_path):
    inst, det, sub, filt = case
    truth = simulate(inst, det, sub, filter=filt)
    cat = truth.catalog
    assert len(cat) >= 3, "the scene should put sources on the array"
    model = AssignWcsStep.call(rate_model(truth, noise=False))
    assert model.meta.cal_step.assign_wcs == "COMPLETE"
    wcs = model.meta.wcs
    assert [f for f in wcs.available_frames] == ["detector", "v2v3", "v2v3vacorr", "world"]
    det2v23 = wcs.get_transform("detector", "v2v3")
    if inst == "MIRI":
        assert det2v23["filter_offset_x"].offset == pytest.approx(0.2639)  # F1000W
        assert det2v23["filter_offset_y"].offset == pytest.approx(-0.064)
    if sub != "FULL":
        assert det2v23["subarray_x"].offset == model.meta.subarray.xstart - 1
    ra, dec = np.asarray(cat["ra"]), np.asarray(cat["dec"])
    x, y = wcs.invert(ra, dec, with_bounding_box=False)
    dist = np.hypot(x - np.asarray(cat["x"]), y - np.asarray(cat["y"]))
    assert dist.max() < 0.02, f"{case}: truth positions off by {dist.max():.4f} pixel"
    # forward: truth pixel -> truth sky, measured in pixels through the local scale
    fra, fdec = wcs(np.asarray(cat["x"]), np.asarray(cat["y"]), with_bounding_box=False)
    scale = scale_at(wcs, float(ra[0]), float(dec[0]))
    sep = np.hypot((fra - ra) * np.cos(np.radians(dec)), fdec - dec) * 3600.0
    assert (sep / scale).max() < 0.02
    # round trip on a grid over the whole array
    ny, nx = model.shape[-2:]
    gy, gx = np.mgrid[-0.5 : ny - 0.5 : 17j, -0.5 : nx - 0.5 : 17j]
    bx, by = wcs.invert(*wcs(gx, gy, with_bounding_box=False), with_bounding_box=False)
    trip = np.hypot(bx - gx, by - gy).max()
    assert trip < 1e-3, f"{case}: round trip {trip:.2g} pixel"
    return model


@pytest.mark.parametrize("case", CASES_FAST, ids=lambda c: f"{c[1]}-{c[2]}")
def test_truth_positions_through_the_wcs_subarrays(case, tmp_path):
    model = _check_truth(case, tmp_path)
    assert model.meta.subarray.name == case[2]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES_FULL, ids=lambda c: f"{c[1]}-{c[2]}")
def test_truth_positions_through_the_wcs_full_frames(case, tmp_path):
    _check_truth(case, tmp_path)


def test_sip_header_and_s_region(tmp_path):
    truth = simulate("NIRCAM", "NRCA1", "SUB320")
    model = AssignWcsStep.call(rate_model(truth, noise=False))
    path = model.save(tmp_path / "x_assign_wcs.fits")
    header = fits.getheader(path, "SCI")
    assert header["CTYPE1"] == "RA---TAN-SIP" and header["CTYPE2"] == "DEC--TAN-SIP"
    assert "PC1_1" not in header and "CDELT1" not in header and "CD1_1" in header
    assert header["A_ORDER"] >= 2 and "AP_ORDER" in header
    fw = WCS(header)
    gy, gx = np.mgrid[0:319:21j, 0:319:21j]
    ra, dec = model.meta.wcs(gx, gy)
    fx, fy = fw.all_world2pix(ra, dec, 0)
    assert np.hypot(fx - gx, fy - gy).max() < 0.02
    sra, sdec = fw.all_pix2world(gx, gy, 0)
    sep = np.hypot((sra - ra) * np.cos(np.radians(dec)), sdec - dec) * 3600.0 / 0.031
    assert sep.max() < 0.02
    corners = np.array(header["S_REGION"].split()[2:], dtype=float).reshape(4, 2)
    expect = np.column_stack(model.meta.wcs([0, 0, 319, 319], [0, 319, 319, 0]))
    assert np.allclose(corners, expect, atol=1e-8)


def test_sip_fit_orders_and_errors():
    truth = simulate("NIRISS", "NIS", "SUB256")
    model = AssignWcsStep.call(rate_model(truth, noise=False), sip_degree=2, sip_inv_degree=2)
    assert model.meta.wcsinfo.a_order == 2 and model.meta.wcsinfo.ap_order == 2
    fit = fit_sip(model.meta.wcs, bounding_box(model.shape), max_pix_error=1e-4)
    assert fit.max_error < 1e-4 or fit.degree == 6
    assert fit.keywords["CRPIX1"] == pytest.approx(128.5)  # centre of the array, 1-based


def test_velocity_aberration_frame_in_the_wcs():
    truth = simulate("NIRCAM", "NRCA1", "SUB160")
    model = rate_model(truth, noise=False)
    model.meta.velocity_aberration.scale_factor = 1.00005
    wcs = AssignWcsStep.call(model).meta.wcs
    v2, v3 = wcs.get_transform("detector", "v2v3")(80.0, 80.0)
    c2, c3 = wcs.get_transform("v2v3", "v2v3vacorr")(v2, v3)
    ref2, ref3 = model.meta.wcsinfo.v2_ref, model.meta.wcsinfo.v3_ref
    assert c2 - ref2 == pytest.approx((v2 - ref2) * 1.00005, abs=1e-9)
    assert c3 - ref3 == pytest.approx((v3 - ref3) * 1.00005, abs=1e-9)


def test_spectroscopic_exposures_are_skipped():
    truth = simulate("NIRCAM", "NRCA1", "SUB160")
    model = rate_model(truth, noise=False)
    model.meta.exposure.type = "NRC_WFSS"
    out = AssignWcsStep.call(model)
    assert out.meta.cal_step.assign_wcs == "SKIPPED" and out.meta.wcs is None


def test_missing_pointing_keywords_are_named():
    from webbcal.errors import InputError

    truth = simulate("NIRCAM", "NRCA1", "SUB160")
    model = rate_model(truth, noise=False)
    del model.meta.wcsinfo.roll_ref
    with pytest.raises(InputError, match="ROLL_REF"):
        AssignWcsStep.call(model)
