"""Bad input through the real command line: one clear line, a non-zero exit, nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits

from webbcal.cli import main
from webbcal.datamodels import Level1bModel


def _uncal(path, *, exp_type="NRC_IMAGE", shape=(1, 3, 8, 8)):
    model = Level1bModel(data=np.zeros(shape, dtype=np.uint16))
    model.meta.instrument.name = "NIRCAM"
    model.meta.instrument.detector = "NRCA1"
    model.meta.exposure.type = exp_type
    model.meta.exposure.readpatt = "RAPID"
    model.meta.subarray.name = "FULL"
    model.save(path)
    return path


def _not_fits(path):
    path.write_text("this is not a FITS file\n")
    return path


def _truncated(path):
    full = _uncal(path.with_name("full_uncal.fits"))
    raw = full.read_bytes()
    full.unlink()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _missing_sci(path):
    hdr = fits.Header({"DATAMODL": "Level1bModel", "INSTRUME": "NIRCAM", "EXP_TYPE": "NRC_IMAGE"})
    fits.HDUList([fits.PrimaryHDU(header=hdr), fits.ImageHDU(np.zeros((4, 4)), name="DQ")]).writeto(
        path
    )
    return path


def _wrong_ndim(path):
    hdr = fits.Header({"DATAMODL": "Level1bModel", "INSTRUME": "NIRCAM", "EXP_TYPE": "NRC_IMAGE"})
    sci = fits.ImageHDU(np.zeros((8, 8), dtype=np.uint16), name="SCI")
    fits.HDUList([fits.PrimaryHDU(header=hdr), sci]).writeto(path)
    return path


def _malformed_asn(path):
    path.write_text('{"asn_type": "image2", "products": [ {"name": "x", "members": [')
    return path


def _asn_missing_member(path):
    path.write_text(
        json.dumps(
            {
                "asn_type": "image2",
                "asn_rule": "DMSLevel2bBase",
                "products": [
                    {"name": "x", "members": [{"expname": "gone_rate.fits", "exptype": "science"}]}
                ],
            }
        )
    )
    return path


CASES = {
    "not_fits": ("x_uncal.fits", _not_fits),
    "truncated": ("x_uncal.fits", _truncated),
    "missing_sci": ("x_uncal.fits", _missing_sci),
    "wrong_ndim": ("x_uncal.fits", _wrong_ndim),
    "malformed_asn": ("x_asn.json", _malformed_asn),
    "asn_missing_member": ("x_asn.json", _asn_missing_member),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_run_on_bad_input_prints_one_line_and_writes_nothing(tmp_path, capsys, case):
    name, make = CASES[case]
    inputs = tmp_path / "in"
    inputs.mkdir()
    bad = make(inputs / name)
    before = bad.read_bytes()
    out = tmp_path / "out"
    out.mkdir()

    code = main(["-q", "run", "calwebb_detector1", str(bad), f"--output_dir={out}"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1, err
    assert err[0].startswith("webbcal: error:")
    assert bad.name in err[0] or "gone_rate.fits" in err[0]
    assert list(out.iterdir()) == []
    assert bad.read_bytes() == before  # the input is never modified


def test_unknown_exp_type_is_a_named_routing_error(tmp_path, capsys):
    path = _uncal(tmp_path / "odd_uncal.fits", exp_type="NRC_NOSUCHMODE")

    code = main(["-q", "info", str(path)])

    captured = capsys.readouterr()
    assert code != 0
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    assert "NRC_NOSUCHMODE" in err[0]
