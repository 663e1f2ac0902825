"""Tests of the OLS ramp fit kernel: a slow reference, stcal parity, statistical honesty."""

from __future__ import annotations

import math

import numpy as np
import pytest

from webbcal.kernels import ramp_fit as ramp_fit_module
from webbcal.kernels.ramp_fit import (
    OlsAccumulator,
    RampFitResult,
    RateArrays,
    fit_ramps_ols,
    miri_group_range,
    ols_median_rate_sum,
)

DNU, SAT, JUMP, PERS, CHG, NGV = 1, 2, 4, 32, 128, 524288
FIELDS = ("data", "dq", "var_poisson", "var_rnoise", "err")


def make_case(
    seed, *, nints=2, ngroups=8, ny=12, nx=15, nframes=1, groupgap=0, pflag=0.05, frame_time=10.737
):
    """Random ramps (faint and bright), random group flags, monotonic saturation."""
    rng = np.random.default_rng(seed)
    gt = (nframes + groupgap) * frame_time
    rate = rng.uniform(-1, 200, (ny, nx))
    rate[rng.random((ny, nx)) < 0.1] = rng.uniform(500, 3000)
    gain = rng.uniform(1.5, 2.5, (ny, nx)).astype(np.float32)
    gain[rng.random((ny, nx)) < 0.01] = 0.0
    rn = rng.uniform(8, 15, (ny, nx)).astype(np.float32)
    t = (np.arange(ngroups) + 1) * gt
    data = rate * t[:, None, None] + rng.normal(0, 10, (nints, ngroups, ny, nx))
    gdq = np.zeros(data.shape, np.uint8)
    hit = rng.random(data.shape) < pflag
    gdq[hit] = rng.choice(np.array([DNU, SAT, JUMP, PERS, CHG, DNU | JUMP], np.uint8), hit.sum())
    sat_start = rng.integers(0, ngroups + 8, (nints, ny, nx))
    for g in range(ngroups):
        gdq[:, g][sat_start <= g] |= SAT
    pdq = np.zeros((ny, nx), np.uint32)
    pdq[rng.random((ny, nx)) < 0.02] = DNU
    pdq[rng.random((ny, nx)) < 0.02] = 4096
    zf = np.repeat((rate * frame_time)[None], nints, 0).astype(np.float32)
    return {
        "data": data.astype(np.float32),
        "gdq": gdq,
        "pdq": pdq,
        "gain": gain,
        "rn": rn,
        "kw": {
            "frame_time": frame_time,
            "group_time": gt,
            "nframes": nframes,
            "groupgap": groupgap,
        },
        "zf": zf,
    }


def assert_products_close(ours, theirs, *, rtol=1e-4, atol=1e-5, dq_frac=1.0):
    for name in FIELDS:
        key = "slope" if name == "data" and "slope" in theirs else name  # stcal's name
        a, b = getattr(ours, name), theirs[key]
        if name == "dq":
            assert np.mean(a == b) >= dq_frac, f"dq differs on {np.sum(a != b)} pixels"
        else:
            bad = ~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
            assert not bad.any(), f"{name}: {bad.sum()} pixels differ, e.g. " + str(
                [(a[i], b[i]) for i in map(tuple, np.argwhere(bad)[:3])]
            )


# --------------------------------------------------------------------------------------
# (a) a slow, obvious reference written from the algorithm description
# --------------------------------------------------------------------------------------


def _powers(snr):
    if math.isnan(snr):
        return 10.0
    for lim, p in ((5, 0.0), (10, 0.4), (20, 1.0), (50, 3.0), (100, 6.0)):
        if snr < lim:
            return p
    return 10.0


def reference_fit(
    data,
    gdq,
    pdq,
    gain,
    rn_cds,
    *,
    frame_time,
    group_time,
    nframes,
    groupgap,
    suppress_one_group=True,
):
    """Per-pixel Python OLS fit with stcal's rules (no ZEROFRAME, no CHARGELOSS)."""
    ni, ng, ny, nx = data.shape
    gt, ft = float(np.float32(group_time)), float(np.float32(frame_time))
    t0 = (nframes + 1.0) * ft / 2.0
    sup = suppress_one_group and ng > 1
    big = 1e6
    out = {k: np.zeros((ni, ny, nx)) for k in ("data", "var_poisson", "var_rnoise", "err")}
    out["dq"] = np.zeros((ni, ny, nx), np.int64)
    rate = {k: np.zeros((ny, nx)) for k in ("data", "var_poisson", "var_rnoise", "err")}
    rate["dq"] = np.zeros((ny, nx), np.int64)
    for r in range(ny):
        for c in range(nx):
            g = np.float64(gain[r, c])  # numpy scalars: gain 0 gives inf, not an exception
            pix = int(pdq[r, c]) | ((DNU | NGV) if not g > 0 else 0)
            rn = np.float64(np.float32(float(rn_cds[r, c]) * (g / math.sqrt(2.0 * nframes))))
            ramps, flags, first_only = [], [], []
            for i in range(ni):
                q = [int(v) for v in gdq[i, :, r, c]]
                if sup and sum((v & ~PERS) == 0 for v in q) == 1:
                    q = [v | DNU for v in q]
                y = [math.nan if v & SAT else float(data[i, k, r, c]) for k, v in enumerate(q)]
                ramps.append(y)
                flags.append(q)
                first_only.append(not sup and sum(v == 0 for v in q) == 1 and q[0] == 0)
            # median rate: mean over integrations of the median usable first difference
            mr = 0.0
            for i in range(ni):
                y, q = ramps[i], flags[i]
                if ng == 1 or first_only[i]:
                    m = y[0] / t0
                else:
                    loc = [math.nan if v & DNU else yy / gt for yy, v in zip(y, q)]
                    d = [
                        math.nan if q[k + 1] & JUMP else loc[k + 1] - loc[k] for k in range(ng - 1)
                    ]
                    d = [v for v in d if not math.isnan(v)]
                    m = float(np.median(d)) if d else loc[0]
                    m = 0.0 if math.isnan(m) else m
                mr += m
            mr /= ni
            s_ip = s_ir = s_num = 0.0
            ndnu = nsat = 0
            rdq = pix
            anysat = False
            for i in range(ni):
                y, q = ramps[i], flags[i]
                dq = pix
                for v in q:
                    dq |= v & (JUMP | PERS)
                rdq |= dq
                slope = vp_i = vr_i = err_i = 0.0
                segs = []
                if q[0] & SAT:
                    dq |= DNU | SAT
                    slope = math.nan
                else:  # runs of good groups; a lone-JUMP group starts the next run
                    k = 0
                    while k < ng:
                        if (q[k] & ~PERS) == 0:
                            s = k - 1 if k > 0 and (q[k - 1] & ~PERS) == JUMP else k
                            e = k
                            while e < ng and (q[e] & ~PERS) == 0:
                                e += 1
                            segs.append((s, e - s))
                            k = e
                        else:
                            k += 1
                    if any(length > 1 for _, length in segs):
                        segs = [sg for sg in segs if sg[1] > 1]
                    else:
                        segs = segs[:1]
                if all(v & (DNU | SAT) for v in q):
                    dq |= DNU
                    if all(v & SAT for v in q):
                        dq |= SAT
                elif segs:
                    ir = ip = ie = num = 0.0
                    for s, length in segs:
                        yy = np.array(y[s : s + length])
                        if length == 1:
                            t = t0 if first_only[i] else gt
                            sl, pden, n_eff = yy[0] / t, t * g, 2
                        elif length == 2:
                            t, sl, pden, n_eff = gt, (yy[1] - yy[0]) / gt, gt * g, 2
                        else:
                            t = gt
                            dat = yy[-1] - yy[0]
                            den = rn * rn + dat * g
                            snr = (
                                0.0 if (den <= 0 or g == 0) else max(dat * g / math.sqrt(den), 0.0)
                            )
                            mid = (length - 1) / 2
                            x = np.arange(length, dtype=float)
                            w = np.abs((x - mid) / mid) ** _powers(snr)
                            yv = np.nan_to_num(yy)
                            sw, sx, sy = w.sum(), (w * x).sum(), (w * yv).sum()
                            sxx, sxy = (w * x * x).sum(), (w * x * yv).sum()
                            sl = (sw * sxy - sx * sy) / (sw * sxx - sx * sx) / gt
                            pden, n_eff = gt * g * (length - 1), length
                        vr = 12 * (rn / t) ** 2 / ((n_eff**3 - n_eff) * g * g)
                        vp = (mr / pden) if mr > 0 else 0.0
                        ir += 1 / vr
                        ip += 1 / vp if vp > 0 else 0.0
                        ie += 1 / (vp + vr)
                        num += sl / vr
                    vp_i = 1 / ip if ip > 0 else 0.0
                    vp_i = 0.0 if vp_i >= big else vp_i
                    vr_i = 1 / ir
                    vr_i = 0.0 if vr_i >= big else vr_i
                    if dq & (DNU | SAT):
                        slope, vp_i, vr_i = math.nan, 0.0, 0.0
                    else:
                        slope = num * vr_i
                        err_i = 0.0 if 1 / ie > big else math.sqrt(1 / ie)
                    s_ip += ip
                    s_ir += ir
                    s_num += num
                if dq & DNU:
                    ndnu += 1
                    slope = math.nan
                if dq & SAT:
                    nsat += 1
                    slope = math.nan
                if any(v & SAT for v in q):
                    dq |= SAT
                    anysat = True
                for k, v in zip(
                    ("data", "var_poisson", "var_rnoise", "err", "dq"),
                    (slope, vp_i, vr_i, err_i, dq),
                ):
                    out[k][i, r, c] = v
            rdq |= DNU if ndnu == ni else 0
            rdq |= SAT if nsat == ni else 0
            vp = 1 / s_ip if s_ip > 0 else 0.0
            vp = 0.0 if vp >= big else vp
            vr = 1 / s_ir if s_ir > 0 else 0.0
            vr = 0.0 if vr >= big else vr
            err = math.sqrt(vp + vr)
            slope = s_num * vr
            if rdq & (DNU | SAT):
                slope, vp, vr, err = math.nan, 0.0, 0.0, 0.0
            rdq |= SAT if anysat else 0
            for k, v in zip(
                ("data", "var_poisson", "var_rnoise", "err", "dq"), (slope, vp, vr, err, rdq)
            ):
                rate[k][r, c] = v
    return rate, out


@pytest.mark.parametrize(
    ("seed", "shape", "timing"),
    [
        (1, (2, 8), (1, 0)),
        (2, (3, 5), (1, 0)),
        (3, (1, 2), (1, 0)),
        (4, (2, 6), (8, 2)),
        (5, (1, 1), (1, 0)),
    ],
)
def test_matches_slow_reference(seed, shape, timing):
    nints, ngroups = shape
    c = make_case(seed, nints=nints, ngroups=ngroups, nframes=timing[0], groupgap=timing[1])
    c["gdq"] &= ~np.uint8(CHG)  # the reference leaves out the CHARGELOSS recomputation
    res = fit_ramps_ols(c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"], **c["kw"])
    with np.errstate(all="ignore"):
        rate, ints = reference_fit(c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"], **c["kw"])
    assert_products_close(res.rate, rate, rtol=1e-5, atol=1e-6)
    assert_products_close(res.rateints, ints, rtol=1e-5, atol=1e-6)


def test_output_types_and_readonly_inputs():
    c = make_case(7)
    for arr in (c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"]):
        arr.flags.writeable = False
    res = fit_ramps_ols(c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"], **c["kw"])
    assert isinstance(res, RampFitResult)
    assert res.rate.data.dtype == np.float32 and res.rate.dq.dtype == np.uint32
    assert res.rateints.err.shape == c["data"].shape[:1] + c["data"].shape[2:]
    # fully flagged pixels: NaN slope, zero variances and error, DO_NOT_USE (stcal)
    gdq = c["gdq"].copy()
    gdq[:, :, 0, 0] = DNU
    res = fit_ramps_ols(c["data"], gdq, c["pdq"], c["gain"], c["rn"], **c["kw"])
    assert np.isnan(res.rate.data[0, 0]) and res.rate.dq[0, 0] & DNU
    assert res.rate.err[0, 0] == 0 and res.rate.var_poisson[0, 0] == 0


def test_row_tiles_and_integration_chunks_equal_full_fit():
    c = make_case(8, nints=4, ngroups=7, ny=10)
    args = (c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"])
    full = fit_ramps_ols(*args, **c["kw"])
    # row tiles written into views of full-size outputs
    out = fit_ramps_ols(*args, **c["kw"])
    for name in FIELDS:
        getattr(out.rate, name)[...] = 0
    for r0 in range(0, 10, 3):
        tile = RampFitResult(
            rate=type(out.rate)(*(getattr(out.rate, f)[r0 : r0 + 3] for f in FIELDS)),
            rateints=type(out.rateints)(
                *(getattr(out.rateints, f)[:, r0 : r0 + 3] for f in FIELDS)
            ),
        )
        fit_ramps_ols(
            c["data"][:, :, r0 : r0 + 3],
            c["gdq"][:, :, r0 : r0 + 3],
            c["pdq"][r0 : r0 + 3],
            c["gain"][r0 : r0 + 3],
            c["rn"][r0 : r0 + 3],
            out=tile,
            **c["kw"],
        )
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(out.rate, name), getattr(full.rate, name))
    # integration chunks: median rate first, then accumulate
    tkw = {k: c["kw"][k] for k in ("frame_time", "group_time", "nframes")}
    msum = ols_median_rate_sum(c["data"][:2], c["gdq"][:2], **tkw)
    ols_median_rate_sum(c["data"][2:], c["gdq"][2:], out=msum, **tkw)
    acc = OlsAccumulator.zeros(c["pdq"].shape)
    parts = [
        fit_ramps_ols(
            c["data"][a:b],
            c["gdq"][a:b],
            *args[2:],
            median_rate=msum / 4,
            accumulator=acc,
            **c["kw"],
        )
        for a, b in ((0, 1), (1, 4))
    ]
    rate = acc.finalize()
    for name in FIELDS:
        np.testing.assert_allclose(
            getattr(rate, name), getattr(full.rate, name), rtol=1e-6, equal_nan=True
        )
        ints = np.concatenate([getattr(p.rateints, name) for p in parts])
        np.testing.assert_allclose(ints, getattr(full.rateints, name), rtol=1e-6, equal_nan=True)


def test_rows_into_larger_outputs_and_no_rateints():
    c = make_case(10, nints=3, ngroups=6, ny=9)
    args = (c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"])
    full = fit_ramps_ols(*args, **c["kw"])
    nx = c["data"].shape[3]
    big = RampFitResult(rate=RateArrays.empty((20, nx)), rateints=RateArrays.empty((3, 20, nx)))
    for name in FIELDS:
        getattr(big.rate, name)[...] = 7
        getattr(big.rateints, name)[...] = 7
    # input rows 2:6 (a band with its halo rows 1 and 6 left out) go to rows 11:15
    res = fit_ramps_ols(*args, rows=(2, 6), out_row=11, out=big, **c["kw"])
    assert res.rate is big.rate
    for name in FIELDS:
        got, want = getattr(big.rate, name), getattr(full.rate, name)
        np.testing.assert_array_equal(got[11:15], want[2:6])
        assert (got[:11] == 7).all() and (got[15:] == 7).all()
        np.testing.assert_array_equal(getattr(big.rateints, name)[:, 11:15],
                                      getattr(full.rateints, name)[:, 2:6])
    # without the per-integration products: the same rate, nothing else written
    res = fit_ramps_ols(*args, rateints=False, rows=(0, 4), **c["kw"])
    assert res.rateints is None and res.rate.data.shape == (4, nx)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(res.rate, name), getattr(full.rate, name)[:4])
    with pytest.raises(ValueError, match="rows"):
        fit_ramps_ols(*args, rows=(3, 10), **c["kw"])
    with pytest.raises(ValueError, match="cannot hold"):
        fit_ramps_ols(*args, rows=(0, 9), out_row=12, out=big, **c["kw"])
    with pytest.raises(ValueError, match="save_pedestal"):
        fit_ramps_ols(*args, rateints=False, save_pedestal=True, **c["kw"])
    # a group range equals fitting the (copied) groups
    sub = fit_ramps_ols(np.ascontiguousarray(c["data"][:, 1:5]),
                        np.ascontiguousarray(c["gdq"][:, 1:5]), *args[2:], **c["kw"])
    res = fit_ramps_ols(*args, groups=(1, 5), **c["kw"])
    for name in FIELDS:
        for product in ("rate", "rateints"):
            np.testing.assert_array_equal(getattr(getattr(res, product), name),
                                          getattr(getattr(sub, product), name))
    with pytest.raises(ValueError, match="groups"):
        fit_ramps_ols(*args, groups=(4, 4), **c["kw"])


@pytest.mark.parametrize("variant", ["default", "zeroframe", "pedestal_unweighted", "no_ints"])
def test_series_path_equals_block_path(monkeypatch, variant):
    # many integrations are fitted integration-major (_ols_series): the same bits as the
    # block path, for clean pixels and for those of the general path alike
    c = make_case(21, nints=9, ngroups=6, ny=5, nx=37, pflag=0.004)
    rng = np.random.default_rng(21)
    c["gdq"][:, :, rng.random((5, 37)) < 0.5] = 0
    c["data"][rng.random(c["data"].shape) < 0.002] = np.nan
    args = (c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"])
    kw = {
        "default": {},
        "zeroframe": {"zeroframe": c["zf"], "suppress_one_group": False},
        "pedestal_unweighted": {"save_pedestal": True, "weighting": "unweighted"},
        "no_ints": {"rateints": False},
    }[variant]
    series = fit_ramps_ols(*args, **c["kw"], **kw)
    monkeypatch.setattr(ramp_fit_module, "_SERIES_MIN_INTS", 10**9)
    block = fit_ramps_ols(*args, **c["kw"], **kw)
    for product in ("rate", "rateints"):
        if getattr(block, product) is None:
            continue
        for name in FIELDS:
            a, b = getattr(getattr(series, product), name), getattr(getattr(block, product), name)
            np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32), err_msg=name)
    if block.pedestal is not None:
        np.testing.assert_array_equal(series.pedestal.view(np.uint32),
                                      block.pedestal.view(np.uint32))


def test_bad_arguments():
    c = make_case(9)
    with pytest.raises(ValueError, match="weighting"):
        fit_ramps_ols(c["data"], c["gdq"], c["pdq"], c["gain"], c["rn"], weighting="x", **c["kw"])
    with pytest.raises(TypeError, match="uint8"):
        fit_ramps_ols(
            c["data"], c["gdq"].astype(np.uint16), c["pdq"], c["gain"], c["rn"], **c["kw"]
        )
    with pytest.raises(ValueError, match="median_rate"):
        fit_ramps_ols(
            c["data"],
            c["gdq"],
            c["pdq"],
            c["gain"],
            c["rn"],
            accumulator=OlsAccumulator.zeros(c["pdq"].shape),
            **c["kw"],
        )


# --------------------------------------------------------------------------------------
# (b) parity with stcal (the official implementation), when it is installed
# --------------------------------------------------------------------------------------


def run_stcal(
    c,
    *,
    algorithm="OLS_C",
    suppress=True,
    zeroframe=None,
    instrument="NIRCAM",
    dark=None,
    chargeloss=True,
):
    """stcal's ramp_fit_data on copies of the arrays, set up as jwst's step does."""
    pytest.importorskip("stcal")
    from stcal.ramp_fitting import ramp_fit
    from stcal.ramp_fitting.ramp_fit_class import RampData

    dqflags = {
        "DO_NOT_USE": DNU,
        "SATURATED": SAT,
        "JUMP_DET": JUMP,
        "PERSISTENCE": PERS,
        "NO_GAIN_VALUE": NGV,
        "UNRELIABLE_SLOPE": 16777216,
        "CHARGELOSS": CHG,
    }
    rd = RampData()
    pdq = c["pdq"]
    dark = np.zeros(pdq.shape, np.float32) if dark is None else dark
    rd.set_arrays(
        c["data"].copy(),
        c["gdq"].copy(),
        pdq.copy(),
        dark,
        zeroframe=None if zeroframe is None else zeroframe.copy(),
    )
    if chargeloss and algorithm == "OLS_C" and np.any(c["gdq"] & CHG):
        rd.orig_gdq = c["gdq"].copy()
    kw = c["kw"]
    rd.set_meta(
        name=instrument,
        frame_time=kw["frame_time"],
        group_time=kw["group_time"],
        groupgap=kw["groupgap"],
        nframes=kw["nframes"],
        drop_frames1=0,
    )
    rd.algorithm = algorithm
    rd.set_dqflags(dqflags)
    rd.start_row, rd.num_rows = 0, pdq.shape[0]
    rd.suppress_one_group_ramps = suppress and c["data"].shape[1] > 1
    with np.errstate(all="ignore"):
        return ramp_fit.ramp_fit_data(
            rd, False, c["rn"].copy(), c["gain"].copy(), algorithm, "optimal", "1"
        )


PARITY_CASES = {
    "clean": {"pflag": 0.0, "ngroups": 10, "nints": 1},
    "flags_jumps_saturation": {"ngroups": 8, "nints": 2},
    "two_groups": {"ngroups": 2, "nints": 2},
    "one_group": {"ngroups": 1, "nints": 3},
    "three_groups_many_ints": {"ngroups": 3, "nints": 4},
    "medium8_grouped": {"ngroups": 6, "nints": 2, "nframes": 8, "groupgap": 2},
    "long_ramps": {"ngroups": 60, "nints": 1, "ny": 6, "nx": 9, "pflag": 0.02},
    "beyond_table": {"ngroups": 140, "nints": 1, "ny": 3, "nx": 4, "pflag": 0.01},
}


@pytest.mark.parametrize("name", sorted(PARITY_CASES))
@pytest.mark.parametrize("suppress", [True, False])
def test_parity_with_stcal(name, suppress):
    c = make_case(sum(map(ord, name)), **PARITY_CASES[name])
    zf = c["zf"] if c["data"].shape[1] > 1 else None
    dark = np.full(c["pdq"].shape, 0.05, np.float32) if name == "long_ramps" else None
    im, it, _ = run_stcal(c, suppress=suppress, zeroframe=zf, dark=dark)
    res = fit_ramps_ols(
        c["data"],
        c["gdq"],
        c["pdq"],
        c["gain"],
        c["rn"],
        zeroframe=zf,
        suppress_one_group=suppress,
        dark_current=dark,
        **c["kw"],
    )
    assert_products_close(res.rate, im)
    assert_products_close(res.rateints, it)


def test_parity_with_stcal_miri_group_dropping():
    c = make_case(11, ngroups=10, nints=2)
    c["gdq"][:, :2] |= DNU
    c["gdq"][:, -1] |= DNU
    c["gdq"][:, 2, ::3, ::2] |= JUMP
    im, it, _ = run_stcal(c, instrument="MIRI")
    first, stop = miri_group_range(c["gdq"])
    assert (first, stop) == (2, 9)
    res = fit_ramps_ols(
        c["data"][:, first:stop],
        c["gdq"][:, first:stop],
        c["pdq"],
        c["gain"],
        c["rn"],
        clear_first_group_jump=True,
        **c["kw"],
    )
    assert_products_close(res.rate, im)
    assert_products_close(res.rateints, it)


# --------------------------------------------------------------------------------------
# (c) statistical honesty: (slope - truth) / ERR has zero mean and unit scatter
# --------------------------------------------------------------------------------------


def simulate(
    n,
    rate_e,
    *,
    ngroups,
    nints=1,
    gain=2.0,
    rn_cds=10.0,
    frame_time=10.737,
    nframes=1,
    groupgap=0,
    seed=0,
):
    """Up-the-ramp counts (Poisson per frame) plus read noise CDS/sqrt(2) per frame."""
    rng = np.random.default_rng(seed)
    nfr = ngroups * (nframes + groupgap)
    frames = np.cumsum(rng.poisson(rate_e * frame_time, (nints, nfr, n)), axis=1) / gain
    frames += rng.normal(0, rn_cds / math.sqrt(2), frames.shape)
    groups = frames.reshape(nints, ngroups, nframes + groupgap, n)[:, :, :nframes].mean(2)
    data = groups.reshape(nints, ngroups, 1, n).astype(np.float32)
    ones = np.ones((1, n), np.float32)
    kw = {
        "frame_time": frame_time,
        "group_time": (nframes + groupgap) * frame_time,
        "nframes": nframes,
        "groupgap": groupgap,
    }
    return (
        data,
        np.zeros(data.shape, np.uint8),
        ones.astype(np.uint32) * 0,
        ones * gain,
        ones * rn_cds,
        kw,
    )


@pytest.mark.parametrize(
    ("rate_e", "ngroups", "nframes"),
    [
        (1.0, 10, 1),  # faint: read-noise dominated
        (50.0, 10, 1),  # bright: Poisson dominated
        (5.0, 6, 4),  # grouped frames
    ],
)
def test_ols_errors_are_honest(rate_e, ngroups, nframes):
    data, gdq, pdq, gain, rn, kw = simulate(
        40000, rate_e, ngroups=ngroups, nframes=nframes, seed=int(rate_e * 10) + ngroups
    )
    res = fit_ramps_ols(data, gdq, pdq, gain, rn, **kw)
    z = (res.rate.data - rate_e / 2.0) / res.rate.err
    assert abs(np.mean(z)) < 0.05
    assert abs(np.std(z) - 1.0) < 0.05
