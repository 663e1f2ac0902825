"""Reference-file formats: the official layouts of each reference type, writers and readers.

:func:`model_type` gives the official data model (DATAMODL) of a reference type;
:mod:`.tables` the official table columns, :mod:`.models` the table models (registered with
``webbcal.datamodels``); :func:`read_reference` reads any reference file
(FITS through :func:`webbcal.datamodels.open`, ASDF into an :class:`AsdfReference`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from webbcal.refs.formats.asdf import AsdfReference, read_asdf, write_asdf
from webbcal.refs.formats.common import RefHeader
from webbcal.refs.formats.fits import write_fits
from webbcal.refs.formats.pars import read_pars, write_pars

__all__ = [
    "ASDF_REFTYPES",
    "AsdfReference",
    "RefHeader",
    "model_type",
    "read_asdf",
    "read_pars",
    "read_reference",
    "write_asdf",
    "write_fits",
    "write_pars",
]

#: Official data model of each reference type (per instrument where it differs).
_MODELS: dict[str, str | dict[str, str]] = {
    "mask": "MaskModel",
    "saturation": "SaturationModel",
    "superbias": "SuperBiasModel",
    "linearity": "LinearityModel",
    "dark": {"MIRI": "DarkMIRIModel", "NIRSPEC": "DarkNirspecModel", "*": "DarkModel"},
    "gain": "GainModel",
    "readnoise": "ReadnoiseModel",
    "ipc": "IPCModel",
    "persat": "PersistenceSatModel",
    "trapdensity": "TrapDensityModel",
    "trappars": "TrapParsModel",
    "rscd": "RSCDModel",
    "reset": "ResetModel",
    "flat": "FlatModel",
    "area": "PixelAreaModel",
    "photom": {
        "NIRCAM": "NrcImgPhotomModel",
        "NIRISS": "NisImgPhotomModel",
        "MIRI": "MirImgPhotomModel",
        "FGS": "FgsImgPhotomModel",
    },
    "apcorr": {
        "NIRCAM": "NrcImgApcorrModel",
        "NIRISS": "NisImgApcorrModel",
        "MIRI": "MirImgApcorrModel",
        "FGS": "FgsImgApcorrModel",
    },
    "abvegaoffset": "ABVegaOffsetModel",
    "distortion": "DistortionModel",
    "filteroffset": "FilteroffsetModel",
    "drizpars": "DrizParsModel",
}

#: Reference types stored as ASDF files (all others are FITS).
ASDF_REFTYPES = frozenset({"distortion", "filteroffset", "abvegaoffset"})


def model_type(reftype: str, instrument: str) -> str:
    """Official data model class name of ``reftype`` for ``instrument``.

    ``pars-*`` files have none (``"StepParsModel"`` is what stpipe writes).
    """
    reftype = reftype.lower()
    if reftype.startswith("pars-"):
        return "StepParsModel"
    entry = _MODELS[reftype]
    if isinstance(entry, dict):
        return entry.get(instrument, entry.get("*", ""))
    return entry


def read_reference(path: str | os.PathLike) -> Any:
    """Open a reference file: ASDF -> :class:`AsdfReference`, FITS -> its data model."""
    path = Path(path)
    if path.suffix.lower() == ".asdf":
        return read_asdf(path)
    from webbcal import datamodels
    from webbcal.refs.native import serve_native
    from webbcal.refs.store import default_root

    model = datamodels.open(path)
    serve_native(model, path, default_root())
    return model
