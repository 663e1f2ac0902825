"""Tests of the likelihood (LIKELY) ramp fit: stcal parity and statistical honesty."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.test_ramp_fit import FIELDS, assert_products_close, make_case, run_stcal, simulate
from webbcal.kernels.ramp_fit_likely import fit_ramps_likely, likely_covariance, read_times


def add_jumps(c, seed, frac=0.1, size=500.0):
    rng = np.random.default_rng(seed)
    data = c["data"]
    hit = rng.random(data.shape[:1] + data.shape[2:]) < frac
    start = rng.integers(1, data.shape[1], hit.shape)
    for i, y, x in zip(*np.nonzero(hit)):
        data[i, start[i, y, x]:, y, x] += size


@pytest.mark.parametrize(("seed", "kw"), [
    (0, {"ngroups": 6, "nints": 1}),
    (1, {"ngroups": 8, "nints": 3}),
    (2, {"ngroups": 10, "nints": 2, "nframes": 4, "groupgap": 1}),
    (3, {"ngroups": 5, "nints": 2, "pflag": 0.0}),
])
def test_likely_parity_with_stcal(seed, kw):
    c = make_case(seed, pflag=kw.pop("pflag", 0.03), **kw)
    add_jumps(c, seed)
    im, it, _ = run_stcal(c, algorithm="LIKELY")
    res = fit_ramps_likely(c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"], **c["kw"])
    assert res.algorithm == "LIKELY"
    assert_products_close(res.rate, im)
    assert_products_close(res.rateints, it)
    np.testing.assert_allclose(res.chisq, it["chisq"], rtol=1e-3, atol=1e-4, equal_nan=True)


def test_likely_parity_with_stcal_zeroframe():
    """With ZEROFRAME, ramps left with <= 3 usable differences can differ: there the
    one- and two-difference omissions fit perfectly (chi-squared ~ 1e-11) and which one
    the jump search drops is decided by rounding, in stcal as here."""
    c = make_case(5, ngroups=10, nints=2, nframes=4, groupgap=1, pflag=0.03)
    add_jumps(c, 5)
    _im, it, _ = run_stcal(c, algorithm="LIKELY", zeroframe=c["zf"])
    res = fit_ramps_likely(c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"],
                           zeroframe=c["zf"], **c["kw"])
    q = np.concatenate([c["gdq"][:, :1], c["gdq"]], axis=1)
    usable = ((q[:, 1:] == 0) & (q[:, :-1] == 0)).sum(axis=1)
    keep = usable > 3
    assert keep.mean() > 0.5
    for name in FIELDS:
        a = getattr(res.rateints, name)[keep]
        b = it["slope" if name == "data" else name][keep]
        if name == "dq":
            assert np.array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)


def test_likely_uneven_read_pattern_matches_stcal():
    pytest.importorskip("stcal")
    from stcal.ramp_fitting import likely_fit
    from stcal.ramp_fitting.ramp_fit_class import RampData

    c = make_case(6, ngroups=6, nints=1, pflag=0.02)
    add_jumps(c, 6)
    pattern = [[1.0], [2.0, 3.0], [5.0, 6.0, 7.0], [10.0], [14.0, 15.0], [20.0, 21.0, 22.0]]
    pattern = [list(np.array(p) * 10.737) for p in pattern]
    rd = RampData()
    rd.set_arrays(c["data"].copy(), c["gdq"].copy(), c["pdq"].copy(),
                  np.zeros(c["pdq"].shape, np.float32))
    rd.set_meta(name="NIRCAM", frame_time=10.737, group_time=10.737, groupgap=0, nframes=1)
    rd.set_dqflags({"DO_NOT_USE": 1, "SATURATED": 2, "JUMP_DET": 4, "PERSISTENCE": 32,
                    "NO_GAIN_VALUE": 524288, "UNRELIABLE_SLOPE": 16777216})
    rd.read_pattern = pattern
    with np.errstate(all="ignore"):
        im, _it, _ = likely_fit.likely_ramp_fit(rd, c["rn"].copy(), c["gain"].copy())
    res = fit_ramps_likely(c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"],
                           frame_time=10.737, group_time=10.737, nframes=1,
                           read_pattern=pattern)
    assert_products_close(res.rate, im)


def test_covariance_of_regular_pattern():
    cv = likely_covariance(read_times(5, frame_time=2.0, nframes=1, groupgap=0))
    # single reads 2 s apart: read noise 2/dt^2 on the diagonal, -1/dt^2 off it
    np.testing.assert_allclose(cv[0], 2 / 4.0)
    np.testing.assert_allclose(cv[1][:3], -1 / 4.0)


def test_likely_needs_four_groups():
    c = make_case(7, ngroups=3)
    with pytest.raises(ValueError, match="4 groups"):
        fit_ramps_likely(c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"], **c["kw"])


@pytest.mark.parametrize(("rate_e", "ngroups", "nframes"), [(1.0, 10, 1), (50.0, 10, 1),
                                                             (5.0, 6, 4)])
def test_likely_errors_are_honest(rate_e, ngroups, nframes):
    data, gdq, pdq, gain, rn, kw = simulate(40000, rate_e, ngroups=ngroups, nframes=nframes,
                                            seed=int(rate_e * 10) + ngroups + 1)
    res = fit_ramps_likely(data, gdq, pdq, gain, rn, **kw)
    z = (res.rate.data - rate_e / 2.0) / res.rate.err
    assert abs(np.mean(z)) < 0.05
    assert abs(np.std(z) - 1.0) < 0.05
