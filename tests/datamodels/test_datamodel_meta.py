import numpy as np

from webbcal import datamodels as dm
from webbcal.datamodels.keywords import KEYWORDS, by_path
from webbcal.datamodels.meta import Node


def test_unset_leaves_read_none_and_sections_never_raise():
    meta = dm.ImageModel().meta
    assert meta.instrument.name is None
    assert meta.exposure.type is None
    assert meta.ref_file.saturation.name is None
    assert meta.ref_file.some_future_reftype.name is None
    assert meta.wcs is None
    assert meta.filename is None
    assert meta.to_dict() == {}  # reading created nothing


def test_assignment_creates_sections_and_converts_numpy():
    meta = Node()
    meta.instrument.name = "NIRCAM"
    meta.subarray.xstart = np.int64(5)
    meta.exposure.frame_time = np.float32(10.5)
    meta.ref_file.gain.name = "gain.fits"
    assert meta.to_dict() == {
        "instrument": {"name": "NIRCAM"},
        "subarray": {"xstart": 5},
        "exposure": {"frame_time": 10.5},
        "ref_file": {"gain": {"name": "gain.fits"}},
    }
    assert type(meta.subarray.xstart) is int
    assert type(meta.exposure.frame_time) is float


def test_update_merges_and_to_dict_copies():
    meta = Node()
    meta.instrument.name = "NIRCAM"
    meta.update({"instrument": {"detector": "NRCA1"}, "cal_step": {"dq_init": "COMPLETE"}})
    assert meta.instrument.name == "NIRCAM"
    assert meta.instrument.detector == "NRCA1"
    snapshot = meta.to_dict()
    snapshot["instrument"]["name"] = "changed"
    assert meta.instrument.name == "NIRCAM"
    assert meta.get("instrument.detector") == "NRCA1"
    assert meta.get("instrument.missing", 3) == 3
    meta.set("dither.position_number", 2)
    assert meta.dither.position_number == 2
    assert meta.to_flat_dict()["cal_step.dq_init"] == "COMPLETE"
    del meta.instrument.detector
    assert meta.instrument.detector is None


def test_keyword_table_is_consistent():
    paths = [k.path for k in KEYWORDS]
    assert len(paths) == len(set(paths))
    homes = [(k.keyword, k.hdu) for k in KEYWORDS]
    assert len(homes) == len(set(homes))
    table = by_path()
    expected = {
        "exposure.nints": ("NINTS", "PRIMARY"),
        "exposure.nresets_at_start": ("NRSTSTRT", "PRIMARY"),
        "observation.program_number": ("PROGRAM", "PRIMARY"),
        "visit.tsovisit": ("TSOVISIT", "PRIMARY"),
        "subarray.xstart": ("SUBSTRT1", "PRIMARY"),
        "dither.position_number": ("PATT_NUM", "PRIMARY"),
        "pointing.pa_v3": ("PA_V3", "SCI"),
        "wcsinfo.roll_ref": ("ROLL_REF", "SCI"),
        "wcsinfo.siaf_xref_sci": ("XREF_SCI", "SCI"),
        "wcsinfo.a_2_0": ("A_2_0", "SCI"),
        "photometry.conversion_megajanskys": ("PHOTMJSR", "SCI"),
        "background.level": ("BKGLEVEL", "PRIMARY"),
        "cal_step.saturation": ("S_SATURA", "PRIMARY"),
        "cal_step.guider_cds": ("S_GUICDS", "PRIMARY"),
        "ref_file.trappars.name": ("R_TRPPAR", "PRIMARY"),
        "ref_file.crds.context_used": ("CRDS_CTX", "PRIMARY"),
        "calibration_software_version": ("CAL_VER", "PRIMARY"),
        "model_type": ("DATAMODL", "PRIMARY"),
        "bunit_data": ("BUNIT", "SCI"),
        "bunit_err": ("BUNIT", "ERR"),
        "useafter": ("USEAFTER", "PRIMARY"),
    }
    for path, home in expected.items():
        assert (table[path].keyword, table[path].hdu) == home, path
    assert table["exposure.nints"].type is int
    assert table["visit.tsovisit"].type is bool


def test_class_specific_keyword_homes():
    area = {k.path: k.hdu for k in dm.PixelAreaModel._keywords}
    assert area["photometry.pixelarea_steradians"] == "PRIMARY"
    image = {k.path: k.hdu for k in dm.ImageModel._keywords}
    assert image["photometry.pixelarea_steradians"] == "SCI"
    guider = {(k.path, k.hdu) for k in dm.GuiderRawModel._keywords}
    assert ("ra_v1", "Pointing") in guider
