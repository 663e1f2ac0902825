"""Attitude math against a real header, pixel <-> sky round trips, dithers."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from webbcal.instruments.geometry import get_geometry
from webbcal.sim.pointing import (
    ExposurePointing,
    SkyGeometry,
    attitude_matrix,
    dither_offsets,
    mosaic_offsets,
    position_angle,
    radec_to_v2v3,
    v2v3_to_radec,
)


def test_attitude_reproduces_real_header(real_headers_dir):
    sci = fits.getheader(real_headers_dir / "jw01075001001_03105_00009_nrca2_uncal.fits", "SCI")
    att = attitude_matrix(
        sci["V2_REF"], sci["V3_REF"], sci["RA_REF"], sci["DEC_REF"], sci["ROLL_REF"]
    )
    ra, dec = v2v3_to_radec(att, 0.0, 0.0)
    assert ra == pytest.approx(sci["RA_V1"], abs=1e-9)
    assert dec == pytest.approx(sci["DEC_V1"], abs=1e-9)
    assert position_angle(att, 0.0, 0.0) == pytest.approx(sci["PA_V3"], abs=1e-8)
    assert position_angle(att, sci["V2_REF"], sci["V3_REF"]) == pytest.approx(
        sci["ROLL_REF"], abs=1e-8
    )


def test_sky_v2v3_round_trip():
    att = attitude_matrix(100.0, -500.0, 210.0, 54.3, 123.0)
    v2 = np.linspace(-200, 300, 7)
    v3 = np.linspace(-700, -300, 7)
    ra, dec = v2v3_to_radec(att, v2, v3)
    b2, b3 = radec_to_v2v3(att, ra, dec)
    np.testing.assert_allclose(b2, v2, atol=1e-8)
    np.testing.assert_allclose(b3, v3, atol=1e-8)


@pytest.mark.parametrize(
    ("inst", "det", "sub"),
    [
        ("NIRCAM", "NRCA1", "FULL"),
        ("NIRCAM", "NRCB5", "SUB160P"),
        ("MIRI", "MIRIMAGE", "FULL"),
        ("NIRISS", "NIS", "FULL"),
    ],
)
def test_pixel_sky_pixel_round_trip(inst, det, sub):
    g = SkyGeometry(get_geometry(inst, det, sub), (0.12, -0.2))
    p = ExposurePointing.create(g.geometry.aperture, 80.0, -69.5, 300.0)
    ny, nx = g.geometry.grid_shape
    x, y = np.meshgrid(np.linspace(0, nx - 1, 9), np.linspace(0, ny - 1, 9))
    ra, dec = g.pix_to_radec(p.att, x, y)
    bx, by = g.radec_to_pix(p.att, ra, dec)
    np.testing.assert_allclose(bx, x, atol=1e-6)
    np.testing.assert_allclose(by, y, atol=1e-6)


def test_pointing_offsets_and_error():
    p0 = ExposurePointing.create("NRCA1_FULL", 53.0, -27.0, 45.0)
    ra, dec, roll = p0.reference()
    assert (ra, dec, roll) == pytest.approx((53.0, -27.0, 45.0), abs=1e-9)
    kw = p0.keywords()
    assert kw["CRVAL1"] == pytest.approx(53.0) and kw["APERNAME"] == "NRCA1_FULL"
    assert kw["PA_APER"] == pytest.approx((45.0 - kw["VPARITY"] * kw["V3I_YANG"]) % 360)
    g = SkyGeometry(get_geometry("NIRCAM", "NRCA1"))
    # with an ideal offset (dx, dy) the target lands dx/scale, dy/scale pixels away
    p1 = ExposurePointing.create("NRCA1_FULL", 53.0, -27.0, 45.0, offset=(1.0, 0.0))
    x0, y0 = g.radec_to_pix(p0.att, 53.0, -27.0)
    x1, y1 = g.radec_to_pix(p1.att, 53.0, -27.0)
    assert np.hypot(x1 - x0, y1 - y0) == pytest.approx(1.0 / 0.031, rel=0.02)
    # a pointing error moves the true sky, not the header
    pe = ExposurePointing.create("NRCA1_FULL", 53.0, -27.0, 45.0, error=(0.31, 0.0, 0.0))
    np.testing.assert_allclose(pe.att, p0.att)
    xe, ye = g.radec_to_pix(pe.att_true, 53.0, -27.0)
    assert np.hypot(xe - x0, ye - y0) == pytest.approx(10.0, rel=0.02)


def test_dither_and_mosaic_patterns():
    box = dither_offsets("BOX", 4, 2.0)
    assert len(set(box)) == 4 and np.allclose(np.mean(box, axis=0), 0.0)
    assert dither_offsets("NONE", 3) == [(0.0, 0.0)] * 3
    assert len(mosaic_offsets(2, 2, 60.0, 60.0)) == 4
    with pytest.raises(ValueError):
        dither_offsets("SPIRAL", 4)
