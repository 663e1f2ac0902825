import pytest
from astropy.io import fits

from webbcal.errors import InputError, ParameterError
from webbcal.instruments import (
    Subarray,
    frame_time,
    get_readpatt,
    readpatt_names,
    subarray_from_keywords,
    timing,
)

# Published frame times [s] (JDox detector/subarray pages, the instrument teams' tables).
FRAME_TIMES = [
    ("NIRCAM", "FULL", None, None, None, 10.73677),
    ("NIRCAM", "SUB640", "NRCA1", None, None, 4.18584),
    ("NIRCAM", "SUB320", "NRCA1", None, None, 1.06904),
    ("NIRCAM", "SUB160", "NRCA1", None, None, 0.27864),
    ("NIRCAM", "SUB64P", "NRCB1", None, None, 0.05016),
    ("NIRCAM", "SUB160P", "NRCB1", None, None, 0.27864),
    ("NIRCAM", "SUB400P", "NRCB1", None, None, 1.65624),
    ("NIRCAM", "SUB32TATS", "NRCALONG", None, None, 0.01496),
    ("NIRCAM", "SUBGRISM256", "NRCALONG", 4, None, 1.34669),
    ("NIRCAM", "SUBGRISM256", "NRCALONG", 1, None, 5.31480),
    ("NIRCAM", "SUBGRISM128", "NRCALONG", 4, None, 0.67597),
    ("NIRCAM", "SUBGRISM128", "NRCALONG", 1, None, 2.67800),
    ("NIRCAM", "SUBGRISM64", "NRCALONG", 4, None, 0.34061),
    ("NIRCAM", "SUBGRISM64", "NRCALONG", 1, None, 1.35960),
    ("NIRISS", "FULL", None, None, None, 10.73677),
    ("NIRISS", "SUBSTRIP256", None, None, None, 5.494),
    ("NIRISS", "SUBSTRIP96", None, None, None, 2.214),
    ("NIRISS", "SUB80", None, None, None, 0.07544),
    ("NIRISS", "SUBTAAMI", None, None, None, 0.05016),
    ("NIRISS", "WFSS64R", None, None, None, 0.34061),
    ("NIRISS", "WFSS64C", None, None, None, 1.55800),
    ("NIRISS", "WFSS128R", None, None, None, 0.67597),
    ("NIRISS", "WFSS128C", None, None, None, 2.87000),
    ("FGS", "FULL", "GUIDER1", None, None, 10.73677),
    ("FGS", "SUB128CNTR", "GUIDER2", None, None, 0.18200),
    ("FGS", "SUB32LL", "GUIDER1", None, None, 0.01254),
    ("FGS", "SUB8DIAG", "GUIDER1", None, None, 0.00126),
    ("NIRSPEC", "FULL", "NRS1", None, "NRSRAPID", 10.73677),
    ("NIRSPEC", "FULL", "NRS2", None, "NRSIRS2RAPID", 14.58889),
    ("MIRI", "FULL", "MIRIMAGE", None, "FAST", 2.77504),
    ("MIRI", "FULL", "MIRIMAGE", None, "SLOW", 23.88992),
    ("MIRI", "SUB256", None, None, "FASTR1", 0.29952),
    ("MIRI", "SUB128", None, None, None, 0.11904),
    ("MIRI", "SUB64", None, None, None, 0.08512),
    ("MIRI", "BRIGHTSKY", None, None, None, 0.86528),
    ("MIRI", "SLITLESSPRISM", None, None, None, 0.15904),
    ("MIRI", "MASK1065", None, None, None, 0.23968),
]


@pytest.mark.parametrize(
    ("instrument", "subarray", "detector", "noutputs", "readpatt", "expected"), FRAME_TIMES
)
def test_frame_times(instrument, subarray, detector, noutputs, readpatt, expected):
    t = frame_time(instrument, subarray, readpatt=readpatt, detector=detector, noutputs=noutputs)
    assert t == pytest.approx(expected, abs=5e-6)


# MIRI windows in amplifier columns from Ressler (2014), "MIRI FPS Exposure Time
# Calculations": (first/last amplifier column, first/last row, FAST or SLOW) -> seconds.
MIRI_WINDOWS = [
    (1, 64, 65, 320, "FAST", 0.24320),
    (2, 5, 1, 16, "FAST", 0.07296),
    (91, 106, 765, 828, "FAST", 0.09600),
    (181, 244, 65, 320, "FAST", 0.33792),
    (1, 258, 1, 1024, "SLOW", 23.88992),
]


@pytest.mark.parametrize(("c0", "c1", "r0", "r1", "readpatt", "expected"), MIRI_WINDOWS)
def test_miri_frame_time_model(c0, c1, r0, r1, readpatt, expected):
    sub = Subarray(
        "MIRI", "GENERIC", "MIRIMAGE", 4 * (c0 - 1) + 1, r0, 4 * (c1 - c0 + 1), r1 - r0 + 1, 4, (4,)
    )
    assert frame_time("MIRI", sub, readpatt=readpatt) == pytest.approx(expected, abs=5e-6)


def test_readout_patterns():
    assert readpatt_names("NIRCAM") == [
        "RAPID",
        "BRIGHT1",
        "BRIGHT2",
        "SHALLOW2",
        "SHALLOW4",
        "MEDIUM2",
        "MEDIUM8",
        "DEEP2",
        "DEEP8",
    ]
    nircam = {
        n: (p.nframes, p.groupgap)
        for n in readpatt_names("NIRCAM")
        for p in [get_readpatt("NIRCAM", n)]
    }
    assert (
        nircam["DEEP8"] == (8, 12) and nircam["MEDIUM8"] == (8, 2) and nircam["SHALLOW4"] == (4, 1)
    )
    assert all(sum(v) in (1, 2, 5, 10, 20) for v in nircam.values())  # frames per group
    assert (get_readpatt("NIRISS", "NIS").nframes, get_readpatt("NIRSPEC", "NRSIRS2").nframes) == (
        4,
        5,
    )
    assert get_readpatt("MIRI", "FASTR1").nresets == 1
    assert get_readpatt("MIRI", "SLOW").nsamples == 9
    assert get_readpatt("fgs", "acq1").drop_frames1 == 1
    with pytest.raises(InputError, match="unknown NIRISS readout pattern 'RAPID'"):
        get_readpatt("NIRISS", "RAPID")


def test_nirspec_group_times():
    # NIRSpec full-frame group times, quoted as multiples of TFRAME = 10.737 s (rounded):
    # NRSRAPIDD6 spans 7 frames (1 read + 6 dropped)
    expected = {
        "NRSRAPID": 10.737,
        "NRSRAPIDD1": 21.474,
        "NRSRAPIDD2": 32.210,
        "NRSRAPIDD6": 75.159,
        "NRS": 42.947,
        "NRSIRS2RAPID": 14.589,
        "NRSIRS2": 72.944,
    }
    for patt, tgroup in expected.items():
        assert timing("NIRSPEC", patt, "FULL", 5, 1, detector="NRS1").tgroup == pytest.approx(
            tgroup, rel=1e-4
        )


def test_nircam_header_times(real_headers_dir):
    for path in sorted(real_headers_dir.glob("*nrca*.fits")):
        h = fits.getheader(path)
        t = timing(
            h["INSTRUME"], h["READPATT"], subarray_from_keywords(h), h["NGROUPS"], h["NINTS"]
        )
        kw = t.keywords()
        for key in ("TFRAME", "TGROUP", "EFFINTTM", "EFFEXPTM", "DURATION"):
            assert kw[key] == pytest.approx(h[key], abs=1e-3), key
        for key in (
            "NFRAMES",
            "GROUPGAP",
            "NRESETS",
            "NRSTSTRT",
            "DRPFRMS1",
            "DRPFRMS3",
            "NOUTPUTS",
            "FRMDIVSR",
            "NSAMPLES",
            "TSAMPLE",
        ):
            assert kw[key] == h[key], key
        sci = fits.getheader(path, "SCI")
        assert kw["XPOSURE"] == pytest.approx(sci["XPOSURE"], abs=1e-3)
        assert kw["TELAPSE"] == pytest.approx(sci["TELAPSE"], abs=1e-3)


def test_fgs_guiding_header_times(real_headers_dir):
    for path in sorted(real_headers_dir.glob("fgs_*.fits")):
        h = fits.getheader(path)
        t = timing("FGS", h["READPATT"], subarray_from_keywords(h), h["NGROUPS"], h["NINTS"])
        assert t.tframe == pytest.approx(h["TFRAME"], abs=1e-6), path.name
        assert t.tgroup == pytest.approx(h["TGROUP"], abs=1e-6), path.name
        assert t.effinttm == pytest.approx(h["EFFINTTM"], abs=1e-6), path.name
        assert (t.readpatt.drop_frames1, t.readpatt.drop_frames3) == (h["DRPFRMS1"], h["DRPFRMS3"])


def test_timing_formulas():
    t = timing("NIRCAM", "DEEP8", "SUB640", ngroups=6, nints=3, detector="NRCA1")
    assert t.tgroup == pytest.approx(20 * t.tframe)
    assert t.effinttm == pytest.approx((6 * 8 + 5 * 12) * t.tframe)
    assert t.effexptm == pytest.approx(3 * t.effinttm)
    assert t.tmeasure == pytest.approx(3 * 5 * t.tgroup)
    assert t.slope_time == pytest.approx(5 * t.tgroup)
    # DURATION is the exposure keyword (frames of the whole exposure), not a wall time
    assert t.keywords()["DURATION"] == pytest.approx((3 * 108 + 2) * t.tframe)
    m = timing("MIRI", "FASTR1", "FULL", ngroups=5, nints=3, detector="MIRIMAGE")
    assert m.keywords()["DURATION"] == pytest.approx((3 * 5 + 2 * 1) * 2.77504)
    assert "NOUTPUTS" not in m.keywords() and m.keywords()["NRESETS"] == 1
    fast = timing("MIRI", "FAST", "SUB64", ngroups=10, nints=2)
    assert fast.effinttm == pytest.approx(10 * 0.08512, abs=1e-6)


def test_timing_errors():
    with pytest.raises(ParameterError, match="ngroups"):
        timing("NIRCAM", "RAPID", "FULL", 0, 1)
    with pytest.raises(ParameterError, match="nints"):
        timing("NIRCAM", "RAPID", "FULL", 2, 1.5)
    with pytest.raises(InputError, match="IRS2"):
        timing("NIRSPEC", "NRSIRS2", "SUB2048", 5, 1, detector="NRS1")
    with pytest.raises(InputError, match="readout pattern"):
        timing("MIRI", "RAPID", "FULL", 5, 1)
