"""Files are the contract: webbcal files open in the official data models and vice versa.

stdatamodels is used here as an oracle only (it is a test dependency, never imported by
src/). For every declared class, a model with every array/table filled and representative
metadata is written by one library and read by the other.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from webbcal import datamodels as dm

from .dm_helpers import (
    ALL,
    REFERENCE,
    flat,
    get_path,
    make_arrays,
    make_model,
    reference_meta,
    same_table,
    science_meta,
)

sdm = pytest.importorskip("stdatamodels.jwst.datamodels")

#: metadata every reference class must carry across, whatever its official schema lists
REFERENCE_CORE = ("reftype", "author", "pedigree", "useafter", "description",
                  "instrument.name", "instrument.detector")


def _meta_for(cls) -> dict:
    return flat(reference_meta(cls) if cls in REFERENCE else science_meta(cls))


def _official_value(meta, path):
    """The official model's value, or a marker when its schema does not know the path."""
    try:
        return get_path(meta, path)
    except AttributeError:
        return "<not in official schema>"


def _official_fields(cls) -> dict:
    """Arrays/tables to compare: the official RampModel no longer has ERR, and the official
    ImageModel keeps an i2d's HDRTAB in ``extra_fits`` (checked in tests/stage2)."""
    arrays = make_arrays(cls)
    if cls is dm.RampModel:
        arrays.pop("err")
    if cls is dm.ImageModel:
        arrays.pop("hdrtab")
    return arrays


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_webbcal_file_opens_in_official_models(cls, tmp_path):
    model = make_model(cls)
    path = model.save(tmp_path / f"ours_{cls.__name__}.fits")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no validation warnings: the file is schema-valid
        official = sdm.open(path)
    with official:
        assert type(official).__name__ == cls.__name__
        meta = _meta_for(cls)
        for key in REFERENCE_CORE if cls in REFERENCE else ():
            assert get_path(official.meta, key) == meta[key], key
        for key, value in meta.items():
            theirs = _official_value(official.meta, key)
            if theirs != "<not in official schema>":
                expected = pytest.approx(value) if isinstance(value, float) else value
                assert theirs == expected, key
        for name, ours in _official_fields(cls).items():
            theirs = getattr(official, name)
            if ours.dtype.names:
                assert same_table(ours, theirs) == [], name
            else:
                np.testing.assert_array_equal(np.asarray(theirs), ours, err_msg=name)
                assert np.asarray(theirs).dtype.newbyteorder("=") == ours.dtype, name


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_official_file_opens_in_webbcal(cls, tmp_path):
    arrays = _official_fields(cls)
    meta = _meta_for(cls)
    written = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        official = getattr(sdm, cls.__name__)()
        for name, value in arrays.items():
            setattr(official, name, value.copy())  # astropy may rewrite table columns in place
        for key, value in meta.items():
            *parents, leaf = key.split(".")
            node = official.meta
            try:
                for part in parents:
                    node = getattr(node, part)
                setattr(node, leaf, value)
            except AttributeError:
                continue  # not in this class's official schema
            written[key] = value
        path = tmp_path / f"official_{cls.__name__}.fits"
        official.save(path)
        official.close()

    with dm.open(path) as model:
        assert type(model) is cls
        for key in REFERENCE_CORE if cls in REFERENCE else ():
            assert key in written
        for key, value in written.items():
            if cls in REFERENCE and key == "exposure.type":
                continue  # not a keyword of every official reference schema
            assert get_path(model.meta, key) == value, key
        for name, expected in arrays.items():
            ours = getattr(model, name)
            if expected.dtype.names:
                assert same_table(expected, ours) == [], name
            else:
                assert ours.dtype == expected.dtype, name
                np.testing.assert_array_equal(ours, expected, err_msg=name)


def test_wcs_travels_both_ways(tmp_path):
    from astropy.modeling import models
    from gwcs import coordinate_frames as cf
    from gwcs import wcs as gwcs

    transform = models.Shift(10) & models.Scale(2)
    wcs = gwcs.WCS([(cf.Frame2D(name="detector"), transform), (cf.Frame2D(name="world"), None)])
    model = make_model(dm.ImageModel)
    model.meta.wcs = wcs
    path = model.save(tmp_path / "wcs_cal.fits")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        official = sdm.open(path)
        assert official.meta.wcs(1.0, 2.0) == pytest.approx((11.0, 4.0))
        official.meta.wcs = gwcs.WCS(
            [(cf.Frame2D(name="detector"), models.Shift(1) & models.Shift(1)),
             (cf.Frame2D(name="world"), None)]
        )
        official.save(tmp_path / "official_wcs_cal.fits")
        official.close()
    assert dm.open(path).meta.wcs(1.0, 2.0) == pytest.approx((11.0, 4.0))
    back = dm.open(tmp_path / "official_wcs_cal.fits")
    assert back.meta.wcs(1.0, 2.0) == pytest.approx((2.0, 3.0))


def test_compact_dq_def_is_read_as_standard_flags_by_both(tmp_path):
    """A mask stores DEAD in bit 2 (standard: bit 10); both libraries see the standard flag."""
    mask = dm.MaskModel(dq=np.zeros((3, 3), np.uint32), dq_def=dm.dqflags.dq_def_table(
        ["DO_NOT_USE", "SATURATED", "DEAD"]))
    mask.dq[1, 1] = dm.dqflags.DEAD | dm.dqflags.DO_NOT_USE
    mask.meta.update(reference_meta(dm.MaskModel))
    path = mask.save(tmp_path / "mask.fits")

    from astropy.io import fits

    assert fits.getdata(path, "DQ")[1, 1] == 0b101  # stored compactly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert sdm.open(path).dq[1, 1] == dm.dqflags.DEAD | dm.dqflags.DO_NOT_USE
    assert dm.open(path).dq[1, 1] == dm.dqflags.DEAD | dm.dqflags.DO_NOT_USE
