"""Arrays, defaults, saving and reading of webbcal's own models."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from webbcal import datamodels as dm
from webbcal.datamodels.fits_io import FitsSource

from .dm_helpers import ALL, make_arrays, make_model


def test_default_arrays_are_created_on_access_with_the_implied_shape():
    ramp = dm.RampModel((2, 3, 4, 5))
    assert ramp.data.dtype == np.float32
    assert not ramp.has("groupdq")
    assert ramp.groupdq.shape == (2, 3, 4, 5) and ramp.groupdq.dtype == np.uint8
    assert ramp.has("groupdq")
    assert ramp.pixeldq.shape == (4, 5) and ramp.pixeldq.dtype == np.uint32
    assert ramp.zeroframe.shape == (2, 4, 5)
    assert ramp.err is None and not ramp.has("err")  # no default: absent unless set
    assert dm.CubeModel((3, 4, 5)).area.shape == (4, 5)
    assert dm.DarkModel((6, 4, 5)).dq.shape == (4, 5)
    assert dm.LinearityModel((3, 4, 5)).dq.shape == (4, 5)
    image = dm.ImageModel((4, 5))
    assert image.shape == (4, 5)
    assert image.var_flat.shape == (4, 5) and not image.var_flat.any()
    assert dm.PixelAreaModel((2, 2)).data.tolist() == [[1, 1], [1, 1]]
    assert dm.ImageModel().data is None and dm.ImageModel().dq is None


def test_assignment_converts_dtype_and_checks_dimensions():
    image = dm.ImageModel(data=np.ones((3, 3)))
    assert image.data.dtype == np.float32
    image.dq = np.ones((3, 3), dtype=np.int64)
    assert image.dq.dtype == np.uint32
    with pytest.raises(ValueError, match="2-D"):
        image.data = np.zeros((2, 3, 3))
    with pytest.raises(TypeError, match="no array"):
        dm.ImageModel(bogus=np.zeros(3))
    image.err = None
    assert not image.has("err")
    data = np.zeros((2, 2), np.float32)
    assert dm.ImageModel(data).data is data  # no copy when the dtype matches


def test_tables_accept_rows_and_structured_arrays():
    cube = dm.CubeModel((2, 3, 3))
    cube.int_times = [(1, 1.0, 1.5, 2.0, 1.1, 1.6, 2.1), (2, 2.0, 2.5, 3.0, 2.1, 2.6, 3.1)]
    assert cube.int_times["int_mid_MJD_UTC"].tolist() == [1.5, 2.5]
    partial = np.zeros(2, dtype=[("integration_number", "i8"), ("extra", "U5")])
    partial["extra"] = ["a", "bc"]
    cube.int_times = partial
    assert cube.int_times.dtype["integration_number"] == np.int32
    assert cube.int_times["extra"].tolist() == [b"a", b"bc"]
    assert cube.int_times["int_end_BJD_TDB"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_round_trip_through_fits_and_asdf(cls, tmp_path):
    model = make_model(cls)
    arrays = make_arrays(cls)
    for suffix in (".fits", ".asdf"):
        path = model.save(tmp_path / f"product{suffix}")
        assert model.meta.filename == path.name
        with dm.open(path) as back:
            assert type(back) is cls
            assert back.meta.instrument.name == model.meta.instrument.name
            assert back.meta.filename == path.name
            for name, expected in arrays.items():
                got = getattr(back, name)
                if expected.dtype.names:
                    for column in expected.dtype.names:
                        np.testing.assert_array_equal(got[column], expected[column])
                else:
                    assert got.dtype == expected.dtype, name
                    np.testing.assert_array_equal(got, expected, err_msg=name)
    # saving never changes the model's own arrays (astropy rewrites unsigned columns in place)
    for name, expected in arrays.items():
        np.testing.assert_array_equal(getattr(model, name), expected, err_msg=name)


def test_keywords_land_in_the_official_headers(tmp_path):
    model = make_model(dm.ImageModel)
    model.meta.photometry.conversion_megajanskys = 1.25
    model.meta.bunit_err = "MJy/sr"
    model.meta.exposure.start_time_mjd = 59713.5
    model.meta.asn.exptype = "science"  # no keyword: ASDF extension only
    path = model.save(tmp_path / "x_cal.fits")
    with fits.open(path) as hdul:
        primary, sci = hdul[0].header, hdul["SCI"].header
        assert primary["DATAMODL"] == "ImageModel"
        assert primary["INSTRUME"] == "NIRCAM" and primary["EXP_TYPE"] == "NRC_IMAGE"
        assert primary["S_SATURA"] == "COMPLETE" and primary["CRDS_CTX"] == "jwst_1100.pmap"
        assert primary["R_SATURA"] == "crds://jwst_nircam_saturation_0001.fits"
        assert primary["TSOVISIT"] is False and primary["NINTS"] == 2
        assert "PHOTMJSR" not in primary and sci["PHOTMJSR"] == 1.25
        assert sci["BUNIT"] == "DN" and hdul["ERR"].header["BUNIT"] == "MJy/sr"
        assert sci["RA_REF"] == pytest.approx(245.981865309727) and sci["MJD-BEG"] == 59713.5
        assert hdul["DQ"].header["BITPIX"] == 32 and hdul["DQ"].header["BZERO"] == 2**31
        assert hdul[-1].name == "ASDF"
    assert dm.open(path).meta.asn.exptype == "science"

    area = dm.PixelAreaModel((2, 2))
    area.meta.photometry.pixelarea_steradians = 9.3e-14
    with fits.open(area.save(tmp_path / "area.fits")) as hdul:
        assert hdul[0].header["PIXAR_SR"] == 9.3e-14
        assert "ASDF" not in hdul  # reference files carry no ASDF extension


def test_fits_keywords_win_over_the_asdf_tree_and_unknown_cards_survive(tmp_path):
    path = make_model(dm.ImageModel).save(tmp_path / "a_rate.fits")
    fits.setval(path, "FILTER", value="F444W")  # edited with a FITS tool
    fits.setval(path, "MYNOTE", value="hello", ext=1)
    fits.setval(path, "HISTORY", value="hand edited")
    model = dm.open(path)
    assert model.meta.instrument.filter == "F444W"
    out = model.save(tmp_path / "b_rate.fits")
    with fits.open(out) as hdul:
        assert hdul["SCI"].header["MYNOTE"] == "hello"
        assert "hand edited" in str(hdul[0].header["HISTORY"])
        assert hdul[0].header["FILTER"] == "F444W"


def test_arrays_are_read_lazily(tmp_path, monkeypatch):
    path = make_model(dm.RampModel).save(tmp_path / "r_ramp.fits")
    reads = []
    original = FitsSource.read

    def counting_read(self, name, spec):
        reads.append(name)
        return original(self, name, spec)

    monkeypatch.setattr(FitsSource, "read", counting_read)
    model = dm.open(path)
    assert model.shape == (2, 3, 4, 5)
    assert model.meta.exposure.ngroups == 3
    assert model.has("groupdq") and reads == []
    model.groupdq  # noqa: B018
    assert reads == ["groupdq"]
    model.close()
    with pytest.raises(ValueError, match="closed"):
        model.data  # noqa: B018


def test_uncal_is_stored_as_int16_with_bzero_and_read_as_uint16(tmp_path):
    uncal = dm.Level1bModel(np.array([0, 1, 32767, 32768, 65535], np.uint16).reshape(1, 1, 1, 5))
    path = uncal.save(tmp_path / "u_uncal.fits")
    with fits.open(path, do_not_scale_image_data=True) as hdul:
        assert hdul["SCI"].header["BITPIX"] == 16 and hdul["SCI"].header["BZERO"] == 32768
    back = dm.open(path)
    assert back.data.dtype == np.uint16
    assert back.data.ravel().tolist() == [0, 1, 32767, 32768, 65535]
    ramp = dm.RampModel(back)  # a Level1b converted to a ramp: float32, metadata copied
    assert ramp.data.dtype == np.float32 and ramp.data.ravel()[-1] == 65535.0
    assert dm.RampModel(path).data.dtype == np.float32


def test_copy_is_deep(tmp_path):
    model = dm.open(make_model(dm.ImageModel).save(tmp_path / "c_cal.fits"))
    twin = model.copy()
    twin.data[0, 0] = -1.0
    twin.meta.instrument.name = "MIRI"
    assert model.data[0, 0] != -1.0
    assert model.meta.instrument.name == "NIRCAM"
    model.close()
    assert twin.dq.shape == (4, 5)  # copied, so independent of the closed file


def test_models_pickle_with_their_arrays(tmp_path):
    import pickle

    model = dm.open(make_model(dm.RampModel).save(tmp_path / "p_ramp.fits"))
    clone = pickle.loads(pickle.dumps(model))
    model.close()
    np.testing.assert_array_equal(clone.groupdq, make_arrays(dm.RampModel)["groupdq"])
    assert clone.meta.exposure.ngroups == 3 and clone.path == model.path


def test_open_passes_models_through_and_wraps_hdulists(tmp_path):
    model = make_model(dm.CubeModel)
    assert dm.open(model) is model
    with fits.open(model.save(tmp_path / "cube.fits")) as hdul:
        assert isinstance(dm.open(hdul), dm.CubeModel)
        assert dm.ImageModel(dm.open(hdul).data[0]).shape == (4, 5)


def test_class_lookup():
    assert dm.class_for("RampModel") is dm.RampModel
    assert dm.REGISTRY["DarkMIRIModel"] is dm.DarkMIRIModel
    assert "ReferenceModel" not in dm.REGISTRY
