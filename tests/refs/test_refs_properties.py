"""The truth detector properties (the contract with webbcal.sim)."""

from __future__ import annotations

import numpy as np
import pytest

from webbcal.datamodels import dqflags
from webbcal.instruments.detectors import get_detector
from webbcal.refs.embedded import properties as P  # noqa: N812


@pytest.fixture(scope="module")
def miri():
    return P.detector_properties("MIRI", "MIRIMAGE")


@pytest.fixture(scope="module")
def nrc():
    return P.detector_properties("nircam", "nrca1")


def test_contract_shapes_and_dtypes(miri, nrc):
    for props, shape in ((miri, (1024, 1032)), (nrc, (2048, 2048))):
        assert props.shape == shape
        for name in ("superbias", "gain", "readnoise", "dark_rate", "saturation", "pixel_flat"):
            arr = getattr(props, name)
            assert arr.dtype == np.float32 and arr.shape == shape, name
            assert not arr.flags.writeable, name
        assert props.dq.dtype == np.uint32
        assert props.linearity.shape == (P.LINEARITY_NCOEFFS, *shape)
        assert props.ipc_kernel.shape == (3, 3)
        assert props.ipc_kernel.sum() == pytest.approx(1.0, abs=1e-6)
    assert nrc.instrument == "NIRCAM" and nrc.detector == "NRCA1"


def test_values_are_plausible(nrc, miri):
    det = get_detector("NIRCAM", "NRCA1")
    light = ~nrc.reference_mask
    assert 12000 < np.median(nrc.superbias) < 15000
    assert np.median(nrc.gain[light]) == pytest.approx(det.gain, rel=0.05)
    assert np.median(nrc.readnoise[light]) == pytest.approx(det.readnoise, rel=0.1)
    assert np.median(nrc.dark_rate[light]) == pytest.approx(det.dark_current, rel=0.2)
    assert nrc.dark_rate[light].max() > 50 * det.dark_current  # hot pixels
    assert np.all(nrc.saturation < 65535) and np.all(nrc.saturation > nrc.superbias + 20000)
    good = light & (nrc.pixel_flat > 0)
    assert nrc.pixel_flat[good].mean() == pytest.approx(1.0, abs=1e-3)
    assert np.all(nrc.dark_rate[nrc.reference_mask] == 0)
    assert miri.reset_anomaly.shape[1:] == miri.shape and miri.reset_anomaly[0].max() > 20
    assert miri.rscd_group_skip["FAST"] == (1, 3)
    assert nrc.reset_anomaly is None and nrc.persat is not None and miri.persat is None
    assert nrc.trappars.dtype.names == ("capture0", "capture1", "capture2", "decay_param")


def test_dq_flags(nrc, miri):
    dq = dqflags.pixel
    ref = nrc.reference_mask
    assert ref.sum() == 2048 * 2048 - 2040 * 2040
    # reference pixels carry REFERENCE_PIXEL only (as the official masks), so that the
    # refpix step uses them
    assert np.all(nrc.dq[ref] & dq["REFERENCE_PIXEL"])
    assert not np.any(nrc.dq[ref] & dq["DO_NOT_USE"])
    assert np.all(miri.reference_mask[:, :4]) and not miri.reference_mask[:, 4:1028].any()
    for flag in ("DEAD", "HOT", "WARM", "LOW_QE", "NO_GAIN_VALUE"):
        assert np.any(nrc.dq & dq[flag]), flag
    dead = (nrc.dq & dq["DEAD"]) != 0
    assert np.all(nrc.pixel_flat[dead] == 0)


def test_linearity_is_a_correction_with_c0_0_c1_1(nrc):
    c = nrc.linearity
    assert np.all(c[0] == 0) and np.all(c[1] == 1)
    well = nrc.saturation - nrc.superbias
    linear = sum(c[i].astype(np.float64) * well**i for i in range(c.shape[0]))
    light = ~nrc.reference_mask & ((nrc.dq & dqflags.DEAD) == 0)
    frac = (linear / well - 1.0)[light]
    assert 0.04 < np.median(frac) < 0.10


def test_raw_dn_coefficients_give_the_same_polynomial(miri):
    rng = np.random.default_rng(1)
    y, x = rng.integers(0, 1024, 50), rng.integers(4, 1028, 50)
    c = miri.linearity[:, y, x].astype(np.float64)
    bias = miri.superbias[y, x]
    q = P.raw_dn_coefficients(miri.linearity[:, y, x], bias).astype(np.float64)
    f = rng.uniform(0, 40000, 50)
    p_f = sum(c[i] * f**i for i in range(c.shape[0]))
    q_r = sum(q[i] * (f + bias) ** i for i in range(q.shape[0]))
    np.testing.assert_allclose(q_r, p_f, atol=0.05)


def test_deterministic_across_cache_clears():
    first = P.detector_properties("MIRI", "MIRIMAGE")
    P.detector_properties.cache_clear()
    second = P.detector_properties("MIRI", "MIRIMAGE")
    assert first is not second
    for name in ("superbias", "gain", "dark_rate", "linearity", "dq", "reset_anomaly"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name), err_msg=name)
    other = P.detector_properties("MIRI", "MIRIFULONG")
    assert not np.array_equal(first.gain, other.gain)


def test_flat_photom_psf_and_filter_offsets(miri):
    sci, err = P.flat_for("MIRI", "MIRIMAGE", "F770W")
    assert sci.dtype == np.float32 and sci.shape == miri.shape
    good = ~miri.reference_mask & (miri.pixel_flat > 0)
    assert sci[good].mean() == pytest.approx(1.0, abs=1e-3)
    sci2, _ = P.flat_for("MIRI", "MIRIMAGE", "F2100W")
    assert not np.array_equal(sci, sci2)
    np.testing.assert_allclose(err, 0.002 * sci, rtol=1e-6)
    f200 = P.photom_conversion("NIRCAM", "NRCA1", "F200W", "CLEAR")
    f356 = P.photom_conversion("NIRCAM", "NRCALONG", "F356W", "CLEAR")
    assert 1.5 < f200 < 3.5 and 0.25 < f356 < 0.7  # MJy/sr per DN/s (zero point ~28 AB)
    assert P.photom_conversion("NIRCAM", "NRCA1", "F200W", "MASKRND") > f200
    assert P.psf_fwhm("NIRCAM", "F200W") == pytest.approx(0.068, abs=0.005)
    assert P.filter_offset("MIRI", "F770W") == (0.0, 0.0)
    assert max(map(abs, P.filter_offset("MIRI", "F1500W"))) <= 0.3
    assert P.filter_offset("NIRCAM", "F200W") == (0.0, 0.0)


def test_properties_are_drawn_once_per_store_and_mapped_after(tmp_path, monkeypatch):
    from dataclasses import fields

    monkeypatch.setenv("WEBBCAL_REFS", str(tmp_path))
    P.detector_properties.cache_clear()
    try:
        drawn = P.detector_properties("MIRI", "MIRIMAGE")
        assert len(list((tmp_path / "native" / "properties").glob("*/meta.json"))) == 1
        P.detector_properties.cache_clear()
        mapped = P.detector_properties("MIRI", "MIRIMAGE")
    finally:
        P.detector_properties.cache_clear()
    assert mapped is not drawn and mapped.refpix == drawn.refpix
    assert mapped.shape == drawn.shape and mapped.rscd_group_skip == drawn.rscd_group_skip
    assert not mapped.gain.flags.writeable
    for field in fields(drawn):
        a, b = getattr(drawn, field.name), getattr(mapped, field.name)
        if isinstance(a, np.ndarray):
            assert b.dtype == a.dtype, field.name
            np.testing.assert_array_equal(a, b, err_msg=field.name)
        else:
            assert a == b or (a is None and b is None), field.name
