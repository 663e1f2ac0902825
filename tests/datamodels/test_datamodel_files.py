"""Bad inputs, class recognition, atomic saves and the real JWST files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.io import fits

from webbcal import datamodels as dm
from webbcal.datamodels import model as model_module
from webbcal.errors import InputError

from .dm_helpers import make_model

# ---------------------------------------------------------------------------------------
# bad input


def _image_file(path, shape=(4, 5), datamodl="ImageModel", extname="SCI", dtype=np.float32,
                **primary):
    hdul = fits.HDUList([fits.PrimaryHDU()])
    if datamodl:
        hdul[0].header["DATAMODL"] = datamodl
    for key, value in primary.items():
        hdul[0].header[key] = value
    if shape is not None:
        hdul.append(fits.ImageHDU(np.zeros(shape, dtype), name=extname))
    hdul.writeto(path)
    return path


def _raises_naming(path, match):
    with pytest.raises(InputError, match=match) as info:
        dm.open(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)


def test_not_a_fits_or_asdf_file(tmp_path):
    path = tmp_path / "notes.fits"
    path.write_text("this is not FITS\n")
    _raises_naming(path, "not a FITS or ASDF file")
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    _raises_naming(empty, "not a FITS or ASDF file")
    _raises_naming(tmp_path / "missing.fits", "no such file")
    _raises_naming(tmp_path, "directory")


@pytest.mark.parametrize("keep", [0.3, 0.5, 0.9, 0.999])
def test_truncated_fits(tmp_path, keep):
    whole = make_model(dm.RampModel).save(tmp_path / "whole_ramp.fits").read_bytes()
    path = tmp_path / "cut_ramp.fits"
    path.write_bytes(whole[: int(len(whole) * keep)])
    _raises_naming(path, "truncated|corrupt")


def test_missing_sci(tmp_path):
    _raises_naming(_image_file(tmp_path / "nosci.fits", extname="FOO"), "no SCI extension")
    _raises_naming(_image_file(tmp_path / "none.fits", shape=None), "no SCI extension")
    _raises_naming(_image_file(tmp_path / "anon.fits", datamodl=None, extname="FOO"),
                   "no SCI extension")
    with pytest.raises(InputError, match="no SCI extension"):
        dm.RampModel(tmp_path / "nosci.fits")


def test_wrong_dimensionality(tmp_path):
    _raises_naming(_image_file(tmp_path / "cube_as_image.fits", shape=(2, 4, 5)), "3-D")
    _raises_naming(_image_file(tmp_path / "ramp1d.fits", shape=(5,), datamodl="RampModel"),
                   "1-D")
    _raises_naming(_image_file(tmp_path / "1d.fits", shape=(5,), datamodl=None), "1-D")
    with pytest.raises(InputError, match="needs it 4-D"):
        dm.Level1bModel(_image_file(tmp_path / "img.fits"))


# ---------------------------------------------------------------------------------------
# recognising files without DATAMODL


@pytest.mark.parametrize(
    ("shape", "dtype", "extra", "primary", "expected"),
    [
        ((1, 2, 3, 3), np.uint16, None, {}, dm.Level1bModel),
        ((1, 2, 3, 3), np.float32, "GROUPDQ", {}, dm.RampModel),
        ((2, 3, 3), np.float32, None, {}, dm.CubeModel),
        ((3, 3), np.float32, None, {}, dm.ImageModel),
        ((3, 3), np.float32, None, {"REFTYPE": "GAIN"}, dm.GainModel),
        ((2, 2, 3, 3), np.float32, None, {"REFTYPE": "DARK"}, dm.DarkMIRIModel),
        ((2, 3, 3), np.float32, None, {"REFTYPE": "DARK"}, dm.DarkModel),
        ((3, 3), np.float32, None, {"DATAMODL": "NotAModel"}, dm.ImageModel),
    ],
)
def test_class_from_layout(tmp_path, shape, dtype, extra, primary, expected):
    path = _image_file(tmp_path / "anon.fits", shape=shape, dtype=dtype, datamodl=None, **primary)
    if extra:
        fits.append(path, np.zeros(shape, np.uint8), fits.Header([("EXTNAME", extra)]))
    model = dm.open(path)
    assert type(model) is expected
    assert model.data.dtype == expected.declared()["data"].dtype


# ---------------------------------------------------------------------------------------
# atomic saves


def _explode_midway(fileobj, plan):
    fileobj.write(b"SIMPLE  =                    T" + b" " * 2000)
    raise OSError("disk full")


def test_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    model = make_model(dm.ImageModel)
    monkeypatch.setattr(model_module, "write_fits", _explode_midway)
    with pytest.raises(OSError, match="disk full"):
        model.save(tmp_path / "x_cal.fits")
    assert list(tmp_path.iterdir()) == []
    assert model.meta.filename is None  # the model is as it was


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    model = make_model(dm.ImageModel)
    path = model.save(tmp_path / "x_cal.fits")
    before = path.read_bytes()
    monkeypatch.setattr(model_module, "write_fits", _explode_midway)
    with pytest.raises(OSError):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x_cal.fits"]


def test_unserialisable_metadata_fails_cleanly(tmp_path):
    model = make_model(dm.ImageModel)
    model.meta.oops = object()
    with pytest.raises(Exception):  # noqa: B017 - whatever asdf raises
        model.save(tmp_path / "x_cal.fits")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_false(tmp_path):
    model = make_model(dm.ImageModel)
    path = model.save(tmp_path / "x_cal.fits")
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)
    model.save(path)  # overwriting is the default


def test_saving_over_the_input_file(tmp_path):
    path = make_model(dm.RampModel).save(tmp_path / "r_ramp.fits")
    model = dm.open(path)
    model.groupdq[0, 0, 0, 0] = dm.dqflags.SATURATED
    model.save(path)
    assert dm.open(path).groupdq[0, 0, 0, 0] == dm.dqflags.SATURATED


# ---------------------------------------------------------------------------------------
# the real JWST files

REAL = {
    "jw01075001001_03105_00009_nrca2_uncal.fits": ("NIRCAM", "NRCA2", "NRC_CORON", "RAPID",
                                                   "FULL"),
    "jw01075001001_03105_00009_nrca3_uncal.fits": ("NIRCAM", "NRCA3", "NRC_CORON", "RAPID",
                                                   "FULL"),
    "jw01075001001_03105_00009_nrca4_uncal.fits": ("NIRCAM", "NRCA4", "NRC_CORON", "RAPID",
                                                   "FULL"),
    "fgs_acq1_guider1.fits": ("FGS", "GUIDER1", "FGS_ACQ1", "ACQ1", "128X128"),
    "fgs_id-image_guider1.fits": ("FGS", "GUIDER1", "FGS_ID-IMAGE", "ID", "2048X64"),
    "fgs_track_guider1.fits": ("FGS", "GUIDER1", "FGS_TRACK", "TRACK", "32X32"),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files_open(real_headers_dir, name, tmp_path):
    path = real_headers_dir / name
    with dm.open(path) as model:
        assert type(model) is dm.Level1bModel
        meta = model.meta
        got = (meta.instrument.name, meta.instrument.detector, meta.exposure.type,
               meta.exposure.readpatt, meta.subarray.name)
        assert got == REAL[name]
        assert meta.filename == name
        assert meta.model_type == "Level1bModel"
        assert isinstance(meta.exposure.nints, int) and isinstance(meta.visit.tsovisit, bool)
        assert model.data.dtype == np.uint16 and model.data.ndim == 4
        if name.startswith("jw01075001001_03105_00009_nrca2"):
            assert meta.exposure.ngroups == 10
            assert meta.subarray.xsize == 2048 and meta.subarray.slowaxis == -2
            assert meta.wcsinfo.v2_ref == pytest.approx(127.341286)  # SCI header
            assert meta.instrument.coronagraph == "MASKA210R"
            assert meta.exposure.psf_reference is True
            assert meta.ephemeris.type == "Definitive"  # in the SCI header and ASDF tree
        copy = model.save(tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdm = pytest.importorskip("stdatamodels.jwst.datamodels")
        with sdm.open(copy) as official:
            assert official.meta.exposure.type == REAL[name][2]
            assert official.meta.subarray.name == REAL[name][4]
