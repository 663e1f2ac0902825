"""Array-style reference-file models (CRDS reftypes MASK, SATURATION, DARK, GAIN ...).

As in the official files, reference files carry no ASDF extension: their metadata is the
primary header (REFTYPE, AUTHOR, PEDIGREE, USEAFTER, DESCRIP, the selection keywords and their
``P_*`` pattern variants). A DQ array described by a DQ_DEF table is stored with the bits that
table defines and is always seen in memory with the standard pixel flags
(:mod:`.dqflags`): it is translated when read and translated back when written.
"""

from __future__ import annotations

import numpy as np

from .declare import Array, Table
from .dqflags import DQ_DEF_DTYPE, expand_dq, squeeze_dq
from .model import DataModel

__all__ = [
    "DQ_DEF",
    "DarkMIRIModel",
    "DarkModel",
    "FlatModel",
    "GainModel",
    "IPCModel",
    "LinearityModel",
    "MaskModel",
    "PersistenceSatModel",
    "PixelAreaModel",
    "ReadnoiseModel",
    "ReferenceModel",
    "ResetModel",
    "SaturationModel",
    "SuperBiasModel",
    "TrapDensityModel",
]

DQ_DEF = Table(
    "DQ_DEF",
    tuple((name, DQ_DEF_DTYPE[name].str) for name in DQ_DEF_DTYPE.names),
    "bit definitions of the DQ array",
)


class ReferenceModel(DataModel, register=False):
    """Base of the reference-file models: no ASDF extension, DQ_DEF translation."""

    asdf_extension = False

    def _after_read(self, name: str, array: np.ndarray) -> np.ndarray:
        if name == "dq" and "dq_def" in self._specs and self.has("dq_def"):
            dq_def = self.dq_def
            if len(dq_def):
                return _expand(array, dq_def)
        return array

    def _before_write(self, name: str, array: np.ndarray) -> np.ndarray:
        if name == "dq" and "dq_def" in self._specs and self.has("dq_def"):
            dq_def = self.dq_def
            if len(dq_def):
                return squeeze_dq(array, dq_def)
        return array


#: Widest stored DQ value (bits) translated through a lookup table.
_LUT_BITS = 16


def _expand(stored: np.ndarray, dq_def: np.ndarray) -> np.ndarray:
    """:func:`expand_dq` of a DQ array just read, through a lookup table when it is small.

    Files that store their flags in the low bits (as DQ_DEF allows) are translated with
    one table look-up per pixel instead of one pass per flag.
    """
    values = [int(v) for v in np.asarray(dq_def["VALUE"]).ravel()] if "VALUE" in (
        dq_def.dtype.names or ()) else []  # fmt: skip
    bits = max((v.bit_length() for v in values), default=0)
    if not values or bits > _LUT_BITS or stored.dtype != np.uint32 or stored.ndim == 0:
        return expand_dq(stored, dq_def)
    lut = expand_dq(np.arange(1 << bits, dtype=np.uint32), dq_def)
    index = np.bitwise_and(stored, np.uint32((1 << bits) - 1))
    return np.take(lut, index, out=index, mode="wrap")


def _dq(ndim: int | None = 2) -> Array:
    return Array("DQ", "u4", ndim, 0, doc="DQ flags (standard bits in memory)")


class MaskModel(ReferenceModel):
    """Bad-pixel mask (MASK) used by dq_init."""

    reftype = "MASK"
    primary = "dq"
    fields = {
        "dq": Array("DQ", "u4", 2, 0, required=True, doc="DQ flags (standard bits in memory)"),
        "dq_def": DQ_DEF,
    }


class SaturationModel(ReferenceModel):
    """Saturation thresholds in DN (SATURATION)."""

    reftype = "SATURATION"
    fields = {
        "data": Array("SCI", "f4", 2, 100000.0, required=True, doc="threshold (DN)"),
        "dq": _dq(None),
        "dq_def": DQ_DEF,
    }


class SuperBiasModel(ReferenceModel):
    """Superbias frame in DN (SUPERBIAS)."""

    reftype = "SUPERBIAS"
    fields = {
        "data": Array("SCI", "f4", 2, 0.0, required=True, doc="bias (DN)"),
        "dq": _dq(None),
        "err": Array("ERR", "f4", None, 0.0, doc="error"),
        "dq_def": DQ_DEF,
    }


class LinearityModel(ReferenceModel):
    """Polynomial linearity-correction coefficients (LINEARITY)."""

    reftype = "LINEARITY"
    primary = "coeffs"
    fields = {
        "coeffs": Array("COEFFS", "f4", 3, 0.0, required=True, doc="(ncoeffs, ny, nx)"),
        "dq": _dq(2),
        "dq_def": DQ_DEF,
    }


class DarkModel(ReferenceModel):
    """Near-IR dark current per frame in DN (DARK)."""

    reftype = "DARK"
    fields = {
        "data": Array("SCI", "f4", 3, 0.0, required=True, doc="(nframes, ny, nx) DN"),
        "dq": _dq(2),
        "err": Array("ERR", "f4", 3, 0.0, doc="error"),
        "average_dark_current": Array("AVDRKCUR", "f4", 2, 0.0, doc="dark current (DN/s)"),
        "dq_def": DQ_DEF,
    }


class DarkMIRIModel(ReferenceModel):
    """MIRI dark current per integration and frame in DN (DARK)."""

    reftype = "DARK"
    fields = {
        "data": Array("SCI", "f4", 4, 0.0, required=True, doc="(nints, nframes, ny, nx) DN"),
        "dq": _dq(4),
        "err": Array("ERR", "f4", 4, 0.0, doc="error"),
        "average_dark_current": Array("AVDRKCUR", "f4", 2, 0.0, doc="dark current (DN/s)"),
        "dq_def": DQ_DEF,
    }


class GainModel(ReferenceModel):
    """Gain in electrons per DN (GAIN)."""

    reftype = "GAIN"
    fields = {"data": Array("SCI", "f4", 2, 0.0, required=True, doc="gain (e/DN)")}


class ReadnoiseModel(ReferenceModel):
    """Read noise of one CDS pair in DN (READNOISE)."""

    reftype = "READNOISE"
    fields = {"data": Array("SCI", "f4", 2, 0.0, required=True, doc="read noise (DN)")}


class IPCModel(ReferenceModel):
    """Inter-pixel capacitance kernel, 2-D or per-pixel 4-D (IPC)."""

    reftype = "IPC"
    fields = {"data": Array("SCI", "f4", (2, 4), 1.0, required=True, doc="IPC kernel")}


class PersistenceSatModel(ReferenceModel):
    """Persistence saturation levels in DN (PERSAT)."""

    reftype = "PERSAT"
    fields = {
        "data": Array("SCI", "f4", 2, 90000.0, required=True, doc="saturation (DN)"),
        "dq": _dq(None),
        "dq_def": DQ_DEF,
    }


class TrapDensityModel(ReferenceModel):
    """Charge-trap density per pixel (TRAPDENSITY)."""

    reftype = "TRAPDENSITY"
    fields = {
        "data": Array("SCI", "f4", 2, 0.0, required=True, doc="trap density"),
        "dq": _dq(None),
        "dq_def": DQ_DEF,
    }


class ResetModel(ReferenceModel):
    """MIRI reset anomaly correction per integration and group in DN (RESET)."""

    reftype = "RESET"
    fields = {
        "data": Array("SCI", "f4", 4, 0.0, required=True, doc="(nints, ngroups, ny, nx) DN"),
        "dq": _dq(2),
        "err": Array("ERR", "f4", 4, 0.0, doc="error"),
        "dq_def": DQ_DEF,
    }


class FlatModel(ReferenceModel):
    """Pixel flat field (FLAT)."""

    reftype = "FLAT"
    fields = {
        "data": Array("SCI", "f4", 2, 0.0, required=True, doc="flat (normalised response)"),
        "dq": _dq(None),
        "err": Array("ERR", "f4", None, 0.0, doc="error"),
        "dq_def": DQ_DEF,
    }


class PixelAreaModel(ReferenceModel):
    """Relative pixel area, with the nominal area in the primary header (AREA)."""

    reftype = "AREA"
    keyword_hdus = {
        "photometry.pixelarea_steradians": "PRIMARY",
        "photometry.pixelarea_arcsecsq": "PRIMARY",
    }
    fields = {"data": Array("SCI", "f4", 2, 1.0, required=True, doc="relative pixel area")}
