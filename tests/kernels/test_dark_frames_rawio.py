"""Streamed dark subtraction, in-kernel linearity flags, raw int16 -> float32 conversion."""

from __future__ import annotations

import numpy as np
import pytest

from webbcal import datamodels as dm
from webbcal.errors import ParameterError
from webbcal.kernels import dark as dark_kernels
from webbcal.kernels.dark import subtract_dark, subtract_dark_frames
from webbcal.kernels.linearity import correct_linearity
from webbcal.kernels.rawio import int16be_rows_to_float32

NLC = 1048576


def _reader(dark):
    return lambda lead, start, stop, reuse: dark[(*lead, slice(start, stop))]


CASES = [
    # (dark shape, nframes, groupgap, dark_nframes, dark_groupgap, ngroups, intstart)
    ((12, 6, 7), 1, 0, 1, 0, 5, None),  # plain
    ((30, 6, 7), 4, 0, 1, 0, 5, None),  # averaged
    ((30, 6, 7), 2, 3, 1, 0, 4, None),  # averaged with gaps
    ((6, 6, 7), 1, 0, 1, 0, 9, None),  # extrapolated (float64)
    ((7, 6, 7), 4, 1, 1, 0, 4, None),  # extrapolated and averaged
    ((5, 6, 7), 2, 0, 2, 0, 8, None),  # same readout, extrapolated
    ((2, 6, 6, 7), 1, 0, 1, 0, 5, None),  # MIRI 4-D
    ((2, 4, 6, 7), 1, 0, 1, 0, 9, None),  # MIRI 4-D extrapolated
    ((2, 4, 6, 7), 1, 0, 1, 0, 9, 3),  # a later segment: last dark integration
]


@pytest.mark.parametrize("block_planes", [1, 3, 1000])
@pytest.mark.parametrize("case", CASES)
def test_streamed_dark_equals_whole_array_version(case, block_planes, monkeypatch):
    monkeypatch.setattr(dark_kernels, "_BLOCK_BYTES", 4 * 6 * 7 * block_planes)
    # few planes per block: the averaged dark also in blocks of 1 or 2 rows
    monkeypatch.setattr(dark_kernels, "_ROW_BYTES", 8 * 7 * (1 if block_planes == 1 else 6))
    shape, nframes, groupgap, dnf, dgg, ngroups, intstart = case
    rng = np.random.default_rng(len(shape) * 100 + shape[-3] + nframes)
    nints = 3
    sci = rng.normal(1000, 10, (nints, ngroups, 6, 7)).astype(np.float32)
    dark = rng.normal(5, 2, shape).astype(np.float32)
    dark[..., 0, 2, 2] = np.nan
    dark[..., -1, 3, 3] = np.nan  # NaN in an extrapolation base
    dq = np.zeros((shape[0], 1, 6, 7) if len(shape) == 4 else (6, 7), np.uint32)
    dq[..., 1, 1] = 4
    kw = dict(nframes=nframes, groupgap=groupgap, dark_nframes=dnf, dark_groupgap=dgg,
              integration_start=intstart)  # fmt: skip
    expect, pdq_expect = sci.copy(), np.zeros((6, 7), np.uint32)
    subtract_dark(expect, pdq_expect, dark, dq, **kw)
    got, pdq = sci.copy(), np.zeros((6, 7), np.uint32)
    dark0 = dark.copy()
    assert subtract_dark_frames(got, pdq, _reader(dark), dark.shape, dq, **kw)
    np.testing.assert_array_equal(got, expect)
    np.testing.assert_array_equal(pdq, pdq_expect)
    np.testing.assert_array_equal(dark, dark0)


def test_streamed_dark_skip_and_errors():
    sci = np.ones((1, 3, 4, 4), np.float32)
    dark = np.ones((9, 4, 4), np.float32)
    dq = np.zeros((4, 4), np.uint32)
    assert not subtract_dark_frames(sci, dq.copy(), _reader(dark), dark.shape, dq, nframes=1,
                                    groupgap=0, dark_nframes=2)  # fmt: skip
    assert (sci == 1).all()
    with pytest.raises(ParameterError):
        subtract_dark_frames(sci, dq.copy(), _reader(dark), (9, 4, 5), dq, nframes=1, groupgap=0)


def test_streamed_dark_reads_planes_from_a_file(tmp_path):
    rng = np.random.default_rng(7)
    dark = rng.normal(5, 2, (2, 8, 20, 24)).astype(np.float32)
    model = dm.DarkMIRIModel(data=dark, dq=np.zeros((2, 1, 20, 24), np.uint32))
    path = model.save(tmp_path / "dark.fits")
    with dm.open(path) as ref:
        part = ref.read_planes("data", (1,), 2, 5, slice(3, 9))
        np.testing.assert_array_equal(part, dark[1, 2:5, 3:9])
        assert "data" not in ref._arrays  # nothing kept
        sci = rng.normal(1000, 10, (2, 11, 6, 5)).astype(np.float32)
        window = dark[:, :, 3:9, 4:9]
        expect = sci.copy()
        subtract_dark(expect, np.zeros((6, 5), np.uint32), window, np.zeros((6, 5), np.uint32),
                      nframes=1, groupgap=0)  # fmt: skip

        buffers = []

        def read(lead, start, stop, reuse):
            out = None
            if reuse:  # one buffer for every block of the same shape
                if not buffers or buffers[-1].shape != (stop - start, 6, 24):
                    buffers.append(np.empty((stop - start, 6, 24), np.float32))
                out = buffers[-1]
            part = ref.read_planes("data", lead, start, stop, slice(3, 9), out)
            assert out is None or np.shares_memory(part, out)
            return part[..., 4:9]

        got = sci.copy()
        subtract_dark_frames(got, np.zeros((6, 5), np.uint32), read, window.shape,
                             np.zeros((6, 5), np.uint32), nframes=1, groupgap=0)  # fmt: skip
        np.testing.assert_array_equal(got, expect)


def _slow_linearity(data, gdq, pixeldq, coeffs, lin_dq, zf):
    """The obvious numpy version: benign coefficients where the correction is unusable."""
    c = coeffs.copy()
    ident = np.zeros(c.shape[0], c.dtype)
    ident[1] = 1
    pixeldq |= lin_dq
    c[:, (lin_dq & NLC) == NLC] = ident[:, None]
    bad = np.isnan(c).any(axis=0)
    c[:, bad] = ident[:, None]
    bad |= c[1] == 0
    c[:, bad] = ident[:, None]
    pixeldq[bad] |= NLC
    r = c[-1] * data  # Horner's scheme, in float32

    for j in range(c.shape[0] - 2, 0, -1):
        r = (r + c[j]) * data
    r = r + c[0]
    data[:] = np.where(gdq & 2, data, r)
    rz = c[-1] * zf
    for j in range(c.shape[0] - 2, 0, -1):
        rz = (rz + c[j]) * zf
    zf[:] = np.where(zf == 0, zf, rz + c[0])


def test_linearity_matches_slow_version_on_a_subarray_view():
    rng = np.random.default_rng(11)
    full = np.zeros((4, 30, 40), np.float32)
    full[0] = rng.normal(0, 5, (30, 40))
    full[1] = rng.normal(1, 0.01, (30, 40))
    full[2] = rng.normal(1e-6, 1e-7, (30, 40))
    full[3] = rng.normal(-1e-11, 1e-12, (30, 40))
    full[2, rng.random((30, 40)) < 0.05] = np.nan
    full[1, rng.random((30, 40)) < 0.05] = 0.0
    coeffs = full[:, 5:25, 3:33]  # a non-contiguous view, as a subarray cut-out is
    lin_dq = np.zeros((20, 30), np.uint32)
    lin_dq[rng.random((20, 30)) < 0.05] = NLC | 1
    lin_dq[rng.random((20, 30)) < 0.05] = 4
    data = rng.uniform(0, 40000, (2, 6, 20, 30)).astype(np.float32)
    gdq = np.where(rng.random(data.shape) < 0.1, 2, 0).astype(np.uint8)
    zf = data[:, 0].copy()
    zf[0, :3] = 0.0
    pdq = np.where(rng.random((20, 30)) < 0.1, 8, 0).astype(np.uint32)
    d_ref, p_ref, z_ref = data.copy(), pdq.copy(), zf.copy()
    _slow_linearity(d_ref, gdq, p_ref, np.array(coeffs), lin_dq, z_ref)
    before = full.copy()
    correct_linearity(data, gdq, pdq, coeffs, lin_dq, zeroframe=zf)
    np.testing.assert_array_equal(data, d_ref)
    np.testing.assert_array_equal(pdq, p_ref)
    np.testing.assert_array_equal(zf, z_ref)
    np.testing.assert_array_equal(full, before)


def test_linearity_without_reference_dq():
    coeffs = np.zeros((3, 2, 2), np.float32)
    coeffs[1] = 1.0
    coeffs[2] = 1e-3
    coeffs[2, 0, 0] = np.nan
    data = np.full((1, 2, 2, 2), 10.0, np.float32)
    pdq = np.zeros((2, 2), np.uint32)
    correct_linearity(data, np.zeros(data.shape, np.uint8), pdq, coeffs)
    assert data[0, 0, 0, 0] == 10.0 and pdq[0, 0] == NLC
    assert data[0, 0, 1, 1] == np.float32(10.0) + np.float32(0.1) and pdq[1, 1] == 0


@pytest.mark.parametrize("bzero", [32768.0, 0.0, 100.0])
@pytest.mark.parametrize("rows", [(0, 9), (2, 7), (8, 9)])
def test_int16be_rows_to_float32_matches_numpy(bzero, rows):
    rng = np.random.default_rng(3)
    samples = rng.integers(-32768, 32768, (23, 9, 31)).astype(">i2")
    y0, y1 = rows
    # the file's bytes, ending with the last plane's last row read
    raw = np.frombuffer(samples.tobytes(), dtype=np.uint16)[: 22 * 9 * 31 + y1 * 31]
    out = np.empty((23, y1 - y0, 31), np.float32)
    int16be_rows_to_float32(raw, 9 * 31, y0, out, bzero)
    expect = np.add(samples[:, y0:y1], np.float32(bzero), dtype=np.float32, casting="unsafe")
    np.testing.assert_array_equal(out, expect)
    with pytest.raises(ParameterError):
        int16be_rows_to_float32(raw[:-1], 9 * 31, y0, out, bzero)
