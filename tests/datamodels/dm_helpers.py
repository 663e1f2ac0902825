"""Builders of small, fully populated models for the data-model tests."""

from __future__ import annotations

import numpy as np

from webbcal import datamodels as dm
from webbcal.datamodels import dqflags
from webbcal.datamodels.declare import Array, Table

SCIENCE = [
    dm.Level1bModel,
    dm.RampModel,
    dm.ImageModel,
    dm.CubeModel,
    dm.GuiderRawModel,
    dm.GuiderCalModel,
    dm.IFUCubeModel,
]
REFERENCE = [
    dm.MaskModel,
    dm.SaturationModel,
    dm.SuperBiasModel,
    dm.LinearityModel,
    dm.DarkModel,
    dm.DarkMIRIModel,
    dm.GainModel,
    dm.ReadnoiseModel,
    dm.IPCModel,
    dm.PersistenceSatModel,
    dm.TrapDensityModel,
    dm.ResetModel,
    dm.FlatModel,
    dm.PixelAreaModel,
]
ALL = SCIENCE + REFERENCE

_PRIMARY_SHAPES = {4: (2, 3, 4, 5), 3: (3, 4, 5), 2: (4, 5)}
_MIRI = {dm.DarkMIRIModel, dm.ResetModel}
_FGS = {dm.GuiderRawModel, dm.GuiderCalModel}
#: flags a compact DQ_DEF table stores, in bit order
DQ_DEF_FLAGS = ("DO_NOT_USE", "SATURATED", "DEAD", "HOT", "NO_FLAT_FIELD", "NO_LIN_CORR")


def science_meta(cls: type) -> dict:
    """Metadata valid for the official schemas, with every kind of value and HDU."""
    if cls in _FGS:
        instrument = {"name": "FGS", "detector": "GUIDER1"}
        exposure = {"type": "FGS_ID-IMAGE", "readpatt": "ID"}
    else:
        instrument = {"name": "NIRCAM", "detector": "NRCA1", "filter": "F200W", "pupil": "CLEAR",
                      "module": "A", "channel": "SHORT"}
        exposure = {"type": "NRC_IMAGE", "readpatt": "RAPID"}
    exposure.update(nints=2, ngroups=3, nframes=1, groupgap=0, frame_time=10.73677,
                    group_time=10.73677, integration_time=21.47354, start_time=59713.76077019132,
                    zero_frame=False, data_problem=False, nresets_at_start=1)
    return {
        "instrument": instrument,
        "exposure": exposure,
        "observation": {"program_number": "01075", "observation_number": "001",
                        "visit_number": "001", "date": "2022-05-14", "time": "18:15:30.545"},
        "visit": {"tsovisit": False},
        "subarray": {"name": "FULL", "xstart": 1, "ystart": 1, "xsize": 5, "ysize": 4,
                     "fastaxis": 1, "slowaxis": -2},
        "target": {"ra": 245.9818520833333, "dec": 28.38403888888889},
        "pointing": {"ra_v1": 245.980217997301, "pa_v3": 198.1501785972933},
        "wcsinfo": {"ra_ref": 245.981865309727, "v2_ref": 127.341286, "vparity": -1,
                    "ctype1": "RA---TAN"},
        "cal_step": {"saturation": "COMPLETE", "dark_sub": "SKIPPED"},
        "ref_file": {"saturation": {"name": "crds://jwst_nircam_saturation_0001.fits"},
                     "crds": {"context_used": "jwst_1100.pmap"}},
        "calibration_software_version": "1.0.0",
        "bunit_data": "DN",
    }


def reference_meta(cls: type) -> dict:
    """Reference-file metadata valid for the official schemas."""
    if cls in _MIRI:
        instrument = {"name": "MIRI", "detector": "MIRIMAGE"}
        readpatt = "FASTR1"
    else:
        instrument = {"name": "NIRCAM", "detector": "NRCA1"}
        readpatt = "RAPID"
    meta = {
        "reftype": cls.reftype,
        "author": "webbcal tests",
        "pedigree": "GROUND",
        "useafter": "2022-01-01T00:00:00",
        "description": f"test {cls.reftype.lower()} file",
        "instrument": instrument,
        "subarray": {"name": "FULL", "xstart": 1, "ystart": 1, "xsize": 5, "ysize": 4},
    }
    if cls in (dm.DarkModel, dm.DarkMIRIModel, dm.FlatModel, dm.MaskModel, dm.ResetModel):
        meta["exposure"] = {"readpatt": readpatt, "p_readpatt": f"{readpatt}|"}
    if cls is dm.PixelAreaModel:
        meta["photometry"] = {"pixelarea_steradians": 9.31e-14, "pixelarea_arcsecsq": 0.00396}
    return meta


def make_arrays(cls: type, seed: int = 1) -> dict[str, np.ndarray]:
    """Random contents for every declared array and table of ``cls``."""
    rng = np.random.default_rng(seed)
    specs = cls.declared()
    primary = specs[cls.primary]
    pshape = _PRIMARY_SHAPES[max(primary.ndim or (2,))] if cls is not dm.IPCModel else (4, 5)
    out = {}
    for name, spec in specs.items():
        if isinstance(spec, Table):
            if name == "dq_def":
                out[name] = dqflags.dq_def_table(DQ_DEF_FLAGS)
            else:
                out[name] = random_table(spec, rng)
            continue
        shape = pshape if name == cls.primary else spec.default_shape(pshape)
        out[name] = random_array(name, spec, shape, rng, has_dq_def="dq_def" in specs)
    return out


def random_array(name: str, spec: Array, shape, rng, has_dq_def: bool) -> np.ndarray:
    if name in ("dq", "pixeldq", "groupdq"):
        flags = DQ_DEF_FLAGS if has_dq_def else tuple(dqflags.group if name == "groupdq" else
                                                     dqflags.pixel)
        bits = np.array([dqflags.pixel[f] for f in flags if dqflags.pixel[f]], dtype=np.uint64)
        picks = rng.integers(0, 2, size=(*shape, len(bits))).astype(np.uint64)
        return (picks * bits).sum(axis=-1).astype(spec.dtype)
    if spec.dtype.kind in "iu":
        hi = min(np.iinfo(spec.dtype).max, 65535)
        return rng.integers(0, hi, size=shape, endpoint=True).astype(spec.dtype)
    return rng.normal(100.0, 10.0, size=shape).astype(spec.dtype)


def random_table(spec: Table, rng, nrows: int = 3) -> np.ndarray:
    dtype = spec.dtype
    if not dtype.names:  # a table whose columns are free (HDRTAB): a few of its keywords
        dtype = np.dtype([("FILENAME", "S40"), ("EXPSTART", "f8"), ("NGROUPS", "i4")])
    table = np.zeros(nrows, dtype=dtype)
    for name in dtype.names:
        dt = dtype[name]
        if dt.kind == "S":
            table[name] = [f"{name[:3]}{i}".encode()[: dt.itemsize] for i in range(nrows)]
        elif dt.kind in "iu":
            table[name] = rng.integers(0, 100, size=nrows)
        else:
            table[name] = rng.normal(size=nrows)
    return table


def make_model(cls: type, seed: int = 1):
    """A webbcal model of ``cls`` with every array/table set and representative metadata."""
    model = cls(**make_arrays(cls, seed))
    meta = reference_meta(cls) if cls in REFERENCE else science_meta(cls)
    model.meta.update(meta)
    return model


def flat(meta: dict, prefix: str = "") -> dict:
    """``{"a.b": value}`` for a nested dict."""
    out = {}
    for key, value in meta.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def get_path(meta, path: str):
    """``meta.a.b`` for the dotted path ``"a.b"`` (works on webbcal and official trees)."""
    for part in path.split("."):
        meta = getattr(meta, part)
    return meta


def as_values(column) -> np.ndarray:
    """A table column as a plain array, strings decoded (FITS_rec gives str, we give bytes)."""
    column = np.asarray(column)
    if column.dtype.kind == "S":
        return np.char.decode(column, "ascii")
    return column


def same_table(ours: np.ndarray, theirs) -> list[str]:
    """Names of the columns of ``ours`` that differ in ``theirs``."""
    return [
        name
        for name in ours.dtype.names
        if not np.array_equal(as_values(ours[name]), as_values(theirs[name]))
    ]
