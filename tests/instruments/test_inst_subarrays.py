import numpy as np
import pytest
from astropy.io import fits

from webbcal.errors import InputError
from webbcal.instruments import (
    Subarray,
    aperture_geometry,
    detectors,
    get_detector,
    get_subarray,
    subarray_amplifiers,
    subarray_from_keywords,
    subarray_names,
)
from webbcal.instruments._tables import load_table
from webbcal.instruments.siaf import siaf_subarray_start


def _table_windows():
    """(instrument, subarray, detector) for every tabulated window with a position."""
    out = []
    for inst, entries in load_table("subarrays").items():
        for name, rec in entries.items():
            if rec["start"] is None:
                continue
            dets = (
                list(rec["start"])
                if isinstance(rec["start"], dict)
                else [d.name for d in detectors(inst)]
            )
            out += [(inst, name, det) for det in dets]
    return out


WINDOWS = _table_windows()


def _from_siaf(instrument, name):
    rec = load_table("subarrays")[instrument][name]
    return "aperture" in rec and ("source" not in rec or instrument == "MIRI")


SIAF_WINDOWS = [w for w in WINDOWS if _from_siaf(*w[:2]) and get_subarray(*w).aperture]


def test_required_names_exist():
    required = {
        "NIRCAM": [
            "FULL",
            "SUB64P",
            "SUB160",
            "SUB160P",
            "SUB320",
            "SUB400P",
            "SUB640",
            "SUBGRISM64",
            "SUBGRISM128",
            "SUBGRISM256",
            "SUB32TATS",
            "SUB96DHSPILA",
        ],
        "MIRI": [
            "FULL",
            "BRIGHTSKY",
            "SUB256",
            "SUB128",
            "SUB64",
            "MASK1065",
            "MASK1140",
            "MASK1550",
            "MASKLYOT",
            "SLITLESSPRISM",
        ],
        "NIRISS": [
            "FULL",
            "SUB64",
            "SUB128",
            "SUB256",
            "SUBSTRIP96",
            "SUBSTRIP256",
            "SUBAMPCAL",
            "WFSS64R",
            "WFSS64C",
            "WFSS128R",
            "WFSS128C",
            "SUB80",
        ],
        "FGS": [
            "FULL",
            "SUB128CNTR",
            "SUB32CNTR",
            "SUB8CNTR",
            "2048X64",
            "128X128",
            "32X32",
            "8X8",
        ],
        "NIRSPEC": ["FULL", "SUB2048", "SUB1024A", "SUB1024B", "SUB512", "SUB32", "ALLSLITS"],
    }
    for inst, names in required.items():
        assert set(names) <= set(subarray_names(inst)), inst


@pytest.mark.parametrize(("instrument", "name", "detector"), WINDOWS)
def test_windows_inside_detector(instrument, name, detector):
    sub = get_subarray(instrument, name, detector)
    ny, nx = get_detector(instrument, detector).shape
    assert sub.xstart >= 1 and sub.xstart + sub.xsize - 1 <= nx
    assert sub.ystart >= 1 and sub.ystart + sub.ysize - 1 <= ny
    assert sub.noutputs in sub.allowed_noutputs
    full = np.zeros((ny, nx))
    assert full[sub.full_frame_slices].shape == sub.shape


@pytest.mark.parametrize(("instrument", "name", "detector"), SIAF_WINDOWS)
def test_windows_match_siaf(instrument, name, detector):
    rec = load_table("subarrays")[instrument][name]
    sub = get_subarray(instrument, name, detector)
    det = get_detector(instrument, detector)
    ap = aperture_geometry(sub.aperture)
    assert (ap.x_sci_size, ap.y_sci_size) == (sub.xsize, sub.ysize)
    xs, ys = siaf_subarray_start(sub.aperture, det.siaf_aperture)
    if instrument == "MIRI":  # the MIRI table; the SIAF reference rows moved by <= 4 rows
        assert xs == sub.xstart and abs(ys - sub.ystart) <= 4
    elif detector in rec.get("siaf_exceptions", []):
        assert abs(xs - sub.xstart) <= 2 and abs(ys - sub.ystart) <= 2
    else:
        assert (xs, ys) == (sub.xstart, sub.ystart)


def test_known_positions():
    cases = {
        ("MIRI", "SUB256", None): (413, 51, 256, 256),
        ("MIRI", "BRIGHTSKY", None): (457, 51, 512, 512),
        ("MIRI", "SUB128", None): (1, 889, 136, 128),
        ("MIRI", "SUB64", None): (1, 779, 72, 64),
        ("MIRI", "SLITLESSPRISM", None): (1, 529, 72, 416),
        ("MIRI", "MASK1550", None): (1, 467, 288, 224),
        ("MIRI", "MASKLYOT", None): (1, 717, 320, 304),
        ("NIRISS", "SUBSTRIP256", None): (1, 1793, 2048, 256),
        ("NIRISS", "SUBSTRIP96", None): (1, 1803, 2048, 96),
        ("NIRISS", "SUB80", None): (1045, 1, 80, 80),
        ("NIRCAM", "SUB640", "NRCA1"): (1409, 1409, 640, 640),
        ("NIRCAM", "SUBGRISM256", "NRCALONG"): (1, 1, 2048, 256),
        ("NIRCAM", "FULL", None): (1, 1, 2048, 2048),
        ("NIRSPEC", "SUB32", "NRS1"): (1399, 975, 32, 32),
    }
    for (inst, name, det), expected in cases.items():
        s = get_subarray(inst, name, det)
        assert (s.xstart, s.ystart, s.xsize, s.ysize) == expected, (inst, name)


def test_detector_resolution_and_outputs():
    with pytest.raises(InputError, match="depends on the detector"):
        get_subarray("NIRCAM", "SUB640")
    with pytest.raises(InputError, match="not defined on NRCA1"):
        get_subarray("NIRCAM", "SUB64P", "NRCA1")
    assert get_subarray("NIRCAM", "SUB96DHSPILA").detector == "NRCA3"
    assert get_subarray("NIRISS", "SUB64").detector == "NIS"
    g = get_subarray("nircam", "subgrism256", "nrcalong")
    assert (g.noutputs, g.allowed_noutputs) == (4, (4, 1))
    assert get_subarray("NIRCAM", "SUBGRISM256", "NRCALONG", noutputs=1).noutputs == 1
    with pytest.raises(InputError, match="NOUTPUTS"):
        get_subarray("NIRCAM", "SUB640", "NRCA1", noutputs=4)
    with pytest.raises(InputError, match="unknown MIRI subarray 'SUB999'"):
        get_subarray("MIRI", "SUB999")
    assert get_subarray("FGS", "32X32").has_position is False
    assert "SUB64P" in subarray_names("NIRCAM", "NRCB1")
    assert "SUB64P" not in subarray_names("NIRCAM", "NRCA1")


def test_from_keywords_real_headers(real_headers_dir):
    for path in sorted(real_headers_dir.glob("*.fits")):
        h = fits.getheader(path)
        s = subarray_from_keywords(h)
        assert (s.xstart, s.ystart, s.xsize, s.ysize) == (
            h["SUBSTRT1"],
            h["SUBSTRT2"],
            h["SUBSIZE1"],
            h["SUBSIZE2"],
        )
        assert s.name == h["SUBARRAY"] and s.detector == h["DETECTOR"]
        if h["INSTRUME"] == "NIRCAM":
            assert s.noutputs == h["NOUTPUTS"] == 4


def test_from_keywords_cases():
    s = subarray_from_keywords({"instrume": "MIRI", "detector": "MIRIMAGE", "subarray": "SUB64"})
    assert (s.xstart, s.ystart, s.xsize, s.ysize, s.noutputs) == (1, 779, 72, 64, 4)
    custom = {
        "INSTRUME": "NIRCAM",
        "DETECTOR": "NRCB1",
        "SUBARRAY": "GENERIC",
        "SUBSTRT1": 11,
        "SUBSTRT2": 21,
        "SUBSIZE1": 100,
        "SUBSIZE2": 50,
    }
    s = subarray_from_keywords(custom)
    assert (s.name, s.detector, s.xstart, s.ystart, s.shape, s.noutputs) == (
        "GENERIC",
        "NRCB1",
        11,
        21,
        (50, 100),
        1,
    )
    s = subarray_from_keywords(
        {
            "INSTRUME": "NIRCAM",
            "SUBARRAY": "SUB640",
            "SUBSTRT1": 1,
            "SUBSTRT2": 1,
            "SUBSIZE1": 640,
            "SUBSIZE2": 640,
        }
    )
    assert (s.xstart, s.noutputs, s.detector) == (1, 1, None)
    with pytest.raises(InputError, match="INSTRUME"):
        subarray_from_keywords({"SUBARRAY": "FULL"})
    with pytest.raises(InputError, match="not a known subarray"):
        subarray_from_keywords({"INSTRUME": "NIRCAM", "DETECTOR": "NRCA1", "SUBARRAY": "CUSTOM"})
    with pytest.raises(InputError, match="SUBSTRT1/SUBSTRT2"):
        subarray_from_keywords({"INSTRUME": "FGS", "DETECTOR": "GUIDER1", "SUBARRAY": "8X8"})


def test_keywords_roundtrip():
    s = get_subarray("NIRCAM", "SUB160", "NRCB2")
    kw = s.keywords()
    assert kw == {
        "SUBARRAY": "SUB160",
        "SUBSTRT1": 1,
        "SUBSTRT2": 1889,
        "SUBSIZE1": 160,
        "SUBSIZE2": 160,
        "NOUTPUTS": 1,
    }
    back = subarray_from_keywords({"INSTRUME": "NIRCAM", "DETECTOR": "NRCB2", **kw})
    assert back == s


def _coverage(detector, sub):
    count = np.zeros(sub.shape, dtype=int)
    for amp in subarray_amplifiers(detector, sub):
        count[amp.slices] += 1
    return count


def test_subarray_amplifiers():
    nrc = get_detector("NIRCAM", "NRCALONG")
    grism = get_subarray("NIRCAM", "SUBGRISM64", "NRCALONG")
    amps = subarray_amplifiers(nrc, grism)
    assert [(a.x0, a.x1, a.y0, a.y1) for a in amps] == [
        (512 * k, 512 * (k + 1), 0, 64) for k in range(4)
    ]
    assert (_coverage(nrc, grism) == 1).all()
    one = subarray_amplifiers(nrc, get_subarray("NIRCAM", "SUBGRISM64", "NRCALONG", noutputs=1))
    assert [(a.x0, a.x1, a.y0, a.y1) for a in one] == [(0, 2048, 0, 64)]
    nis = get_detector("NIRISS", "NIS")
    wfss = get_subarray("NIRISS", "WFSS64R")
    assert [(a.y0, a.y1, a.x1) for a in subarray_amplifiers(nis, wfss)] == [
        (512 * k, 512 * (k + 1), 64) for k in range(4)
    ]
    miri = get_detector("MIRI", "MIRIMAGE")
    odd = Subarray("MIRI", "GENERIC", "MIRIMAGE", 3, 10, 17, 5, 4, (4,))
    amps = subarray_amplifiers(miri, odd)
    assert [a.x0 for a in amps] == [2, 3, 0, 1]  # full-frame column 4 (output A) is local column 2
    assert (_coverage(miri, odd) == 1).all()
