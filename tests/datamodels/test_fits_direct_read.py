"""Image HDUs read with plain file reads (one buffer), planes read in part, DQ look-ups."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from webbcal import datamodels as dm
from webbcal.datamodels.dqflags import dq_def_table, expand_dq
from webbcal.datamodels.fits_io import FitsSource
from webbcal.datamodels.reference import _expand


def _astropy_values(path, extname):
    with fits.open(path) as hdul:  # astropy's own scaling
        return np.array(hdul[extname].data)


@pytest.mark.parametrize(
    ("stored", "declared"),
    [("f4", "f4"), ("f8", "f4"), ("u2", "u2"), ("u4", "u4"), ("i2", "f4"), ("u1", "u1")],
)
def test_direct_read_matches_astropy(tmp_path, stored, declared):
    rng = np.random.default_rng(0)
    data = (rng.random((3, 5, 7)) * 200).astype(stored)
    path = tmp_path / "a.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, name="SCI")]).writeto(path)
    spec = dm.Array("SCI", declared, 3, 0)
    source = FitsSource.open(path)
    try:
        got = source.read("data", spec)
        assert got.dtype == np.dtype(declared) and got.dtype.isnative
        np.testing.assert_array_equal(got, _astropy_values(path, "SCI").astype(declared))
        part = source.read_planes(spec, (), 1, 3, slice(2, 4))
        np.testing.assert_array_equal(part, got[1:3, 2:4])
    finally:
        source.close()


def test_scaled_file_falls_back_to_astropy(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    hdu = fits.ImageHDU(data, name="SCI")
    hdu.header["BSCALE"], hdu.header["BZERO"] = 0.5, 3.0
    path = tmp_path / "s.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    spec = dm.Array("SCI", "f4", 3, 0)
    source = FitsSource.open(path)
    try:
        np.testing.assert_array_equal(source.read("data", spec), data * 0.5 + 3.0)
        assert source.read_planes(spec, (), 0, 1, slice(None)) is None
    finally:
        source.close()


def test_model_read_planes_of_a_4d_array(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.normal(0, 1, (2, 5, 6, 8)).astype(np.float32)
    path = dm.DarkMIRIModel(data=data).save(tmp_path / "d.fits")
    with dm.open(path) as model:
        assert model.shape_of("data") == data.shape
        np.testing.assert_array_equal(model.read_planes("data", (1,), 2, 4, slice(1, 5)),
                                      data[1, 2:4, 1:5])  # fmt: skip
        assert "data" not in model._arrays
        _ = model.data
        view = model.read_planes("data", (0,), 0, 2)
        np.testing.assert_array_equal(view, data[0, :2])


def test_truncated_image_data_is_an_input_error(tmp_path):
    path = tmp_path / "t.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((50, 50), np.float32),
                                                   name="SCI")]).writeto(path)  # fmt: skip
    source = FitsSource.open(path)
    try:
        with path.open("r+b") as f:  # the file shrinks after it was opened
            f.truncate(path.stat().st_size - 5000)
        from webbcal.errors import InputError

        with pytest.raises(InputError, match="truncated"):
            source.read("data", dm.Array("SCI", "f4", 2, 0))
    finally:
        source.close()


@pytest.mark.parametrize("names", [None, ("DO_NOT_USE", "DEAD", "HOT", "WARM", "LOW_QE")])
def test_dq_lookup_table_matches_expand_dq(names):
    table = dq_def_table(names)
    stored = np.random.default_rng(2).integers(0, 2**32, (40, 30), dtype=np.uint64)
    stored = stored.astype(np.uint32)
    np.testing.assert_array_equal(_expand(stored.copy(), table), expand_dq(stored, table))


def test_read_uncached_reads_without_keeping(tmp_path):
    model = dm.ImageModel(data=np.ones((4, 5), np.float32))
    model.err = np.full((4, 5), 2.0, np.float32)
    path = model.save(tmp_path / "x_cal.fits")
    with dm.ImageModel(path) as opened:
        first = opened.read_uncached("err")
        np.testing.assert_array_equal(first, 2.0)
        assert opened.read_uncached("err") is not first  # read again: nothing was kept
        kept = opened.err
        assert opened.read_uncached("err") is kept  # an array in memory is served as is


def test_read_uncached_into_a_buffer(tmp_path):
    model = dm.ImageModel(data=np.ones((4, 5), np.float32))
    model.err = np.arange(20, dtype=np.float32).reshape(4, 5)
    model.dq = np.arange(20, dtype=np.uint32).reshape(4, 5) << 20  # unsigned convention
    path = model.save(tmp_path / "x_cal.fits")
    with dm.ImageModel(path) as opened:
        buffer = np.full((4, 5), -1.0, np.float32)
        err = opened.read_uncached("err", out=buffer)
        np.testing.assert_array_equal(err, model.err)
        assert np.shares_memory(err, buffer)  # read into the buffer
        dq_buffer = np.zeros((4, 5), np.uint32)
        dq = opened.read_uncached("dq", out=dq_buffer)
        np.testing.assert_array_equal(dq, model.dq)
        assert np.shares_memory(dq, dq_buffer)
        for unsuitable in (np.zeros((4, 5), np.float64), np.zeros((5, 4), np.float32),
                           np.zeros((5, 4), np.float32).T):  # fmt: skip
            err = opened.read_uncached("err", out=unsuitable)
            np.testing.assert_array_equal(err, model.err)
            assert not np.shares_memory(err, unsuitable)
            assert not unsuitable.any()  # left alone
