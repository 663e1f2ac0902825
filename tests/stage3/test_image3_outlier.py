"""outlier_detection (imaging): cosmic rays flagged, stars spared, arrays untouched."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from webbcal.datamodels import dqflags
from webbcal.kernels.median import median_of_sections, nanmedian_stack
from webbcal.kernels.outlier import blot, flag_outliers
from webbcal.kernels.pixmap import node_map
from webbcal.steps.outlier_detection import OutlierDetectionStep


def test_nanmedian_matches_numpy():
    rng = np.random.default_rng(2)
    stack = rng.normal(size=(5, 40, 30)).astype(np.float32)
    stack[rng.uniform(size=stack.shape) < 0.3] = np.nan
    stack[:, 0, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN pixel
        expected = np.nanmedian(stack, axis=0)
    got = nanmedian_stack(stack)
    assert np.allclose(got, expected, equal_nan=True)
    sections = median_of_sections(lambda a, b: stack[:, a:b], (40, 30), 7)
    assert np.array_equal(sections, got, equal_nan=True)


def test_blot_through_a_shift_is_interpolation():
    y, x = np.mgrid[0:40, 0:50].astype(float)
    image = (np.sin(x / 5.0) + np.cos(y / 7.0)).astype(np.float32)
    nm = node_map(lambda a, b: (a + 3.25, b - 1.5), (30, 30), step=8)
    out = blot(image, nm.nodes, nm.hx, nm.hy, (30, 30))
    yy, xx = np.mgrid[0:30, 0:30].astype(float)
    truth = np.sin((xx + 3.25) / 5.0) + np.cos((yy - 1.5) / 7.0)
    inside = np.isfinite(out)
    assert inside[5:25, 5:25].all()
    assert np.abs(out - truth)[inside].max() < 1e-4


def test_flagging_rule():
    sci = np.zeros((9, 9), np.float32)
    err = np.ones((9, 9), np.float32)
    blotted = np.zeros((9, 9), np.float32)
    sci[4, 4] = 6.0  # above snr1 = 5: detected
    sci[4, 5] = 4.5  # above snr2 = 4 next to it: flagged too
    sci[1, 1] = 4.5  # above snr2 alone: not flagged
    mask = flag_outliers(sci, err, blotted, 0.0, (5.0, 4.0), (1.2, 0.7))
    assert mask[4, 4] and mask[4, 5] and not mask[1, 1] and mask.sum() == 2
    # a steep blotted profile (a star) raises the threshold through its derivative
    blotted[4, 4] = 100.0
    sci[4, 4] = 108.0
    assert not flag_outliers(sci, err, blotted, 0.0, (5.0, 4.0), (1.2, 0.7))[4, 4]


def _coverage(models, k, ys, xs):
    ra, dec = models[k].meta.wcs(xs.astype(float), ys.astype(float))
    count = np.zeros(xs.size, int)
    for m in models:
        x, y = m.meta.wcs.invert(ra, dec)
        count += (x > 3) & (x < m.shape[1] - 4) & (y > 3) & (y < m.shape[0] - 4)
    return count


@pytest.mark.parametrize("in_memory", [True, False])
def test_cosmic_rays_flagged_and_star_cores_spared(cr_dither_factory, in_memory):
    d = cr_dither_factory()
    for m, true in zip(d.models, d.true_wcs):
        m.meta.wcs = true  # perfectly aligned: the test is about the rejection
    arrays = [{n: getattr(m, n).copy() for n in ("data", "err", "var_poisson", "var_rnoise")}
              for m in d.models]  # fmt: skip
    models = OutlierDetectionStep.call(d.models, in_memory=in_memory)
    hits = total = false_core = core_pixels = 0
    for k, (m, (ys, xs)) in enumerate(zip(models, d.cosmic_rays)):
        assert m.meta.cal_step.outlier_detection == "COMPLETE"
        for name, before in arrays[k].items():
            assert np.array_equal(getattr(m, name), before), f"{name} changed"
        flagged = (m.dq & dqflags.OUTLIER) != 0
        assert np.all((m.dq[flagged] & dqflags.DO_NOT_USE) != 0)
        covered = _coverage(models, k, ys, xs) >= 3
        hits += int(flagged[ys[covered], xs[covered]].sum())
        total += int(covered.sum())
        x, y = m.meta.wcs.invert(np.asarray(d.stars["ra"]), np.asarray(d.stars["dec"]))
        yy, xx = np.mgrid[0 : m.shape[0], 0 : m.shape[1]]
        core = np.zeros(m.shape, bool)
        for sx, sy in zip(x[np.isfinite(x)], y[np.isfinite(x)]):
            core |= (xx - sx) ** 2 + (yy - sy) ** 2 < 2.0**2
        cr = np.zeros(m.shape, bool)
        cr[ys, xs] = True
        near_cr = np.zeros(m.shape, bool)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                near_cr |= np.roll(np.roll(cr, dy, 0), dx, 1)
        false_core += int((flagged & core & ~near_cr).sum())
        core_pixels += int((core & ~near_cr).sum())
    assert total > 80
    assert hits / total >= 0.95
    assert false_core / core_pixels <= 0.001


def test_needs_two_exposures(cr_dither_factory):
    d = cr_dither_factory()
    out = OutlierDetectionStep.call(d.models[:1])
    assert out[0].meta.cal_step.outlier_detection == "SKIPPED"


def test_intermediate_products(cr_dither_factory, tmp_path):
    d = cr_dither_factory()
    for m, true in zip(d.models, d.true_wcs):
        m.meta.wcs = true
    step = OutlierDetectionStep(save_intermediate_results=True, output_dir=str(tmp_path))
    step.run(d.models[:2])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "jw01234001001_01101_00001_nrca1_median.fits" in names
    assert "jw01234001001_01101_00002_nrca1_blot.fits" in names
    assert "jw01234001001_01101_00001_nrca1_outlier_i2d.fits" in names
