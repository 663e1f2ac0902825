"""Persistence: the kernel against a numpy transcription of the official DataSet.do_all."""

from __future__ import annotations

import math

import numpy as np
import pytest

from webbcal.errors import ParameterError
from webbcal.kernels.persistence import TrapParams, correct_persistence, decay_traps

PARS = TrapParams(
    capture0=np.array([180.0, 270.0, 49.0]),
    capture1=np.array([-0.0005, -0.002, -0.05]),
    capture2=np.array([0.01, 0.02, 0.003]),
    decay_param=np.array([-0.0003, -0.002, -0.03]),
)


def official(data, gdq, pdq, traps, density, persat, tframe, tgroup, nres0, nres1, cutoff):
    """Numpy transcription of jwst persistence.DataSet.do_all (no subarray)."""
    data = data.copy()
    pdq = pdq.copy()
    traps = traps.copy()
    par0, par1, par2, par3 = (
        np.asarray(c) for c in (PARS.capture0, PARS.capture1, PARS.capture2, PARS.decay_param)
    )
    nints, ng, ny, nx = data.shape

    def decay(tf, p, dt):
        return tf * 0.0 if p == 0 else tf * (1.0 - math.exp(-dt / (1.0 / abs(p))))

    pers_out = np.zeros(data.shape, np.float32)
    decayed = np.zeros((len(par0), ny, nx))
    for integ in range(nints):
        nres = nres0 if integ == 0 else nres1
        d = data[integ]
        g = gdq[integ]
        n_cr = ((g & 4) > 0).astype(np.int32).sum(axis=0)
        diff = d[1:] - d[:-1]
        huge = max(2.0 * diff.max(), 1.0e5)
        s_mask = (g[1:] & 2) > 0
        diff[s_mask] = huge
        n_sat = s_mask.astype(np.int32).sum(axis=0)
        sdiff = np.sort(diff, axis=0)
        upper = diff.shape[0] - (n_cr + n_sat)
        upper[upper < 0] = 0
        indx = np.arange(ng - 1)[:, None, None] * np.ones((1, ny, nx), int)
        sdiff[indx >= upper] = 0.0
        bad = upper <= 0
        upper[bad] = 1
        grp_slope = np.sum(sdiff, axis=0) / upper.astype(np.float32)
        grp_slope[bad] = 0.0
        slope = grp_slope / (persat * tgroup)
        decayed[:] = 0.0
        for grp in range(ng):
            pers = np.zeros((ny, nx))
            for k in range(len(par0)):
                if integ > 0 and grp == 0 and nres > 0:
                    traps[k] -= decay(traps[k], par3[k], tframe * nres)
                dig = decay(traps[k], par3[k], tgroup)
                decayed[k] += dig
                traps[k] -= dig
                pers += decayed[k]
            data[integ, grp] -= pers
            pers_out[integ, grp] = pers
            pdq[pers >= cutoff] |= 32
        d = data[integ]
        for k in range(len(par0)):
            p0, p1, p2 = par0[k], par1[k], par2[k]
            totaltime = ng * tgroup + nres * tframe
            sat_count = (d > persat).sum(axis=0, dtype=np.intp)
            sattime = sat_count.astype(np.float64) * tgroup
            dt = totaltime - sattime
            tau = 1.0 / abs(p1)
            filled = (
                density
                * slope**2
                * (
                    dt**2 * (p0 + p2) / 2.0
                    + p0 * (dt * tau + tau**2) * np.exp(-dt / tau)
                    - p0 * tau**2
                )
            )
            filled *= 2.0
            m = sat_count > 0
            if m.any():
                inc = filled[m]
                full = sat_count[m] == ng
                inc[full] = density[m][full] * p2
                exp_f = inc - density[m] * p2
                empty = density[m] * p0 - exp_f
                filled[m] = inc + empty * (1.0 - np.exp(-abs(p1) * sattime[m]))
            cr = np.zeros_like(density)
            for grp in range(1, ng):
                w = np.where(g[grp] & 4)
                if len(w[0]):
                    dtc = (float(ng - grp) - 0.5) * tgroup
                    jump = (d[grp][w] - d[grp - 1][w]) - grp_slope[w]
                    jump = np.where(jump < 0.0, 0.0, jump)
                    cr[w] += density[w] * jump * (p0 * (1.0 - math.exp(p1 * dtc)) + p2)
            cr *= 2.0
            traps[k] += filled + cr
    return data, pdq, traps, pers_out


def make_case(seed=0, nints=2, ng=6, ny=12, nx=13):
    rng = np.random.default_rng(seed)
    slope = rng.uniform(0, 3000, (ny, nx)).astype(np.float32)
    data = (
        np.arange(ng, dtype=np.float32)[None, :, None, None] * slope
        + rng.normal(0, 3, (nints, ng, ny, nx))
    ).astype(np.float32)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[0, 3, 2, 2] = 4
    data[0, 3:, 2, 2] += 4000
    gdq[:, 4:, 5, 5] = 2
    traps = rng.uniform(0, 300, (3, ny, nx)).astype(np.float32)
    density = rng.uniform(0.5, 1.5, (ny, nx)).astype(np.float32)
    persat = rng.uniform(9000, 12000, (ny, nx)).astype(np.float32)
    return data, gdq, np.zeros((ny, nx), np.uint32), traps, density, persat


def test_matches_official_transcription():
    data, gdq, pdq, traps, density, persat = make_case()
    ed, ep, et, epers = official(data, gdq, pdq, traps, density, persat, 10.7, 21.4, 1, 1, 40.0)
    d, p, t = data.copy(), pdq.copy(), traps.copy()
    res = correct_persistence(
        d,
        gdq,
        p,
        t,
        density,
        persat,
        PARS,
        frame_time=10.7,
        group_time=21.4,
        nresets=1,
        flag_cutoff=40.0,
        return_persistence=True,
    )
    np.testing.assert_allclose(d, ed, rtol=1e-6, atol=1e-3)
    np.testing.assert_array_equal(p, ep)
    np.testing.assert_allclose(res.trapsfilled, et, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(res.persistence, epers, rtol=1e-5, atol=1e-4)
    assert res.trapsfilled is t  # updated in place
    assert (p & 32).any()


def test_no_input_traps_and_subarray_window():
    data, gdq, pdq, _, density, persat = make_case(seed=1, nints=1)
    d = data.copy()
    res = correct_persistence(
        d, gdq, pdq, None, density, persat, PARS, frame_time=1.0, group_time=2.0
    )
    np.testing.assert_array_equal(d, data)  # empty traps: no persistence in integration 1
    assert res.trapsfilled.shape == (3, 12, 13) and (res.trapsfilled > 0).any()
    full = np.full((3, 30, 30), 100.0, np.float32)
    correct_persistence(
        data.copy(),
        gdq,
        pdq.copy(),
        full,
        density,
        persat,
        PARS,
        frame_time=1.0,
        group_time=2.0,
        traps_offset=(5, 6),
    )
    outside = full[:, 0, 0]
    expect = decay_traps(np.full((3, 1, 1), 100.0, np.float32), 0.0, PARS.decay_param)
    for _ in range(6):
        for k, p in enumerate(PARS.decay_param):
            expect[k] -= expect[k] * np.float32(1.0 - math.exp(-2.0 * abs(p)))
    np.testing.assert_allclose(outside, expect[:, 0, 0], rtol=1e-6)
    with pytest.raises(ParameterError):
        correct_persistence(
            data,
            gdq,
            pdq,
            full,
            density,
            persat,
            PARS,
            frame_time=1.0,
            group_time=2.0,
            traps_offset=(25, 25),
        )


def test_decay_traps():
    t = np.full((3, 2, 2), 10.0, np.float32)
    out = decay_traps(t, 1000.0, PARS.decay_param)
    np.testing.assert_allclose(
        out[:, 0, 0], 10.0 * np.exp(-1000.0 * np.abs(PARS.decay_param)), rtol=1e-5, atol=1e-6
    )
    assert (t == 10).all()


@pytest.mark.parametrize("nres_later", [0, 2])
def test_nan_saturated_jumps_and_bad_traps(nres_later):
    data, gdq, pdq, traps, density, persat = make_case(seed=3, nints=3, ng=7, ny=9, nx=11)
    data[1, 4, 6, 6] = np.nan  # NaN difference: sorted last, as np.sort
    persat[3, 3] = 1000.0  # above PERSAT for most groups
    gdq[2, 2:, 7, 1] |= 2
    gdq[1, 5, 0, 0] |= 4
    density[2, 8] = 0.0
    d, p = data.copy(), pdq.copy()
    bad_traps = traps.copy()
    bad_traps[0, 1, 1] = np.nan  # read as np.nan_to_num makes it
    res = correct_persistence(d, gdq, p, bad_traps, density, persat, PARS, frame_time=10.7,
                              group_time=21.4, nresets=1, nresets_between=nres_later,
                              flag_cutoff=40.0, return_persistence=True)  # fmt: skip
    clean = traps.copy()
    clean[0, 1, 1] = 0.0
    ed, ep, et, epers = official(data, gdq, pdq, clean, density, persat, 10.7, 21.4, 1,
                                 nres_later, 40.0)  # fmt: skip
    np.testing.assert_allclose(d, ed, rtol=1e-6, atol=1e-3)
    np.testing.assert_array_equal(p, ep)
    np.testing.assert_allclose(res.trapsfilled, et, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(res.persistence, epers, rtol=1e-5, atol=1e-4)
    assert np.isnan(res.trapsfilled[:, 6, 6]).all()  # the NaN slope fills NaN traps


def test_reference_dq_and_nan_references():
    """DO_NOT_USE density: no traps; DO_NOT_USE PERSAT: slope 0; NaN PERSAT reads as 1e7."""
    data, gdq, pdq, _, density, persat = make_case(seed=5, nints=1)
    kw = dict(frame_time=10.7, group_time=21.4)

    def run(dens, ps, **extra):
        res = correct_persistence(data.copy(), gdq, pdq.copy(), None, dens, ps, PARS, **kw, **extra)
        return res.trapsfilled

    base = run(density, persat)
    ddq = np.zeros(density.shape, np.uint32)
    ddq[2, 3] = 1
    zeroed = density.copy()
    zeroed[2, 3] = 0.0
    np.testing.assert_array_equal(run(density, persat, trap_density_dq=ddq), run(zeroed, persat))
    pdq_ref = np.zeros(persat.shape, np.uint32)
    pdq_ref[4, 4] = 1 | 4
    bad = run(density, persat, persat_dq=pdq_ref)
    assert (bad[:, 4, 4] == 0).all() and (base[:, 4, 4] > 0).all()
    np.testing.assert_array_equal(np.delete(bad.reshape(3, -1), 4 * 13 + 4, axis=1),
                                  np.delete(base.reshape(3, -1), 4 * 13 + 4, axis=1))  # fmt: skip
    nan_ps, big_ps = persat.copy(), persat.copy()
    nan_ps[6, 7] = np.nan
    big_ps[6, 7] = 1.0e7
    np.testing.assert_array_equal(run(density, nan_ps), run(density, big_ps))
