"""Random streams, the frame schedule and the detector kernels (no reference data)."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba import njit

from webbcal.sim.detector import (
    DetectorEffects,
    DetectorSetup,
    FrameSchedule,
    invert_linearity,
    ipc_convolve,
    simulate_ramp,
)
from webbcal.sim.rng import normal, normal_row, poisson, poisson_row, stream


@njit(cache=False)
def _draw_poisson(n, lam, seed):
    s = stream(seed, 7, 8, 9)
    out = np.empty(n)
    for i in range(n):
        out[i], s = poisson(s, lam)
    return out


@njit(cache=False)
def _draw_normal(n, seed):
    s = stream(seed, 1, 2, 3)
    out = np.empty(n)
    for i in range(n):
        out[i], s = normal(s)
    return out


@pytest.mark.parametrize("lam", [0.02, 3.0, 9.99, 10.0, 57.0, 4000.0])
def test_poisson_moments(lam):
    x = _draw_poisson(400_000, lam, 5)
    n = x.size
    assert abs(x.mean() - lam) < 5 * np.sqrt(lam / n)
    assert abs(x.var() / lam - 1.0) < 5 * np.sqrt(2.0 / n) + 0.01
    assert np.all(x == np.round(x)) and x.min() >= 0


def test_normal_moments():
    x = _draw_normal(400_000, 3)
    assert abs(x.mean()) < 0.01
    assert abs(x.std() - 1.0) < 0.01
    assert abs(np.mean(x**4) - 3.0) < 0.05


def test_row_draws_have_normal_and_poisson_moments():
    z = np.empty(4096)
    w = np.empty(4096, dtype=np.uint64)
    parts = []
    for y in range(100):
        normal_row(np.uint64(stream(4, 5, 6, y)), z, w)
        parts.append(z.copy())
    x = np.concatenate(parts)
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1.0) < 0.01
    assert abs(np.mean(x**4) - 3.0) < 0.05
    from scipy.stats import poisson as poisson_dist

    rng = np.random.default_rng(2)
    lam = np.full(400_000, 1.5)
    lam[::1000] = 12.0  # left to the caller (PTRS)
    u = rng.random(lam.size)
    n = np.empty_like(lam)
    done = poisson_row(u, lam, np.exp(-lam).astype(np.float32), n)
    assert not done and np.all(n[::1000] == -1.0)
    small = lam < 10
    exact = poisson_dist.ppf(u[small], 1.5)
    k = n[small]
    drawn = k >= 0  # the rest (beyond the sixth term) are left to the caller
    assert 0 < np.count_nonzero(~drawn) < 1e-2 * k.size and np.all(exact[~drawn] >= 6)
    assert np.mean(k[drawn] != exact[drawn]) < 1e-4


def test_streams_differ_and_repeat():
    a, b = _draw_normal(100, 1), _draw_normal(100, 2)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, _draw_normal(100, 1))


def test_schedule_frames_and_groups():
    s = FrameSchedule(ngroups=3, nframes=2, groupgap=3, nints=1, tframe=1.0, drop1=1)
    assert s.frames_per_int == 1 + 3 * 5 - 3
    fg = s.frame_group()
    np.testing.assert_array_equal(fg, [-1, 0, 0, -1, -1, -1, 1, 1, -1, -1, -1, 2, 2])
    # a charge arriving before read k is first seen in the group that reads k or later
    np.testing.assert_array_equal(s.first_affected_group([0, 1, 2, 3, 6, 12]), [0, 0, 0, 1, 1, 2])
    np.testing.assert_allclose(s.group_times(), [2.5, 7.5, 12.5])


def test_invert_linearity_is_exact():
    rng = np.random.default_rng(0)
    ny, nx = 8, 9
    c = np.zeros((5, ny, nx))
    c[1] = 1.0
    c[2] = 0.055 / 45000 * rng.uniform(0.8, 1.2, (ny, nx))
    c[3] = 0.012 / 45000**2
    c[4] = 0.004 / 45000**3
    lin = rng.uniform(0, 50000, (ny, nx))
    f = invert_linearity(lin, c, np.full((ny, nx), 1e6))
    back = sum(c[i] * f**i for i in range(5))
    np.testing.assert_allclose(back, lin, atol=1e-6)
    assert np.all(f < lin + 1e-9)


def test_ipc_convolve_matches_scipy():
    from scipy.ndimage import convolve

    rng = np.random.default_rng(1)
    img = rng.random((20, 30))
    k = np.array([[0.001, 0.01, 0.002], [0.012, 0.95, 0.011], [0.0, 0.013, 0.001]])
    ref = np.zeros((20, 30), np.uint8)
    out = ipc_convolve(img, k, ref)
    np.testing.assert_allclose(out, convolve(img, k, mode="constant"), rtol=1e-12)


def _toy_setup(ny=32, nx=40):
    lc = np.zeros((3, ny, nx), np.float32)
    lc[1] = 1.0
    lc[2] = 1e-6
    ref = np.zeros((ny, nx), np.uint8)
    ref[:, :4] = 1
    return DetectorSetup(
        gain=np.full((ny, nx), 2.0, np.float32),
        superbias=np.full((ny, nx), 10000.0, np.float32),
        rn_read=np.full((ny, nx), 5.0, np.float32),
        dark_rate=np.full((ny, nx), 0.01, np.float32),
        saturation=np.full((ny, nx), 40000.0, np.float32),
        lincoef=lc,
        ipc_kernel=np.array([[0, 0.01, 0], [0.01, 0.96, 0.01], [0, 0.01, 0]], np.float32),
        refmask=ref,
        amp_code=(np.arange(nx)[None, :] & 1).repeat(ny, 0).astype(np.int8),
        namps=1,
    )


def test_ramp_independent_of_thread_count():
    setup = _toy_setup()
    sch = FrameSchedule(ngroups=4, nframes=2, groupgap=1, nints=2, tframe=1.0)
    rate = np.full(setup.shape, 50.0)
    nthreads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simulate_ramp(setup, sch, rate, seed=3)
    finally:
        numba.set_num_threads(nthreads)
    two = simulate_ramp(setup, sch, rate, seed=3)
    np.testing.assert_array_equal(one, two)
    assert one.dtype == np.uint16 and one.shape == (2, 4, 32, 40)
    assert not np.array_equal(one, simulate_ramp(setup, sch, rate, seed=4))


def test_noise_free_ramp_and_saturation_clip():
    setup = _toy_setup()
    sch = FrameSchedule(ngroups=6, nframes=1, groupgap=0, nints=1, tframe=10.0)
    quiet = DetectorEffects(
        poisson=False,
        read_noise=False,
        amp_offsets=False,
        one_over_f=False,
        quantize=False,
        ipc=False,
        dark=False,
    )
    rate = np.zeros(setup.shape)
    rate[:, 10:] = 600.0  # 6000 DN per frame: saturates at group ~4
    out = simulate_ramp(setup, sch, rate, seed=1, effects=quiet)[0]
    t = 10.0 * np.arange(1, 7)
    f = out[:, 5, 5] - 10000.0
    np.testing.assert_allclose(f, 0.0)
    lin = 600.0 * t
    raw = (-1 + np.sqrt(1 + 4e-6 * lin)) / 2e-6  # F + 1e-6 F**2 = lin
    expect = np.minimum(10000.0 + raw, 40000.0)
    np.testing.assert_allclose(out[:, 5, 20], expect, rtol=1e-9)
    assert out[-1, 5, 20] == 40000.0 and out[0, 5, 20] < 40000.0
