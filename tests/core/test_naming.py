import pytest

from webbcal.core.naming import (
    candidate_id,
    exposure_output_name,
    product_output_name,
    split_extension,
    strip_suffix,
)

X = "jw96090001001_03101_00001_nrca2"


@pytest.mark.parametrize(
    ("name", "suffix", "expected"),
    [
        (f"{X}_uncal.fits", "rate", f"{X}_rate.fits"),
        (f"{X}_uncal.fits", "rateints", f"{X}_rateints.fits"),
        (f"{X}_uncal.fits", "ramp", f"{X}_ramp.fits"),
        (f"{X}_rate.fits", "cal", f"{X}_cal.fits"),
        (f"{X}_rate.fits", "bsub", f"{X}_bsub.fits"),
        (f"{X}_rate.fits", "i2d", f"{X}_i2d.fits"),
        (f"{X}_rateints.fits", "calints", f"{X}_calints.fits"),
        (f"{X}_ramp.fits", "rate", f"{X}_rate.fits"),
        (f"{X}_dark_current.fits", "jump", f"{X}_jump.fits"),
        (f"{X}_jumpstep.fits", "rate", f"{X}_rate.fits"),
        (f"/some/dir/{X}_uncal.fits", "rate", f"{X}_rate.fits"),
        (f"{X}.fits", "rate", f"{X}_rate.fits"),
        (f"{X}_uncal.asdf", "rate", f"{X}_rate.asdf"),
        (f"{X}_uncal.fits.gz", "rate", f"{X}_rate.fits"),
        ("myscale_custom.fits", "custom", "myscale_custom.fits"),
    ],
)
def test_exposure_names(name, suffix, expected):
    assert exposure_output_name(name, suffix) == expected


def test_crf_with_candidate():
    assert exposure_output_name(f"{X}_cal.fits", "crf", candidate="o001") == f"{X}_o001_crf.fits"
    assert candidate_id("[('o001', 'observation')]") == "o001"
    assert candidate_id([["c1000", "background"]]) == "c1000"
    assert candidate_id(None, "a3001") == "a3001"
    assert candidate_id("", None) is None


def test_level3_product_names():
    product = "jw99009-a3001_t001_nircam_f090w"
    assert product_output_name(product, "i2d") == f"{product}_i2d.fits"
    assert product_output_name(product, "cat", ".ecsv") == f"{product}_cat.ecsv"
    assert product_output_name(product, "segm") == f"{product}_segm.fits"


def test_strip_and_split():
    assert strip_suffix("a_b") == "a_b"
    assert strip_suffix("uncal") == "uncal"
    assert strip_suffix("x_o001_crf") == "x_o001"
    assert split_extension("a_rate.fits") == ("a_rate", ".fits")
    assert split_extension("a.cat.ecsv") == ("a.cat", ".ecsv")
