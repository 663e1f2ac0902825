"""Detector model: ideal count rates -> raw up-the-ramp groups (numba kernels).

The signal chain, per pixel and per frame ``k`` of an integration (frames counted from
the reset, dropped frames included, frame ``k`` read at ``t_k = (k + 1) * tframe``):

1. photo-charge ``Qp += Poisson(rate * gain * tframe) / gain`` (rate in DN/s, already
   multiplied by the flat field), dark charge ``Qd += Poisson(dark * gain * tframe) / gain``;
   cosmic-ray charge is added to ``Qp`` at the frame following its arrival;
2. inter-pixel capacitance: ``L = IPC (*) Qp + Qd`` (3x3 convolution, zero outside the
   array; the dark is left out of IPC so that a dark reference built from the same
   ``dark_rate`` subtracts exactly);
3. non-linearity: the raw signal ``F`` solves ``sum_i c_i F**i = L`` (Newton iterations on
   the linearity *correction* coefficients, so the linearity step inverts it exactly);
4. ``raw = superbias + F + amp/odd-even offset(frame) + 1/f row drift(frame) +
   N(0, rn_read) + group extras (MIRI reset anomaly, first/last frame)``, clipped at
   ``ceil(saturation)``; reference pixels get everything but 1-3;
5. the ``nframes`` frames of a group are averaged; dropped frames are not read;
   the group is rounded into the uint16 output (or kept as float64 for noise-free tests);
   the first frame read after each reset can be kept as the ZEROFRAME.

Only a few 2-D buffers (the float64 charges, the float32 ``exp(-mean)`` of the Poisson
draws) are held besides the 4-D output, which is written group by group, so a full-frame
ramp never exists as a float 4-D array. The per-frame kernels work row by row: the random
draws of a row come from one counter-based stream (:mod:`webbcal.sim.rng`), the
arithmetic runs in passes over row buffers that vectorise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from webbcal.sim.linearity import invert_linearity, lin_row
from webbcal.sim.rng import normal_row, poisson, poisson_inverse, poisson_row, stream, uniform

__all__ = [
    "DetectorEffects",
    "DetectorSetup",
    "FrameSchedule",
    "invert_linearity",
    "ipc_convolve",
    "simulate_ramp",
]

_KEY_PHOTON = 1
_KEY_DARK = 2
_KEY_READ = 3

#: Rows per task of the frame kernels (each task has its own row buffers).
_ROWS = 8


@dataclass(frozen=True, kw_only=True)
class DetectorEffects:
    """Switches for each detector effect (all on by default).

    Turning off ``poisson``, ``read_noise``, ``amp_offsets``, ``one_over_f`` and
    ``quantize`` gives a noise-free float64 ramp (used by tests).
    """

    poisson: bool = True  # photon and dark shot noise
    dark: bool = True  # dark current
    read_noise: bool = True  # white read noise per frame, CDS/sqrt(2)
    ipc: bool = True  # 3x3 inter-pixel capacitance
    flat: bool = True  # pixel response (rate x flat)
    nonlinearity: bool = True  # inverse of the linearity correction
    saturation: bool = True  # clip at the saturation level
    bias: bool = True  # superbias
    amp_offsets: bool = True  # per-frame amplifier and odd/even column offsets
    one_over_f: bool = True  # row-correlated drift common to all amplifiers
    group_extras: bool = True  # MIRI reset anomaly and first/last frame effects
    quantize: bool = True  # round to uint16 (False: float32 output)
    amp_offset_sigma: float = 3.0  # DN, per frame and amplifier
    odd_even_sigma: float = 1.5  # DN, static odd/even column offset per amplifier
    one_over_f_sigma: float = 2.0  # DN, rms of the row drift per frame


@dataclass(frozen=True, kw_only=True)
class FrameSchedule:
    """Which frames are read and averaged into which group.

    Parameters
    ----------
    ngroups, nframes, groupgap, nints : int
        Readout pattern values (``NGROUPS``, ``NFRAMES``, ``GROUPGAP``, ``NINTS``).
    tframe : float
        Frame time in seconds.
    drop1 : int
        Frames dropped after the reset, before the first group (``DRPFRMS1``).

    """

    ngroups: int
    nframes: int
    groupgap: int
    nints: int
    tframe: float
    drop1: int = 0

    @property
    def frames_per_int(self) -> int:
        """Frames from the reset to the last read frame of an integration."""
        return self.drop1 + self.ngroups * (self.nframes + self.groupgap) - self.groupgap

    def frame_group(self) -> np.ndarray:
        """Group index of every frame of an integration (-1: dropped, not read)."""
        g = np.full(self.frames_per_int, -1, dtype=np.int64)
        for grp in range(self.ngroups):
            k0 = self.drop1 + grp * (self.nframes + self.groupgap)
            g[k0 : k0 + self.nframes] = grp
        return g

    def first_affected_group(self, frame: np.ndarray) -> np.ndarray:
        """First group whose average includes charge that arrived before ``frame`` is read."""
        frame = np.asarray(frame, dtype=np.int64)
        # last frame index of each group
        last = (
            self.drop1
            + np.arange(self.ngroups) * (self.nframes + self.groupgap)
            + (self.nframes - 1)
        )
        return np.searchsorted(last, frame, side="left")

    def group_times(self) -> np.ndarray:
        """Mean read time (s after the reset) of each group."""
        fg = self.frame_group()
        t = (np.arange(self.frames_per_int) + 1.0) * self.tframe
        return np.array([t[fg == g].mean() for g in range(self.ngroups)])


@dataclass(kw_only=True)
class DetectorSetup:
    """Per-pixel detector properties cut to the simulated (sub)array, all float32 2-D.

    ``lincoef`` is (ncoeffs, ny, nx) correction coefficients; ``refmask`` is 1 on
    reference pixels (no photo-charge, no dark, no IPC, no non-linearity);
    ``amp_code`` is ``2 * amplifier + parity`` of each pixel (parity: odd/even index along
    the fast readout axis); ``fast_axis_x`` says whether rows (True) or columns are read
    fast, so that the 1/f drift is constant along them. ``group_extra`` (k, ny, nx) holds
    additive raw-DN patterns and ``group_extra_index`` (nints, ngroups) which one applies
    to each group (-1 for none).
    """

    gain: np.ndarray
    superbias: np.ndarray
    rn_read: np.ndarray
    dark_rate: np.ndarray
    saturation: np.ndarray
    lincoef: np.ndarray
    ipc_kernel: np.ndarray
    refmask: np.ndarray
    amp_code: np.ndarray
    namps: int
    fast_axis_x: bool = True
    group_extra: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 1), np.float32))
    group_extra_index: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx) of the array."""
        return self.gain.shape


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def ipc_convolve(img, kernel, refmask):
    """3x3 IPC convolution with zeros outside the array; reference pixels come out 0."""
    ny, nx = img.shape
    out = np.zeros((ny, nx), dtype=np.float64)
    for y in prange(ny):
        for x in range(nx):
            if refmask[y, x]:
                continue
            s = 0.0
            for j in range(3):
                yy = y - (j - 1)
                if yy < 0 or yy >= ny:
                    continue
                for i in range(3):
                    xx = x - (i - 1)
                    if xx < 0 or xx >= nx:
                        continue
                    s += kernel[j, i] * img[yy, xx]
            out[y, x] = s
    return out


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _add_row(s, row, k0, k1, k2):
    """``s[x] += k0 * row[x + 1] + k1 * row[x] + k2 * row[x - 1]`` (zero outside the row)."""
    nx = s.shape[0]
    if nx == 1:
        s[0] += k1 * row[0]
        return
    s[0] += k0 * row[1] + k1 * row[0]
    for x in range(1, nx - 1):
        s[x] += k0 * row[x + 1] + k1 * row[x] + k2 * row[x - 1]
    s[nx - 1] += k1 * row[nx - 1] + k2 * row[nx - 2]


@njit(cache=True, nogil=True, error_model="numpy")
def _signal_row(qp, qd, kernel, y, do_ipc, s):
    """Row ``y`` of ``IPC (*) qp + qd`` (or ``qp + qd``) into ``s``."""
    ny, nx = qp.shape
    for x in range(nx):
        s[x] = qd[y, x]
    if not do_ipc:
        for x in range(nx):
            s[x] += qp[y, x]
        return
    # kernel[j, i] weighs qp[y + 1 - j, x + 1 - i]
    _add_row(s, qp[y], kernel[1, 0], kernel[1, 1], kernel[1, 2])
    if y + 1 < ny:
        _add_row(s, qp[y + 1], kernel[0, 0], kernel[0, 1], kernel[0, 2])
    if y >= 1:
        _add_row(s, qp[y - 1], kernel[2, 0], kernel[2, 1], kernel[2, 2])


@njit(cache=True, nogil=True, inline="always")
def _digitize(v):
    """Round to the nearest integer DN within 0 .. 65535."""
    v = np.floor(v + 0.5)
    if v < 0.0:
        return 0.0
    if v > 65535.0:
        return 65535.0
    return v


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _poisson_p0(rate, dark, gain, refmask, dt, p0):
    """``p0[0] = exp(-photon mean)`` and ``p0[1] = exp(-dark mean)`` of one frame (electrons)."""
    ny, nx = rate.shape
    for y in prange(ny):
        for x in range(nx):
            if refmask[y, x]:
                p0[0, y, x] = p0[1, y, x] = 1.0
                continue
            g = gain[y, x]
            p0[0, y, x] = math.exp(-(rate[y, x] * g * dt))
            p0[1, y, x] = math.exp(-(dark[y, x] * g * dt))


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _accumulate(qp, qd, rate, dark, gain, refmask, p0, dt, seed, iint, iframe, shot, use_dark):
    """Add one frame of photo-charge to ``qp`` and of dark charge to ``qd`` (DN).

    With ``shot`` the electrons are Poisson: the uniform draws of a row come first
    (photon and dark interleaved), then the inversions run over the row; a pixel whose
    mean is 10 or more (or whose draw lies beyond the sixth term) is drawn separately, in
    pixel order, from the row's stream continued.
    """
    ny, nx = qp.shape
    nblocks = (ny + _ROWS - 1) // _ROWS
    for b in prange(nblocks):
        u = np.empty(nx)
        ud = np.empty(nx)
        lam = np.empty(nx)
        n = np.empty(nx)
        for y in range(b * _ROWS, min(ny, (b + 1) * _ROWS)):
            if not shot:
                for x in range(nx):
                    if not refmask[y, x]:
                        qp[y, x] += rate[y, x] * dt
                        if use_dark:
                            qd[y, x] += dark[y, x] * dt
                continue
            st = stream(seed, _KEY_PHOTON, iint * 1048576 + iframe, y)
            for x in range(nx):
                u[x], st = uniform(st)
                ud[x], st = uniform(st)
            for x in range(nx):
                lam[x] = rate[y, x] * gain[y, x] * dt
            if not poisson_row(u, lam, p0[0, y], n):
                for x in range(nx):
                    if n[x] < 0.0 and not refmask[y, x]:
                        if lam[x] >= 10.0:
                            n[x], st = poisson(st, lam[x])
                        else:
                            n[x] = poisson_inverse(u[x], lam[x], np.float64(p0[0, y, x]))
            for x in range(nx):
                if not refmask[y, x]:
                    qp[y, x] += n[x] / gain[y, x]
            if use_dark:
                for x in range(nx):
                    if ud[x] > p0[1, y, x] and not refmask[y, x]:
                        g = gain[y, x]
                        ld = dark[y, x] * g * dt
                        if ld >= 10.0:
                            k, st = poisson(st, ld)
                        else:
                            k = poisson_inverse(ud[x], ld, np.float64(p0[1, y, x]))
                        qd[y, x] += k / g


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _read_frame(
    qp,
    qd,
    acc,
    out,
    zero,
    iint,
    igroup,
    first,
    last,
    nframes,
    bias,
    rn,
    lcoef,
    sat,
    kernel,
    refmask,
    amp_code,
    amp_off,
    drift,
    fast_x,
    extra,
    iextra,
    seed,
    iframe,
    flags,
):
    """Read one frame into ``acc``; on the group's last frame write the group to ``out``.

    ``flags`` bits: 1 ipc, 2 nonlinearity, 4 read noise, 8 saturation, 16 quantize,
    32 this frame is the zero frame (also written to ``zero[iint]``). Each row goes
    through passes over row buffers (signal, linearity, read noise, raw DN) that
    vectorise; only the 64-bit random draws are sequential.
    """
    ny, nx = qp.shape
    do_ipc = (flags & 1) != 0
    do_lin = (flags & 2) != 0
    do_rn = (flags & 4) != 0
    do_sat = (flags & 8) != 0
    do_q = (flags & 16) != 0
    do_zero = (flags & 32) != 0
    for b in prange((ny + _ROWS - 1) // _ROWS):
        s = np.empty(nx)
        f = np.empty(nx)
        p = np.empty(nx)
        dp = np.empty(nx)
        r = np.empty(nx)
        z = np.empty(nx)
        w = np.empty(nx, dtype=np.uint64)
        bad = np.empty(nx, dtype=np.bool_)
        for y in range(b * _ROWS, min(ny, (b + 1) * _ROWS)):
            _signal_row(qp, qd, kernel, y, do_ipc, s)
            if do_lin:
                for x in range(nx):
                    r[x] = max(sat[y, x] - bias[y, x], 1.0) + 5000.0  # Newton cap
                lin_row(lcoef, r, y, s, f, p, dp, bad)
            else:
                f[:] = s
            dy = drift[y] if fast_x else 0.0
            for x in range(nx):
                v = bias[y, x] + amp_off[amp_code[y, x]] + dy
                r[x] = v if refmask[y, x] else v + f[x]
            if not fast_x:
                for x in range(nx):
                    r[x] += drift[x]
            if iextra >= 0:
                for x in range(nx):
                    r[x] += extra[iextra, y, x]
            if do_rn:
                normal_row(stream(seed, _KEY_READ, iint * 1048576 + iframe, y), z, w)
                for x in range(nx):
                    r[x] += rn[y, x] * z[x]
            if do_sat:
                for x in range(nx):
                    r[x] = min(r[x], min(np.ceil(np.float64(sat[y, x])), 65535.0))
            if do_zero:
                _store(zero[iint, y], r, 1.0, do_q)
            if nframes > 1:
                if first:
                    acc[y] = r
                else:
                    for x in range(nx):
                        acc[y, x] += r[x]
                if last:
                    _store(out[iint, igroup, y], acc[y], 1.0 / nframes, do_q)
            elif last:
                _store(out[iint, igroup, y], r, 1.0, do_q)


@njit(cache=True, nogil=True, error_model="numpy")
def _store(dst, src, scale, quantize):
    """``dst = src * scale``, rounded to DN within 0 .. 65535 when ``quantize``."""
    if quantize:
        for x in range(dst.shape[0]):
            dst[x] = _digitize(src[x] * scale)
    else:
        for x in range(dst.shape[0]):
            dst[x] = src[x] * scale


def _pink_rows(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """1/f noise along ``n`` rows with rms ``sigma`` (float64)."""
    m = 2 * n
    freqs = np.fft.rfftfreq(m)
    amp = np.zeros_like(freqs)
    amp[1:] = 1.0 / np.sqrt(freqs[1:])
    spec = amp * (rng.standard_normal(freqs.size) + 1j * rng.standard_normal(freqs.size))
    series = np.fft.irfft(spec, n=m)[:n]
    series -= series.mean()
    sd = series.std()
    return series * (sigma / sd) if sd > 0 else series


def simulate_ramp(
    setup: DetectorSetup,
    schedule: FrameSchedule,
    rate: np.ndarray,
    *,
    seed: int,
    variable: tuple[np.ndarray, np.ndarray] | None = None,
    effects: DetectorEffects | None = None,
    cr_deposits: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
    zeroframe: np.ndarray | None = None,
) -> np.ndarray:
    """Simulate the raw ramps of an exposure.

    Parameters
    ----------
    setup : DetectorSetup
        Detector properties cut to the array.
    schedule : FrameSchedule
        Readout pattern.
    rate : ndarray
        Photo-current in DN/s per pixel *including* the flat field (2-D).
    seed : int
        Seed of every random draw.
    variable : (ndarray, ndarray), optional
        Time series: ``(image, scale)``; integration ``i`` sees ``rate + scale[i] * image``
        (DN/s, flat included), built one integration at a time.
    effects : DetectorEffects, optional
        Effect switches.
    cr_deposits : dict, optional
        ``(integration, frame) -> (y, x, dn)``: charge (DN, before IPC) added just before
        that frame is read.
    zeroframe : ndarray, optional
        (nints, ny, nx) array (dtype of the output) to receive the first frame read after
        each reset (the ZEROFRAME of NIRCam/NIRISS exposures with NFRAMES > 1).

    Returns
    -------
    ndarray
        (nints, ngroups, ny, nx) uint16 (float64 when ``effects.quantize`` is False: for
        exact tests on small arrays only).

    """
    eff = effects or DetectorEffects()
    ny, nx = setup.shape
    nints, ngroups, nframes = schedule.nints, schedule.ngroups, schedule.nframes
    dtype = np.uint16 if eff.quantize else np.float64
    out = np.empty((nints, ngroups, ny, nx), dtype=dtype)
    qp = np.zeros((ny, nx), dtype=np.float64)
    qd = np.zeros((ny, nx), dtype=np.float64)
    acc = np.zeros((ny, nx) if nframes > 1 else (1, 1), dtype=np.float64)
    p0 = np.empty((2, ny, nx) if eff.poisson else (2, 1, 1), dtype=np.float32)

    refmask = np.ascontiguousarray(setup.refmask, dtype=np.uint8)
    gain = np.ascontiguousarray(setup.gain, dtype=np.float32)
    bias = (
        np.ascontiguousarray(setup.superbias, dtype=np.float32)
        if eff.bias
        else np.zeros((ny, nx), np.float32)
    )
    dark = np.ascontiguousarray(setup.dark_rate, dtype=np.float32)
    rn = np.ascontiguousarray(setup.rn_read, dtype=np.float32)
    lcoef = np.ascontiguousarray(setup.lincoef, dtype=np.float32)
    sat = np.ascontiguousarray(setup.saturation, dtype=np.float32)
    kernel = np.ascontiguousarray(setup.ipc_kernel, dtype=np.float64)
    amp_code = np.ascontiguousarray(setup.amp_code, dtype=np.int8)
    nslow = ny if setup.fast_axis_x else nx
    extra = np.ascontiguousarray(setup.group_extra, dtype=np.float32)
    if setup.group_extra_index is None or not eff.group_extras:
        extra_index = np.full((nints, ngroups), -1, dtype=np.int64)
    else:
        extra_index = np.asarray(setup.group_extra_index, dtype=np.int64)

    flags = (
        (1 if eff.ipc else 0)
        | (2 if eff.nonlinearity else 0)
        | (4 if eff.read_noise else 0)
        | (8 if eff.saturation else 0)
        | (16 if eff.quantize else 0)
    )
    rng = np.random.default_rng([seed, 0x0FF5E7])
    odd_even = (
        rng.normal(0.0, eff.odd_even_sigma, size=(setup.namps, 2))
        if eff.amp_offsets
        else np.zeros((setup.namps, 2))
    ).ravel()
    want_zero = zeroframe is not None
    zero = zeroframe if want_zero else np.zeros((1, 1, 1), dtype=dtype)
    frame_group = schedule.frame_group()
    nfr = schedule.frames_per_int
    zero_off = np.zeros(2 * setup.namps, dtype=np.float64)
    zero_drift = np.zeros(nslow, dtype=np.float64)
    deposits = cr_deposits or {}

    for iint in range(nints):
        qp.fill(0.0)
        qd.fill(0.0)
        rate_i = rate if variable is None else rate + variable[1][iint] * variable[0]
        rate_i = np.ascontiguousarray(rate_i, dtype=np.float64)
        if eff.poisson:
            _poisson_p0(rate_i, dark, gain, refmask, schedule.tframe, p0)
        frng = np.random.default_rng([seed, 0x1F, iint])
        for k in range(nfr):
            _accumulate(
                qp,
                qd,
                rate_i,
                dark,
                gain,
                refmask,
                p0,
                schedule.tframe,
                seed,
                iint,
                k,
                eff.poisson,
                eff.dark,
            )
            dep = deposits.get((iint, k))
            if dep is not None:
                np.add.at(qp, (dep[0], dep[1]), dep[2])
            g = frame_group[k]
            if g < 0:
                continue
            j = k - schedule.drop1 - g * (nframes + schedule.groupgap)
            amp_off = (
                odd_even + np.repeat(frng.normal(0.0, eff.amp_offset_sigma, setup.namps), 2)
                if eff.amp_offsets
                else zero_off
            )
            drift = _pink_rows(frng, nslow, eff.one_over_f_sigma) if eff.one_over_f else zero_drift
            _read_frame(
                qp,
                qd,
                acc,
                out,
                zero,
                iint,
                g,
                j == 0,
                j == nframes - 1,
                nframes,
                bias,
                rn,
                lcoef,
                sat,
                kernel,
                refmask,
                amp_code,
                amp_off,
                drift,
                setup.fast_axis_x,
                extra,
                extra_index[iint, g],
                seed,
                k,
                flags | (32 if want_zero and k == schedule.drop1 else 0),
            )
    return out
