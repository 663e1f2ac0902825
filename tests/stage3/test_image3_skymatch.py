"""skymatch: sky statistics and the local/global/match/global+match sky levels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from webbcal.kernels.skystats import STATISTICS, sky_value
from webbcal.steps.skymatch import SkyMatchStep

from .conftest import SKY_OFFSETS
from .synthetic import SKY_MJYSR


def _sky(values, stat, **kw):
    opts = dict(lower=math.nan, upper=math.nan, nclip=5, lsigma=4.0, usigma=4.0, binwidth=0.1)
    opts.update(kw)
    return sky_value(np.asarray(values, np.float32), STATISTICS[stat], opts["lower"],
                     opts["upper"], opts["nclip"], opts["lsigma"], opts["usigma"],
                     opts["binwidth"])  # fmt: skip


def test_statistics_against_numpy():
    rng = np.random.default_rng(1)
    values = rng.normal(10.0, 2.0, 20001).astype(np.float32)
    assert _sky(values, "mean", nclip=0)[0] == pytest.approx(values.mean(dtype=np.float64))
    assert _sky(values, "median", nclip=0)[0] == pytest.approx(np.median(values))
    for stat in ("mode", "midpt"):
        assert _sky(values, stat)[0] == pytest.approx(10.0, abs=0.1)
    # clipping drops a bright tail (sources); limits drop out-of-range values
    with_sources = np.concatenate([values, np.full(500, 1000.0, np.float32)])
    sky, npix = _sky(with_sources, "mean")
    assert sky == pytest.approx(10.0, abs=0.05) and npix < values.size + 10
    assert _sky(values, "mean", nclip=0, upper=10.0)[0] < 9.0
    assert math.isnan(_sky(np.full(5, np.nan), "mean")[0])


@pytest.mark.parametrize("skystat", ["median", "mean", "midpt"])
def test_match_recovers_injected_offsets(dither_factory, skystat):
    d = dither_factory()
    models = SkyMatchStep.call(d.models, skymethod="match", skystat=skystat)
    levels = np.array([m.meta.background.level for m in models])
    expected = np.array(SKY_OFFSETS) - min(SKY_OFFSETS)
    assert np.abs(levels - expected).max() <= 0.01 * expected.max()
    assert all(m.meta.background.method == "match" and not m.meta.background.subtracted
               for m in models)  # fmt: skip


def test_global_match_gives_absolute_skies_and_subtracts(dither_factory, tmp_path):
    d = dither_factory()
    before = [m.data.copy() for m in d.models]
    err = [m.err.copy() for m in d.models]
    models = SkyMatchStep.call(d.models, skymethod="global+match", skystat="median",
                               subtract=True)  # fmt: skip
    truth = SKY_MJYSR + np.array(SKY_OFFSETS)
    levels = np.array([m.meta.background.level for m in models])
    assert np.abs(levels - truth).max() <= 0.01 * truth.max()
    for m, b, e, level in zip(models, before, err, levels):
        assert np.allclose(m.data, b - np.float32(level), atol=1e-6)
        assert np.array_equal(m.err, e)
    path = models[1].save(tmp_path / "sky.fits")
    from astropy.io import fits

    header = fits.getheader(path, 0)
    assert header["BKGSUB"] is True and header["BKGMETH"] == "global+match"
    assert header["BKGLEVEL"] == pytest.approx(levels[1])


def test_local_and_global(dither_factory):
    d = dither_factory()
    local = [m.meta.background.level for m in SkyMatchStep.call(d.models, skymethod="local",
                                                                  skystat="median")]  # fmt: skip
    assert np.allclose(local, SKY_MJYSR + np.array(SKY_OFFSETS), atol=0.01)
    glob = [m.meta.background.level for m in SkyMatchStep.call(d.models, skymethod="global",
                                                                 skystat="median")]  # fmt: skip
    assert np.allclose(glob, min(local))


def test_user_skylist(dither_factory, tmp_path):
    d = dither_factory()
    skylist = tmp_path / "sky.txt"
    skylist.write_text("".join(f"{m.meta.filename} {k * 0.1}\n" for k, m in enumerate(d.models)))
    models = SkyMatchStep.call(d.models, skymethod="user", skylist=str(skylist))
    assert [m.meta.background.level for m in models] == pytest.approx([0.0, 0.1, 0.2, 0.3])
