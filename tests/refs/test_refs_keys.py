"""Exposure keys from models, headers, mappings and files."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from astropy.io import fits

from webbcal.errors import InputError
from webbcal.refs.keys import exposure_datetime, exposure_keys


def test_keys_from_a_mapping_of_fits_keywords():
    keys = exposure_keys({"instrume": " nircam ", "DETECTOR": "NRCA1", "NGROUPS": 10,
                          "PUPIL": "", "TSOVISIT": False})  # fmt: skip
    assert keys == {"INSTRUME": "NIRCAM", "DETECTOR": "NRCA1", "NGROUPS": 10, "TSOVISIT": False}


def test_keys_from_crds_style_paths_and_headers():
    keys = exposure_keys({"META.INSTRUMENT.NAME": "MIRI", "META.EXPOSURE.READPATT": "FAST"})
    assert keys == {"INSTRUME": "MIRI", "READPATT": "FAST"}
    header = fits.Header({"INSTRUME": "FGS", "SUBSTRT1": 5})
    assert exposure_keys(header) == {"INSTRUME": "FGS", "SUBSTRT1": 5}


def test_keys_from_a_model_meta_tree():
    meta = SimpleNamespace(
        instrument=SimpleNamespace(name="NIRCAM", detector="NRCB1", filter="F200W"),
        subarray=SimpleNamespace(name="SUB160", xstart=1, ystart=1, xsize=160, ysize=160),
        observation=SimpleNamespace(date="2023-01-02", time="03:04:05.678"),
    )
    keys = exposure_keys(SimpleNamespace(meta=meta))
    assert keys["DETECTOR"] == "NRCB1" and keys["SUBSIZE1"] == 160
    assert exposure_datetime(keys) == "2023-01-02T03:04:05"


def test_keys_from_files(real_headers_dir):
    keys = exposure_keys(real_headers_dir / "jw01075001001_03105_00009_nrca2_uncal.fits")
    assert keys["INSTRUME"] == "NIRCAM" and keys["PUPIL"] == "MASKRND"
    assert keys["EXP_TYPE"] == "NRC_CORON" and keys["SUBARRAY"] == "FULL"


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        exposure_keys(tmp_path / "nope.fits")


def test_exposure_datetime_variants():
    assert exposure_datetime({"DATE-OBS": "2022-05-14"}) == "2022-05-14T00:00:00"
    assert exposure_datetime({"DATE-BEG": "2022-05-14T18:15:30.545"}) == "2022-05-14T18:15:30"
    assert exposure_datetime({}) is None
