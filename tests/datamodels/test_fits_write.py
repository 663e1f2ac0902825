"""The direct FITS writer writes the bytes astropy writes, and valid FITS."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from webbcal import datamodels as dm
from webbcal.datamodels.fits_cards import card_image
from webbcal.datamodels.fits_write import HduPlan, build_hdulist, write_fits, writes_directly

from .dm_helpers import ALL, make_model

CARD_VALUES = [
    True, False, np.bool_(True), 0, -1, 7, 2**62, -(2**63), np.int32(-5), np.int64(12),
    np.uint16(65535), 0.0, -0.0, 0.1, 1.0, -2.5, 1e-300, 5e-324, 1e16, 1e20, 1.7976931348623157e308,
    123456789012345678.0, 1.2345678901234567e-100, 59713.76077019132, -245.981865309727,
    np.float64(3.25), np.float32(0.1), "", "x", "RA---TAN", "O'Brien", "a" * 60, "a" * 69,
    "b" * 120, "trailing   ", "  leading", "ünïcode", 1 + 2j,
]  # fmt: skip
COMMENTS = ["", "meta.exposure.start_time", "c" * 70, "bad\x01comment"]


def _astropy(keyword, value, comment):
    """astropy's image of the card, or None when it warns (a too-long card)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", VerifyWarning)
        try:
            return fits.Card(keyword, value, comment).image
        except VerifyWarning:
            return None


@pytest.mark.parametrize("value", CARD_VALUES, ids=repr)
@pytest.mark.parametrize("comment", COMMENTS)
@pytest.mark.parametrize("keyword", ["DATE-OBS", "A"])
def test_card_image_is_astropys(keyword, value, comment):
    try:
        expected = _astropy(keyword, value, comment)
    except ValueError:  # a value or comment astropy refuses: so do we
        with pytest.raises(ValueError):
            card_image(keyword, value, comment)
        return
    assert card_image(keyword, value, comment) == expected


def _both(plan: list[HduPlan], direct: bool = True) -> tuple[bytes, bytes]:
    assert writes_directly(plan) is direct
    ours, theirs = io.BytesIO(), io.BytesIO()
    write_fits(ours, plan)
    build_hdulist(plan).writeto(theirs, output_verify="silentfix")
    return ours.getvalue(), theirs.getvalue()


pytestmark = pytest.mark.filterwarnings(
    "ignore:Card is too long:astropy.io.fits.verify.VerifyWarning"
)


def _check_valid(raw: bytes) -> None:
    with fits.open(io.BytesIO(raw), checksum=True) as hdul:
        hdul.verify("exception")
        for hdu in hdul:
            _ = hdu.data


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_models_written_as_astropy_writes_them(cls):
    model = make_model(cls)
    model._extra_fits = {
        "PRIMARY": [("HISTORY", "a history card " * 8, ""), ("MYKEY", "x" * 90, "long"),
                    ("MYFLOAT", 1.5, "c" * 75), ("COMMENT", "a comment", "")],
        "SCI": [("BUNIT", "DN/s", "unit"), ("MYINT", 3, "")],
    }  # fmt: skip
    model.meta.exposure.readpatt = "R" * 75  # a keyword-table card with CONTINUE cards
    model._stamp()
    ours, theirs = _both(model._plan())
    assert ours == theirs
    _check_valid(ours)


def test_tables_of_every_column_kind():
    dtype = np.dtype([("flag", "?"), ("b", "u1"), ("s", "i2"), ("us", "u2"), ("i", "i4"),
                      ("ui", "u4"), ("k", "i8"), ("e", "f4"), ("d", ">f8"), ("name", "S7"),
                      ("text", "U5"), ("vec", "f4", (3,)), ("mat", "i8", (2, 3)),
                      ("flags", "?", (2,))])  # fmt: skip
    rng = np.random.default_rng(3)
    table = np.zeros(4, dtype=dtype)
    for name in dtype.names:
        kind = dtype[name].base.kind
        if kind == "S":
            table[name] = [b"a", b"bb'", b"", b"seven77"]
        elif kind == "U":
            table[name] = ["x", "yy", "", "fiver"]
        elif kind == "b":
            table[name] = rng.integers(0, 2, size=table[name].shape).astype(bool)
        else:
            info = np.iinfo(dtype[name].base) if kind in "iu" else None
            lo, hi = (info.min, info.max) if info else (-1e30, 1e30)
            table[name] = rng.uniform(lo / 2, hi / 2, size=table[name].shape)
    plan = [
        HduPlan("primary", "PRIMARY"),
        HduPlan("table", "TAB", table),
        HduPlan("table", "EMPTY", table[:0]),
        HduPlan("asdf", "ASDF", b"#ASDF 1.0.0\n"),
    ]
    ours, theirs = _both(plan)
    assert ours == theirs
    _check_valid(ours)


@pytest.mark.parametrize("dtype", ["<f4", ">f4", "<u2", ">u4", "<i2", "<f8", "u1", "<i8", "i1"])
def test_images_of_every_dtype(dtype):
    rng = np.random.default_rng(5)
    data = rng.uniform(-100, 60000, size=(3, 70, 50)).astype(dtype)  # several 2880-byte blocks
    plan = [HduPlan("primary", "PRIMARY"), HduPlan("image", "SCI", data, [("K", 1, "", True)])]
    ours, theirs = _both(plan, direct=dtype != "i1")
    assert ours == theirs
    with fits.open(io.BytesIO(ours), uint=True) as hdul:
        np.testing.assert_array_equal(hdul["SCI"].data, data)


def test_large_array_in_chunks(monkeypatch):
    from webbcal.datamodels import fits_write

    monkeypatch.setattr(fits_write, "_CHUNK", 4096)
    data = np.arange(10_001, dtype=np.uint32) * 429_000
    plan = [HduPlan("primary", "PRIMARY"), HduPlan("image", "DQ", data)]
    ours, theirs = _both(plan)
    assert ours == theirs


def test_saved_product_reads_back(tmp_path):
    model = make_model(dm.CubeModel)
    path = model.save(tmp_path / "x_rateints.fits")
    with fits.open(path, checksum=True) as hdul:
        hdul.verify("exception")
        assert [h.name for h in hdul][-1] == "ASDF"
    with dm.open(path) as back:
        for name in ("data", "dq", "err", "int_times"):
            np.testing.assert_array_equal(getattr(back, name), getattr(model, name))
        assert back.meta.exposure.start_time == model.meta.exposure.start_time


def test_write_view_hands_the_kernel_small_pieces(monkeypatch):
    from webbcal import atomic

    monkeypatch.setattr(atomic, "WRITE_PIECE", 1000)
    calls = []

    class Recorder(io.BytesIO):
        def write(self, data):
            calls.append(len(data))
            return super().write(data)

    data = np.arange(2_600, dtype=">f4")  # 10400 bytes: ten full pieces and a short one
    out = Recorder()
    atomic.write_view(out, data.data)
    assert out.getvalue() == data.tobytes()
    assert calls == [1000] * 10 + [400]


def test_file_backed_product_is_saved_one_array_at_a_time(tmp_path, monkeypatch):
    from webbcal.datamodels import fits_write

    model = make_model(dm.CubeModel)
    path = model.save(tmp_path / "a_rateints.fits")
    loads = []
    original = fits_write._loaded

    def counting(data):
        if isinstance(data, fits_write.Deferred):
            loads.append(data.shape)
        return original(data)

    monkeypatch.setattr(fits_write, "_loaded", counting)
    with dm.open(path) as opened:
        _ = opened.data  # in memory: written as it is
        again = opened.save(tmp_path / "b_rateints.fits")
        assert len(loads) >= 2  # ERR, DQ, ... read when their HDU was written
        assert set(opened._arrays) == {"data"}  # the others were read to be written only
        hdul = opened.to_hdulist()  # the astropy path reads them too
        np.testing.assert_array_equal(hdul["ERR"].data, model.err)
    with fits.open(path) as a, fits.open(again) as b:
        assert [h.name for h in a] == [h.name for h in b]
        for ha, hb in zip(a, b):
            if ha.name != "ASDF" and ha.data is not None:
                np.testing.assert_array_equal(ha.data, hb.data)
