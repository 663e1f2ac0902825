import numpy as np
import pytest
from astropy.io import fits

from webbcal.errors import InputError
from webbcal.instruments import detectors, get_detector

NIRCAM = [
    "NRCA1",
    "NRCA2",
    "NRCA3",
    "NRCA4",
    "NRCALONG",
    "NRCB1",
    "NRCB2",
    "NRCB3",
    "NRCB4",
    "NRCBLONG",
]
ALL = [
    (d.instrument, d.name)
    for inst in ("NIRCAM", "NIRISS", "NIRSPEC", "FGS", "MIRI")
    for d in detectors(inst)
]


def test_detector_lists():
    assert [d.name for d in detectors("nircam")] == NIRCAM
    assert [d.name for d in detectors("MIRI")] == ["MIRIMAGE", "MIRIFULONG", "MIRIFUSHORT"]
    assert [d.name for d in detectors("NIRISS")] == ["NIS"]
    assert [d.name for d in detectors("FGS")] == ["GUIDER1", "GUIDER2"]
    assert [d.name for d in detectors("NIRSpec")] == ["NRS1", "NRS2"]


def test_nircam_channels_and_scales():
    for d in detectors("NIRCAM"):
        lw = d.name.endswith("LONG")
        assert d.channel == ("LW" if lw else "SW")
        assert d.pixel_scale == pytest.approx(0.063 if lw else 0.031)
        assert d.shape == (2048, 2048) and d.refpix == (4, 4, 4, 4)
    assert get_detector("NIRISS", "NIS").channel is None


def test_miri_layout():
    d = get_detector("miri", "mirimage")
    assert d.shape == (1024, 1032)
    assert d.refpix == (0, 0, 4, 4)
    assert d.science_slices == (slice(0, 1024), slice(4, 1028))
    assert [(a.x0, a.xstep) for a in d.amplifiers] == [(0, 4), (1, 4), (2, 4), (3, 4)]


@pytest.mark.parametrize(("instrument", "name"), ALL)
def test_amplifiers_tile_the_frame(instrument, name):
    d = get_detector(instrument, name)
    count = np.zeros(d.shape, dtype=int)
    for amp in d.amplifiers:
        count[amp.slices] += 1
    assert len(d.amplifiers) == 4
    assert (count == 1).all()
    if d.amplifier_layout != "interleaved":
        # near-IR outputs are stripes across the fast readout direction
        sizes = {(a.y1 - a.y0, a.x1 - a.x0) for a in d.amplifiers}
        assert sizes == ({(2048, 512)} if d.fast_axis_is_x else {(512, 2048)})
    assert d.gain > 0 and d.readnoise > 0 and d.saturation > 1e4 and d.dark_current > 0


def _raw_axes(ap):
    """FASTAXIS/SLOWAXIS implied by pysiaf's raw -> science conversion."""
    x0, y0 = ap.raw_to_sci(100.0, 200.0)
    axes = []
    for dx, dy in ((1.0, 0.0), (0.0, 1.0)):  # raw fast (x) then raw slow (y) direction
        x1, y1 = ap.raw_to_sci(100.0 + dx, 200.0 + dy)
        ddx, ddy = x1 - x0, y1 - y0
        axes.append(int(np.sign(ddx)) * 1 if abs(ddx) > abs(ddy) else int(np.sign(ddy)) * 2)
    return tuple(axes)


@pytest.mark.parametrize(
    ("instrument", "name"), [a for a in ALL if a[0] != "MIRI" or a[1] == "MIRIMAGE"]
)
def test_fast_slow_axes_match_siaf(siaf_aperture, instrument, name):
    d = get_detector(instrument, name)
    assert (d.fastaxis, d.slowaxis) == _raw_axes(siaf_aperture(d.siaf_aperture))


def test_fast_slow_axes_match_real_headers(real_headers_dir):
    for path in sorted(real_headers_dir.glob("*.fits")):
        h = fits.getheader(path)
        d = get_detector(h["INSTRUME"], h["DETECTOR"])
        assert (d.fastaxis, d.slowaxis) == (h["FASTAXIS"], h["SLOWAXIS"]), path.name


def test_aliases_and_errors():
    assert get_detector("NIRCAM", "nrca5").name == "NRCALONG"
    assert get_detector("FGS", "FGS2").name == "GUIDER2"
    with pytest.raises(InputError, match="unknown NIRCAM detector 'NRCA9'"):
        get_detector("NIRCAM", "NRCA9")
    with pytest.raises(InputError, match="unknown instrument"):
        get_detector("WFC3", "UVIS1")
