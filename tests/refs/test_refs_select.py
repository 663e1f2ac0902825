"""best_reference: embedded builds on demand, N/A, errors, USEAFTER, added files, pars."""

from __future__ import annotations

import multiprocessing
import re

import numpy as np
import pytest

from webbcal.errors import ReferenceFileError
from webbcal.refs import Store, best_reference, best_references
from webbcal.refs.embedded import builder
from webbcal.refs.external import add_reference, file_selectors
from webbcal.refs.formats import RefHeader, write_fits, write_pars
from webbcal.refs.keys import exposure_keys
from webbcal.refs.rules import rules

from .conftest import exposure

MIRI = exposure("MIRI", "MIRIMAGE", "SUB64", FILTER="F770W")


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "store")


def test_not_applicable_types_are_none(store):
    assert best_reference("persat", MIRI, source="embedded", store=store) is None
    assert best_reference("superbias", MIRI, source="embedded", store=store) is None
    nrc = exposure("NIRCAM", "NRCA1", FILTER="F200W", PUPIL="CLEAR")
    for reftype in ("rscd", "reset", "refpix", "filteroffset"):
        assert best_reference(reftype, nrc, source="embedded", store=store) is None
    assert store.entries() == []


def test_embedded_file_is_built_once_and_logged(store, caplog):
    caplog.set_level("INFO", logger="webbcal.refs")
    path = best_reference("ipc", MIRI, source="embedded", store=store)
    assert path.name == "webbcal_miri_ipc_mirimage.fits" and path.is_file()
    assert "built embedded ipc reference webbcal_miri_ipc_mirimage.fits" in caplog.text
    caplog.clear()
    mtime = path.stat().st_mtime_ns
    assert best_reference("IPC", MIRI, source="embedded", store=store) == path
    assert path.stat().st_mtime_ns == mtime and "built" not in caplog.text
    (entry,) = store.entries("MIRI", "ipc")
    assert entry.source == "embedded" and entry.builder == builder.BUILDER_VERSION


def test_missing_reference_error_names_type_keys_and_fix(store):
    grism = exposure("NIRCAM", "NRCALONG", EXP_TYPE="NRC_GRISM", FILTER="F444W", PUPIL="GRISMR")
    with pytest.raises(ReferenceFileError) as err:
        best_reference("photom", grism, source="embedded", store=store)
    msg = str(err.value)
    for part in ("PHOTOM", "EXP_TYPE=NRC_GRISM", "DETECTOR=NRCALONG", "--override_photom=FILE",
                 "webbcal refs build --instrument NIRCAM"):  # fmt: skip
        assert part in msg
    with pytest.raises(ReferenceFileError, match="no selection rule"):
        best_reference("specwcs", MIRI, source="embedded", store=store)
    with pytest.raises(ReferenceFileError, match="no INSTRUME"):
        best_reference("mask", {"DETECTOR": "NRCA1"}, source="embedded", store=store)
    with pytest.raises(ReferenceFileError, match="not built yet"):
        best_reference("gain", MIRI, source="embedded", store=store, build=False)


def test_nirspec_irs2_refpix_must_come_from_the_store(store):
    keys = {"INSTRUME": "NIRSPEC", "DETECTOR": "NRS1", "READPATT": "NRSIRS2RAPID"}
    with pytest.raises(ReferenceFileError, match="does not provide this type"):
        best_reference("refpix", keys, source="embedded", store=store)
    assert best_reference("refpix", {**keys, "READPATT": "NRSRAPID"}, store=store) is None


def _small_reference(path, useafter, **selectors):
    """A tiny MIRI MASK file with the given selectors and USEAFTER."""
    header = RefHeader(
        reftype="mask", instrument="MIRI", model_type="MaskModel", description="test mask",
        useafter=useafter, pedigree="GROUND", author="test", date="2024-01-01T00:00:00",
        filename=path.name, detector="MIRIMAGE", selectors=selectors,
    )  # fmt: skip
    write_fits(path, header, {"dq": np.zeros((4, 4), np.uint32)}, dq_flags=("DO_NOT_USE",))
    return path


def test_useafter_and_match_weights_with_added_files(store, tmp_path):
    embedded = best_reference("mask", MIRI, source="embedded", store=store)
    assert embedded.name == "webbcal_miri_mask_mirimage.fits"
    late = _small_reference(tmp_path / "late_mask.fits", "2030-01-01T00:00:00", SUBARRAY="GENERIC")
    add_reference(late, store=store)
    assert best_reference("mask", MIRI, source="embedded", store=store) == embedded
    future = {**MIRI, "DATE-OBS": "2031-05-05"}
    assert best_reference("mask", future, source="embedded", store=store).name == "late_mask.fits"
    sub = _small_reference(tmp_path / "sub64_mask.fits", "2001-01-01T00:00:00", SUBARRAY="SUB64")
    add_reference(sub, store=store)
    # SUBARRAY=SUB64 (weight 1) beats GENERIC (weight 0) whatever the dates
    assert best_reference("mask", future, source="embedded", store=store).name == "sub64_mask.fits"
    full = {**future, "SUBARRAY": "FULL"}
    assert best_reference("mask", full, source="embedded", store=store).name == "late_mask.fits"
    entry = file_selectors(sub)
    assert entry.selectors == {"DETECTOR": "MIRIMAGE", "SUBARRAY": "SUB64"}
    assert entry.useafter == "2001-01-01T00:00:00" and entry.source == "added"


def test_embedded_useafter_precedes_the_exposure(store):
    early = {**MIRI, "DATE-OBS": "1999-12-31"}
    with pytest.raises(ReferenceFileError, match="precedes USEAFTER"):
        best_reference("ipc", early, source="embedded", store=store)


def test_dark_grows_with_the_exposure(store):
    path = best_reference("dark", MIRI, source="embedded", store=store)
    assert path.name == "webbcal_miri_dark_mirimage_fast_sub64.fits"
    assert store.get(path.name).info["nframes"] == 5
    longer = {**MIRI, "NGROUPS": 9}
    assert best_reference("dark", longer, source="embedded", store=store) == path
    assert store.get(path.name).info["nframes"] == 9
    shorter = {**MIRI, "NGROUPS": 3}
    assert best_reference("dark", shorter, source="embedded", store=store) == path
    assert store.get(path.name).info["nframes"] == 9


def test_pars_files_are_selected_from_the_store(store, tmp_path):
    assert best_reference("pars-jumpstep", MIRI, source="embedded", store=store) is None
    pars = tmp_path / "jwst_miri_pars-jumpstep_0001.asdf"
    header = RefHeader(
        reftype="pars-jumpstep", instrument="MIRI", model_type="StepParsModel",
        description="jump parameters", useafter="2000-01-01T00:00:00", pedigree="GROUND",
        author="test", date="2024-01-01T00:00:00", filename=pars.name,
        selectors={"EXP_TYPE": "MIR_IMAGE", "FILTER": "N/A"},
    )  # fmt: skip
    write_pars(pars, header, "jwst.jump.JumpStep", "jump", {"rejection_threshold": 5.0})
    add_reference(pars, store=store)
    assert best_reference("pars-jumpstep", MIRI, source="embedded", store=store).name == pars.name
    lrs = {**MIRI, "EXP_TYPE": "MIR_LRS-FIXEDSLIT"}
    assert best_reference("pars-jumpstep", lrs, source="embedded", store=store) is None


def test_best_references_of_a_small_exposure(store):
    refs = best_references(MIRI, ["mask", "persat", "rscd"], source="embedded", store=store)
    assert refs["persat"] is None
    assert refs["rscd"].name == "webbcal_miri_rscd_mirimage.fits"


def _planned(store, keys, reftype):
    """Register a tiny stand-in for the file the builder would make (no build)."""
    rule = rules().rule(keys["INSTRUME"], reftype)
    entry = builder.plan(rule, keys)
    tiny = store.root / f"tiny_{entry.name}"
    store.root.mkdir(parents=True, exist_ok=True)
    tiny.write_bytes(b"stand-in")
    store.add(tiny, entry)
    return entry.name


EXPECTED_NRCA2 = {
    "mask": "webbcal_nircam_mask_nrca2.fits",
    "dark": "webbcal_nircam_dark_nrca2_full_4.fits",
    "flat": "webbcal_nircam_flat_nrca2_f210m_maskrnd.fits",
    "photom": "webbcal_nircam_photom_nrca2.fits",
    "distortion": "webbcal_nircam_distortion_nrca2.asdf",
    "apcorr": "webbcal_nircam_apcorr.fits",
}


def test_real_nircam_coronagraphy_headers(store, real_headers_dir):
    uncal = real_headers_dir / "jw01075001001_03105_00009_nrca2_uncal.fits"
    keys = exposure_keys(uncal)
    for reftype, name in EXPECTED_NRCA2.items():
        assert _planned(store, keys, reftype) == name
    for reftype, name in EXPECTED_NRCA2.items():
        assert best_reference(reftype, uncal, source="embedded", store=store).name == name
    for reftype in ("rscd", "reset", "refpix", "filteroffset"):
        assert best_reference(reftype, uncal, source="embedded", store=store) is None
    # a type really built from the real header
    assert best_reference("abvegaoffset", uncal, source="embedded", store=store).name == (
        "webbcal_nircam_abvegaoffset.asdf"
    )


@pytest.mark.parametrize(
    ("fname", "dark"),
    [
        ("fgs_acq1_guider1.fits", "webbcal_fgs_dark_guider1_128x128.fits"),
        ("fgs_track_guider1.fits", "webbcal_fgs_dark_guider1_32x32.fits"),
        ("fgs_id-image_guider1.fits", "webbcal_fgs_dark_guider1_2048x64.fits"),
    ],
)
def test_real_fgs_guider_headers(store, real_headers_dir, fname, dark):
    path = real_headers_dir / fname
    keys = exposure_keys(path)
    names = {rt: _planned(store, keys, rt) for rt in ("mask", "flat", "dark")}
    assert names == {"mask": "webbcal_fgs_mask_guider1.fits",
                     "flat": "webbcal_fgs_flat_guider1.fits", "dark": dark}  # fmt: skip
    for reftype, name in names.items():
        assert best_reference(reftype, path, source="embedded", store=store).name == name
    for reftype in ("photom", "area", "apcorr", "abvegaoffset"):  # no flux calibration
        assert best_reference(reftype, path, source="embedded", store=store) is None


def _build_in(root):
    return str(best_reference("gain", MIRI, source="embedded", store=Store(root)))


def test_concurrent_processes_build_once(tmp_path):
    root = tmp_path / "shared"
    with multiprocessing.get_context("fork").Pool(3) as pool:
        paths = pool.map(_build_in, [root] * 3)
    assert len(set(paths)) == 1
    store = Store(root)
    assert [e.name for e in store.entries()] == ["webbcal_miri_gain_mirimage.fits"]
    leftovers = [p.name for p in store.path(store.entries()[0]).parent.iterdir()]
    assert not [n for n in leftovers if re.match(r"^\.webbcal_miri_gain.*\.fits$", n)]
