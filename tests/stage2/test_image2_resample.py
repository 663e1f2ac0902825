"""resample: the numba drizzle against the drizzle package, pixel maps, grids, variances."""

from __future__ import annotations

import math

import numpy as np
import pytest

from webbcal.kernels.pixmap import exact_pixmap, node_map
from webbcal.kernels.resample_accum import Drizzler, drizzle_weight
from webbcal.steps.assign_wcs import AssignWcsStep
from webbcal.steps.resample import ResampleParams, ResampleStep, resample_models

from .image2_factories import rate_model, simulate

drizzle_resample = pytest.importorskip("drizzle.resample")

NY, NX = 120, 110
OUT = (140, 130)
THETA = math.radians(0.7)


def _mapping(x, y):
    return (math.cos(THETA) * x - math.sin(THETA) * y + 10.3 + 2e-5 * x * x,
            math.sin(THETA) * x + math.cos(THETA) * y + 7.6 + 1e-5 * x * y)  # fmt: skip


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(1)
    data = rng.normal(5.0, 1.0, (NY, NX)).astype(np.float32)
    weight = rng.uniform(0.5, 2.0, (NY, NX)).astype(np.float32)
    weight[5, 7] = 0.0
    variances = tuple(rng.uniform(0.1, 1.0, (NY, NX)).astype(np.float32) for _ in range(3))
    return data, weight, variances


def _official(pixmap, image, weight, pixfrac):
    driz = drizzle_resample.Drizzle(kernel="square", out_shape=OUT, fillval="NAN")
    driz.add_image(image, exptime=1.0, pixmap=pixmap, weight_map=weight, pixfrac=pixfrac)
    return driz.out_img, driz.out_wht


@pytest.mark.parametrize("pixfrac", [1.0, 0.7])
def test_square_kernel_matches_cdrizzle(synthetic, pixfrac):
    data, weight, variances = synthetic
    nm = node_map(_mapping, (NY, NX), step=16)
    drizzler = Drizzler(OUT, pixfrac=pixfrac)
    drizzler.add(nm, data, weight, variances)
    res = drizzler.finalize()
    pixmap = exact_pixmap(_mapping, (NY, NX))
    img, wht = _official(pixmap, data, weight, pixfrac)
    covered = wht > 0
    assert np.array_equal(np.isfinite(res.data), covered)
    # inside, away from the footprint's edge, agreement is at the float32 level; at the
    # edge the corner positions differ (cubic from the WCS vs bilinear of the pixel map)
    from scipy.ndimage import binary_erosion

    core = binary_erosion(covered, iterations=2)
    np.testing.assert_allclose(res.wht[core], wht[core], rtol=5e-5)
    np.testing.assert_allclose(res.data[core], img[core], rtol=5e-5, atol=1e-5)
    np.testing.assert_allclose(res.wht.sum(), weight.sum(), rtol=1e-6)  # weight conserved
    for var, name in zip(variances, ("var_rnoise", "var_poisson", "var_flat")):
        sig, _ = _official(pixmap, np.sqrt(var), weight, pixfrac)
        np.testing.assert_allclose(getattr(res, name)[core], sig[core] ** 2, rtol=2e-4)
    expected_err = np.sqrt(res.var_rnoise + res.var_poisson + res.var_flat)
    np.testing.assert_allclose(res.err[covered], expected_err[covered], rtol=1e-6)
    assert set(np.unique(res.con)) == {0, 1} and res.con.shape == (1, *OUT)


def test_other_kernels_go_through_the_drizzle_package(synthetic):
    data, weight, variances = synthetic
    nm = node_map(_mapping, (NY, NX), step=16)
    drizzler = Drizzler(OUT, kernel="turbo", pixfrac=1.0)
    drizzler.add(nm, data, weight, variances)
    res = drizzler.finalize()
    driz = drizzle_resample.Drizzle(kernel="turbo", out_shape=OUT, fillval="NAN")
    driz.add_image(data, exptime=1.0, pixmap=exact_pixmap(_mapping, (NY, NX)),
                   weight_map=weight, pixfrac=1.0)  # fmt: skip
    covered = driz.out_wht > 0
    np.testing.assert_allclose(res.data[covered], driz.out_img[covered], rtol=1e-5)
    np.testing.assert_allclose(res.wht, driz.out_wht, rtol=1e-6)
    assert np.isfinite(res.var_poisson[covered]).all()


def test_two_inputs_combine_variances_with_squared_weights(synthetic):
    data, weight, (v_rn, v_p, v_f) = synthetic
    nm = node_map(_mapping, (NY, NX), step=16)
    second = (v_rn * 4.0, v_p * 2.0, v_f)
    drizzler = Drizzler(OUT)
    drizzler.add(nm, data, weight, (v_rn, v_p, v_f))
    drizzler.add(nm, data + 1.0, weight * 0.25, second)
    res = drizzler.finalize()
    single = []
    for variances, w in (((v_rn, v_p, v_f), weight), (second, weight * 0.25)):
        one = Drizzler(OUT)
        one.add(nm, data, w, variances)
        single.append(one.finalize())
    w1, w2 = 1.0 / single[0].var_rnoise, 1.0 / single[1].var_rnoise
    expected = (single[0].var_poisson * w1**2 + single[1].var_poisson * w2**2) / (w1 + w2) ** 2
    ok = np.isfinite(expected)
    np.testing.assert_allclose(res.var_poisson[ok], expected[ok], rtol=1e-5)
    assert set(np.unique(res.con)) == {0, 3}  # bits 0 and 1: both inputs everywhere
    # data weights 1 and 0.25: the mean moves 1/5 of the way to the second input
    np.testing.assert_allclose(res.data[ok], single[0].data[ok] + 0.2, atol=1e-4)
    np.testing.assert_allclose(res.wht[ok], 1.25 * single[0].wht[ok], rtol=1e-5)


def test_drizzle_weights():
    dq = np.array([[0, 1, 512, 4]], np.uint32)
    rn = np.array([[4.0, 4.0, 4.0, 0.0]], np.float32)
    bad = 1 | 512
    np.testing.assert_allclose(drizzle_weight(dq, bad, var_rnoise=rn), [[0.25, 0, 0, 0]])
    np.testing.assert_allclose(drizzle_weight(dq, bad, exptime=30.0), [[30, 0, 0, 30]])
    np.testing.assert_allclose(drizzle_weight(dq, None, exptime=2.0), [[2, 2, 2, 2]])


@pytest.fixture(scope="module")
def nircam_wcs():
    truth = simulate("NIRCAM", "NRCA1", "SUB320")
    return AssignWcsStep.call(rate_model(truth, noise=False))


def test_pixel_map_accuracy_on_a_real_distortion(nircam_wcs):
    grid = ResampleStep.call(nircam_wcs.copy()).meta.wcs
    fwd, back = nircam_wcs.meta.wcs.forward_transform, grid.backward_transform

    def mapping(x, y):
        return back(*fwd(x, y))

    nm = node_map(mapping, nircam_wcs.shape, step=32)
    exact = exact_pixmap(mapping, nircam_wcs.shape)
    error = np.hypot(*(nm.pixmap() - exact).transpose(2, 0, 1)).max()
    assert error < 1e-3 and nm.error < 1e-3  # the documented bound is 0.01 pixel


def _cal_like(model, sky=1.0):
    """A surface-brightness image with unit weights (exptime weighting, DQ clean)."""
    out = model.copy()
    ny, nx = out.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    star = np.exp(-((xx - 100.3) ** 2 + (yy - 140.7) ** 2) / 8.0) * 50
    out.data = (sky + star).astype(np.float32)
    out.dq = np.zeros((ny, nx), np.uint32)
    out.meta.photometry.pixelarea_arcsecsq = 0.031**2
    return out


def test_flux_is_conserved(nircam_wcs):
    """A source's flux (SB x solid angle) is the same before and after drizzling.

    The input solid angle of a pixel is its quadrilateral's area on the output grid (in
    output pixels); away from the footprint's edge (where partly covered output pixels
    take the full surface brightness) the totals agree to float32 rounding.
    """
    from webbcal.wcs.output import scale_at

    model = _cal_like(nircam_wcs, sky=0.0)
    i2d = resample_models([model], ResampleParams(weight_type="exptime"))
    ny, nx = model.shape
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    fwd, back = model.meta.wcs.forward_transform, i2d.meta.wcs.backward_transform

    def corner(dx, dy):
        return np.array(back(*fwd(x + dx, y + dy)))

    a, b, c, d = corner(-0.5, -0.5), corner(0.5, -0.5), corner(0.5, 0.5), corner(-0.5, 0.5)
    area = 0.5 * np.abs((c[0] - a[0]) * (d[1] - b[1]) - (d[0] - b[0]) * (c[1] - a[1]))
    flux_in = np.sum(model.data.astype(np.float64) * area)
    flux_out = np.nansum(i2d.data.astype(np.float64))
    print(f"flux out/in - 1 = {flux_out / flux_in - 1:.2e}")
    assert flux_out == pytest.approx(flux_in, rel=1e-3)
    assert flux_out == pytest.approx(50 * 8.0 * math.pi * area[140, 100], rel=1e-3)
    ra, dec = model.meta.wcs(100.3, 140.7)
    scale = scale_at(i2d.meta.wcs, ra, dec)
    assert scale == pytest.approx(i2d.meta.photometry.pixelarea_arcsecsq**0.5, rel=1e-4)


def test_output_grid_parameters(nircam_wcs):
    model = _cal_like(nircam_wcs)
    north = resample_models([model], ResampleParams(rotation=0.0, pixel_scale=0.05))
    info = north.meta.wcsinfo
    assert info.cdelt1 == pytest.approx(0.05 / 3600) and info.pc1_1 == pytest.approx(-1.0)
    assert info.pc2_2 == pytest.approx(1.0) and abs(info.pc1_2) < 1e-12
    cy, cx = (n / 2 for n in north.shape)
    r0, d0 = north.meta.wcs(cx, cy)
    r1, d1 = north.meta.wcs(cx, cy + 10)
    assert d1 - d0 == pytest.approx(10 * 0.05 / 3600, rel=1e-3) and abs(r1 - r0) < 1e-9
    assert north.meta.photometry.pixelarea_arcsecsq == pytest.approx(0.05**2)
    fixed = resample_models([model], ResampleParams(output_shape=(300, 200), crpix=(150.0, 100.0),
                                                    crval=(r0, d0)))  # fmt: skip
    assert fixed.shape == (200, 300)
    assert fixed.meta.wcsinfo.crpix1 == pytest.approx(151.0)
    assert fixed.meta.wcs(150.0, 100.0) == pytest.approx((r0, d0), abs=1e-10)
    fine = resample_models([model], ResampleParams(pixel_scale_ratio=0.5))
    base = resample_models([model], ResampleParams())
    assert fine.shape[0] == pytest.approx(2 * base.shape[0], abs=2)
    assert fine.meta.resample.pixel_scale_ratio == pytest.approx(0.5, rel=2e-3)
    assert np.nanmedian(fine.data) == pytest.approx(np.nanmedian(base.data), rel=1e-3)


def test_output_wcs_file(nircam_wcs, tmp_path):
    import asdf

    model = _cal_like(nircam_wcs)
    first = resample_models([model], ResampleParams(rotation=10.0))
    path = tmp_path / "grid.asdf"
    asdf.AsdfFile({"wcs": first.meta.wcs}).write_to(path)
    again = resample_models([model], ResampleParams(output_wcs=str(path)))
    assert again.shape == first.shape
    np.testing.assert_allclose(again.data, first.data, rtol=1e-6, atol=1e-7)
    assert again.meta.wcsinfo.ctype1 == "RA---TAN" and again.meta.wcsinfo.cd1_1 is not None
    assert again.meta.photometry.pixelarea_arcsecsq == pytest.approx(
        first.meta.photometry.pixelarea_arcsecsq, rel=1e-6
    )


def test_calints_are_not_resampled():
    truth = simulate("NIRCAM", "NRCA1", "SUB160")
    cube = AssignWcsStep.call(rate_model(truth, nints=2))
    out = ResampleStep.call(cube)  # an association step: the skipped input comes back
    assert out.models == [cube] and cube.meta.cal_step.resample == "SKIPPED"


def _corner_areas(model, out_wcs):
    """Exact solid angle of every input pixel, in output pixels (its mapped quadrilateral)."""
    ny, nx = model.shape
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    fwd, back = model.meta.wcs.forward_transform, out_wcs.backward_transform

    def corner(dx, dy):
        return np.array(back(*fwd(x + dx, y + dy)))

    a, b, c, d = corner(-0.5, -0.5), corner(0.5, -0.5), corner(0.5, 0.5), corner(-0.5, 0.5)
    return 0.5 * np.abs((c[0] - a[0]) * (d[1] - b[1]) - (d[0] - b[0]) * (c[1] - a[1]))


def test_intensity_scale_is_nominal_over_mean_pixel_area(nircam_wcs):
    """iscale = PIXAR_SR / mean WCS pixel area; the output flux is iscale x the true flux."""
    from webbcal.steps.resample import intensity_scale, mean_input_pixel_area

    model = _cal_like(nircam_wcs, sky=0.0)
    base = resample_models([model], ResampleParams(weight_type="exptime"))
    area = _corner_areas(model, base.meta.wcs) * base.meta.photometry.pixelarea_steradians
    mean = mean_input_pixel_area(model)
    assert mean == pytest.approx(area[1:-1, 1:-1].mean(), rel=2e-4)
    model.meta.photometry.pixelarea_steradians = 1.01 * mean
    assert intensity_scale(model) == pytest.approx(1.01, rel=1e-9)
    scaled = resample_models([model], ResampleParams(weight_type="exptime"))
    data = model.data.astype(np.float64)
    flux_nominal = np.sum(data) * model.meta.photometry.pixelarea_steradians
    flux_true = np.sum(data * area)
    out_area = scaled.meta.photometry.pixelarea_steradians
    flux_out = np.nansum(scaled.data.astype(np.float64)) * out_area
    assert flux_out == pytest.approx(1.01 * flux_true, rel=1e-4)
    # a compact source: the total flux is sum(SCI) x PIXAR_SR up to its local pixel area
    local = area[140, 100] / mean
    assert flux_out == pytest.approx(flux_nominal * local, rel=1e-3)
    assert scaled.meta.resample.pixel_scale_ratio == 1.0
    ok = np.isfinite(base.err)
    np.testing.assert_allclose(scaled.err[ok] ** 2, 1.01**2 * base.err[ok] ** 2, rtol=1e-5)


def test_recorded_sky_level_is_subtracted(nircam_wcs):
    model = _cal_like(nircam_wcs, sky=3.0)
    model.meta.background.level = 3.0
    model.meta.background.subtracted = False
    out = resample_models([model], ResampleParams())
    assert abs(np.nanmedian(out.data)) < 1e-5
    model.meta.background.subtracted = True  # already subtracted: SCI is used as it is
    out = resample_models([model], ResampleParams())
    assert np.nanmedian(out.data) == pytest.approx(3.0, rel=1e-5)


def test_only_wanted_variances_are_drizzled(synthetic, nircam_wcs):
    data, weight, (_, v_p, _) = synthetic
    nm = node_map(_mapping, (NY, NX), step=16)
    one = Drizzler(OUT)
    one.add(nm, data, weight, (None, v_p, None))
    res = one.finalize()
    assert res.var_rnoise is None and res.var_flat is None
    ok = np.isfinite(res.var_poisson)
    np.testing.assert_allclose(res.err[ok], np.sqrt(res.var_poisson[ok]), rtol=1e-6)
    bare = Drizzler(OUT, weight_type="exptime")
    bare.add(nm, data, weight, (None, None, None))
    bare.add(nm, data, weight, (None, None, None))
    res = bare.finalize()
    assert res.err is None and res.var_poisson is None and res.n_inputs == 2
    model = _cal_like(nircam_wcs)
    out = resample_models([model], ResampleParams(report_var=False, enable_err=False))
    assert not any(out.has(n) for n in ("err", "var_rnoise", "var_poisson", "var_flat"))


def test_header_table_opens_with_stdatamodels(nircam_wcs, tmp_path, monkeypatch):
    """HDRTAB: one row per input; written (once the i2d declares it) and read officially."""
    import warnings

    from webbcal.datamodels import ImageModel
    from webbcal.datamodels.declare import Table
    from webbcal.datamodels.model import _Field
    from webbcal.steps.resample import header_table

    sdm = pytest.importorskip("stdatamodels.jwst.datamodels")
    first = _cal_like(nircam_wcs)
    second = first.copy()
    second.meta.filename = "jw00001001001_01101_00002_nrca1_cal.fits"
    second.meta.exposure.measurement_time = None
    table = header_table([first, second])
    assert len(table) == 2
    assert [v.decode() for v in table["FILENAME"]] == [first.meta.filename, second.meta.filename]
    assert {"DETECTOR", "FILTER", "EXPSTART", "RA_REF", "PIXAR_A2"} <= set(table.dtype.names)
    if "TMEASURE" in table.dtype.names:
        assert np.isnan(table["TMEASURE"][1])
    spec = Table("HDRTAB", (), doc="header keywords of the inputs")
    if "hdrtab" not in ImageModel.fields:
        monkeypatch.setattr(ImageModel, "fields", {**ImageModel.fields, "hdrtab": spec})
        monkeypatch.setattr(ImageModel, "_specs", {**ImageModel._specs, "hdrtab": spec})
        monkeypatch.setattr(ImageModel, "hdrtab", _Field("hdrtab"), raising=False)
    i2d = resample_models([first, second], ResampleParams())
    path = i2d.save(tmp_path / "two_i2d.fits")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        official = sdm.open(path)
    with official:
        rows = official.extra_fits.HDRTAB.data
        assert len(rows) == 2 and "FILENAME" in rows.dtype.names
