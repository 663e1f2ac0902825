"""Subarray cut-outs of full-frame references."""

from __future__ import annotations

import numpy as np
import pytest

from webbcal.errors import ReferenceFileError
from webbcal.refs import cutout


def test_cutout_of_a_full_frame_reference():
    ref = np.arange(20 * 30).reshape(20, 30)
    sub = {"SUBARRAY": "SUB", "SUBSTRT1": 5, "SUBSTRT2": 3, "SUBSIZE1": 10, "SUBSIZE2": 4}
    out = cutout(ref, sub)
    np.testing.assert_array_equal(out, ref[2:6, 4:14])
    cube = np.stack([ref, ref + 1])
    np.testing.assert_array_equal(cutout(cube, sub), cube[:, 2:6, 4:14])


def test_matching_reference_is_returned_as_is():
    ref = np.zeros((4, 10))
    sub = {"SUBARRAY": "SUB", "SUBSTRT1": 5, "SUBSTRT2": 3, "SUBSIZE1": 10, "SUBSIZE2": 4}
    assert cutout(ref, sub) is ref
    full = np.zeros((20, 30))
    assert cutout(full, {"SUBARRAY": "FULL"}) is full


def test_reference_that_is_itself_a_window():
    ref = np.arange(10 * 10).reshape(10, 10)
    out = cutout(ref, {"SUBSTRT1": 3, "SUBSTRT2": 4, "SUBSIZE1": 2, "SUBSIZE2": 2},
                 ref={"SUBSTRT1": 2, "SUBSTRT2": 2})  # fmt: skip
    np.testing.assert_array_equal(out, ref[2:4, 1:3])


def test_mismatched_sizes_are_reference_file_errors():
    ref = np.zeros((20, 30))
    with pytest.raises(ReferenceFileError, match="does not lie inside"):
        cutout(ref, {"SUBSTRT1": 25, "SUBSTRT2": 1, "SUBSIZE1": 10, "SUBSIZE2": 4})
    with pytest.raises(ReferenceFileError, match="no SUBSIZE1"):
        cutout(ref, {"SUBARRAY": "SUB64"})


def test_cutout_with_real_models(real_headers_dir):
    from webbcal import datamodels

    full = np.zeros((2048, 2048), np.float32)
    with datamodels.open(real_headers_dir / "jw01075001001_03105_00009_nrca2_uncal.fits") as m:
        assert cutout(full, m) is full
    with datamodels.open(real_headers_dir / "fgs_id-image_guider1.fits") as m:
        assert cutout(full, m).shape == (2048, 2024)
    with datamodels.open(real_headers_dir / "fgs_track_guider1.fits") as m:
        np.testing.assert_array_equal(cutout(np.arange(2048 * 2048).reshape(2048, 2048), m)[0],
                                      np.arange(1213, 1245) + 196 * 2048)  # fmt: skip
