import subprocess
import sys

import numpy as np
import pytest

from webbcal.errors import InputError
from webbcal.instruments import (
    aperture_geometry,
    detectors,
    distortion_models,
    get_geometry,
    get_subarray,
    idl_to_v2v3,
    nominal_pixel_area,
    pixel_area_map,
    prd_version,
    sci_to_v2v3,
    v2v3_to_idl,
    v2v3_to_sci,
)

SIAF_DETECTORS = [
    (d.instrument, d.name)
    for inst in ("NIRCAM", "NIRISS", "NIRSPEC", "FGS", "MIRI")
    for d in detectors(inst)
    if d.siaf_aperture
]
ONE_PER_INSTRUMENT = [
    ("NIRCAM", "NRCB4"),
    ("NIRCAM", "NRCALONG"),
    ("MIRI", "MIRIMAGE"),
    ("NIRISS", "NIS"),
    ("FGS", "GUIDER2"),
    ("NIRSPEC", "NRS1"),
]


def _grid(shape, n=33):
    ny, nx = shape
    x, y = np.meshgrid(np.linspace(0, nx - 1, n), np.linspace(0, ny - 1, n))
    return x, y


@pytest.mark.parametrize(("instrument", "detector"), SIAF_DETECTORS)
def test_matches_pysiaf_and_round_trips(siaf_aperture, instrument, detector):
    g = get_geometry(instrument, detector)
    x, y = _grid(g.grid_shape)
    v2, v3 = sci_to_v2v3(g, x, y)
    pv2, pv3 = siaf_aperture(g.aperture).sci_to_tel(x + 1.0, y + 1.0)
    assert np.max(np.hypot(v2 - pv2, v3 - pv3)) < 1e-9  # arcsec
    xb, yb = v2v3_to_sci(g, v2, v3)
    assert np.max(np.hypot(xb - x, yb - y)) < 1e-6  # pixel


@pytest.mark.parametrize("ta_filter", ["F110W", "F140X"])
def test_nirspec_filters_match_pysiaf(siaf_aperture, ta_filter):
    g = get_geometry("NIRSPEC", "NRS2", filter=ta_filter)
    ap = siaf_aperture("NRS2_FULL")
    ap.filter_name = ta_filter
    try:
        x, y = _grid(g.grid_shape, 9)
        v2, v3 = sci_to_v2v3(g, x, y)
        pv2, pv3 = ap.sci_to_tel(x + 1.0, y + 1.0)
    finally:
        ap.filter_name = "CLEAR"
    assert np.max(np.hypot(v2 - pv2, v3 - pv3)) < 1e-9
    assert g.nirspec_filter == ta_filter
    with pytest.raises(InputError, match="GWA->OTE"):
        get_geometry("NIRSPEC", "NRS1", filter="F290LP")


def test_siaf_numbers(siaf_aperture):
    g = get_geometry("NIRCAM", "NRCA1")
    ap = siaf_aperture("NRCA1_FULL")
    assert g.aperture == "NRCA1_FULL" and g.degree == ap.Sci2IdlDeg
    for ours, theirs in (
        ("v2_ref", "V2Ref"),
        ("v3_ref", "V3Ref"),
        ("v3_idl_yangle", "V3IdlYAngle"),
        ("vidl_parity", "VIdlParity"),
        ("x_sci_ref", "XSciRef"),
        ("y_sci_scale", "YSciScale"),
    ):
        assert getattr(g, ours) == getattr(ap, theirs)
    assert g.sci2idl.cx[1] == ap.Sci2IdlX10 and g.idl2sci.cy[2] == ap.Idl2SciY11
    assert prd_version().startswith("PRDOPSSOC-")
    xi, yi = np.array([-30.0, 0.0, 12.5]), np.array([20.0, 0.0, -7.0])
    v2, v3 = idl_to_v2v3(g, xi, yi)
    assert np.allclose((v2, v3), ap.idl_to_tel(xi, yi), rtol=0, atol=1e-10)
    assert np.allclose(v2v3_to_idl(g, v2, v3), (xi, yi), rtol=0, atol=1e-10)


def test_scalars_and_subarray_offsets(siaf_aperture):
    full = get_geometry("NIRCAM", "NRCA1")
    sub = get_subarray("NIRCAM", "SUB640", "NRCA1")
    g = get_geometry("NIRCAM", "NRCA1", sub)
    assert g.grid_shape == (640, 640) and (g.xoffset, g.yoffset) == (1408, 1408)
    v2, v3 = sci_to_v2v3(g, 10.0, 20.0)
    assert np.ndim(v2) == 0
    assert (v2, v3) == sci_to_v2v3(full, 1418.0, 1428.0)
    assert v2v3_to_sci(g, v2, v3) == pytest.approx((10.0, 20.0), abs=1e-9)
    # the subarray's own SIAF aperture is a re-expansion of the same solution
    x, y = _grid(g.grid_shape, 5)
    pv2, pv3 = siaf_aperture("NRCA1_SUB640").sci_to_tel(x + 1.0, y + 1.0)
    v2, v3 = sci_to_v2v3(g, x, y)
    assert np.max(np.hypot(v2 - pv2, v3 - pv3)) < 1e-3 * g.x_sci_scale


@pytest.mark.parametrize(("instrument", "detector"), ONE_PER_INSTRUMENT)
def test_distortion_models(instrument, detector):
    g = get_geometry(instrument, detector)
    forward, inverse = distortion_models(instrument, detector)
    assert forward.inverse is not None and forward.n_inputs == inverse.n_inputs == 2
    x, y = _grid(g.grid_shape, 41)
    v2, v3 = forward(x, y)
    ev2, ev3 = sci_to_v2v3(g, x, y)
    assert np.max(np.hypot(v2 - ev2, v3 - ev3)) < 1e-9
    xb, yb = forward.inverse(v2, v3)
    assert np.max(np.hypot(xb - x, yb - y)) < 1e-3


def test_distortion_models_subarray():
    sub = get_subarray("MIRI", "SUB256")
    forward, inverse = distortion_models("MIRI", "MIRIMAGE", sub)
    full, _ = distortion_models("MIRI", "MIRIMAGE")
    assert forward(3.0, 4.0) == pytest.approx(full(3.0 + 412, 4.0 + 50), abs=1e-9)
    assert inverse(*forward(3.0, 4.0)) == pytest.approx((3.0, 4.0), abs=1e-3)


def test_pixel_area_map():
    sub = get_subarray("NIRCAM", "SUB160", "NRCB2")
    pam = pixel_area_map("NIRCAM", "NRCB2", sub)
    assert pam.shape == sub.shape
    g = get_geometry("NIRCAM", "NRCB2", sub)
    # finite differences of the transform agree with the analytic Jacobian
    for x, y in ((0.0, 0.0), (80.0, 40.0), (159.0, 159.0)):
        h = 0.5
        v = [
            np.array(sci_to_v2v3(g, x + dx, y + dy))
            for dx, dy in ((h, 0), (-h, 0), (0, h), (0, -h))
        ]
        jx, jy = (v[0] - v[1]) / (2 * h), (v[2] - v[3]) / (2 * h)
        area = abs(jx[0] * jy[1] - jx[1] * jy[0])
        assert pam[int(y), int(x)] * nominal_area_at_ref(g) == pytest.approx(area, rel=1e-6)


def nominal_area_at_ref(g):
    """|det J| at the aperture's reference point."""
    x0, y0 = g.reference_pixel
    h = 0.5
    v = [
        np.array(sci_to_v2v3(g, x0 + dx, y0 + dy)) for dx, dy in ((h, 0), (-h, 0), (0, h), (0, -h))
    ]
    jx, jy = (v[0] - v[1]) / (2 * h), (v[2] - v[3]) / (2 * h)
    return abs(jx[0] * jy[1] - jx[1] * jy[0])


def test_pixel_area_full_frame():
    pam = pixel_area_map("MIRI", "MIRIMAGE")
    g = get_geometry("MIRI", "MIRIMAGE")
    assert pam.shape == (1024, 1032)
    x0, y0 = g.reference_pixel  # 692.5, 511.5: between pixels
    assert pam[int(y0) : int(y0) + 2, int(x0) : int(x0) + 2] == pytest.approx(1.0, abs=2e-4)
    assert pam.min() > 0.9 and pam.max() < 1.1
    sub = get_subarray("MIRI", "BRIGHTSKY")
    assert np.allclose(
        pixel_area_map("MIRI", "MIRIMAGE", sub), pam[sub.full_frame_slices], rtol=1e-12
    )
    area = nominal_pixel_area("MIRI", "MIRIMAGE")
    assert area.arcsec2 == pytest.approx(0.1105 * 0.1113, rel=2e-3)
    assert area.sr == pytest.approx(area.arcsec2 * (np.pi / 180 / 3600) ** 2)
    assert area.arcsec2 == pytest.approx(nominal_area_at_ref(g), rel=5e-3)


def test_errors():
    with pytest.raises(InputError, match="no detector aperture"):
        get_geometry("MIRI", "MIRIFULONG")
    with pytest.raises(InputError, match="no known position"):
        get_geometry("FGS", "GUIDER1", "8X8")
    with pytest.raises(InputError, match="unknown SIAF aperture"):
        aperture_geometry("NRCA1_NOPE")


def test_runtime_never_imports_pysiaf():
    code = (
        "import sys, webbcal.instruments as I;"
        "g = I.get_geometry('NIRSPEC', 'NRS1'); I.sci_to_v2v3(g, 1.0, 2.0);"
        "I.get_subarray('NIRCAM', 'SUB640', 'NRCA1'); I.timing('MIRI', 'FAST', 'FULL', 3, 1);"
        "sys.exit('pysiaf' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
