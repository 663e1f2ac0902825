"""The fast header parser and HDU scanner against astropy (the oracle)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from webbcal.datamodels.fits_parse import parse_header, scan_hdus
from webbcal.errors import InputError

REAL = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "real_headers"


def _same(ours, theirs) -> bool:
    (k1, v1, c1), (k2, v2, c2) = ours, theirs
    if k1 != k2 or c1 != c2 or type(v1) is not type(v2):
        return False
    return isinstance(v1, fits.card.Undefined) or v1 == v2


def _check_file(path: Path) -> int:
    """Compare every card and every HDU's offsets; returns the number of cards."""
    spans = scan_hdus(path)
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, lazy_load_hdus=False) as hdul:
            assert len(spans) == len(hdul)
            for index, (span, hdu) in enumerate(zip(spans, hdul, strict=True)):
                info = hdul.fileinfo(index)
                assert (span.header_start, span.data_start) == (info["hdrLoc"], info["datLoc"])
                assert span.end - span.data_start == info["datSpan"]
                theirs = [(c.keyword, c.value, c.comment) for c in hdu.header.cards]
                assert len(span.cards) == len(theirs)
                for ours, other in zip(span.cards, theirs, strict=True):
                    assert _same(ours, other), (ours, other)
                count += len(theirs)
    return count


@pytest.mark.skipif(not REAL.is_dir(), reason="no real-header fixtures")
def test_real_jwst_headers_parse_as_astropy_does():
    files = sorted(REAL.glob("*.fits"))
    assert files
    assert sum(_check_file(path) for path in files) > 500


def test_unusual_cards_parse_as_astropy_does(tmp_path):
    header = fits.Header()
    header["LONGSTR"] = "x" * 150 + " end"  # CONTINUE cards
    header["AMP"] = "ends with &"
    header["HIERARCH ESO DET CHIP"] = 5
    header["CPLX"] = complex(1, 2)
    header["NEGF"] = -1.5e-300
    header["BIGI"] = 2**62
    header["EMPTY"] = ""
    header["SPACES"] = "   lead"
    header["QUOTE"] = "it's"
    header["BOOLF"] = False
    header["ODD"] = 1.0
    header.append(("UNDEF", fits.card.UNDEFINED, "undefined one"))
    header["COMMENT"] = "a comment card"
    header["HISTORY"] = "   spaced history   "
    header.append(fits.Card("", "blank keyword text"))
    header["SLASH"] = ("a/b", "has / slash")
    header["DEXP"] = 1.0
    path = tmp_path / "edge.fits"
    hdul = fits.HDUList([fits.PrimaryHDU(header=header),
                         fits.ImageHDU(np.arange(7, dtype=">i2"), name="SCI"),
                         fits.BinTableHDU.from_columns([fits.Column("A", "J", array=[1, 2])],
                                                       name="TAB")])  # fmt: skip
    hdul.writeto(path)
    raw = bytearray(path.read_bytes())
    for key, image in (("DEXP", "DEXP    =               1.0D02 / d exponent"),
                       ("ODD", "ODD     = 2.5 /no space comment ")):  # fmt: skip
        at = raw.find(key.ljust(8).encode())
        raw[at : at + 80] = image.ljust(80).encode()
    path.write_bytes(bytes(raw))
    assert _check_file(path) > 20
    values = scan_hdus(path)[0].values
    assert values["DEXP"] == 100.0 and values["ODD"] == 2.5
    assert values["LONGSTR"].endswith(" end") and len(values["LONGSTR"]) == 154


def test_parse_stops_at_end():
    cards = "SIMPLE  =                    T".ljust(80) + "END".ljust(80) + "JUNK    = 1".ljust(80)
    assert parse_header(cards.encode()) == [("SIMPLE", True, "")]


@pytest.mark.parametrize("cut", ["header", "data"])
def test_truncated_files_are_input_errors(tmp_path, cut):
    path = tmp_path / "t.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((40, 40), np.float32))]).writeto(path)
    raw = path.read_bytes()
    keep = 2880 + 300 if cut == "header" else len(raw) - 2880
    path.write_bytes(raw[:keep])
    with pytest.raises(InputError, match=r"truncated|corrupt") as err:
        scan_hdus(path)
    assert str(err.value.path) == str(path)


def test_trailing_junk_is_an_input_error(tmp_path):
    path = tmp_path / "j.fits"
    fits.PrimaryHDU(np.zeros(4, np.int16)).writeto(path)
    path.write_bytes(path.read_bytes() + b"garbage".ljust(2880))
    with pytest.raises(InputError, match="corrupt"):
        scan_hdus(path)
    path.write_bytes(path.read_bytes()[:-2880] + bytes(2880))  # zero padding is fine
    assert len(scan_hdus(path)) == 1
