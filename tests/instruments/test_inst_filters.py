import pytest

from webbcal.errors import InputError
from webbcal.instruments import filters, get_filter


def test_published_pivots():
    assert get_filter("NIRCAM", "F200W").pivot == pytest.approx(1.988, abs=1e-3)
    assert get_filter("NIRCAM", "F444W").pivot == pytest.approx(4.402, abs=1e-3)
    assert get_filter("MIRI", "F770W").pivot == pytest.approx(7.639, abs=1e-3)
    assert get_filter("NIRISS", "F150W").pivot == pytest.approx(1.493, abs=1e-3)


def test_nircam_channels():
    names = [f.name for f in filters("NIRCAM")]
    assert {"F070W", "F090W", "F150W2", "F200W", "F277W", "F322W2", "F444W", "F480M"} <= set(names)
    for f in filters("NIRCAM"):
        assert f.channel == ("SW" if f.pivot < 2.4 else "LW"), f.name
        assert 0 < f.bandwidth < f.pivot


def test_band_ranges():
    for inst, lo, hi, n in (("MIRI", 5, 26, 13), ("NIRISS", 0.8, 5, 12)):
        fs = filters(inst)
        assert len(fs) == n
        assert all(lo < f.pivot < hi and 0 < f.bandwidth < f.pivot for f in fs), inst
    assert filters("FGS") == [] and filters("NIRSPEC") == []


def test_pupil_wheel_filters():
    assert get_filter("NIRCAM", "F444W", pupil="F405N").name == "F405N"
    assert get_filter("NIRCAM", "F150W2", pupil="F164N").channel == "SW"
    assert get_filter("NIRCAM", "F200W", pupil="CLEAR").name == "F200W"
    assert get_filter("NIRCAM", "F210M", pupil="MASKRND").name == "F210M"
    assert get_filter("NIRISS", "CLEAR", pupil="F150W").name == "F150W"
    assert get_filter("NIRISS", "F277W", pupil="CLEARP").name == "F277W"
    with pytest.raises(InputError, match="used with F444W"):
        get_filter("NIRCAM", "F356W", pupil="F470N")


def test_errors():
    with pytest.raises(InputError, match="unknown MIRI filter"):
        get_filter("MIRI", "F200W")
    with pytest.raises(InputError, match="FGS has no tabulated"):
        get_filter("FGS", "CLEAR")
