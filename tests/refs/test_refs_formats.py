"""Every reference type the builder writes opens with the official data model, with the
truth arrays (stdatamodels is a test-only oracle)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.io import fits

from webbcal import datamodels as wdm
from webbcal.instruments.geometry import distortion_models, nominal_pixel_area, pixel_area_map
from webbcal.refs import Store, best_reference
from webbcal.refs.embedded import properties as props_mod
from webbcal.refs.formats import read_asdf

from .conftest import exposure

dm = pytest.importorskip("stdatamodels.jwst.datamodels")

MIRI = exposure("MIRI", "MIRIMAGE", "SUB64", FILTER="F770W")
NRC = exposure("NIRCAM", "NRCA1", "SUB160", FILTER="F200W", PUPIL="CLEAR")

CASES = [
    # (keys, reftype, official class)
    (MIRI, "mask", "MaskModel"),
    (MIRI, "saturation", "SaturationModel"),
    (MIRI, "linearity", "LinearityModel"),
    (MIRI, "dark", "DarkMIRIModel"),
    (MIRI, "gain", "GainModel"),
    (MIRI, "readnoise", "ReadnoiseModel"),
    (MIRI, "ipc", "IPCModel"),
    (MIRI, "rscd", "RSCDModel"),
    (MIRI, "reset", "ResetModel"),
    (MIRI, "flat", "FlatModel"),
    (MIRI, "photom", "MirImgPhotomModel"),
    (MIRI, "area", "PixelAreaModel"),
    (MIRI, "distortion", "DistortionModel"),
    (MIRI, "filteroffset", "FilteroffsetModel"),
    (MIRI, "apcorr", "MirImgApcorrModel"),
    (MIRI, "abvegaoffset", "ABVegaOffsetModel"),
    (NRC, "superbias", "SuperBiasModel"),
    (NRC, "persat", "PersistenceSatModel"),
    (NRC, "trapdensity", "TrapDensityModel"),
    (NRC, "trappars", "TrapParsModel"),
    (NRC, "dark", "DarkModel"),
    (NRC, "photom", "NrcImgPhotomModel"),
    (NRC, "apcorr", "NrcImgApcorrModel"),
    (NRC, "abvegaoffset", "ABVegaOffsetModel"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return Store(tmp_path_factory.mktemp("formats_store"))


def _open_official(cls_name, path):
    """Open with the official class and with ``open``, failing on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = getattr(dm, cls_name)(str(path))
        generic = dm.open(str(path))
    assert type(generic).__name__ == cls_name
    return model, generic


@pytest.mark.parametrize(("keys", "reftype", "cls_name"), CASES,
                         ids=[f"{k['INSTRUME']}-{r}" for k, r, _ in CASES])  # fmt: skip
def test_official_model_opens_the_file(store, keys, reftype, cls_name):
    path = best_reference(reftype, keys, source="embedded", store=store)
    model, _generic = _open_official(cls_name, path)
    meta = model.meta
    assert meta.reftype == reftype.upper()
    assert meta.instrument.name == keys["INSTRUME"]
    assert meta.telescope == "JWST"
    for field in ("author", "pedigree", "useafter", "description"):
        assert getattr(meta, field), field
    assert meta.model_type == cls_name
    props = props_mod.detector_properties(keys["INSTRUME"], keys["DETECTOR"])
    _check_content(reftype, keys, props, model, path)
    if path.suffix == ".fits":  # webbcal's reader sees the same arrays
        with wdm.open(path) as ours:
            for name in ours.declared():
                if ours.has(name) and hasattr(model, name) and name != "dq_def":
                    a, b = getattr(ours, name), getattr(model, name)
                    if getattr(a, "dtype", None) is not None and a.dtype.names is None:
                        np.testing.assert_array_equal(a, b, err_msg=name)


def _window(keys):
    y0, x0 = keys["SUBSTRT2"] - 1, keys["SUBSTRT1"] - 1
    return np.s_[..., y0 : y0 + keys["SUBSIZE2"], x0 : x0 + keys["SUBSIZE1"]]


def _check_content(reftype, keys, props, model, path):
    inst = keys["INSTRUME"]
    if reftype == "mask":
        np.testing.assert_array_equal(model.dq, props.dq)
        assert model.meta.subarray.name == "GENERIC"
        assert model.meta.subarray.xsize == props.shape[1]
    elif reftype == "saturation":
        np.testing.assert_array_equal(model.data, props.saturation)
    elif reftype == "superbias":
        np.testing.assert_array_equal(model.data, props.superbias)
    elif reftype == "linearity":
        coeffs = props_mod.raw_dn_coefficients(props.linearity, props.superbias)
        np.testing.assert_array_equal(model.coeffs, coeffs)
    elif reftype == "gain":
        np.testing.assert_array_equal(model.data, props.gain)
    elif reftype == "readnoise":
        np.testing.assert_array_equal(model.data, props.readnoise)
    elif reftype == "ipc":
        np.testing.assert_array_equal(model.data, props.ipc_kernel)
    elif reftype == "persat":
        np.testing.assert_array_equal(model.data, props.persat)
    elif reftype == "trapdensity":
        np.testing.assert_array_equal(model.data, props.trap_density)
    elif reftype == "trappars":
        for col in ("capture0", "capture1", "capture2", "decay_param"):
            np.testing.assert_array_equal(model.trappars_table[col], props.trappars[col])
    elif reftype == "dark":
        win = _window(keys)
        rate = props.dark_rate[win]
        n = keys["NGROUPS"]
        t = (np.arange(n) + 1.0) * keys["TFRAME"]
        expect = (t[:, None, None] * rate[None]).astype(np.float32)
        if inst == "MIRI":
            expect = expect + props.reset_anomaly[:n][win]
            assert model.data.shape == (2, n, *rate.shape)
            np.testing.assert_allclose(model.data[1], expect, rtol=1e-6, atol=1e-6)
        else:
            assert model.data.shape == (n, *rate.shape)
            np.testing.assert_allclose(model.data, expect, rtol=1e-6, atol=1e-9)
            assert model.meta.exposure.nframes == 1 and model.meta.exposure.groupgap == 0
        assert model.meta.subarray.name == keys["SUBARRAY"]
        assert model.meta.subarray.xstart == keys["SUBSTRT1"]
    elif reftype == "reset":
        win = _window(keys)
        np.testing.assert_array_equal(model.data[0, :5], props.reset_anomaly[:5][win])
    elif reftype == "rscd":
        table = model.rscd_group_skip_table
        assert {"FAST", "SLOW"} <= set(table["readpatt"])
        assert set(table["group_skip1"]) <= {1}
    elif reftype == "flat":
        sci, err = props_mod.flat_for(inst, keys["DETECTOR"], keys["FILTER"], keys.get("PUPIL"))
        dead = (props.dq & wdm.dqflags.DEAD) != 0
        np.testing.assert_array_equal(model.data[~dead], sci[~dead])
        np.testing.assert_array_equal(model.err[~dead], err[~dead])
        assert (model.dq[dead] & wdm.dqflags.NO_FLAT_FIELD).all()
    elif reftype == "photom":
        table = model.phot_table
        row = table[table["filter"] == keys["FILTER"]][0]
        expect = props_mod.photom_conversion(inst, keys["DETECTOR"], keys["FILTER"],
                                             keys.get("PUPIL"))  # fmt: skip
        assert row["photmjsr"] == pytest.approx(expect, rel=1e-6)
        area = nominal_pixel_area(inst, keys["DETECTOR"])
        assert model.meta.photometry.pixelarea_steradians == pytest.approx(area.sr)
        assert model.meta.photometry.pixelarea_arcsecsq == pytest.approx(area.arcsec2)
    elif reftype == "area":
        np.testing.assert_allclose(model.data, pixel_area_map(inst, keys["DETECTOR"]), rtol=1e-6)
        assert fits.getval(path, "PIXAR_SR") == pytest.approx(
            nominal_pixel_area(inst, keys["DETECTOR"]).sr
        )
    elif reftype == "distortion":
        forward, _ = distortion_models(inst, keys["DETECTOR"])
        x, y = np.array([0.0, 500.0, 1000.0]), np.array([0.0, 600.0, 1020.0])
        np.testing.assert_allclose(model.model(x, y), forward(x, y))
        assert str(model.meta.input_units) == "pix" and str(model.meta.output_units) == "arcsec"
    elif reftype == "filteroffset":
        offsets = {f.name: (f.column_offset, f.row_offset) for f in model.filters}
        assert offsets["F770W"] == (0.0, 0.0)
        assert offsets["F560W"] == props_mod.filter_offset("MIRI", "F560W")
    elif reftype == "apcorr":
        table = model.apcorr_table
        rows = table[table["filter"] == keys["FILTER"]]
        assert len(rows) >= 9
        np.testing.assert_allclose(rows["apcorr"] * rows["eefraction"], 1.0, rtol=1e-6)
        assert np.all(np.diff(rows["radius"][:9]) > 0)
    elif reftype == "abvegaoffset":
        offsets = dict(zip(model.abvega_offset["filter"], model.abvega_offset["abvega_offset"]))
        key = keys["FILTER"]
        assert 0.0 < offsets[key] < 8.0
        tree = read_asdf(path)
        assert tree.meta["reftype"] == "ABVEGAOFFSET"


def test_drizpars_layout(store):
    """DRIZPARS: FITS table in the last official layout (stdatamodels no longer has it)."""
    path = best_reference("drizpars", MIRI, source="embedded", store=store)
    with fits.open(path) as hdul:
        assert hdul[0].header["REFTYPE"] == "DRIZPARS"
        assert hdul[0].header["DATAMODL"] == "DrizParsModel"
        names = hdul["DRIZPARS"].columns.names
    assert names == ["numimages", "filter", "pixfrac", "kernel", "fillval", "wht_type",
                     "stepsize"]  # fmt: skip
    with wdm.open(path) as model:
        assert model.drizpars_table["pixfrac"][0] == pytest.approx(1.0)


def test_pars_file_round_trip(tmp_path):
    from webbcal.core.config_files import read_config
    from webbcal.refs.formats import RefHeader, read_pars, write_pars
    from webbcal.refs.formats.pars import pars_reftype

    assert pars_reftype("jwst.pipeline.Detector1Pipeline") == "pars-detector1pipeline"
    path = tmp_path / "pars.asdf"
    header = RefHeader(
        reftype="pars-detector1pipeline", instrument="NIRCAM", model_type="StepParsModel",
        description="detector1 parameters", useafter="2000-01-01T00:00:00", pedigree="GROUND",
        author="test", date="2024-01-01T00:00:00", filename=path.name,
        selectors={"EXP_TYPE": "NRC_IMAGE"},
    )  # fmt: skip
    write_pars(path, header, "jwst.pipeline.Detector1Pipeline", "calwebb_detector1",
               {"save_calibrated_ramp": False},
               steps=[{"class": "jwst.jump.JumpStep", "name": "jump",
                       "parameters": {"rejection_threshold": 5.0}}])  # fmt: skip
    tree = read_pars(path)
    assert tree["class"] == "jwst.pipeline.Detector1Pipeline"
    assert tree["meta"]["reftype"] == "PARS-DETECTOR1PIPELINE"
    assert tree["meta"]["exposure"]["type"] == "NRC_IMAGE"
    assert tree["steps"][0]["parameters"]["rejection_threshold"] == 5.0
    layer = read_config(path)  # the core's parameter-file reader takes it as it is
    assert layer.steps["jump"].parameters == {"rejection_threshold": 5.0}
