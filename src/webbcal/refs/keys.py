"""The exposure keys reference selection looks at, read from a model, a header or a file.

Selection works on FITS keyword names (``INSTRUME``, ``DETECTOR``, ``FILTER`` ...), as CRDS
rules do. :func:`exposure_keys` reads them from

* a data model (anything with a ``meta`` tree: webbcal's or the official ones), through
  the metadata paths of :mod:`webbcal.datamodels.keywords`;
* a FITS header or a mapping of FITS keywords (``{"INSTRUME": "NIRCAM", ...}``), or of
  CRDS-style metadata paths (``{"META.INSTRUMENT.NAME": "NIRCAM", ...}``);
* a path to a FITS file (its primary header) or an ASDF file (its ``meta`` tree).

Strings are stripped and upper-cased; missing keys are absent from the result.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from webbcal.errors import InputError

__all__ = [
    "SELECTOR_KEYWORDS",
    "exposure_datetime",
    "exposure_keys",
    "keyword_path",
    "read_file_keys",
]

#: Selector keyword -> metadata path below ``meta`` (the official data-model paths).
_PATHS = {
    "INSTRUME": "instrument.name", "DETECTOR": "instrument.detector",
    "FILTER": "instrument.filter", "PUPIL": "instrument.pupil",
    "GRATING": "instrument.grating", "BAND": "instrument.band",
    "CHANNEL": "instrument.channel", "MODULE": "instrument.module",
    "CORONMSK": "instrument.coronagraph", "EXP_TYPE": "exposure.type",
    "READPATT": "exposure.readpatt", "NOUTPUTS": "exposure.noutputs",
    "SUBARRAY": "subarray.name", "SUBSTRT1": "subarray.xstart",
    "SUBSTRT2": "subarray.ystart", "SUBSIZE1": "subarray.xsize",
    "SUBSIZE2": "subarray.ysize", "NGROUPS": "exposure.ngroups",
    "NFRAMES": "exposure.nframes", "GROUPGAP": "exposure.groupgap",
    "NINTS": "exposure.nints", "TSOVISIT": "visit.tsovisit",
    "DATE-OBS": "observation.date", "TIME-OBS": "observation.time",
    "DATE-BEG": "observation.date_beg", "TFRAME": "exposure.frame_time",
    "DRPFRMS1": "exposure.drop_frames1",
}  # fmt: skip

#: Every keyword a selection rule may look at, and the readout keys the builder needs.
SELECTOR_KEYWORDS = tuple(_PATHS)


def keyword_path(keyword: str) -> str:
    """The metadata path of a keyword below ``meta`` (``"FILTER"`` -> ``"instrument.filter"``)."""
    return _PATHS[keyword]


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        value = value.strip().upper()
        return value or None
    if isinstance(value, bool):
        return value
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    return value


def _from_meta(meta: Any) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for kw, path in _PATHS.items():
        node = meta
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else getattr(node, part, None)
            if node is None:
                break
        value = _clean(node)
        if value is not None:
            keys[kw] = value
    return keys


def _from_mapping(mapping: Mapping[str, Any]) -> dict[str, Any]:
    upper = {str(k).upper(): v for k, v in mapping.items()}
    keys: dict[str, Any] = {}
    for kw, path in _PATHS.items():
        value = upper.get(kw)
        if value is None:
            value = upper.get("META." + path.upper())
        value = _clean(value)
        if value is not None:
            keys[kw] = value
    return keys


def read_file_keys(path: str | os.PathLike) -> dict[str, Any]:
    """Selector keys of a FITS (primary header) or ASDF (``meta`` tree) file.

    Raises
    ------
    InputError
        When the file does not exist or cannot be read as FITS or ASDF.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    if path.suffix.lower() == ".asdf":
        import asdf

        try:
            with asdf.open(path, lazy_load=True, memmap=False) as af:
                return _from_meta(af.tree.get("meta", {}))
        except (ValueError, OSError) as exc:
            raise InputError(f"cannot read the ASDF tree: {exc}", path=path) from None
    from astropy.io import fits

    try:
        header = fits.getheader(path, 0)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the FITS primary header: {exc}", path=path) from None
    return _from_mapping(header)


def exposure_keys(obj: Any) -> dict[str, Any]:
    """FITS-keyword -> value for the selector keywords of ``obj``.

    Parameters
    ----------
    obj : data model, astropy Header, mapping, str or os.PathLike
        The exposure (see the module docstring).

    Returns
    -------
    dict
        Keys of :data:`SELECTOR_KEYWORDS` that ``obj`` defines.
    """
    if isinstance(obj, str | os.PathLike):
        return read_file_keys(obj)
    meta = getattr(obj, "meta", None)
    if meta is not None and not isinstance(obj, Mapping):
        return _from_meta(meta)
    if isinstance(obj, Mapping) or hasattr(obj, "keys"):
        return _from_mapping(obj)
    raise InputError(f"cannot read exposure keys from a {type(obj).__name__}")


def exposure_datetime(keys: Mapping[str, Any]) -> str | None:
    """``"YYYY-MM-DDThh:mm:ss"`` of the exposure start (DATE-OBS + TIME-OBS, or DATE-BEG)."""
    date = keys.get("DATE-OBS")
    if date:
        date = str(date)
        if "T" in date:
            return date[:19]
        time = str(keys.get("TIME-OBS") or "00:00:00")
        return f"{date[:10]}T{time[:8]}"
    beg = keys.get("DATE-BEG")
    return str(beg)[:19] if beg else None
